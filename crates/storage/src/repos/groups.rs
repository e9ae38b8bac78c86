//! [`GroupRepo`] on diesel. The Everyone group has a row (id = organization id) but no
//! member rows: its members are the organization's.

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::prelude::*;
use time::OffsetDateTime;
use warden_domain::RepoError;
use warden_domain::ids::{GroupId, OrganizationId};
use warden_domain::model::{AuditEntry, Group, GroupDetails, Organization, User};
use warden_domain::ports::{GroupPatch, GroupQuery, GroupRepo, RepoResult};

use crate::Touched;
use crate::db::{AnyConnection, Database, lock_key};
use crate::error::map_diesel;
use crate::repos::insert_audit;
use crate::repos::users::hydrate;
use crate::rows::{GroupRow, OrganizationRow, UserRow, to_db};
use crate::schema::{group_members, groups, lower, organization_members, organizations, users};

/// Groups on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselGroupRepo {
    db: Database,
}

impl DieselGroupRepo {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Expands group rows with their organization and members.
fn details(conn: &mut AnyConnection, rows: Vec<GroupRow>) -> Result<Vec<GroupDetails>, RepoError> {
    let org_ids: Vec<String> = rows.iter().map(|g| g.organization_id.clone()).collect();
    let orgs: HashMap<String, Organization> = organizations::table
        .filter(organizations::id.eq_any(org_ids))
        .select(OrganizationRow::as_select())
        .load::<OrganizationRow>(conn)
        .map_err(map_diesel)?
        .into_iter()
        .map(|o| Ok((o.id.clone(), o.into_entity()?)))
        .collect::<Result<_, RepoError>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let members_query = users::table
            .filter(diesel::dsl::not(users::deleted))
            .order(lower(users::username))
            .into_boxed();
        let member_rows: Vec<UserRow> = if row.id == row.organization_id {
            members_query
                .filter(
                    users::id.eq_any(
                        organization_members::table
                            .filter(organization_members::organization_id.eq(&row.organization_id))
                            .select(organization_members::user_id),
                    ),
                )
                .select(UserRow::as_select())
                .load(conn)
                .map_err(map_diesel)?
        } else {
            members_query
                .filter(
                    users::id.eq_any(
                        group_members::table
                            .filter(group_members::group_id.eq(&row.id))
                            .select(group_members::user_id),
                    ),
                )
                .select(UserRow::as_select())
                .load(conn)
                .map_err(map_diesel)?
        };
        let members: Vec<User> = hydrate(conn, member_rows)?;
        let organization = orgs
            .get(&row.organization_id)
            .cloned()
            .ok_or_else(|| RepoError::Internal("group without organization".into()))?;
        out.push(GroupDetails {
            total_member_count: members.len() as i64,
            members,
            organization,
            group: row.into_entity()?,
        });
    }
    Ok(out)
}

fn load_one(conn: &mut AnyConnection, id: &str) -> Result<GroupDetails, RepoError> {
    let row: GroupRow = groups::table
        .find(id)
        .select(GroupRow::as_select())
        .first(conn)
        .map_err(map_diesel)?;
    details(conn, vec![row])?.pop().ok_or(RepoError::NotFound)
}

#[async_trait]
impl GroupRepo for DieselGroupRepo {
    async fn list(&self, query: GroupQuery) -> RepoResult<Vec<GroupDetails>> {
        self.db
            .run(move |conn| {
                let mut q = groups::table
                    .order((groups::organization_id, lower(groups::name)))
                    .select(GroupRow::as_select())
                    .into_boxed();
                if let Some(org) = query.organization {
                    q = q.filter(groups::organization_id.eq(org.to_string()));
                }
                if let Some(ids) = &query.ids {
                    q = q.filter(
                        groups::id.eq_any(ids.iter().map(ToString::to_string).collect::<Vec<_>>()),
                    );
                }
                if let Some(user) = query.has_member {
                    let user = user.to_string();
                    let explicit = group_members::table
                        .filter(group_members::user_id.eq(user.clone()))
                        .select(group_members::group_id);
                    let everyone = organization_members::table
                        .filter(organization_members::user_id.eq(user))
                        .select(organization_members::organization_id);
                    q = q.filter(groups::id.eq_any(explicit).or(groups::id.eq_any(everyone)));
                }
                let rows: Vec<GroupRow> = q.load(conn).map_err(map_diesel)?;
                details(conn, rows)
            })
            .await
    }

