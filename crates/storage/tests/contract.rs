//! Storage contract suite: every repository port, on SQLite and on PostgreSQL.
//!
//! Each test body runs twice, as `<module>::<test>::sqlite` and
//! `<module>::<test>::postgres`, each against a fresh database from
//! [`TestDatabase`]. PostgreSQL is required: an unreachable server fails the run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use time::OffsetDateTime;
use time::macros::datetime;
use warden_domain::RepoError;
use warden_domain::ids::{ApiKeyId, OrganizationId, UserId};
use warden_domain::model::{
    ApiKey, AuditAction, AuditEntry, LoginType, NewUser, Organization, User, UserStatus,
};
use warden_domain::ports::{
    ApiKeyRepo, MemberQuery, MemberRepo, OrganizationPatch, OrganizationRepo, UserQuery, UserRepo,
};
use warden_domain::values::{Email, OrganizationName, Username};
use warden_storage::testing::TestDatabase;
use warden_storage::{
    Backend, Database, DieselApiKeyRepo, DieselMemberRepo, DieselOrganizationRepo, DieselUserRepo,
    PoolConfig,
};

/// A fixed instant with whole microseconds, so it round-trips exactly.
const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00.123456 UTC);

/// Runs each async test body once on SQLite and once on PostgreSQL, as two tests.
macro_rules! on_both_backends {
    ($(async fn $name:ident($store:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($store: Store) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Store::open(Backend::Sqlite).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Store::open(Backend::Postgres).await).await;
            }
        }
    )*};
}

/// Raw views of the tables, to check what was (not) written behind the ports' backs.
mod raw {
    diesel::table! { users (id) { id -> Text, } }
    diesel::table! { organizations (id) { id -> Text, } }
    diesel::table! { organization_members (organization_id, user_id) { organization_id -> Text, user_id -> Text, } }
    diesel::table! { organization_member_roles (organization_id, user_id, role_name) { organization_id -> Text, user_id -> Text, role_name -> Text, } }
    diesel::table! { user_site_roles (user_id, role_name) { user_id -> Text, role_name -> Text, } }
    diesel::table! { api_keys (id) { id -> Text, } }
    diesel::table! { audit_logs (id) { id -> Text, } }
    diesel::table! { organization_member_counts (organization_id, slot) { organization_id -> Text, slot -> Integer, } }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Users,
    Organizations,
    Members,
    MemberRoles,
    SiteRoles,
    ApiKeys,
    AuditLogs,
}

/// A migrated, empty database and the three adapters over it. The database is
/// dropped after the adapters (field order).
struct Store {
    users: DieselUserRepo,
    orgs: DieselOrganizationRepo,
    keys: DieselApiKeyRepo,
    db: Database,
    _test_db: TestDatabase,
}

impl Store {
    async fn open(backend: Backend) -> Self {
        let test_db = TestDatabase::create(backend);
        let db = Database::connect(test_db.url(), PoolConfig::default())
            .await
            .expect("connect");
        assert_eq!(db.backend(), backend);
        let applied = db.migrate().await.expect("migrate");
        assert!(applied > 0, "a fresh database has pending migrations");
        assert_eq!(db.migrate().await.expect("migrate again"), 0);
        Self {
            users: DieselUserRepo::new(db.clone()),
            orgs: DieselOrganizationRepo::new(db.clone()),
            keys: DieselApiKeyRepo::new(db.clone()),
            db,
            _test_db: test_db,
        }
    }

    /// Rows in a table, read directly.
    async fn count(&self, table: Table) -> i64 {
        self.db
            .run(move |conn| {
                let n = match table {
                    Table::Users => raw::users::table.count().get_result::<i64>(conn),
                    Table::Organizations => {
                        raw::organizations::table.count().get_result::<i64>(conn)
                    }
                    Table::Members => raw::organization_members::table
                        .count()
                        .get_result::<i64>(conn),
                    Table::MemberRoles => raw::organization_member_roles::table
                        .count()
                        .get_result::<i64>(conn),
                    Table::SiteRoles => raw::user_site_roles::table.count().get_result::<i64>(conn),
                    Table::ApiKeys => raw::api_keys::table.count().get_result::<i64>(conn),
                    Table::AuditLogs => raw::audit_logs::table.count().get_result::<i64>(conn),
                };
                n.map_err(|e| RepoError::Internal(e.to_string()))
            })
            .await
            .expect("count rows")
    }

    /// A snapshot of every table's row count.
    async fn counts(&self) -> Vec<(Table, i64)> {
        let mut all = Vec::new();
        for t in [
            Table::Users,
            Table::Organizations,
            Table::Members,
            Table::MemberRoles,
            Table::SiteRoles,
            Table::ApiKeys,
            Table::AuditLogs,
        ] {
            all.push((t, self.count(t).await));
        }
        all
    }

    /// The first user `admin` (site owner) and the default organization.
    async fn first_user(&self) -> (User, Organization) {
        let mut admin = new_user("admin");
        admin.site_roles = vec!["owner".into()];
        self.users
            .create_first(admin, default_org(), audit("admin"))
            .await
            .expect("create_first")
    }

    /// A user in the given organizations.
    async fn user(&self, username: &str, orgs: &[OrganizationId]) -> User {
        let mut new = new_user(username);
        new.organization_ids = orgs.to_vec();
        self.users
            .create(new, audit(username))
            .await
            .expect("create user")
    }

    /// An organization created by `creator` at `at`.
    async fn org(
        &self,
        name: &str,
        creator: UserId,
        roles: &[&str],
        at: OffsetDateTime,
    ) -> Organization {
        self.orgs
            .create(
                org(name, at),
                creator,
                roles.iter().map(|r| (*r).to_owned()).collect(),
                audit(name),
            )
            .await
            .expect("create organization")
    }
}

fn secs(n: i64) -> time::Duration {
    time::Duration::seconds(n)
}

/// `t` truncated to whole microseconds.
fn micros(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.microsecond() * 1_000).unwrap()
}

fn new_user(username: &str) -> NewUser {
    NewUser {
        id: UserId::new_random(),
        username: Username::from_trusted(username.to_owned()),
        email: Email::from_trusted(format!("{}@example.com", username.to_lowercase())),
        name: format!("{username} Name"),
        hashed_password: Some(format!("plain:{username}")),
        status: UserStatus::Active,
        login_type: LoginType::Password,
        site_roles: Vec::new(),
        organization_ids: Vec::new(),
        now: T0,
    }
}

fn default_org() -> Organization {
    Organization {
        id: OrganizationId::new_random(),
        name: OrganizationName::from_trusted("coder".into()),
        display_name: "Coder".into(),
        description: "Builtin default organization.".into(),
        icon: String::new(),
        is_default: true,
        created_at: T0,
        updated_at: T0,
    }
}

fn org(name: &str, at: OffsetDateTime) -> Organization {
    Organization {
        id: OrganizationId::new_random(),
        name: OrganizationName::from_trusted(name.to_owned()),
        display_name: format!("{name} display"),
        description: format!("{name} description"),
        icon: format!("/icon/{name}.svg"),
        is_default: false,
        created_at: at,
        updated_at: at,
    }
}

fn audit(target: &str) -> AuditEntry {
    AuditEntry::new(T0, None, AuditAction::Create, "test", target, target)
}

fn api_key(
    id: &str,
    user: UserId,
    login_type: LoginType,
    name: &str,
    at: OffsetDateTime,
) -> ApiKey {
    ApiKey {
        id: ApiKeyId(id.to_owned()),
        user_id: user,
        hashed_secret: id.as_bytes().iter().rev().copied().collect(),
        last_used: at,
        expires_at: at + time::Duration::days(1),
        created_at: at,
        updated_at: at,
        login_type,
        lifetime_seconds: 86_400,
        token_name: name.to_owned(),
        scopes: vec!["coder:all".into(), "user:read".into()],
        allow_list: vec!["*:*".into()],
    }
}

