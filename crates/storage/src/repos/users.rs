//! [`UserRepo`] on diesel.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Nullable, Text, Timestamp};
use time::{OffsetDateTime, PrimitiveDateTime};
use warden_domain::RepoError;
use warden_domain::ids::{ApiKeyId, OrganizationId, UserId};
use warden_domain::model::{AuditEntry, NewUser, Organization, User, UserCredentials, UserStatus};
use warden_domain::ports::{ChangeTag, RepoResult, UserPage, UserQuery, UserRepo};
use warden_domain::values::Username;
use warden_rbac::roles;

use crate::Touched;
use crate::cache::GenerationCache;
use crate::db::{AnyConnection, Database, lock, per_engine};
use crate::error::map_diesel;
use crate::kept::{Fragment, fragment};
use crate::repos::one_statement::Statement;
use crate::repos::{IN_CHUNK, insert_audit};
use crate::rows::{MemberRow, OrganizationRow, UserRow, parse_uuid, to_db};
use crate::schema::{
    api_keys, lower, oauth2_codes, oauth2_device_codes, oauth2_tokens, organization_members,
    organizations, user_site_roles, users,
};

/// Advisory-lock key serializing first-user creation on PostgreSQL.
const FIRST_USER_LOCK: i64 = 0x5741_5244_0001;

/// Users on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselUserRepo {
    db: Database,
    /// Single-user reads by `id:<uuid>` or `name:<lowercased username>`.
    cache: Arc<GenerationCache<String, User>>,
}

impl DieselUserRepo {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            cache: Arc::default(),
        }
    }

    /// Serves `key` from the cache or loads it, remembering the result under the
    /// generation read before loading.
    async fn cached<F>(&self, key: String, load: F) -> RepoResult<User>
    where
        F: FnOnce(&mut AnyConnection) -> Result<User, RepoError> + Send + 'static,
    {
        if let Some(user) = self.cache.get(&key, &self.db) {
            return Ok(user);
        }
        let generation = self.db.generation();
        let user = self.db.run(load).await?;
        self.cache
            .put(key, generation, ChangeTag::User(user.id), user.clone());
        Ok(user)
    }

    /// One write transaction on a live user: moves its `updated_at` (`NotFound` if
    /// there is none or it is deleted), runs `f` with the user's key, and writes the
    /// audit record; cached reads of the user are retired.
    async fn write_live_user<T, F>(
        &self,
        id: UserId,
        now: OffsetDateTime,
        audit: AuditEntry,
        f: F,
    ) -> RepoResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, &str) -> Result<T, RepoError> + Send + 'static,
    {
        self.db
            .write_touching(Touched::Only(vec![ChangeTag::User(id)]), move |conn| {
                let key = id.to_string();
                touch_live_user(conn, &key, now)?;
                let out = f(conn, &key)?;
                insert_audit(conn, &audit)?;
                Ok(out)
            })
            .await
    }
}

/// Loads site roles and memberships for rows and builds the entities, in row order.
pub(crate) fn hydrate(
    conn: &mut AnyConnection,
    rows: Vec<UserRow>,
) -> Result<Vec<User>, RepoError> {
    let rows = match <[UserRow; 1]>::try_from(rows) {
        // One user, the usual lookup: roles and memberships in one round trip.
        Ok([row]) => {
            let (roles, orgs) = roles_and_organizations(conn, &row.id)?;
            return Ok(vec![row.into_user(roles, orgs)?]);
        }
        Err(rows) => rows,
    };
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut roles: HashMap<String, Vec<String>> = HashMap::new();
    let mut orgs: HashMap<String, Vec<OrganizationId>> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let role_rows: Vec<(String, String)> = user_site_roles::table
            .filter(user_site_roles::user_id.eq_any(chunk))
            .select((user_site_roles::user_id, user_site_roles::role_name))
            .order((user_site_roles::user_id, user_site_roles::role_name))
            .load(conn)
            .map_err(map_diesel)?;
        for (user, role) in role_rows {
            roles.entry(user).or_default().push(role);
        }
        let member_rows: Vec<(String, String)> = organization_members::table
            .filter(organization_members::user_id.eq_any(chunk))
            .select((
                organization_members::user_id,
                organization_members::organization_id,
            ))
            .order((
                organization_members::user_id,
                organization_members::created_at,
                organization_members::organization_id,
            ))
            .load(conn)
            .map_err(map_diesel)?;
        for (user, org) in member_rows {
            orgs.entry(user)
                .or_default()
                .push(parse_uuid("organization id", &org)?);
        }
    }
    rows.into_iter()
        .map(|row| {
            let mut r = roles.remove(&row.id).unwrap_or_default();
            // By code point on every engine and collation, as for one user.
            r.sort();
            let o = orgs.remove(&row.id).unwrap_or_default();
            row.into_user(r, o)
        })
        .collect()
}