    async fn get(&self, id: GroupId) -> RepoResult<GroupDetails> {
        self.db
            .run(move |conn| load_one(conn, &id.to_string()))
            .await
    }

    async fn get_by_name(&self, org: OrganizationId, name: &str) -> RepoResult<GroupDetails> {
        let name = name.to_lowercase();
        self.db
            .run(move |conn| {
                let row: GroupRow = groups::table
                    .filter(groups::organization_id.eq(org.to_string()))
                    .filter(lower(groups::name).eq(name))
                    .select(GroupRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?;
                details(conn, vec![row])?.pop().ok_or(RepoError::NotFound)
            })
            .await
    }

    async fn create(&self, group: Group, audit: AuditEntry) -> RepoResult<GroupDetails> {
        self.db
            .write(move |conn| {
                diesel::insert_into(groups::table)
                    .values(GroupRow::from_entity(&group))
                    .execute(conn)
                    .map_err(map_diesel)?;
                insert_audit(conn, &audit)?;
                load_one(conn, &group.id.to_string())
            })
            .await
    }

    async fn update(
        &self,
        id: GroupId,
        patch: GroupPatch,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<GroupDetails> {
        self.db
            // Serialize read-check-write on one group across connections and replicas.
            .write_locked(
                Touched::Everything,
                lock_key(3, &[id.as_uuid()]),
                move |conn| {
                    let gid = id.to_string();
                    let mut row: GroupRow = groups::table
                        .find(&gid)
                        .select(GroupRow::as_select())
                        .first(conn)
                        .map_err(map_diesel)?;
                    if let Some(name) = patch.name {
                        row.name = name;
                    }
                    if let Some(display_name) = patch.display_name {
                        row.display_name = display_name;
                    }
                    if let Some(avatar_url) = patch.avatar_url {
                        row.avatar_url = avatar_url;
                    }
                    if let Some(quota) = patch.quota_allowance {
                        row.quota_allowance = quota;
                    }
                    row.updated_at = to_db(now);
                    diesel::update(groups::table.find(&gid))
                        .set(&row)
                        .execute(conn)
                        .map_err(map_diesel)?;
                    for user in &patch.add_users {
                        let user = user.to_string();
                        let in_org: bool = diesel::select(diesel::dsl::exists(
                            organization_members::table.find((&row.organization_id, &user)),
                        ))
                        .get_result(conn)
                        .map_err(map_diesel)?;
                        if !in_org {
                            return Err(RepoError::MissingReference(format!(
                                "user {user} is not a member of the organization"
                            )));
                        }
                        let inserted = diesel::insert_into(group_members::table)
                            .values((
                                group_members::group_id.eq(&gid),
                                group_members::organization_id.eq(&row.organization_id),
                                group_members::user_id.eq(&user),
                            ))
                            .execute(conn);
                        match inserted.map_err(map_diesel) {
                            Err(RepoError::Conflict(_)) => {
                                return Err(RepoError::Conflict(format!("member:{user}")));
                            }
                            other => other?,
                        };
                    }
                    for user in &patch.remove_users {
                        let removed =
                            diesel::delete(group_members::table.find((&gid, user.to_string())))
                                .execute(conn)
                                .map_err(map_diesel)?;
                        if removed == 0 {
                            return Err(RepoError::NotFound);
                        }
                    }
                    insert_audit(conn, &audit)?;
                    load_one(conn, &gid)
                },
            )
            .await
    }

    async fn delete(&self, id: GroupId, audit: AuditEntry) -> RepoResult<()> {
        self.db
            .write(move |conn| {
                let deleted = diesel::delete(groups::table.find(id.to_string()))
                    .execute(conn)
                    .map_err(map_diesel)?;
                if deleted == 0 {
                    return Err(RepoError::NotFound);
                }
                insert_audit(conn, &audit)
            })
            .await
    }
}