fn usernames(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

fn org_names(orgs: &[Organization]) -> Vec<&str> {
    orgs.iter().map(|o| o.name.as_str()).collect()
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(r: Result<T, RepoError>) {
    assert!(
        matches!(r, Err(RepoError::NotFound)),
        "expected NotFound, got {r:?}"
    );
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(r: Result<T, RepoError>) {
    assert!(
        matches!(r, Err(RepoError::Conflict(_))),
        "expected Conflict, got {r:?}"
    );
}

#[track_caller]
fn assert_missing_reference<T: std::fmt::Debug>(r: Result<T, RepoError>) {
    assert!(
        matches!(r, Err(RepoError::MissingReference(_))),
        "expected MissingReference, got {r:?}"
    );
}

mod users {
    use super::*;

    on_both_backends! {
        async fn create_first_creates_owner_default_org_and_membership(store) {
            assert!(!store.users.any_exists().await.unwrap());
            let mut first = new_user("admin");
            first.site_roles = vec!["owner".into()];
            let wanted_org = default_org();
            let (user, org) = store
                .users
                .create_first(first.clone(), wanted_org.clone(), audit("admin"))
                .await
                .unwrap();
            assert!(store.users.any_exists().await.unwrap());
            assert_eq!(user.id, first.id);
            assert_eq!(user.username.as_str(), "admin");
            assert_eq!(user.site_roles, ["owner"]);
            assert_eq!(user.organization_ids, [wanted_org.id]);
            assert_eq!(org, wanted_org);
            assert_eq!(store.orgs.get_default().await.unwrap(), wanted_org);
            let memberships = store.orgs.memberships_of(user.id).await.unwrap();
            assert_eq!(memberships.len(), 1);
            assert_eq!(memberships[0].organization_id, org.id);
            assert_eq!(memberships[0].user_id, user.id);
            assert!(memberships[0].roles.is_empty());
            assert_eq!(store.users.get(user.id).await.unwrap(), user);
            assert_eq!(store.count(Table::AuditLogs).await, 1);

            let before = store.counts().await;
            let mut second = new_user("intruder");
            second.site_roles = vec!["owner".into()];
            let again = store
                .users
                .create_first(second.clone(), default_org(), audit("intruder"))
                .await;
            assert!(
                matches!(&again, Err(RepoError::Conflict(what)) if what == "first_user"),
                "{again:?}"
            );
            assert_eq!(store.counts().await, before, "a refused first user writes nothing");
            assert_not_found(store.users.get(second.id).await);
        }

        async fn concurrent_create_first_has_exactly_one_winner(store) {
            const RACERS: usize = 6;
            let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
            let mut tasks = Vec::new();
            for i in 0..RACERS {
                let users = store.users.clone();
                let barrier = barrier.clone();
                tasks.push(tokio::spawn(async move {
                    let user = new_user(&format!("racer{i}"));
                    barrier.wait().await;
                    users.create_first(user, default_org(), audit("racer")).await
                }));
            }
            let mut winners = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(_) => winners += 1,
                    Err(RepoError::Conflict(what)) => assert_eq!(what, "first_user"),
                    Err(other) => panic!("unexpected failure: {other:?}"),
                }
            }
            assert_eq!(winners, 1);
            assert_eq!(store.count(Table::Users).await, 1);
            assert_eq!(store.count(Table::Organizations).await, 1);
            assert_eq!(store.count(Table::Members).await, 1);
            assert_eq!(store.count(Table::AuditLogs).await, 1);
        }

        async fn create_returns_exactly_what_a_read_returns(store) {
            let (admin, default) = store.first_user().await;
            let mut orgs = vec![default.id];
            for i in 0..5 {
                orgs.push(store.org(&format!("org-{i}"), admin.id, &[], T0).await.id);
            }
            let mut new = new_user("carol");
            new.site_roles = vec!["user-admin".into(), "member".into(), "auditor".into(), "template-admin".into()];
            new.organization_ids = orgs.iter().rev().copied().collect();
            // Nanoseconds the database does not keep.
            new.now = T0 + time::Duration::nanoseconds(789);
            let created = store.users.create(new.clone(), audit("carol")).await.unwrap();
            assert_eq!(created.created_at, T0, "stored precision");
            assert_eq!(store.users.get(new.id).await.unwrap(), created);
        }

        async fn create_and_look_up_case_insensitively(store) {
            let (_, default) = store.first_user().await;
            let mut new = new_user("Alice");
            new.email = Email::from_trusted("Alice@Example.COM".into());
            new.name = "Alice Liddell".into();
            new.status = UserStatus::Dormant;
            new.site_roles = vec!["member".into(), "auditor".into(), "user-admin".into()];
            new.organization_ids = vec![default.id];
            let audits = store.count(Table::AuditLogs).await;
            let created = store.users.create(new.clone(), audit("alice")).await.unwrap();
            assert_eq!(store.count(Table::AuditLogs).await, audits + 1);

            assert_eq!(created.id, new.id);
            assert_eq!(created.username.as_str(), "Alice", "stored as given");
            assert_eq!(created.email.as_str(), "Alice@Example.COM");
            assert_eq!(created.name, "Alice Liddell");
            assert_eq!(created.status, UserStatus::Dormant);
            assert_eq!(created.login_type, LoginType::Password);
            assert!(!created.is_service_account);
            assert_eq!(created.site_roles, ["auditor", "user-admin"], "member is implied, not stored");
            assert_eq!(created.organization_ids, [default.id]);
            assert_eq!((created.created_at, created.updated_at, created.last_seen_at), (T0, T0, T0));

            assert_eq!(store.users.get(new.id).await.unwrap(), created);
            assert_eq!(store.users.get_by_username("alice").await.unwrap(), created);
            assert_eq!(store.users.get_by_username("ALICE").await.unwrap(), created);
            let creds = store.users.credentials_by_email("alice@example.com").await.unwrap();
            assert_eq!(creds.user, created);
            assert_eq!(creds.hashed_password.as_deref(), Some("plain:Alice"));
            let creds = store.users.credentials_by_email("ALICE@EXAMPLE.COM").await.unwrap();
            assert_eq!(creds.user.id, created.id);

            assert_not_found(store.users.get(UserId::new_random()).await);
            assert_not_found(store.users.get_by_username("alic").await);
            assert_not_found(store.users.get_by_username("%").await);
            assert_not_found(store.users.credentials_by_email("nobody@example.com").await);
            assert_not_found(store.users.credentials_by_email("alice@example.co").await);

            let mut no_password = new_user("svc");
            no_password.hashed_password = None;
            no_password.login_type = LoginType::None;
            store.users.create(no_password, audit("svc")).await.unwrap();
            let creds = store.users.credentials_by_email("svc@example.com").await.unwrap();
            assert_eq!(creds.hashed_password, None);
            assert_eq!(creds.user.login_type, LoginType::None);
            assert!(creds.user.organization_ids.is_empty());
        }

        async fn duplicate_username_or_email_conflicts_and_writes_nothing(store) {
            let (_, default) = store.first_user().await;
            store.user("alice", &[default.id]).await;
            let before = store.counts().await;

            let mut same_name = new_user("ALICE");
            same_name.email = Email::from_trusted("other@example.com".into());
            same_name.site_roles = vec!["auditor".into()];
            same_name.organization_ids = vec![default.id];
            assert_conflict(store.users.create(same_name.clone(), audit("dup")).await);
            assert_not_found(store.users.get(same_name.id).await);

            let mut same_email = new_user("alice2");
            same_email.email = Email::from_trusted("Alice@EXAMPLE.com".into());
            same_email.site_roles = vec!["auditor".into()];
            same_email.organization_ids = vec![default.id];
            assert_conflict(store.users.create(same_email.clone(), audit("dup")).await);
            assert_not_found(store.users.get(same_email.id).await);

            let mut same_id = new_user("bob");
            same_id.id = store.users.get_by_username("alice").await.unwrap().id;
            assert_conflict(store.users.create(same_id, audit("dup")).await);

            assert_eq!(store.counts().await, before, "nothing of a refused user is written");
            assert_eq!(store.users.list(UserQuery::default()).await.unwrap().count, 2);
        }

        async fn failed_create_rolls_back_the_whole_transaction(store) {
            let (_, default) = store.first_user().await;
            let before = store.counts().await;
            let mut new = new_user("orphan");
            new.site_roles = vec!["auditor".into()];
            // The user row and its role are inserted before the bad membership fails.
            new.organization_ids = vec![default.id, OrganizationId::new_random()];
            assert_missing_reference(store.users.create(new.clone(), audit("orphan")).await);
            assert_not_found(store.users.get(new.id).await);
            assert_not_found(store.users.get_by_username("orphan").await);
            assert_eq!(store.counts().await, before, "the failed transaction left rows behind");
            // The name is free: nothing half-written blocks a correct retry.
            new.organization_ids = vec![default.id];
            let created = store.users.create(new, audit("orphan")).await.unwrap();
            assert_eq!(created.organization_ids, [default.id]);
        }

        async fn list_filters_orders_and_windows(store) {
            let (admin, default) = store.first_user().await;
            let add = |name: &str, email: &str, status, login, roles: &[&str]| {
                let mut u = new_user(name);
                u.email = Email::from_trusted(email.to_owned());
                u.status = status;
                u.login_type = login;
                u.site_roles = roles.iter().map(|r| (*r).to_owned()).collect();
                u.organization_ids = vec![default.id];
                u
            };
            let mut created = std::collections::HashMap::new();
            for new in [
                add("frank", "100%off@example.com", UserStatus::Active, LoginType::None, &[]),
                add("Carol", "carol@example.com", UserStatus::Active, LoginType::Password, &["auditor"]),
                add("dave", "a_b@example.com", UserStatus::Suspended, LoginType::Oidc, &[]),
                add("bob", "bob@example.com", UserStatus::Dormant, LoginType::Github, &[]),
                add("erin", "axb@example.com", UserStatus::Active, LoginType::Password, &["template-admin"]),
            ] {
                let name = new.username.as_str().to_owned();
                let user = store.users.create(new, audit(&name)).await.unwrap();
                created.insert(name, user);
            }
            let id = |name: &str| created[name].id;
            let list = |q: UserQuery| {
                let users = &store.users;
                async move { users.list(q).await.unwrap() }
            };

            let all = list(UserQuery::default()).await;
            assert_eq!(usernames(&all.users), ["admin", "bob", "Carol", "dave", "erin", "frank"], "ordered by lower(username)");
            assert_eq!(all.count, 6);
            assert_eq!(all.users[0], admin);
            assert_eq!(all.users[2], created["Carol"], "listing hydrates roles and memberships");
            assert_eq!(all.users[4].site_roles, ["template-admin"]);

            let search = |s: &str| UserQuery { search: Some(s.into()), ..UserQuery::default() };
            assert_eq!(usernames(&list(search("a_b")).await.users), ["dave"], "_ is literal");
            assert_eq!(usernames(&list(search("%")).await.users), ["frank"], "% is literal");
            assert_eq!(usernames(&list(search("_")).await.users), ["dave"]);
            assert_eq!(usernames(&list(search("\\")).await.users), Vec::<&str>::new(), "backslash is literal");
            assert_eq!(usernames(&list(search("CAROL")).await.users), ["Carol"]);
            assert_eq!(usernames(&list(search("ro")).await.users), ["Carol"], "username substring");
            assert_eq!(usernames(&list(search("b@ex")).await.users), ["bob", "dave", "erin"], "email substring");
            assert_eq!(usernames(&list(search("off")).await.users), ["frank"], "email only");
            let page = list(search("EXAMPLE.com")).await;
            assert_eq!(page.count, 6);

            let q = UserQuery { username: Some("CAROL".into()), ..UserQuery::default() };
            assert_eq!(usernames(&list(q).await.users), ["Carol"]);
            let q = UserQuery { username: Some("caro".into()), ..UserQuery::default() };
            assert_eq!(list(q).await.count, 0, "username is an exact match");
            let q = UserQuery { email: Some("BOB@example.com".into()), ..UserQuery::default() };
            assert_eq!(usernames(&list(q).await.users), ["bob"]);

            let q = UserQuery { status: vec![UserStatus::Dormant, UserStatus::Suspended], ..UserQuery::default() };
            assert_eq!(usernames(&list(q).await.users), ["bob", "dave"]);
            let q = UserQuery { status: vec![UserStatus::Active], ..UserQuery::default() };
            assert_eq!(usernames(&list(q).await.users), ["admin", "Carol", "erin", "frank"]);

            let roles = |r: &[&str]| UserQuery { roles: r.iter().map(|s| (*s).to_owned()).collect(), ..UserQuery::default() };
            assert_eq!(usernames(&list(roles(&["auditor"])).await.users), ["Carol"]);
            assert_eq!(usernames(&list(roles(&["owner", "auditor"])).await.users), ["admin", "Carol"]);
            assert_eq!(list(roles(&["member"])).await.count, 6, "everyone holds member");
            assert_eq!(list(roles(&["nonexistent"])).await.count, 0);

            let q = UserQuery { login_types: vec![LoginType::Github, LoginType::Oidc], ..UserQuery::default() };
            assert_eq!(usernames(&list(q).await.users), ["bob", "dave"]);

            let q = UserQuery { only_ids: Some(vec![id("erin"), admin.id]), ..UserQuery::default() };
            assert_eq!(usernames(&list(q).await.users), ["admin", "erin"]);
            let q = UserQuery { only_ids: Some(Vec::new()), ..UserQuery::default() };
            let empty = list(q).await;
            assert!(empty.users.is_empty());
            assert_eq!(empty.count, 0);

            assert_eq!(usernames(&list(search("b")).await.users), ["bob", "dave", "erin"]);
            let q = UserQuery { status: vec![UserStatus::Active, UserStatus::Suspended], search: Some("b".into()), ..UserQuery::default() };
            assert_eq!(usernames(&list(q).await.users), ["dave", "erin"], "filters combine with AND");

            let q = UserQuery { limit: Some(2), offset: 1, ..UserQuery::default() };
            let page = list(q).await;
            assert_eq!(usernames(&page.users), ["bob", "Carol"]);
            assert_eq!(page.count, 6, "count ignores the window");
            let q = UserQuery { offset: 4, ..UserQuery::default() };
            assert_eq!(usernames(&list(q).await.users), ["erin", "frank"], "offset without limit");
            let q = UserQuery { offset: 10, ..UserQuery::default() };
            let past = list(q).await;
            assert!(past.users.is_empty());
            assert_eq!(past.count, 6);

            let q = UserQuery { after_id: Some(id("Carol")), ..UserQuery::default() };
            let page = list(q).await;
            assert_eq!(usernames(&page.users), ["dave", "erin", "frank"]);
            assert_eq!(page.count, 6, "count ignores after_id");
            let q = UserQuery { after_id: Some(id("Carol")), limit: Some(1), ..UserQuery::default() };
            assert_eq!(usernames(&list(q).await.users), ["dave"]);
            let q = UserQuery { after_id: Some(id("frank")), ..UserQuery::default() };
            assert!(list(q).await.users.is_empty());
            let q = UserQuery { after_id: Some(UserId::new_random()), ..UserQuery::default() };
            assert_missing_reference(store.users.list(q).await);
        }

        async fn set_status_round_trips(store) {
            let (_, default) = store.first_user().await;
            let alice = store.user("alice", &[default.id]).await;
            assert_eq!(alice.status, UserStatus::Active);
            let audits = store.count(Table::AuditLogs).await;

            let later = T0 + secs(90);
            let suspended = store
                .users
                .set_status(alice.id, UserStatus::Suspended, later, audit("alice"))
                .await
                .unwrap();
            assert_eq!(suspended.status, UserStatus::Suspended);
            assert_eq!(suspended.updated_at, later);
            assert_eq!(suspended.created_at, T0);
            assert_eq!(suspended.organization_ids, [default.id]);
            assert_eq!(store.users.get(alice.id).await.unwrap(), suspended);
            assert_eq!(store.count(Table::AuditLogs).await, audits + 1);

            let active = store
                .users
                .set_status(alice.id, UserStatus::Active, later + secs(1), audit("alice"))
                .await
                .unwrap();
            assert_eq!(active.status, UserStatus::Active);
            assert_eq!(store.users.get(alice.id).await.unwrap().status, UserStatus::Active);
            assert_eq!(store.count(Table::AuditLogs).await, audits + 2);

            assert_not_found(
                store
                    .users
                    .set_status(UserId::new_random(), UserStatus::Suspended, later, audit("ghost"))
                    .await,
            );
            assert_eq!(store.count(Table::AuditLogs).await, audits + 2, "no audit for a missing user");
        }

        async fn timestamps_round_trip_at_microsecond_precision(store) {
            let (admin, _) = store.first_user().await;
            let precise = datetime!(2026-03-01 12:00:00.987654321 UTC);
            let truncated = datetime!(2026-03-01 12:00:00.987654 UTC);
            assert_eq!(micros(precise), truncated);

            // A non-UTC offset is stored as the same instant and read back in UTC.
            let mut new = new_user("nano");
            new.now = datetime!(2026-03-01 17:30:00.987654321 +05:30);
            let user = store.users.create(new, audit("nano")).await.unwrap();
            assert_eq!(user.created_at, truncated);
            assert_eq!(user.created_at.offset(), time::UtcOffset::UTC);
            let read = store.users.get(user.id).await.unwrap();
            assert_eq!((read.created_at, read.updated_at, read.last_seen_at), (truncated, truncated, truncated));

            let user = store
                .users
                .set_status(user.id, UserStatus::Dormant, precise + secs(1), audit("nano"))
                .await
                .unwrap();
            assert_eq!(user.updated_at, truncated + secs(1));

            let org = store.org("nano-org", admin.id, &[], precise).await;
            assert_eq!((org.created_at, org.updated_at), (truncated, truncated));
            assert_eq!(store.orgs.get(org.id).await.unwrap().created_at, truncated);
            let org = store
                .orgs
                .update(org.id, OrganizationPatch::default(), precise + secs(2), audit("nano"))
                .await
                .unwrap();
            assert_eq!(org.updated_at, truncated + secs(2));
            let membership = store.orgs.memberships_of(admin.id).await.unwrap();
            assert_eq!(membership.last().unwrap().created_at, truncated);

            let key = api_key("nanokey123", user.id, LoginType::Token, "nano", precise);
            let stored = store.keys.create(key, None).await.unwrap();
            let read = store.keys.get(&stored.id).await.unwrap();
            assert_eq!(stored, read, "create returns what a read returns");
            assert_eq!(
                (read.last_used, read.expires_at, read.created_at, read.updated_at),
                (truncated, truncated + time::Duration::days(1), truncated, truncated)
            );
            store
                .keys
                .touch(&read.id, user.id, precise + secs(3), precise + secs(4))
                .await
                .unwrap();
            let touched = store.keys.get(&read.id).await.unwrap();
            assert_eq!((touched.last_used, touched.expires_at), (truncated + secs(3), truncated + secs(4)));
            assert_eq!(store.users.get(user.id).await.unwrap().last_seen_at, truncated + secs(3));

            // Whole seconds and the epoch survive too.
            let mut whole = new_user("whole");
            whole.now = datetime!(1970-01-01 00:00:00 UTC);
            let user = store.users.create(whole, audit("whole")).await.unwrap();
            assert_eq!(store.users.get(user.id).await.unwrap().created_at, datetime!(1970-01-01 00:00:00 UTC));
        }
    }
}

mod organizations {
    use super::*;

    on_both_backends! {
        async fn create_get_list_and_memberships(store) {
            let (admin, default) = store.first_user().await;
            let audits = store.count(Table::AuditLogs).await;
            let wanted = org("Acme", T0 + secs(1));
            let acme = store
                .orgs
                .create(wanted.clone(), admin.id, vec!["organization-admin".into(), "organization-auditor".into()], audit("acme"))
                .await
                .unwrap();
            assert_eq!(acme, wanted);
            assert_eq!(store.count(Table::AuditLogs).await, audits + 1);
            let beta = store.org("beta", admin.id, &[], T0 + secs(2)).await;

            assert_eq!(store.orgs.get(acme.id).await.unwrap(), acme);
            assert_eq!(store.orgs.get_by_name("acme").await.unwrap(), acme);
            assert_eq!(store.orgs.get_by_name("ACME").await.unwrap(), acme);
            assert_eq!(store.orgs.get_by_name("Coder").await.unwrap(), default);
            assert_not_found(store.orgs.get_by_name("acm").await);
            assert_not_found(store.orgs.get(OrganizationId::new_random()).await);
            assert_eq!(store.orgs.get_default().await.unwrap(), default);
            assert!(!acme.is_default);

            let all = store.orgs.list(None, None).await.unwrap();
            assert_eq!(org_names(&all), ["Acme", "beta", "coder"], "ordered by lower(name)");
            assert_eq!(all[0], acme);
            let only = store.orgs.list(Some(vec![beta.id, default.id]), None).await.unwrap();
            assert_eq!(org_names(&only), ["beta", "coder"]);
            assert!(store.orgs.list(Some(Vec::new()), None).await.unwrap().is_empty());
            assert!(store.orgs.list(Some(vec![OrganizationId::new_random()]), None).await.unwrap().is_empty());

            let memberships = store.orgs.memberships_of(admin.id).await.unwrap();
            let summary: Vec<_> = memberships.iter().map(|m| (m.organization_id, m.roles.clone())).collect();
            assert_eq!(
                summary,
                [
                    (default.id, vec![]),
                    (acme.id, vec!["organization-admin".to_owned(), "organization-auditor".to_owned()]),
                    (beta.id, vec![]),
                ],
                "memberships in join order with their stored roles"
            );
            assert!(memberships.iter().all(|m| m.user_id == admin.id));
            assert_eq!(memberships[1].created_at, T0 + secs(1));
            assert_eq!(store.users.get(admin.id).await.unwrap().organization_ids, [default.id, acme.id, beta.id]);
            assert!(store.orgs.memberships_of(UserId::new_random()).await.unwrap().is_empty());
        }

        async fn duplicate_name_conflicts_and_writes_nothing(store) {
            let (admin, _) = store.first_user().await;
            store.org("acme", admin.id, &[], T0).await;
            let before = store.counts().await;
            let dup = org("ACME", T0);
            assert_conflict(store.orgs.create(dup.clone(), admin.id, vec!["organization-admin".into()], audit("dup")).await);
            assert_conflict(store.orgs.create(org("Coder", T0), admin.id, vec![], audit("dup")).await);
            assert_not_found(store.orgs.get(dup.id).await);
            assert_eq!(store.counts().await, before);
            assert_eq!(store.orgs.list(None, None).await.unwrap().len(), 2);
        }

        async fn create_with_unknown_creator_writes_nothing(store) {
            store.first_user().await;
            let before = store.counts().await;
            let ghost = org("ghost", T0);
            assert_missing_reference(store.orgs.create(ghost.clone(), UserId::new_random(), vec![], audit("ghost")).await);
            assert_not_found(store.orgs.get(ghost.id).await);
            assert_not_found(store.orgs.get_by_name("ghost").await);
            assert_eq!(store.counts().await, before);
        }

        async fn update_applies_a_patch(store) {
            let (admin, default) = store.first_user().await;
            let acme = store.org("acme", admin.id, &[], T0).await;
            let audits = store.count(Table::AuditLogs).await;

            let renamed = store
                .orgs
                .update(
                    acme.id,
                    OrganizationPatch { name: Some(OrganizationName::from_trusted("acme-corp".into())), ..OrganizationPatch::default() },
                    T0 + secs(10),
                    audit("acme"),
                )
                .await
                .unwrap();
            assert_eq!(renamed.name.as_str(), "acme-corp");
            assert_eq!(renamed.display_name, acme.display_name, "None keeps");
            assert_eq!(renamed.description, acme.description, "None keeps");
            assert_eq!(renamed.icon, acme.icon, "None keeps");
            assert_eq!(renamed.created_at, acme.created_at);
            assert_eq!(renamed.updated_at, T0 + secs(10));
            assert_eq!(renamed.id, acme.id);
            assert!(!renamed.is_default);
            assert_eq!(store.orgs.get(acme.id).await.unwrap(), renamed);
            assert_eq!(store.orgs.get_by_name("ACME-CORP").await.unwrap(), renamed);
            assert_not_found(store.orgs.get_by_name("acme").await);

            let patched = store
                .orgs
                .update(
                    acme.id,
                    OrganizationPatch {
                        name: None,
                        display_name: Some("Acme Corporation".into()),
                        description: Some(String::new()),
                        icon: None,
                    },
                    T0 + secs(20),
                    audit("acme"),
                )
                .await
                .unwrap();
            assert_eq!(patched.name.as_str(), "acme-corp");
            assert_eq!(patched.display_name, "Acme Corporation");
            assert_eq!(patched.description, "", "Some(\"\") clears");
            assert_eq!(patched.icon, acme.icon);
            assert_eq!(store.orgs.get(acme.id).await.unwrap(), patched);
            assert_eq!(store.count(Table::AuditLogs).await, audits + 2);

            let taken = OrganizationPatch { name: Some(OrganizationName::from_trusted("CODER".into())), ..OrganizationPatch::default() };
            assert_conflict(store.orgs.update(acme.id, taken, T0 + secs(30), audit("acme")).await);
            assert_eq!(store.orgs.get(acme.id).await.unwrap(), patched, "a refused update changes nothing");
            assert_eq!(store.orgs.get(default.id).await.unwrap(), default);
            assert_not_found(store.orgs.update(OrganizationId::new_random(), OrganizationPatch::default(), T0, audit("ghost")).await);
            assert_eq!(store.count(Table::AuditLogs).await, audits + 2, "no audit for refused updates");
        }

        async fn delete_cascades_and_spares_the_default(store) {
            let (admin, default) = store.first_user().await;
            let acme = store.org("acme", admin.id, &["organization-admin"], T0 + secs(1)).await;
            let bob = store.user("bob", &[default.id, acme.id]).await;
            let mut joined = bob.organization_ids.clone();
            joined.sort();
            let mut expected = vec![default.id, acme.id];
            expected.sort();
            assert_eq!(joined, expected);
            let audits = store.count(Table::AuditLogs).await;

            assert_not_found(store.orgs.delete(default.id, audit("coder")).await);
            assert_eq!(store.orgs.get_default().await.unwrap(), default, "the default organization is never deleted");
            assert_eq!(store.count(Table::AuditLogs).await, audits);

            store.orgs.delete(acme.id, audit("acme")).await.unwrap();
            assert_eq!(store.count(Table::AuditLogs).await, audits + 1);
            assert_not_found(store.orgs.get(acme.id).await);
            assert_not_found(store.orgs.get_by_name("acme").await);
            assert_eq!(org_names(&store.orgs.list(None, None).await.unwrap()), ["coder"]);
            assert_eq!(store.users.get(bob.id).await.unwrap().organization_ids, [default.id]);
            assert_eq!(store.users.get(admin.id).await.unwrap().organization_ids, [default.id]);
            let memberships = store.orgs.memberships_of(admin.id).await.unwrap();
            assert_eq!(memberships.len(), 1);
            assert_eq!(memberships[0].organization_id, default.id);
            assert_eq!(store.count(Table::Members).await, 2);
            assert_eq!(store.count(Table::MemberRoles).await, 0, "member roles cascade");

            assert_not_found(store.orgs.delete(acme.id, audit("acme")).await);
            assert_not_found(store.orgs.delete(OrganizationId::new_random(), audit("ghost")).await);
            assert_eq!(store.count(Table::AuditLogs).await, audits + 1);

            // The name is free again.
            let again = store.org("acme", admin.id, &[], T0 + secs(2)).await;
            assert_ne!(again.id, acme.id);
        }

        async fn member_count_stays_exact_under_concurrent_writers_and_cascades(store) {
            let (admin, default) = store.first_user().await;
            let acme = store.org("acme", admin.id, &[], T0 + secs(1)).await;
            let members = DieselMemberRepo::new(store.db.clone());
            let total = |org: OrganizationId| {
                let members = members.clone();
                async move { members.list(org, MemberQuery::default()).await.unwrap().1 }
            };
            let mut users = Vec::new();
            for i in 0..24 {
                users.push(store.user(&format!("u{i}"), &[default.id]).await);
            }
            assert_eq!(total(acme.id).await, 1, "the creator");
            // Adds from every pool connection at once: each moves its own slot.
            let adds = users.iter().map(|u| members.add(acme.id, u.id, T0, audit("add")));
            for added in futures_util::future::join_all(adds).await {
                added.unwrap();
            }
            assert_eq!(total(acme.id).await, 25);
            assert_eq!(total(default.id).await, 25);
            let removes = users[..4].iter().map(|u| members.remove(acme.id, u.id, audit("remove")));
            for removed in futures_util::future::join_all(removes).await {
                removed.unwrap();
            }
            assert_eq!(total(acme.id).await, 21);
            // A user's deletion removes their memberships by cascade.
            store.users.delete(users[10].id, T0 + secs(2), audit("u10")).await.unwrap();
            assert_eq!(total(acme.id).await, 20);
            assert_eq!(total(default.id).await, 24);
            // The organization's deletion removes its memberships and its count.
            store.orgs.delete(acme.id, audit("acme")).await.unwrap();
            assert_eq!(total(acme.id).await, 0);
            assert_eq!(total(default.id).await, 24);
            let left: i64 = store
                .db
                .run(move |conn| {
                    raw::organization_member_counts::table
                        .filter(raw::organization_member_counts::organization_id.eq(acme.id.to_string()))
                        .count()
                        .get_result(conn)
                        .map_err(|e| RepoError::Internal(e.to_string()))
                })
                .await
                .unwrap();
            assert_eq!(left, 0, "no count outlives its organization");
        }
    }
}

mod api_keys {
    use super::*;

    on_both_backends! {
        async fn create_session_get_and_touch(store) {
            let (admin, default) = store.first_user().await;
            let acme = store.org("acme", admin.id, &["organization-admin"], T0 + secs(1)).await;
            let audits = store.count(Table::AuditLogs).await;

            let key = api_key("sessionkey", admin.id, LoginType::Password, "", T0);
            let created = store.keys.create(key.clone(), Some(audit("key"))).await.unwrap();
            assert_eq!(created, key);
            assert_eq!(store.count(Table::AuditLogs).await, audits + 1);
            let silent = api_key("silentkey1", admin.id, LoginType::Password, "", T0);
            store.keys.create(silent, None).await.unwrap();
            assert_eq!(store.count(Table::AuditLogs).await, audits + 1, "no audit when none is given");

            assert_eq!(store.keys.get(&key.id).await.unwrap(), key);
            assert_not_found(store.keys.get(&ApiKeyId("nosuchkey0".into())).await);

            let session = store.keys.session(&key.id).await.unwrap();
            assert_eq!(session.key, key);
            assert_eq!(session.user, store.users.get(admin.id).await.unwrap());
            assert_eq!(session.memberships, store.orgs.memberships_of(admin.id).await.unwrap());
            let orgs: Vec<_> = session.memberships.iter().map(|m| (m.organization_id, m.roles.clone())).collect();
            assert_eq!(orgs, [(default.id, vec![]), (acme.id, vec!["organization-admin".to_owned()])]);
            assert_not_found(store.keys.session(&ApiKeyId("nosuchkey0".into())).await);

            // A suspended user's key is still found; authentication refuses it.
            store.users.set_status(admin.id, UserStatus::Suspended, T0, audit("admin")).await.unwrap();
            assert_eq!(store.keys.session(&key.id).await.unwrap().user.status, UserStatus::Suspended);

            let used = T0 + secs(7200);
            let expires = used + time::Duration::days(1);
            let audits = store.count(Table::AuditLogs).await;
            store.keys.touch(&key.id, admin.id, used, expires).await.unwrap();
            let touched = store.keys.get(&key.id).await.unwrap();
            assert_eq!(touched.last_used, used);
            assert_eq!(touched.expires_at, expires);
            assert_eq!(touched.created_at, key.created_at);
            assert_eq!(touched.scopes, key.scopes);
            assert_eq!(store.users.get(admin.id).await.unwrap().last_seen_at, used);
            assert_eq!(store.keys.get(&ApiKeyId("silentkey1".into())).await.unwrap().last_used, T0, "only the touched key changes");
            assert_eq!(store.count(Table::AuditLogs).await, audits, "touch is not audited");
        }

        async fn create_for_unknown_user_or_taken_id_writes_nothing(store) {
            let (admin, _) = store.first_user().await;
            store.keys.create(api_key("takenkey00", admin.id, LoginType::Password, "", T0), None).await.unwrap();
            let before = store.counts().await;
            assert_missing_reference(
                store.keys.create(api_key("orphankey0", UserId::new_random(), LoginType::Token, "t", T0), Some(audit("k"))).await,
            );
            assert_not_found(store.keys.get(&ApiKeyId("orphankey0".into())).await);
            assert_conflict(
                store.keys.create(api_key("takenkey00", admin.id, LoginType::Token, "other", T0), Some(audit("k"))).await,
            );
            assert_eq!(store.counts().await, before);
        }

        async fn tokens_by_name_list_and_delete(store) {
            let (admin, default) = store.first_user().await;
            let bob = store.user("bob", &[default.id]).await;

            let admin_ci = api_key("adminci000", admin.id, LoginType::Token, "ci", T0);
            let admin_deploy = api_key("admindep00", admin.id, LoginType::Token, "deploy", T0 + secs(1));
            let bob_ci = api_key("bobci00000", bob.id, LoginType::Token, "ci", T0 + secs(2));
            for key in [&admin_ci, &admin_deploy, &bob_ci] {
                store.keys.create(key.clone(), Some(audit("token"))).await.unwrap();
            }
            // Session keys have no name; any number of them may exist.
            for id in ["adminsess1", "adminsess2"] {
                store.keys.create(api_key(id, admin.id, LoginType::Password, "", T0), None).await.unwrap();
            }

            let before = store.counts().await;
            let dup = api_key("admindup00", admin.id, LoginType::Token, "ci", T0);
            assert_conflict(store.keys.create(dup, Some(audit("dup"))).await);
            assert_eq!(store.counts().await, before, "a refused token writes nothing");

            assert_eq!(store.keys.get_by_name(admin.id, "ci").await.unwrap(), admin_ci);
            assert_eq!(store.keys.get_by_name(bob.id, "ci").await.unwrap(), bob_ci);
            assert_not_found(store.keys.get_by_name(bob.id, "deploy").await);
            assert_not_found(store.keys.get_by_name(admin.id, "CI").await);
            assert_not_found(store.keys.get_by_name(admin.id, "").await);

            let mine = store.keys.list_tokens(Some(admin.id)).await.unwrap();
            assert_eq!(mine, [(admin_ci.clone(), "admin".to_owned()), (admin_deploy.clone(), "admin".to_owned())]);
            let all = store.keys.list_tokens(None).await.unwrap();
            assert_eq!(
                all,
                [
                    (admin_ci.clone(), "admin".to_owned()),
                    (admin_deploy.clone(), "admin".to_owned()),
                    (bob_ci.clone(), "bob".to_owned()),
                ],
                "only tokens, every user's, oldest first, with the owner's username"
            );
            assert!(store.keys.list_tokens(Some(UserId::new_random())).await.unwrap().is_empty());

            let audits = store.count(Table::AuditLogs).await;
            store.keys.delete(&admin_ci.id, Some(audit("ci"))).await.unwrap();
            assert_eq!(store.count(Table::AuditLogs).await, audits + 1);
            assert_not_found(store.keys.delete(&admin_ci.id, Some(audit("ci"))).await);
            assert_eq!(store.count(Table::AuditLogs).await, audits + 1, "no audit for a missing key");
            assert_not_found(store.keys.get(&admin_ci.id).await);
            assert_not_found(store.keys.session(&admin_ci.id).await);
            assert_not_found(store.keys.get_by_name(admin.id, "ci").await);
            let mine = store.keys.list_tokens(Some(admin.id)).await.unwrap();
            assert_eq!(mine, [(admin_deploy, "admin".to_owned())]);
            store.keys.delete(&ApiKeyId("adminsess1".into()), None).await.unwrap();
            assert_eq!(store.count(Table::AuditLogs).await, audits + 1);
            assert_eq!(store.count(Table::ApiKeys).await, 3);

            // The name is free again once deleted.
            let again = api_key("adminci001", admin.id, LoginType::Token, "ci", T0 + secs(3));
            store.keys.create(again.clone(), None).await.unwrap();
            assert_eq!(store.keys.get_by_name(admin.id, "ci").await.unwrap(), again);
        }
    }
}

/// RBAC list filters translated to SQL select exactly the rows `Filter::matches`
/// admits, on both backends.
mod rbac_filters {
    use super::*;
    use warden_rbac::{Action, Filter, Object, ResourceType};

    fn user_object(id: UserId) -> Object {
        Object::new(ResourceType::User)
            .with_id(id.as_uuid())
            .owned_by(id.as_uuid())
    }

    fn org_object(id: OrganizationId) -> Object {
        Object::new(ResourceType::Organization)
            .with_id(id.as_uuid())
            .in_org(id.as_uuid())
    }

    on_both_backends! {
        async fn user_and_organization_filters_match_in_memory_evaluation(store) {
            let (admin, default) = store.first_user().await;
            let bob = store.user("bob", &[default.id]).await;
            let carol = store.user("carol", &[default.id]).await;
            let acme = store.org("acme", admin.id, &[], T0).await;
            let everyone = [admin.id, bob.id, carol.id];
            let orgs = [default.id, acme.id];
            let read = Action::Read;
            let filters = [
                Filter::All,
                Filter::Nothing,
                Filter::OwnerIs(bob.id.as_uuid()),
                Filter::IdIn(vec![bob.id.as_uuid(), carol.id.as_uuid()]),
                Filter::OrgIsNull,
                Filter::OrgIn(vec![acme.id.as_uuid()]),
                Filter::Or(vec![Filter::OwnerIs(carol.id.as_uuid()), Filter::OrgIn(vec![default.id.as_uuid()])]),
                Filter::And(vec![Filter::OrgIsNull, Filter::IdIn(vec![admin.id.as_uuid(), bob.id.as_uuid()])]),
                Filter::GroupAclGrants { groups: vec![default.id.as_uuid()], action: read },
                Filter::UserAclGrants { user: bob.id.as_uuid(), action: read },
            ];
            for filter in filters {
                let query = UserQuery { visible: Some(filter.clone()), ..UserQuery::default() };
                let listed: Vec<UserId> = store.users.list(query).await.unwrap().users.iter().map(|u| u.id).collect();
                let mut expected: Vec<UserId> = everyone.iter().copied().filter(|u| filter.matches(&user_object(*u))).collect();
                let mut got = listed.clone();
                expected.sort();
                got.sort();
                assert_eq!(got, expected, "users under {filter}");

                let listed: Vec<OrganizationId> =
                    store.orgs.list(None, Some(filter.clone())).await.unwrap().iter().map(|o| o.id).collect();
                let mut expected: Vec<OrganizationId> = orgs.iter().copied().filter(|o| filter.matches(&org_object(*o))).collect();
                let mut got = listed;
                expected.sort();
                got.sort();
                assert_eq!(got, expected, "organizations under {filter}");
            }
        }
    }
}

/// Cache invalidation: a write retires what it touched and nothing else, in this
/// process and, on PostgreSQL, in every other replica.
mod invalidation {
    use super::*;
    use warden_domain::ports::ChangeTag;

    /// Waits until `serves` is true of a fresh generation: on PostgreSQL, a listener
    /// that has just connected serves nothing cached for a second (it may not have
    /// heard of writes other replicas did not wait for it to hear).
    async fn warmed_up(serves: impl Fn(u64) -> bool, now: impl Fn() -> u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !serves(now()) {
            assert!(
                std::time::Instant::now() < deadline,
                "the listener never warmed up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// On PostgreSQL, this process hears its own writes back through NOTIFY a few
    /// milliseconds later and retires their tags again: harmless, but it would retire
    /// what a test reads right after. Let those echoes arrive first.
    async fn settle(store: &Store) {
        let keys = &store.keys;
        warmed_up(|g| keys.unchanged_since(g, &[]), || keys.generation()).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    on_both_backends! {
        async fn a_write_retires_only_what_it_touched(store) {
            let (admin, default) = store.first_user().await;
            let bob = store.user("bob", &[default.id]).await;
            let (admin_tag, bob_tag) = (ChangeTag::User(admin.id), ChangeTag::User(bob.id));
            let roles_tag = ChangeTag::OrganizationRoles(default.id);

            settle(&store).await;
            let before = store.keys.generation();
            store.users.set_status(bob.id, UserStatus::Suspended, T0, audit("bob")).await.unwrap();
            assert!(!store.keys.unchanged_since(before, &[bob_tag]), "bob's status changed");
            assert!(!store.keys.unchanged_since(before, &[admin_tag, bob_tag]));
            assert!(store.keys.unchanged_since(before, &[admin_tag, roles_tag]), "nothing of admin's changed");

            let key = api_key("bobsession", bob.id, LoginType::Password, "", T0);
            settle(&store).await;
            let before = store.keys.generation();
            store.keys.create(key.clone(), None).await.unwrap();
            store.keys.touch(&key.id, bob.id, T0 + secs(7200), T0 + secs(9000)).await.unwrap();
            assert!(!store.keys.unchanged_since(before, &[bob_tag]));
            assert!(store.keys.unchanged_since(before, &[admin_tag]));

            // A write that does not say what it touched retires everything.
            settle(&store).await;
            let before = store.keys.generation();
            store.orgs.update(default.id, OrganizationPatch { display_name: Some("Renamed".into()), ..Default::default() }, T0, audit("org")).await.unwrap();
            assert!(!store.keys.unchanged_since(before, &[admin_tag]));
            assert!(!store.keys.unchanged_since(before, &[]));

            // A failed write retires what it would have touched, and never less.
            settle(&store).await;
            let before = store.keys.generation();
            assert_conflict(store.users.create(new_user("bob"), audit("dup")).await);
            assert!(store.keys.unchanged_since(before, &[admin_tag, bob_tag]), "a user that was never created touches no one else");
        }
    }

    /// Another replica on the same PostgreSQL database learns what each write
    /// touched through NOTIFY, and retires only that.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn other_replicas_retire_only_what_was_touched() {
        let store = Store::open(Backend::Postgres).await;
        let (admin, default) = store.first_user().await;
        let bob = store.user("bob", &[default.id]).await;
        let replica = Database::connect(store._test_db.url(), PoolConfig::default())
            .await
            .expect("connect a second replica");
        let (admin_tag, bob_tag) = (ChangeTag::User(admin.id), ChangeTag::User(bob.id));
        let eventually = |what: &'static str, check: &dyn Fn() -> bool| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !check() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{what} never happened"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        };
        // The replica's listener retires everything once when it connects; wait for
        // that to be behind us by watching a touched-everything write arrive.
        let start = replica.generation();
        store
            .orgs
            .update(default.id, OrganizationPatch::default(), T0, audit("org"))
            .await
            .unwrap();
        eventually("the replica hearing of a write", &|| {
            replica.generation() > start
        });
        warmed_up(|g| replica.unchanged_since(g, &[]), || replica.generation()).await;

        let mut spared = false;
        for status in [
            UserStatus::Suspended,
            UserStatus::Active,
            UserStatus::Suspended,
        ] {
            let before = replica.generation();
            store
                .users
                .set_status(bob.id, status, T0, audit("bob"))
                .await
                .unwrap();
            // Not eventually: the write returned once the replica had heard of it.
            assert!(
                !replica.unchanged_since(before, &[bob_tag]),
                "the replica has heard of bob's change by the time it returned"
            );
            spared |= replica.unchanged_since(before, &[admin_tag]);
        }
        assert!(
            spared,
            "a write touching bob must not retire admin in other replicas"
        );
    }

    /// A replica alone on the database does not wait for acknowledgements. A replica
    /// that connects then must still never serve a read cached before one of those
    /// writes once the write has returned: it serves nothing cached until the writer
    /// has counted it and waits for it again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replica_that_connects_while_the_writer_is_alone_serves_nothing_stale() {
        let store = Store::open(Backend::Postgres).await;
        let (_, default) = store.first_user().await;
        let bob = store.user("bob", &[default.id]).await;
        let bob_tag = ChangeTag::User(bob.id);
        // Idle long enough for the writer's announcer to count no other listener.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let replica = Database::connect(store._test_db.url(), PoolConfig::default())
            .await
            .expect("connect a second replica");
        let started = std::time::Instant::now();
        let mut served_cached = false;
        let mut status = UserStatus::Suspended;
        // Across the replica's warm-up and the writer's next count of it.
        while started.elapsed() < std::time::Duration::from_millis(2_500) {
            let before = replica.generation();
            served_cached |= replica.unchanged_since(before, &[bob_tag]);
            store
                .users
                .set_status(bob.id, status, T0, audit("bob"))
                .await
                .unwrap();
            assert!(
                !replica.unchanged_since(before, &[bob_tag]),
                "after {:?}, the replica would serve bob as cached before his change",
                started.elapsed()
            );
            status = match status {
                UserStatus::Suspended => UserStatus::Active,
                _ => UserStatus::Suspended,
            };
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(served_cached, "the replica never warmed up");
    }

    /// A writer that dies between its commit and its announcement leaves other
    /// replicas unaware of the write; each listener retires everything periodically,
    /// so that such a loss is bounded in time. Simulated with a write no one announces.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unannounced_write_is_retired_within_the_bound() {
        let store = Store::open(Backend::Postgres).await;
        let (admin, _) = store.first_user().await;
        let admin_tag = ChangeTag::User(admin.id);
        let replica = Database::connect(store._test_db.url(), PoolConfig::default())
            .await
            .expect("connect a replica");
        // Past the retirement every listener makes when it connects.
        warmed_up(|g| replica.unchanged_since(g, &[]), || replica.generation()).await;
        let before = replica.generation();
        let mut writer = diesel::PgConnection::establish(store._test_db.url()).expect("connect");
        diesel::connection::SimpleConnection::batch_execute(
            &mut writer,
            "UPDATE users SET name = 'Changed behind the replicas'",
        )
        .expect("an unannounced write");
        assert!(
            replica.unchanged_since(before, &[admin_tag]),
            "nothing was announced"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while replica.unchanged_since(before, &[admin_tag]) {
            assert!(
                std::time::Instant::now() < deadline,
                "the replica never retired its cached reads"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

mod pool {
    use super::*;
    use diesel::connection::SimpleConnection;

    /// Pooled connections are trusted without a probe while they were recently used;
    /// one PostgreSQL dropped (a restart, an idle timeout) costs at most the query
    /// that finds out, and then leaves the pool.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_the_server_dropped_leave_the_pool() {
        let store = Store::open(Backend::Postgres).await;
        async fn query(db: &Database, sql: &'static str) -> Result<(), RepoError> {
            db.run(move |conn| {
                conn.batch_execute(sql)
                    .map_err(|e| RepoError::Unavailable(e.to_string()))
            })
            .await
        }
        let select = || query(&store.db, "SELECT 1");
        // Fill the pool with connections that have all answered just now.
        let mut warm = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let db = store.db.clone();
            warm.spawn(async move { query(&db, "SELECT pg_sleep(0.05)").await });
        }
        while let Some(result) = warm.join_next().await {
            result.expect("join").expect("a healthy pool answers");
        }
        let mut admin = diesel::PgConnection::establish(store._test_db.url()).expect("connect");
        admin
            .batch_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .expect("terminate the pool's connections");
        let mut outcomes = Vec::new();
        for _ in 0..30 {
            outcomes.push(select().await.is_ok());
        }
        let failures = outcomes.iter().filter(|ok| !**ok).count();
        assert!(
            failures <= 8,
            "each dropped connection fails at most once: {outcomes:?}"
        );
        assert!(
            outcomes[20..].iter().all(|ok| *ok),
            "the pool recovered: {outcomes:?}"
        );
    }
}

mod oauth2_rotation {
    use super::*;
    use uuid::Uuid;
    use warden_domain::ids::{OAuth2AppId, OAuth2SecretId};
    use warden_domain::oauth2::{
        ClientType, OAuth2App, OAuth2Code, Redemption, RefreshToken, TokenIssue,
    };
    use warden_domain::ports::OAuth2Repo;
    use warden_storage::DieselOAuth2Repo;

    /// An application, its user and the first refresh token of a family, issued by
    /// redeeming a code at [`T0`].
    struct Family {
        repo: DieselOAuth2Repo,
        repo_db: Database,
        app: OAuth2AppId,
        user: UserId,
        id: Uuid,
        first: RefreshToken,
    }

    impl Family {
        async fn start(store: &Store) -> Self {
            let (user, _) = store.first_user().await;
            let repo = DieselOAuth2Repo::new(store.db.clone());
            let app = repo
                .create_app(
                    OAuth2App {
                        id: OAuth2AppId::new_random(),
                        name: "rotation".into(),
                        callback_url: "http://127.0.0.1/cb".into(),
                        redirect_uris: vec!["http://127.0.0.1/cb".into()],
                        icon: String::new(),
                        client_type: ClientType::Confidential,
                        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                        allowed_scopes: None,
                        created_at: T0,
                        updated_at: T0,
                    },
                    audit("rotation"),
                )
                .await
                .expect("create app");
            let id = Uuid::new_v4();
            repo.create_code(OAuth2Code {
                id,
                prefix: format!("code-{id}"),
                hashed_secret: vec![1; 32],
                app_id: app.id,
                user_id: user.id,
                redirect_uri: app.callback_url.clone(),
                redirect_uri_given: false,
                code_challenge: "challenge".into(),
                scopes: vec!["coder:all".into()],
                resource: None,
                created_at: T0,
                expires_at: T0 + secs(600),
                used_at: None,
            })
            .await
            .expect("create code");
            let first = issue(app.id, user.id, id, T0);
            assert_eq!(
                repo.redeem_code(id, first.clone()).await.expect("redeem"),
                Redemption::Issued
            );
            Self {
                repo,
                repo_db: store.db.clone(),
                app: app.id,
                user: user.id,
                id,
                first: first.refresh,
            }
        }

        fn issue(&self, now: OffsetDateTime) -> TokenIssue {
            issue(self.app, self.user, self.id, now)
        }

        async fn rotate(
            &self,
            old: &RefreshToken,
            grace_since: OffsetDateTime,
            issue: TokenIssue,
        ) -> Result<Redemption, RepoError> {
            self.repo.rotate_refresh(old.id, grace_since, issue).await
        }

        async fn is_live(&self, token: &RefreshToken) -> bool {
            match self.repo.refresh_by_prefix(&token.prefix).await {
                Ok(_) => true,
                Err(RepoError::NotFound) => false,
                Err(e) => panic!("reading a refresh token: {e}"),
            }
        }

        /// Whether the access token's row exists, read directly: introspection also
        /// needs the refresh token's row.
        async fn key_row_exists(&self, key: &ApiKeyId) -> bool {
            let key = key.0.clone();
            let count = self
                .repo_db
                .run(move |conn| {
                    raw::api_keys::table
                        .find(key)
                        .count()
                        .get_result::<i64>(conn)
                        .map_err(|e| RepoError::Internal(e.to_string()))
                })
                .await
                .unwrap();
            count > 0
        }

        async fn key_is_live(&self, token: &RefreshToken) -> bool {
            match self.repo.access_token(&token.api_key_id).await {
                Ok(_) => true,
                Err(RepoError::NotFound) => false,
                Err(e) => panic!("reading an access token: {e}"),
            }
        }
    }

    /// A fresh access token and refresh token of `family`, minted at `now`.
    fn issue(app: OAuth2AppId, user: UserId, family: Uuid, now: OffsetDateTime) -> TokenIssue {
        let id = Uuid::new_v4();
        let mut key = api_key(
            &format!("key{}", id.simple()),
            user,
            LoginType::OAuth2ProviderApp,
            "",
            now,
        );
        key.scopes = vec!["coder:all".into()];
        TokenIssue {
            refresh: RefreshToken {
                id,
                prefix: format!("rt{}", id.simple()),
                hashed_secret: vec![2; 32],
                family_id: family,
                app_id: app,
                user_id: user,
                secret_id: None::<OAuth2SecretId>,
                api_key_id: key.id.clone(),
                scopes: key.scopes.clone(),
                audience: None,
                created_at: now,
                expires_at: now + secs(3_600),
                rotated_at: None,
            },
            api_key: key,
            secret_used: None,
            now,
        }
    }

    on_both_backends! {
        async fn rotation_within_and_after_the_grace_window(store) {
            let family = Family::start(&store).await;
            let first = family.first.clone();
            let grace_since = T0 - secs(10);

            let second = family.issue(T0);
            assert_eq!(family.rotate(&first, grace_since, second.clone()).await.unwrap(), Redemption::Issued);
            assert!(!family.key_is_live(&first).await, "the rotated token's access token is gone");
            assert!(family.key_is_live(&second.refresh).await);
            let rotated = family.repo.refresh_by_prefix(&first.prefix).await.unwrap();
            assert_eq!(rotated.rotated_at, Some(T0));

            // Presented again within the grace window (a concurrent refresh): issued,
            // and the first rotation's time stands.
            let third = family.issue(T0 + secs(1));
            assert_eq!(family.rotate(&first, grace_since, third.clone()).await.unwrap(), Redemption::Issued);
            let rotated = family.repo.refresh_by_prefix(&first.prefix).await.unwrap();
            assert_eq!(rotated.rotated_at, Some(T0));
            assert!(family.key_is_live(&third.refresh).await);

            // After the window: a replay. Nothing is issued and the family is gone.
            let fourth = family.issue(T0 + secs(30));
            assert_eq!(family.rotate(&first, T0 + secs(20), fourth.clone()).await.unwrap(), Redemption::Replayed);
            for token in [&first, &second.refresh, &third.refresh, &fourth.refresh] {
                assert!(!family.is_live(token).await, "{} survived the replay", token.prefix);
                assert!(!family.key_is_live(token).await, "{}'s access token survived", token.prefix);
            }

            // The token is gone now, and presenting it writes nothing.
            let fifth = family.issue(T0 + secs(31));
            assert!(matches!(family.rotate(&first, grace_since, fifth.clone()).await, Err(RepoError::NotFound)));
            assert!(!family.is_live(&fifth.refresh).await);
        }

        async fn concurrent_rotations_of_one_token_all_issue_within_the_window(store) {
            let family = std::sync::Arc::new(Family::start(&store).await);
            let first = family.first.clone();
            let rotations = (0..8).map(|i| {
                let (family, first) = (std::sync::Arc::clone(&family), first.clone());
                tokio::spawn(async move {
                    let issue = family.issue(T0 + time::Duration::milliseconds(i));
                    let outcome = family.rotate(&first, T0 - secs(10), issue.clone()).await;
                    (outcome, issue.refresh)
                })
            });
            let mut successors = Vec::new();
            for rotation in rotations {
                let (outcome, successor) = rotation.await.unwrap();
                assert_eq!(outcome.unwrap(), Redemption::Issued);
                successors.push(successor);
            }
            for successor in &successors {
                assert!(family.is_live(successor).await);
            }
            // The first rotation set the time; the others saw it and left it.
            let rotated = family.repo.refresh_by_prefix(&first.prefix).await.unwrap();
            let window = T0..T0 + time::Duration::milliseconds(8);
            assert!(rotated.rotated_at.is_some_and(|t| window.contains(&t)));
            family.repo.revoke_family(family.id).await.unwrap();
            for successor in &successors {
                assert!(!family.is_live(successor).await);
            }
        }
    }

    /// A rotation holds the presented token's row until it commits its successor; a
    /// family revocation that reached the row meanwhile must remove the successor too.
    /// The rotation in flight is played by hand on a connection of its own, so that
    /// the revocation is known to be waiting on it before it commits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revoking_a_family_removes_a_rotation_in_flight() {
        use diesel::connection::SimpleConnection;

        let store = Store::open(Backend::Postgres).await;
        let family = std::sync::Arc::new(Family::start(&store).await);
        let successor = family.issue(T0 + secs(1)).refresh;
        let mut rotation = diesel::PgConnection::establish(store._test_db.url()).unwrap();
        let first = &family.first;
        rotation
            .batch_execute(&format!(
                "BEGIN; \
                 UPDATE oauth2_tokens SET rotated_at = now() WHERE id = '{old}'; \
                 INSERT INTO oauth2_tokens (id, prefix, hashed_secret, family_id, app_id, \
                 user_id, secret_id, api_key_id, scopes, audience, created_at, expires_at) \
                 SELECT '{id}', '{prefix}', hashed_secret, family_id, app_id, user_id, \
                 secret_id, 'successor-key', scopes, audience, created_at, expires_at \
                 FROM oauth2_tokens WHERE id = '{old}'",
                old = first.id,
                id = successor.id,
                prefix = successor.prefix,
            ))
            .unwrap();

        let revocation = tokio::spawn({
            let family = std::sync::Arc::clone(&family);
            async move { family.repo.revoke_family(family.id).await }
        });
        wait_until_blocked(store._test_db.url()).await;
        rotation.batch_execute("COMMIT").unwrap();

        revocation.await.unwrap().unwrap();
        assert!(!family.is_live(first).await);
        assert!(
            !family.is_live(&successor).await,
            "the successor committed during the revocation survived it"
        );
    }

    /// Deleting a client secret waits for a grant in flight that authenticated with it,
    /// then removes what the grant issued, the access token included (`ON DELETE
    /// CASCADE` alone would leave that behind).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deleting_a_secret_removes_a_grant_in_flight() {
        use diesel::connection::SimpleConnection;
        use warden_domain::oauth2::OAuth2AppSecret;

        let store = Store::open(Backend::Postgres).await;
        let family = std::sync::Arc::new(Family::start(&store).await);
        let secret = family
            .repo
            .create_secret(
                OAuth2AppSecret {
                    id: OAuth2SecretId::new_random(),
                    app_id: family.app,
                    prefix: "secretprefix".into(),
                    hashed_secret: vec![3; 32],
                    display_secret: "shown once".into(),
                    created_at: T0,
                    last_used_at: None,
                },
                audit("secret"),
            )
            .await
            .unwrap();
        let successor = family.issue(T0 + secs(1)).refresh;
        let first = &family.first;
        let mut grant = diesel::PgConnection::establish(store._test_db.url()).unwrap();
        grant
            .batch_execute(&format!(
                "BEGIN; \
                 INSERT INTO api_keys (id, user_id, hashed_secret, last_used, expires_at, \
                 created_at, updated_at, login_type, lifetime_seconds, token_name, scopes, \
                 allow_list) SELECT '{key}', user_id, hashed_secret, last_used, expires_at, \
                 created_at, updated_at, login_type, lifetime_seconds, token_name, scopes, \
                 allow_list FROM api_keys WHERE id = '{old_key}'; \
                 INSERT INTO oauth2_tokens (id, prefix, hashed_secret, family_id, app_id, \
                 user_id, secret_id, api_key_id, scopes, audience, created_at, expires_at) \
                 SELECT '{id}', '{prefix}', hashed_secret, family_id, app_id, user_id, \
                 '{secret}', '{key}', scopes, audience, created_at, expires_at \
                 FROM oauth2_tokens WHERE id = '{old}'",
                key = successor.api_key_id.0,
                old_key = first.api_key_id.0,
                id = successor.id,
                prefix = successor.prefix,
                secret = secret.id,
                old = first.id,
            ))
            .unwrap();

        let deletion = tokio::spawn({
            let family = std::sync::Arc::clone(&family);
            async move {
                family
                    .repo
                    .delete_secret(family.app, secret.id, audit("secret"))
                    .await
            }
        });
        wait_until_blocked(store._test_db.url()).await;
        grant.batch_execute("COMMIT").unwrap();

        deletion.await.unwrap().unwrap();
        assert!(!family.is_live(&successor).await);
        assert!(
            !family.key_row_exists(&successor.api_key_id).await,
            "the access token of a grant made with the deleted secret survived"
        );
        assert!(
            family.is_live(first).await,
            "tokens obtained without that secret stay"
        );
    }

    /// Waits until some session on the database waits for a lock.
    async fn wait_until_blocked(url: &str) {
        let mut watcher = diesel::PgConnection::establish(url).unwrap();
        for _ in 0..500 {
            let blocked: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT count(*) FROM pg_locks WHERE NOT granted)",
            ))
            .get_result(&mut watcher)
            .unwrap();
            if blocked > 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("nothing ever waited for the transaction in flight");
    }
}

mod replicas {
    use super::*;
    use warden_domain::ids::ReplicaId;
    use warden_domain::model::Replica;
    use warden_domain::ports::ReplicaRepo;
    use warden_storage::DieselReplicaRepo;

    fn replica(hostname: &str, created_at: OffsetDateTime) -> Replica {
        Replica {
            id: ReplicaId::new_random(),
            hostname: hostname.into(),
            region_id: 0,
            relay_address: String::new(),
            error: String::new(),
            database_latency: 180,
            created_at,
            updated_at: created_at,
        }
    }

    on_both_backends! {
        async fn heartbeats_upsert_and_stale_entries_go(store) {
            let repo = DieselReplicaRepo::new(store.db.clone());
            let mut a = replica("a", T0);
            let b = replica("b", T0 + secs(1));
            repo.heartbeat(b.clone()).await.unwrap();
            repo.heartbeat(a.clone()).await.unwrap();
            assert_eq!(repo.alive(T0).await.unwrap(), vec![a.clone(), b.clone()], "oldest first");

            // A later report rewrites the row in place.
            a.updated_at = T0 + secs(20);
            a.database_latency = 90;
            a.error = "database ping failed: timeout".into();
            repo.heartbeat(a.clone()).await.unwrap();
            assert_eq!(repo.alive(T0 + secs(10)).await.unwrap(), vec![a.clone()]);

            assert_eq!(repo.remove_stale(T0 + secs(10)).await.unwrap(), 1);
            assert_eq!(repo.alive(T0).await.unwrap(), vec![a.clone()]);
            // A replica removed as stale that reports again is back.
            repo.heartbeat(b.clone()).await.unwrap();
            assert_eq!(repo.alive(T0).await.unwrap(), vec![a.clone(), b.clone()]);

            repo.remove(a.id).await.unwrap();
            repo.remove(a.id).await.unwrap();
            assert_eq!(repo.alive(T0).await.unwrap(), vec![b]);
            assert!(repo.ping().await.unwrap() > std::time::Duration::ZERO);
        }
    }
}

mod attempts {
    use super::*;
    use warden_domain::ports::AttemptLog;
    use warden_storage::DieselAttemptLog;

    const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

    on_both_backends! {
        async fn attempts_count_per_bucket_within_the_window(store) {
            let log = DieselAttemptLog::new(store.db.clone());
            for i in 0..3 {
                assert!(log.attempt("limit a", T0 + secs(i), MINUTE, 3).await.unwrap().is_ok());
            }
            // Refused until the oldest leaves the window; refusals are not counted.
            assert_eq!(log.attempt("limit a", T0 + secs(10), MINUTE, 3).await.unwrap(), Err(T0 + secs(60)));
            assert_eq!(log.attempt("limit a", T0 + secs(59), MINUTE, 3).await.unwrap(), Err(T0 + secs(60)));
            assert!(log.attempt("limit b", T0 + secs(10), MINUTE, 3).await.unwrap().is_ok(), "buckets are apart");
            assert!(log.attempt("limit a", T0 + secs(60), MINUTE, 3).await.unwrap().is_ok());
            assert_eq!(log.attempt("limit a", T0 + secs(60), MINUTE, 3).await.unwrap(), Err(T0 + secs(61)));

            // A forgiven attempt does not count; forgiving twice is harmless.
            let id = log.attempt("limit c", T0, MINUTE, 1).await.unwrap().unwrap();
            log.forgive(id).await.unwrap();
            log.forgive(id).await.unwrap();
            assert!(log.attempt("limit c", T0, MINUTE, 1).await.unwrap().is_ok());
            assert!(log.attempt("limit c", T0, MINUTE, 1).await.unwrap().is_err());
            assert_eq!(log.attempt("limit d", T0, MINUTE, 0).await.unwrap(), Err(T0 + secs(60)), "0 admits none");
        }

        async fn concurrent_attempts_cannot_pass_the_limit(store) {
            let log = std::sync::Arc::new(DieselAttemptLog::new(store.db.clone()));
            let tries = (0..16).map(|_| {
                let log = std::sync::Arc::clone(&log);
                tokio::spawn(async move { log.attempt("busy", T0, MINUTE, 5).await })
            });
            let mut admitted = 0;
            for t in tries {
                if t.await.unwrap().unwrap().is_ok() {
                    admitted += 1;
                }
            }
            assert_eq!(admitted, 5);
        }
    }
}

mod user_links {
    use super::*;
    use serde_json::json;
    use warden_domain::idp_sync::plan::SyncChanges;
    use warden_domain::oidc::UserLink;
    use warden_domain::ports::{LinkedSignIn, UserLinkRepo};
    use warden_storage::DieselUserLinkRepo;

    fn link(user: UserId, sub: &str, merged: serde_json::Value) -> UserLink {
        UserLink {
            user_id: user,
            login_type: LoginType::Oidc,
            linked_id: format!("https://idp.example||{sub}"),
            claims: json!({ "id_token_claims": {}, "userinfo_claims": {}, "merged_claims": merged }),
            created_at: T0,
            updated_at: T0,
        }
    }

    fn sign_in(new_user: Option<NewUser>, link: UserLink, key: &str) -> LinkedSignIn {
        LinkedSignIn {
            new_user,
            reactivate: false,
            profile: None,
            key: api_key(key, link.user_id, LoginType::Oidc, "", T0),
            link,
            sync: SyncChanges::default(),
            audit: vec![audit("sign-in")],
        }
    }

    fn oidc_user(name: &str, orgs: &[OrganizationId]) -> NewUser {
        let mut user = new_user(name);
        user.login_type = LoginType::Oidc;
        user.hashed_password = None;
        user.organization_ids = orgs.to_vec();
        user
    }

    on_both_backends! {
        async fn sign_in_creates_links_and_indexes_distinct_claims(store) {
            let repo = DieselUserLinkRepo::new(store.db.clone());
            let (_, default) = store.first_user().await;
            let alice = oidc_user("alice", &[default.id]);
            let created = repo
                .sign_in(sign_in(
                    Some(alice.clone()),
                    link(alice.id, "a", json!({ "groups": ["ops", "dev"], "email": "alice@example.com", "n": 3 })),
                    "key-alice",
                ))
                .await
                .unwrap();
            assert_eq!(created.login_type, LoginType::Oidc);
            assert_eq!(created.organization_ids, vec![default.id]);
            let bob = oidc_user("bob", &[]);
            repo.sign_in(sign_in(
                Some(bob.clone()),
                link(bob.id, "b", json!({ "groups": ["dev", "qa"], "team": "dev" })),
                "key-bob",
            ))
            .await
            .unwrap();

            let found = repo.by_linked_id(LoginType::Oidc, "https://idp.example||a").await.unwrap();
            assert_eq!(found.user_id, alice.id);
            assert_eq!(found.merged_claims()["n"], json!(3));
            assert_not_found(repo.by_linked_id(LoginType::Oidc, "https://idp.example||zz").await);
            assert_not_found(repo.by_linked_id(LoginType::Github, "https://idp.example||a").await);

            assert_eq!(repo.claim_fields(None).await.unwrap(), vec!["email", "groups", "n", "team"]);
            assert_eq!(repo.claim_values(None, "groups").await.unwrap(), vec!["dev", "ops", "qa"]);
            assert_eq!(repo.claim_values(None, "n").await.unwrap(), Vec::<String>::new(), "numbers are not mappable");
            assert_eq!(repo.claim_values(None, "nope").await.unwrap(), Vec::<String>::new());
            // Only members of the organization count.
            assert_eq!(repo.claim_fields(Some(default.id)).await.unwrap(), vec!["email", "groups", "n"]);
            assert_eq!(repo.claim_values(Some(default.id), "groups").await.unwrap(), vec!["dev", "ops"]);

            // A later sign-in replaces the claims; the link keeps its creation time.
            let mut again = link(alice.id, "a", json!({ "groups": ["ops"] }));
            again.created_at = T0 + secs(60);
            again.updated_at = T0 + secs(60);
            repo.sign_in(sign_in(None, again, "key-alice-2")).await.unwrap();
            let stored = repo.of_user(alice.id, LoginType::Oidc).await.unwrap();
            assert_eq!((stored.created_at, stored.updated_at), (T0, T0 + secs(60)));
            assert_eq!(repo.claim_values(Some(default.id), "groups").await.unwrap(), vec!["ops"]);
            assert_eq!(repo.claim_fields(Some(default.id)).await.unwrap(), vec!["groups"]);

            // Deleting the user removes the link and its claims.
            store.users.delete(alice.id, T0 + secs(120), audit("alice")).await.unwrap();
            assert_not_found(repo.of_user(alice.id, LoginType::Oidc).await);
            assert_eq!(repo.claim_values(None, "groups").await.unwrap(), vec!["dev", "qa"]);
        }

        async fn a_second_link_to_the_same_identity_conflicts_and_writes_nothing(store) {
            let repo = DieselUserLinkRepo::new(store.db.clone());
            store.first_user().await;
            let alice = oidc_user("alice", &[]);
            repo.sign_in(sign_in(Some(alice.clone()), link(alice.id, "a", json!({})), "k1"))
                .await
                .unwrap();
            let before = store.counts().await;
            // A concurrent first sign-in of the same account: same username and e-mail.
            let twin = oidc_user("alice", &[]);
            let twin_link = link(twin.id, "a2", json!({}));
            assert_conflict(repo.sign_in(sign_in(Some(twin), twin_link, "k2")).await);
            // A provider identity already linked to someone else.
            let other = oidc_user("other", &[]);
            let taken = link(other.id, "a", json!({}));
            assert_conflict(repo.sign_in(sign_in(Some(other), taken, "k3")).await);
            assert_eq!(store.counts().await, before);
        }
    }
}
