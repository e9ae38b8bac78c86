//! [`IdpSyncRepo`] on diesel: IdP sync settings documents, changed under a lock per
//! scope.

use async_trait::async_trait;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

use warden_domain::RepoError;
use warden_domain::idp_sync::SyncScope;
use warden_domain::idp_sync::plan::{GroupRef, SyncChanges, SyncState};
use warden_domain::ids::{GroupId, OrganizationId, UserId};
use warden_domain::model::{Group, GroupSource};
use warden_domain::ports::{IdpSyncRepo, RepoResult, SyncSettingsChange};

use crate::changes::Touched;
use crate::db::{AnyConnection, Database, text_lock_key};
use crate::error::map_diesel;
use crate::kept::KeptQuery;
use crate::repos::members::{touch_groups, touch_groups_left};
use crate::repos::{IN_CHUNK, insert_audit, insert_audits};
use crate::rows::{GroupRow, parse_uuid, to_db};
use crate::schema::{
    custom_roles, group_members, groups, idp_sync_settings, lower, organization_member_roles,
    organization_members, organizations,
};

/// IdP sync settings on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselIdpSyncRepo {
    db: Database,
}

impl DieselIdpSyncRepo {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// The row key of a scope.
fn key(scope: SyncScope) -> String {
    match scope {
        SyncScope::Organizations => "organization".to_owned(),
        SyncScope::Groups(org) => format!("group:{org}"),
        SyncScope::Roles(org) => format!("role:{org}"),
    }
}

/// A stored settings document; only a corrupt row fails.
fn parse_settings(text: &str) -> Result<serde_json::Value, RepoError> {
    serde_json::from_str(text)
        .map_err(|e| RepoError::Internal(format!("stored IdP sync settings: {e}")))
}

/// Serializes changes of one scope on PostgreSQL (SQLite has one writer anyway).
const LOCK_NAMESPACE: u8 = 60;

fn load(
    conn: &mut AnyConnection,
    key: &str,
) -> Result<Option<(serde_json::Value, i64)>, RepoError> {
    let row: Option<(String, i64)> = idp_sync_settings::table
        .find(key)
        .select((idp_sync_settings::settings, idp_sync_settings::revision))
        .first(conn)
        .optional()
        .map_err(map_diesel)?;
    row.map(|(settings, revision)| Ok((parse_settings(&settings)?, revision)))
        .transpose()
}

#[async_trait]
impl IdpSyncRepo for DieselIdpSyncRepo {
    async fn get(&self, scope: SyncScope) -> RepoResult<Option<serde_json::Value>> {
        let key = key(scope);
        self.db
            .run(move |conn| Ok(load(conn, &key)?.map(|(settings, _)| settings)))
            .await
    }

    async fn modify(
        &self,
        scope: SyncScope,
        now: OffsetDateTime,
        change: SyncSettingsChange,
    ) -> RepoResult<serde_json::Value> {
        let key = key(scope);
        let org = scope.organization().map(|o| o.to_string());
        let lock_key = text_lock_key(LOCK_NAMESPACE, &key);
        self.db
            .write_locked(Touched::Only(Vec::new()), lock_key, move |conn| {
                let current = load(conn, &key)?;
                let revision = current.as_ref().map(|(_, r)| *r);
                let (new, audit) = change(current.map(|(settings, _)| settings))?;
                let text = new.to_string();
                match revision {
                    None => diesel::insert_into(idp_sync_settings::table)
                        .values((
                            idp_sync_settings::scope.eq(&key),
                            idp_sync_settings::organization_id.eq(&org),
                            idp_sync_settings::settings.eq(&text),
                            idp_sync_settings::revision.eq(1_i64),
                            idp_sync_settings::updated_at.eq(to_db(now)),
                        ))
                        .execute(conn),
                    Some(revision) => diesel::update(idp_sync_settings::table.find(&key))
                        .set((
                            idp_sync_settings::settings.eq(&text),
                            idp_sync_settings::revision.eq(revision + 1),
                            idp_sync_settings::updated_at.eq(to_db(now)),
                        ))
                        .execute(conn),
                }
                .map_err(map_diesel)?;
                insert_audit(conn, &audit)?;
                Ok(new)
            })
            .await
    }