/// The site roles (by name) and organizations (in join order) of one user, in one
/// statement, a union of both tables: a fixed statement, kept prepared by both engines.
fn roles_and_organizations(
    conn: &mut AnyConnection,
    user: &str,
) -> Result<(Vec<String>, Vec<OrganizationId>), RepoError> {
    let no_time: Option<PrimitiveDateTime> = None;
    let rows: Vec<(bool, String, Option<PrimitiveDateTime>)> = per_engine!(conn, |c| {
        user_site_roles::table
            .filter(user_site_roles::user_id.eq(user))
            .select((
                true.into_sql::<Bool>(),
                user_site_roles::role_name,
                no_time.into_sql::<Nullable<Timestamp>>(),
            ))
            .union_all(
                organization_members::table
                    .filter(organization_members::user_id.eq(user))
                    .select((
                        false.into_sql::<Bool>(),
                        organization_members::organization_id,
                        organization_members::created_at.nullable(),
                    )),
            )
            .load(c)
    })
    .map_err(map_diesel)?;
    let (mut roles, mut orgs) = (Vec::new(), Vec::new());
    for (is_role, value, joined) in rows {
        if is_role {
            roles.push(value);
        } else {
            orgs.push((joined, value));
        }
    }
    roles.sort();
    orgs.sort();
    let orgs = orgs
        .into_iter()
        .map(|(_, id)| parse_uuid("organization id", &id))
        .collect::<Result<_, _>>()?;
    Ok((roles, orgs))
}

/// A live user's site roles beside its row, space-separated, in name order
/// (`string_agg` is PostgreSQL's and, since 3.44, SQLite's).
const SITE_ROLES: &str = "(SELECT string_agg(user_site_roles.role_name, ' ' \
      ORDER BY user_site_roles.role_name) \
    FROM user_site_roles WHERE user_site_roles.user_id = users.id)";

/// A live user's organizations beside its row, space-separated, in the order it
/// joined them.
const ORGANIZATIONS: &str = "(SELECT string_agg(organization_members.organization_id, ' ' \
      ORDER BY organization_members.created_at, organization_members.organization_id) \
    FROM organization_members WHERE organization_members.user_id = users.id)";

/// A user row with its site roles and organizations, as one statement loads them.
type RowWithGrants = (UserRow, Option<String>, Option<String>);

fn with_grants(found: RowWithGrants) -> Result<User, RepoError> {
    let (row, site_roles, organizations) = found;
    // Sorted here too: PostgreSQL's collation need not be byte order.
    let mut site_roles: Vec<String> = site_roles
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    site_roles.sort();
    let organizations = organizations
        .unwrap_or_default()
        .split_whitespace()
        .map(|id| parse_uuid("organization id", id))
        .collect::<Result<_, _>>()?;
    row.into_user(site_roles, organizations)
}

/// What selects a [`RowWithGrants`] from `users`.
type SelectRowWithGrants = (
    diesel::helper_types::AsSelect<UserRow, crate::db::MultiBackend>,
    Fragment<Nullable<Text>>,
    Fragment<Nullable<Text>>,
);

/// Fixed text, so that the loads stay prepared on PostgreSQL.
fn row_with_grants() -> SelectRowWithGrants {
    (
        UserRow::as_select(),
        fragment(SITE_ROLES),
        fragment(ORGANIZATIONS),
    )
}

