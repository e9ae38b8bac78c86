//! [`MemberRepo`] on diesel.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};
use time::{Duration, OffsetDateTime, PrimitiveDateTime};
use warden_domain::RepoError;
use warden_domain::ids::{OrganizationId, UserId};
use warden_domain::model::{AuditEntry, MemberWithUser, OrganizationMember};
use warden_domain::ports::{ChangeTag, MemberQuery, MemberRepo, RepoResult};

use crate::Touched;
use crate::cache::GenerationCache;
use crate::db::{AnyConnection, Database, MultiBackend, lock_all, lock_key};
use crate::error::map_diesel;
use crate::repos::one_statement::Statement;
use crate::repos::users::{escape_like, hydrate};
use crate::repos::{IN_CHUNK, insert_audit};
use crate::rows::{AuditRow, MemberRow, UserRow, from_db, parse_uuid, to_db};
use crate::schema::{
    group_members, groups, lower, organization_member_counts, organization_member_roles,
    organization_members, users,
};

/// Moves the version (`updated_at`) of every group of `org` that `user` is an explicit
/// member of, as the user is about to leave the organization and with it those groups
/// (the foreign key cascades): a SCIM client holding a group's ETag must see it
/// change. Each group is locked as the group writers lock it, before the membership
/// goes, so that this serializes with them in their order.
pub(crate) fn touch_groups_left(
    conn: &mut AnyConnection,
    org: OrganizationId,
    user: UserId,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    let left: BTreeSet<String> = group_members::table
        .filter(group_members::organization_id.eq(org.to_string()))
        .filter(group_members::user_id.eq(user.to_string()))
        .select(group_members::group_id)
        .load::<String>(conn)
        .map_err(map_diesel)?
        .into_iter()
        .collect();
    touch_groups(conn, &left, now)?;
    Ok(())
}

/// Locks groups as the group writers lock them, in id order (one round trip), and
/// moves the version (`updated_at`) of every one still there to one stamp past `now`
/// and past each's last. Returns the IDs of the groups still there.
pub(crate) fn touch_groups(
    conn: &mut AnyConnection,
    gids: &BTreeSet<String>,
    now: OffsetDateTime,
) -> Result<BTreeSet<String>, RepoError> {
    let mut keys = Vec::with_capacity(gids.len());
    for gid in gids {
        keys.push(lock_key(3, &[parse_uuid("group id", gid)?]));
    }
    lock_all(conn, &keys)?;
    let mut present = BTreeSet::new();
    let mut stamp = now;
    let ids: Vec<&String> = gids.iter().collect();
    for chunk in ids.chunks(IN_CHUNK) {
        let versions: Vec<(String, PrimitiveDateTime)> = groups::table
            .filter(groups::id.eq_any(chunk))
            .select((groups::id, groups::updated_at))
            .load(conn)
            .map_err(map_diesel)?;
        for (id, version) in versions {
            let version = from_db(version);
            if version >= stamp {
                stamp = version + Duration::microseconds(1);
            }
            present.insert(id);
        }
    }
    let present_ids: Vec<&String> = present.iter().collect();
    for chunk in present_ids.chunks(IN_CHUNK) {
        diesel::update(groups::table.filter(groups::id.eq_any(chunk)))
            .set(groups::updated_at.eq(to_db(stamp)))
            .execute(conn)
            .map_err(map_diesel)?;
    }
    Ok(present)
}

/// Memberships on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselMemberRepo {
    db: Database,
    /// Single-membership reads by (organization, user).
    cache: Arc<GenerationCache<(OrganizationId, UserId), MemberWithUser>>,
}

impl DieselMemberRepo {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            cache: Arc::default(),
        }
    }
}

fn member_roles(
    conn: &mut AnyConnection,
    org: &str,
    users: &[String],
) -> Result<HashMap<String, Vec<String>>, RepoError> {
    let mut roles: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in users.chunks(crate::repos::IN_CHUNK) {
        let rows: Vec<(String, String)> = organization_member_roles::table
            .filter(organization_member_roles::organization_id.eq(org))
            .filter(organization_member_roles::user_id.eq_any(chunk))
            .order((
                organization_member_roles::user_id,
                organization_member_roles::role_name,
            ))
            .select((
                organization_member_roles::user_id,
                organization_member_roles::role_name,
            ))
            .load(conn)
            .map_err(map_diesel)?;
        for (user, role) in rows {
            roles.entry(user).or_default().push(role);
        }
    }
    Ok(roles)
}

fn load_member(
    conn: &mut AnyConnection,
    org: &str,
    user: &str,
) -> Result<OrganizationMember, RepoError> {
    let row: MemberRow = organization_members::table
        .find((org, user))
        .select(MemberRow::as_select())
        .first(conn)
        .map_err(map_diesel)?;
    let roles = member_roles(conn, org, &[user.to_owned()])?
        .remove(user)
        .unwrap_or_default();
    row.into_entity(roles)
}