    async fn sync_state(&self, user: UserId, orgs: Vec<OrganizationId>) -> RepoResult<SyncState> {
        self.db
            .run(move |conn| {
                let mut state = SyncState::default();
                let user = user.to_string();
                for chunk in orgs.chunks(IN_CHUNK) {
                    let ids: Vec<String> = chunk.iter().map(ToString::to_string).collect();
                    let groups: Vec<(String, String, String)> = groups::table
                        .filter(groups::organization_id.eq_any(&ids))
                        .filter(groups::id.ne(groups::organization_id))
                        .select((groups::organization_id, groups::id, groups::name))
                        .load(conn)
                        .map_err(map_diesel)?;
                    for (org, id, name) in groups {
                        state
                            .groups
                            .entry(OrganizationId(parse_uuid("organization id", &org)?))
                            .or_default()
                            .push(GroupRef {
                                id: GroupId(parse_uuid("group id", &id)?),
                                name,
                            });
                    }
                    let memberships: Vec<(String, String)> = group_members::table
                        .filter(group_members::user_id.eq(&user))
                        .filter(group_members::organization_id.eq_any(&ids))
                        .select((group_members::organization_id, group_members::group_id))
                        .load(conn)
                        .map_err(map_diesel)?;
                    for (org, id) in memberships {
                        state
                            .memberships
                            .entry(OrganizationId(parse_uuid("organization id", &org)?))
                            .or_default()
                            .insert(GroupId(parse_uuid("group id", &id)?));
                    }
                    let roles: Vec<(String, String)> = custom_roles::table
                        .filter(custom_roles::organization_id.eq_any(&ids))
                        .select((custom_roles::organization_id, custom_roles::name))
                        .load(conn)
                        .map_err(map_diesel)?;
                    for (org, name) in roles {
                        state
                            .custom_roles
                            .entry(OrganizationId(parse_uuid("organization id", &org)?))
                            .or_default()
                            .push(name);
                    }
                    let mut scopes = BTreeMap::new();
                    for org in chunk {
                        scopes.insert(key(SyncScope::Groups(*org)), (*org, true));
                        scopes.insert(key(SyncScope::Roles(*org)), (*org, false));
                    }
                    let keys: Vec<&String> = scopes.keys().collect();
                    let stored: Vec<(String, String)> = idp_sync_settings::table
                        .filter(idp_sync_settings::scope.eq_any(&keys))
                        .select((idp_sync_settings::scope, idp_sync_settings::settings))
                        .load(conn)
                        .map_err(map_diesel)?;
                    for (scope, settings) in stored {
                        let Some((org, groups)) = scopes.get(&scope) else {
                            continue;
                        };
                        let settings = parse_settings(&settings)?;
                        let into = if *groups {
                            &mut state.group_settings
                        } else {
                            &mut state.role_settings
                        };
                        into.insert(*org, settings);
                    }
                }
                Ok(state)
            })
            .await
    }