/// A live user by id, with its roles and organizations, in one round trip.
pub(crate) fn load_user(conn: &mut AnyConnection, id: &str) -> Result<User, RepoError> {
    let found: RowWithGrants = users::table
        .filter(users::id.eq(id))
        .filter(diesel::dsl::not(users::deleted))
        .select(row_with_grants())
        .first(conn)
        .map_err(map_diesel)?;
    with_grants(found)
}

/// A live user by username (any case), with its roles and organizations, in one
/// round trip.
fn load_user_by_username(conn: &mut AnyConnection, username: &str) -> Result<User, RepoError> {
    let found: RowWithGrants = users::table
        .filter(lower(users::username).eq(username))
        .filter(diesel::dsl::not(users::deleted))
        .select(row_with_grants())
        .first(conn)
        .map_err(map_diesel)?;
    with_grants(found)
}

/// The rows of a new user: theirs, their site roles (without the implied `member`,
/// by name) and their organizations (by id, the order a read returns: they all
/// joined at the same instant).
pub(crate) fn new_user_rows(new: &NewUser) -> (UserRow, Vec<String>, Vec<OrganizationId>) {
    let now = to_db(new.now);
    let row = UserRow {
        id: new.id.to_string(),
        email: new.email.as_str().to_owned(),
        username: new.username.as_str().to_owned(),
        name: new.name.clone(),
        avatar_url: String::new(),
        hashed_password: new.hashed_password.clone(),
        status: new.status.as_str().to_owned(),
        login_type: new.login_type.as_str().to_owned(),
        is_service_account: false,
        theme_preference: String::new(),
        deleted: false,
        created_at: now,
        updated_at: now,
        last_seen_at: now,
    };
    let mut site_roles: Vec<String> = new
        .site_roles
        .iter()
        .filter(|r| r.as_str() != roles::MEMBER)
        .cloned()
        .collect();
    site_roles.sort();
    let mut organizations = new.organization_ids.clone();
    // UUID order is the order of their stored text.
    organizations.sort();
    (row, site_roles, organizations)
}

/// Inserts a user with their site roles and memberships, and returns the user as a
/// later read would (stored precision, roles, organizations), without reading it back.
pub(crate) fn insert_user(conn: &mut AnyConnection, new: &NewUser) -> Result<User, RepoError> {
    let (row, site_roles, organizations) = new_user_rows(new);
    diesel::insert_into(users::table)
        .values(&row)
        .execute(conn)
        .map_err(map_diesel)?;
    // MultiBackend has no multi-row INSERT; one statement per row inside the
    // surrounding transaction costs little.
    for role in &site_roles {
        diesel::insert_into(user_site_roles::table)
            .values((
                user_site_roles::user_id.eq(&row.id),
                user_site_roles::role_name.eq(role),
            ))
            .execute(conn)
            .map_err(map_diesel)?;
    }
    for org in &organizations {
        diesel::insert_into(organization_members::table)
            .values(MemberRow {
                organization_id: org.to_string(),
                user_id: row.id.clone(),
                created_at: row.created_at,
                updated_at: row.created_at,
            })
            .execute(conn)
            .map_err(map_diesel)?;
    }
    row.into_user(site_roles, organizations)
}