/// Members with users, in the order of `rows`.
fn with_users(
    conn: &mut AnyConnection,
    org: &str,
    rows: Vec<(MemberRow, UserRow)>,
) -> Result<Vec<MemberWithUser>, RepoError> {
    let ids: Vec<String> = rows.iter().map(|(m, _)| m.user_id.clone()).collect();
    let mut roles = member_roles(conn, org, &ids)?;
    let (members, user_rows): (Vec<MemberRow>, Vec<UserRow>) = rows.into_iter().unzip();
    let users = hydrate(conn, user_rows)?;
    members
        .into_iter()
        .zip(users)
        .map(|(m, user)| {
            let r = roles.remove(&m.user_id).unwrap_or_default();
            Ok(MemberWithUser {
                member: m.into_entity(r)?,
                user,
            })
        })
        .collect()
}

/// The WHERE clause of a member listing over `users`, without order or window.
///
/// Shaped for the planner: `NOT users.deleted` matches the partial index on
/// `lower(username)` literally, and membership is an `EXISTS` probe of the primary
/// key, so a page ordered by username walks that index and stops after `limit` rows
/// instead of sorting every member.
fn filtered<'a>(org: &'a str, q: &'a MemberQuery) -> users::BoxedQuery<'a, MultiBackend> {
    let mut query = users::table
        .into_boxed()
        .filter(diesel::dsl::not(users::deleted))
        .filter(diesel::dsl::exists(
            organization_members::table
                .filter(organization_members::organization_id.eq(org))
                .filter(organization_members::user_id.eq(users::id)),
        ));
    if let Some(search) = &q.search {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        query = query.filter(
            lower(users::username)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::email).like(pattern.clone()).escape('\\'))
                .or(lower(users::name).like(pattern).escape('\\')),
        );
    }
    if let Some(user) = q.user_id {
        query = query.filter(users::id.eq(user.to_string()));
    }
    if let Some(ids) = &q.only_ids {
        query =
            query.filter(users::id.eq_any(ids.iter().map(ToString::to_string).collect::<Vec<_>>()));
    }
    query
}

/// Whether a listing is unfiltered, so the maintained member count is its total.
fn unfiltered(q: &MemberQuery) -> bool {
    q.search.is_none() && q.user_id.is_none() && q.only_ids.is_none()
}