    async fn apply(
        &self,
        user: UserId,
        changes: SyncChanges,
        now: OffsetDateTime,
    ) -> RepoResult<()> {
        self.db
            .write_touching(Touched::Everything, move |conn| {
                apply_changes(conn, user, &changes, now)
            })
            .await
    }
}

/// Writes a planned sync of `user` inside the caller's transaction, with its audit
/// records; organizations and groups deleted meanwhile are skipped.
pub(crate) fn apply_changes(
    conn: &mut AnyConnection,
    user: UserId,
    changes: &SyncChanges,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    let uid = user.to_string();
    for org in &changes.join {
        let exists: bool = diesel::select(diesel::dsl::exists(
            organizations::table.find(org.to_string()),
        ))
        .get_result(conn)
        .map_err(map_diesel)?;
        let member: bool = diesel::select(diesel::dsl::exists(
            organization_members::table.find((org.to_string(), &uid)),
        ))
        .get_result(conn)
        .map_err(map_diesel)?;
        if exists && !member {
            diesel::insert_into(organization_members::table)
                .values((
                    organization_members::organization_id.eq(org.to_string()),
                    organization_members::user_id.eq(&uid),
                    organization_members::created_at.eq(to_db(now)),
                    organization_members::updated_at.eq(to_db(now)),
                ))
                .execute(conn)
                .map_err(map_diesel)?;
        }
    }
    for org in &changes.leave {
        touch_groups_left(conn, *org, user, now)?;
        diesel::delete(organization_members::table.find((org.to_string(), &uid)))
            .execute(conn)
            .map_err(map_diesel)?;
    }
    // Groups of every organization at once: what the user should be in,
    // what they are in, and the difference, in a few statements.
    let mut wanted = BTreeSet::new();
    for (org, plan) in &changes.groups {
        wanted.extend(plan.groups.iter().map(ToString::to_string));
        for name in &plan.create {
            wanted.insert(group_named(conn, *org, name, now)?);
        }
    }
    let synced: Vec<String> = changes.groups.iter().map(|(o, _)| o.to_string()).collect();
    let mut current = BTreeSet::new();
    for chunk in synced.chunks(IN_CHUNK) {
        current.extend(
            group_members::table
                .filter(group_members::user_id.eq(&uid))
                .filter(group_members::organization_id.eq_any(chunk))
                .select(group_members::group_id)
                .load::<String>(conn)
                .map_err(map_diesel)?,
        );
    }
    let touched: BTreeSet<String> = wanted.symmetric_difference(&current).cloned().collect();
    // Groups deleted meanwhile are skipped.
    let present = touch_groups(conn, &touched, now)?;
    let joins: Vec<&String> = present.iter().filter(|g| wanted.contains(*g)).collect();
    for chunk in joins.chunks(IN_CHUNK) {
        // One statement for the lot: the rows come from the groups.
        diesel::insert_into(group_members::table)
            .values(groups::table.filter(groups::id.eq_any(chunk)).select((
                groups::id,
                groups::organization_id,
                uid.as_str().into_sql::<diesel::sql_types::Text>(),
            )))
            .into_columns((
                group_members::group_id,
                group_members::organization_id,
                group_members::user_id,
            ))
            .execute(conn)
            .map_err(map_diesel)?;
    }
    let leaves: Vec<&String> = present.iter().filter(|g| !wanted.contains(*g)).collect();
    for chunk in leaves.chunks(IN_CHUNK) {
        diesel::delete(
            group_members::table
                .filter(group_members::user_id.eq(&uid))
                .filter(group_members::group_id.eq_any(chunk)),
        )
        .execute(conn)
        .map_err(map_diesel)?;
    }

    // Roles of every organization at once; memberships left meanwhile are
    // skipped (the roles' foreign key would refuse them).
    let role_orgs: Vec<String> = changes.roles.iter().map(|(o, _)| o.to_string()).collect();
    let mut members = BTreeSet::new();
    for chunk in role_orgs.chunks(IN_CHUNK) {
        members.extend(
            organization_members::table
                .filter(organization_members::user_id.eq(&uid))
                .filter(organization_members::organization_id.eq_any(chunk))
                .select(organization_members::organization_id)
                .load::<String>(conn)
                .map_err(map_diesel)?,
        );
        diesel::update(
            organization_members::table
                .filter(organization_members::user_id.eq(&uid))
                .filter(organization_members::organization_id.eq_any(chunk)),
        )
        .set(organization_members::updated_at.eq(to_db(now)))
        .execute(conn)
        .map_err(map_diesel)?;
        diesel::delete(
            organization_member_roles::table
                .filter(organization_member_roles::user_id.eq(&uid))
                .filter(organization_member_roles::organization_id.eq_any(chunk)),
        )
        .execute(conn)
        .map_err(map_diesel)?;
    }
    let rows: Vec<(String, String)> = changes
        .roles
        .iter()
        .map(|(org, roles)| (org.to_string(), roles))
        .filter(|(oid, _)| members.contains(oid))
        .flat_map(|(oid, roles)| roles.iter().map(move |r| (oid.clone(), r.clone())))
        .collect();
    insert_member_roles(conn, &uid, rows)?;
    insert_audits(conn, &changes.audit)?;
    Ok(())
}

/// The ID of the group `name` of `org`, creating it (`source: oidc`) if there is none.
fn group_named(
    conn: &mut AnyConnection,
    org: OrganizationId,
    name: &str,
    now: OffsetDateTime,
) -> Result<String, RepoError> {
    let existing: Option<String> = groups::table
        .filter(groups::organization_id.eq(org.to_string()))
        .filter(lower(groups::name).eq(name.to_lowercase()))
        .select(groups::id)
        .first(conn)
        .optional()
        .map_err(map_diesel)?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let group = Group {
        id: GroupId::new_random(),
        organization_id: org,
        name: name.to_owned(),
        display_name: String::new(),
        avatar_url: String::new(),
        quota_allowance: 0,
        source: GroupSource::Oidc,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(groups::table)
        .values(GroupRow::from_entity(&group))
        .execute(conn)
        .map_err(map_diesel)?;
    Ok(group.id.to_string())
}

/// Inserts organization roles of one user: one statement on PostgreSQL (a row per
/// array element), a statement per row on SQLite, where they cost no round trip.
fn insert_member_roles(
    conn: &mut AnyConnection,
    user: &str,
    rows: Vec<(String, String)>,
) -> Result<(), RepoError> {
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        AnyConnection::Postgresql(pg) => {
            let (orgs, roles): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
            KeptQuery::new(
                "INSERT INTO organization_member_roles (organization_id, user_id, role_name) \
                 SELECT o, $1, r FROM unnest($2::text[], $3::text[]) AS t(o, r)",
            )
            .bind::<diesel::sql_types::Text, _>(user)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(orgs)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(roles)
            .execute(pg)
            .map_err(map_diesel)?;
        }
        AnyConnection::Sqlite(_) => {
            for (org, role) in rows {
                diesel::insert_into(organization_member_roles::table)
                    .values((
                        organization_member_roles::organization_id.eq(org),
                        organization_member_roles::user_id.eq(user),
                        organization_member_roles::role_name.eq(role),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
            }
        }
    }
    Ok(())
}