/// [`insert_user`] as clauses of a PostgreSQL [`Statement`]: `new_user` (returning the
/// user's `id`, for later clauses to refer to), then the site roles and memberships.
pub(crate) fn insert_user_clauses(
    statement: &mut Statement<'_>,
    new: &NewUser,
) -> Result<User, RepoError> {
    let (row, site_roles, organizations) = new_user_rows(new);
    let now = statement.param::<Timestamp, _>(row.created_at);
    let values = [
        statement.param::<Text, _>(row.id.clone()),
        statement.param::<Text, _>(row.email.clone()),
        statement.param::<Text, _>(row.username.clone()),
        statement.param::<Text, _>(row.name.clone()),
        statement.param::<Text, _>(row.avatar_url.clone()),
        statement.param::<Nullable<Text>, _>(row.hashed_password.clone()),
        statement.param::<Text, _>(row.status.clone()),
        statement.param::<Text, _>(row.login_type.clone()),
        statement.param::<Bool, _>(row.is_service_account),
        statement.param::<Text, _>(row.theme_preference.clone()),
        statement.param::<Bool, _>(row.deleted),
    ]
    .join(", ");
    statement.with(
        "new_user",
        format!(
            "INSERT INTO users (id, email, username, name, avatar_url, hashed_password, status, \
             login_type, is_service_account, theme_preference, deleted, created_at, updated_at, \
             last_seen_at) VALUES ({values}, {now}, {now}, {now}) RETURNING id"
        ),
    );
    let roles = statement.param::<Array<Text>, _>(site_roles.clone());
    statement.with(
        "new_site_roles",
        format!(
            "INSERT INTO user_site_roles (user_id, role_name) \
             SELECT new_user.id, r FROM new_user, unnest({roles}::text[]) AS r RETURNING 1"
        ),
    );
    let orgs = statement.param::<Array<Text>, _>(
        organizations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    );
    statement.with(
        "new_memberships",
        format!(
            "INSERT INTO organization_members (organization_id, user_id, created_at, updated_at) \
             SELECT o, new_user.id, {now}, {now} FROM new_user, unnest({orgs}::text[]) AS o \
             RETURNING 1"
        ),
    );
    row.into_user(site_roles, organizations)
}

#[async_trait]
impl UserRepo for DieselUserRepo {
    async fn any_exists(&self) -> RepoResult<bool> {
        self.db
            .run(|conn| {
                diesel::select(diesel::dsl::exists(users::table.select(users::id)))
                    .get_result(conn)
                    .map_err(map_diesel)
            })
            .await
    }

    async fn create_first(
        &self,
        mut user: NewUser,
        default_org: Organization,
        audit: AuditEntry,
    ) -> RepoResult<(User, Organization)> {
        self.db
            .write(move |conn| {
                lock(conn, FIRST_USER_LOCK)?;
                let exists: bool =
                    diesel::select(diesel::dsl::exists(users::table.select(users::id)))
                        .get_result(conn)
                        .map_err(map_diesel)?;
                if exists {
                    return Err(RepoError::Conflict("first_user".into()));
                }
                let existing: Option<OrganizationRow> = organizations::table
                    .filter(organizations::is_default.eq(true))
                    .select(OrganizationRow::as_select())
                    .first(conn)
                    .optional()
                    .map_err(map_diesel)?;
                let org = match existing {
                    Some(row) => row.into_entity()?,
                    None => {
                        crate::repos::organizations::insert_organization(conn, &default_org)?;
                        default_org
                    }
                };
                user.organization_ids = vec![org.id];
                let created = insert_user(conn, &user)?;
                insert_audit(conn, &audit.in_org(org.id))?;
                let org = crate::repos::organizations::load_org(conn, &org.id.to_string())?;
                Ok((created, org))
            })
            .await
    }

    async fn create(&self, user: NewUser, audit: AuditEntry) -> RepoResult<User> {
        self.db
            .write_touching(Touched::Only(vec![ChangeTag::User(user.id)]), move |conn| {
                let created = insert_user(conn, &user)?;
                insert_audit(conn, &audit)?;
                Ok(created)
            })
            .await
    }

    async fn get(&self, id: UserId) -> RepoResult<User> {
        self.cached(format!("id:{id}"), move |conn| {
            load_user(conn, &id.to_string())
        })
        .await
    }

    async fn get_by_username(&self, username: &str) -> RepoResult<User> {
        let username = username.to_lowercase();
        self.cached(format!("name:{username}"), move |conn| {
            load_user_by_username(conn, &username)
        })
        .await
    }