#[async_trait]
impl MemberRepo for DieselMemberRepo {
    async fn add(
        &self,
        org: OrganizationId,
        user: UserId,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<OrganizationMember> {
        // One statement on PostgreSQL: the membership and its audit record.
        self.db
            .write_statement(Touched::Only(vec![ChangeTag::User(user)]), move |conn| {
                let row = MemberRow {
                    organization_id: org.to_string(),
                    user_id: user.to_string(),
                    created_at: to_db(now),
                    updated_at: to_db(now),
                };
                match conn {
                    AnyConnection::Postgresql(pg) => {
                        let audit = AuditRow::from_entity(&audit);
                        let mut statement = Statement::new();
                        let values = [
                            statement.param::<Text, _>(&row.organization_id),
                            statement.param::<Text, _>(&row.user_id),
                            statement.param::<Timestamp, _>(row.created_at),
                        ];
                        statement.with(
                            "member",
                            format!(
                                "INSERT INTO organization_members (organization_id, user_id, \
                                 created_at, updated_at) VALUES ({0}, {1}, {2}, {2}) RETURNING 1",
                                values[0], values[1], values[2]
                            ),
                        );
                        statement.execute_with_audit(pg, &audit)?;
                    }
                    AnyConnection::Sqlite(_) => {
                        diesel::insert_into(organization_members::table)
                            .values(&row)
                            .execute(conn)
                            .map_err(map_diesel)?;
                        insert_audit(conn, &audit)?;
                    }
                }
                // A new member holds no roles yet: nothing to read back.
                row.into_entity(Vec::new())
            })
            .await
    }

    async fn get(&self, org_id: OrganizationId, user_id: UserId) -> RepoResult<MemberWithUser> {
        if let Some(member) = self.cache.get(&(org_id, user_id), &self.db) {
            return Ok(member);
        }
        let generation = self.db.generation();
        let (org, user) = (org_id, user_id);
        let member = self
            .db
            .run(move |conn| {
                let org = org.to_string();
                let row: (MemberRow, UserRow) = organization_members::table
                    .inner_join(users::table)
                    .filter(organization_members::organization_id.eq(&org))
                    .filter(organization_members::user_id.eq(user.to_string()))
                    .filter(diesel::dsl::not(users::deleted))
                    .select((MemberRow::as_select(), UserRow::as_select()))
                    .first(conn)
                    .map_err(map_diesel)?;
                with_users(conn, &org, vec![row])?
                    .pop()
                    .ok_or(RepoError::NotFound)
            })
            .await?;
        // A membership belongs to its user: every change to it touches the user.
        self.cache.put(
            (org_id, user_id),
            generation,
            ChangeTag::User(user_id),
            member.clone(),
        );
        Ok(member)
    }

    async fn list(
        &self,
        org: OrganizationId,
        query: MemberQuery,
    ) -> RepoResult<(Vec<MemberWithUser>, i64)> {
        self.db
            .run(move |conn| {
                let org = org.to_string();
                let count: i64 = if unfiltered(&query) {
                    organization_member_counts::table
                        .filter(organization_member_counts::organization_id.eq(&org))
                        .select(diesel::dsl::sum(organization_member_counts::count))
                        .first::<Option<i64>>(conn)
                        .map_err(map_diesel)?
                        .unwrap_or(0)
                } else {
                    filtered(&org, &query)
                        .count()
                        .get_result(conn)
                        .map_err(map_diesel)?
                };
                // Usernames are unique among live users, so the username alone orders.
                let mut page = filtered(&org, &query)
                    .order(lower(users::username).asc())
                    .limit(query.limit.unwrap_or(i64::MAX))
                    .offset(query.offset);
                if let Some(after) = query.after_id {
                    let name: Option<String> = users::table
                        .find(after.to_string())
                        .select(lower(users::username))
                        .first(conn)
                        .optional()
                        .map_err(map_diesel)?;
                    let name = name.ok_or_else(|| {
                        RepoError::MissingReference("after_id: no such user".into())
                    })?;
                    page = page.filter(lower(users::username).gt(name));
                }
                let user_rows: Vec<UserRow> = page
                    .select(UserRow::as_select())
                    .load(conn)
                    .map_err(map_diesel)?;
                let ids: Vec<String> = user_rows.iter().map(|u| u.id.clone()).collect();
                let mut members: HashMap<String, MemberRow> = organization_members::table
                    .filter(organization_members::organization_id.eq(&org))
                    .filter(organization_members::user_id.eq_any(&ids))
                    .select(MemberRow::as_select())
                    .load::<MemberRow>(conn)
                    .map_err(map_diesel)?
                    .into_iter()
                    .map(|m| (m.user_id.clone(), m))
                    .collect();
                let rows = user_rows
                    .into_iter()
                    .filter_map(|u| members.remove(&u.id).map(|m| (m, u)))
                    .collect();
                Ok((with_users(conn, &org, rows)?, count))
            })
            .await
    }

    async fn remove(&self, org: OrganizationId, user: UserId, audit: AuditEntry) -> RepoResult<()> {
        self.db
            .write_touching(Touched::Only(vec![ChangeTag::User(user)]), move |conn| {
                touch_groups_left(conn, org, user, audit.time)?;
                let removed = diesel::delete(
                    organization_members::table.find((org.to_string(), user.to_string())),
                )
                .execute(conn)
                .map_err(map_diesel)?;
                if removed == 0 {
                    return Err(RepoError::NotFound);
                }
                insert_audit(conn, &audit)
            })
            .await
    }

    async fn set_roles(
        &self,
        org: OrganizationId,
        user: UserId,
        roles: Vec<String>,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<OrganizationMember> {
        self.db
            .write_locked(
                Touched::Only(vec![ChangeTag::User(user)]),
                lock_key(2, &[org.as_uuid(), user.as_uuid()]),
                move |conn| {
                    let (org, user) = (org.to_string(), user.to_string());
                    let touched = diesel::update(organization_members::table.find((&org, &user)))
                        .set(organization_members::updated_at.eq(to_db(now)))
                        .execute(conn)
                        .map_err(map_diesel)?;
                    if touched == 0 {
                        return Err(RepoError::NotFound);
                    }
                    diesel::delete(
                        organization_member_roles::table
                            .filter(organization_member_roles::organization_id.eq(&org))
                            .filter(organization_member_roles::user_id.eq(&user)),
                    )
                    .execute(conn)
                    .map_err(map_diesel)?;
                    for role in &roles {
                        diesel::insert_into(organization_member_roles::table)
                            .values((
                                organization_member_roles::organization_id.eq(&org),
                                organization_member_roles::user_id.eq(&user),
                                organization_member_roles::role_name.eq(role),
                            ))
                            .execute(conn)
                            .map_err(map_diesel)?;
                    }
                    insert_audit(conn, &audit)?;
                    load_member(conn, &org, &user)
                },
            )
            .await
    }
}