    async fn credentials_by_email(&self, email: &str) -> RepoResult<UserCredentials> {
        let email = email.to_lowercase();
        self.db
            .run(move |conn| {
                let row: UserRow = users::table
                    .filter(lower(users::email).eq(email))
                    .filter(diesel::dsl::not(users::deleted))
                    .select(UserRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?;
                let hashed_password = row.hashed_password.clone();
                let user = hydrate(conn, vec![row])?.pop().ok_or(RepoError::NotFound)?;
                Ok(UserCredentials {
                    user,
                    hashed_password,
                })
            })
            .await
    }

    async fn list(&self, query: UserQuery) -> RepoResult<UserPage> {
        self.db
            .run(move |conn| {
                let after = match query.after_id {
                    None => None,
                    Some(id) => Some(
                        users::table
                            .find(id.to_string())
                            .select(lower(users::username))
                            .first::<String>(conn)
                            .optional()
                            .map_err(map_diesel)?
                            .ok_or_else(|| {
                                RepoError::MissingReference("after_id: no such user".into())
                            })?,
                    ),
                };
                let count: i64 = filtered(&query)
                    .count()
                    .get_result(conn)
                    .map_err(map_diesel)?;
                // SQLite accepts OFFSET only after a LIMIT, so "no limit" is the largest one.
                let mut page = filtered(&query)
                    .order(lower(users::username).asc())
                    .limit(query.limit.unwrap_or(i64::MAX))
                    .offset(query.offset);
                if let Some(after) = after {
                    page = page.filter(lower(users::username).gt(after));
                }
                let rows: Vec<UserRow> = page
                    .select(UserRow::as_select())
                    .load(conn)
                    .map_err(map_diesel)?;
                Ok(UserPage {
                    users: hydrate(conn, rows)?,
                    count,
                })
            })
            .await
    }

    async fn set_status(
        &self,
        id: UserId,
        status: UserStatus,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<User> {
        self.db
            .write_touching(Touched::Only(vec![ChangeTag::User(id)]), move |conn| {
                let id = id.to_string();
                let changed = diesel::update(
                    users::table
                        .find(&id)
                        .filter(diesel::dsl::not(users::deleted)),
                )
                .set((
                    users::status.eq(status.as_str()),
                    users::updated_at.eq(to_db(now)),
                ))
                .execute(conn)
                .map_err(map_diesel)?;
                if changed == 0 {
                    return Err(RepoError::NotFound);
                }
                insert_audit(conn, &audit)?;
                load_user(conn, &id)
            })
            .await
    }

    async fn update_profile(
        &self,
        id: UserId,
        username: Username,
        name: String,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<User> {
        self.write_live_user(id, now, audit, move |conn, id| {
            diesel::update(users::table.find(id))
                .set((users::username.eq(username.as_str()), users::name.eq(&name)))
                .execute(conn)
                .map_err(|e| match map_diesel(e) {
                    RepoError::Conflict(_) => RepoError::Conflict("username".into()),
                    other => other,
                })?;
            load_user(conn, id)
        })
        .await
    }

    async fn set_password(
        &self,
        id: UserId,
        hashed_password: String,
        keep: Option<ApiKeyId>,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<()> {
        self.write_live_user(id, now, audit, move |conn, id| {
            diesel::update(users::table.find(id))
                .set(users::hashed_password.eq(Some(hashed_password)))
                .execute(conn)
                .map_err(map_diesel)?;
            end_credentials(conn, id, keep.as_ref())
        })
        .await
    }

    async fn set_site_roles(
        &self,
        id: UserId,
        site_roles: Vec<String>,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<User> {
        self.write_live_user(id, now, audit, move |conn, id| {
            diesel::delete(user_site_roles::table.filter(user_site_roles::user_id.eq(id)))
                .execute(conn)
                .map_err(map_diesel)?;
            let mut stored: Vec<&String> = site_roles
                .iter()
                .filter(|r| r.as_str() != roles::MEMBER)
                .collect();
            stored.sort();
            stored.dedup();
            for role in stored {
                diesel::insert_into(user_site_roles::table)
                    .values((
                        user_site_roles::user_id.eq(id),
                        user_site_roles::role_name.eq(role),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
            }
            load_user(conn, id)
        })
        .await
    }

    async fn delete(&self, id: UserId, now: OffsetDateTime, audit: AuditEntry) -> RepoResult<()> {
        self.write_live_user(id, now, audit, move |conn, key| {
            let orgs: Vec<String> = organization_members::table
                .filter(organization_members::user_id.eq(key))
                .select(organization_members::organization_id)
                .load(conn)
                .map_err(map_diesel)?;
            for org in orgs {
                let org = OrganizationId(parse_uuid("organization id", &org)?);
                crate::repos::members::touch_groups_left(conn, org, id, now)?;
            }
            diesel::delete(
                organization_members::table.filter(organization_members::user_id.eq(key)),
            )
            .execute(conn)
            .map_err(map_diesel)?;
            end_credentials(conn, key, None)?;
            crate::repos::user_links::delete_links(conn, key)?;
            diesel::update(users::table.find(key))
                .set(users::deleted.eq(true))
                .execute(conn)
                .map_err(map_diesel)?;
            Ok(())
        })
        .await
    }
}

/// Ends every credential of a user: API keys (sessions, tokens and the keys OAuth2
/// grants issued), OAuth2 refresh tokens, and codes not yet redeemed. `keep` is a key
/// that survives.
fn end_credentials(
    conn: &mut AnyConnection,
    id: &str,
    keep: Option<&ApiKeyId>,
) -> Result<(), RepoError> {
    let keys = api_keys::table.filter(api_keys::user_id.eq(id));
    match keep {
        Some(keep) => diesel::delete(keys.filter(api_keys::id.ne(&keep.0))).execute(conn),
        None => diesel::delete(keys).execute(conn),
    }
    .map_err(map_diesel)?;
    diesel::delete(oauth2_tokens::table.filter(oauth2_tokens::user_id.eq(id)))
        .execute(conn)
        .map_err(map_diesel)?;
    diesel::delete(oauth2_codes::table.filter(oauth2_codes::user_id.eq(id)))
        .execute(conn)
        .map_err(map_diesel)?;
    diesel::delete(oauth2_device_codes::table.filter(oauth2_device_codes::user_id.eq(id)))
        .execute(conn)
        .map_err(map_diesel)?;
    Ok(())
}

/// Sets `updated_at` of a live user; `NotFound` if there is none.
fn touch_live_user(
    conn: &mut AnyConnection,
    id: &str,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    let changed = diesel::update(
        users::table
            .find(id)
            .filter(diesel::dsl::not(users::deleted)),
    )
    .set(users::updated_at.eq(to_db(now)))
    .execute(conn)
    .map_err(map_diesel)?;
    if changed == 0 {
        return Err(RepoError::NotFound);
    }
    Ok(())
}

type Boxed<'a> = users::BoxedQuery<'a, crate::db::MultiBackend>;

/// The WHERE clause of a user listing, without order or window.
fn filtered(q: &UserQuery) -> Boxed<'_> {
    // `NOT deleted` literally, as the partial indexes say it, so they can serve.
    let mut query = users::table
        .filter(diesel::dsl::not(users::deleted))
        .into_boxed();
    if let Some(search) = &q.search {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        query = query.filter(
            lower(users::username)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::email).like(pattern).escape('\\')),
        );
    }
    if let Some(username) = &q.username {
        query = query.filter(lower(users::username).eq(username.to_lowercase()));
    }
    if let Some(email) = &q.email {
        query = query.filter(lower(users::email).eq(email.to_lowercase()));
    }
    if !q.status.is_empty() {
        query = query
            .filter(users::status.eq_any(q.status.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
    }
    if !q.login_types.is_empty() {
        query = query.filter(
            users::login_type.eq_any(q.login_types.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        );
    }
    if !q.roles.is_empty() && !q.roles.iter().any(|r| r == roles::MEMBER) {
        query = query.filter(
            users::id.eq_any(
                user_site_roles::table
                    .filter(user_site_roles::role_name.eq_any(q.roles.clone()))
                    .select(user_site_roles::user_id),
            ),
        );
    }
    if let Some(ids) = &q.only_ids {
        query =
            query.filter(users::id.eq_any(ids.iter().map(|i| i.to_string()).collect::<Vec<_>>()));
    }
    if let Some(visible) = &q.visible {
        query = query.filter(crate::rbac_sql::users_visible(visible));
    }
    query
}

/// Escapes LIKE wildcards so user text matches literally.
pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
