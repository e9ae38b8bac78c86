//! SCIM Groups on diesel: the group half of [`ScimRepo`](warden_domain::scim::ScimRepo)
//! (`DieselScimRepo` delegates here). Filters become SQL over `groups` (with
//! subqueries for `externalId` and `members.value`); member changes are written as
//! batched multi-row statements, never one statement per member.

use std::collections::{BTreeSet, HashMap, HashSet};

use diesel::dsl::not;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text};
use time::{Duration, OffsetDateTime};
use warden_domain::RepoError;
use warden_domain::ids::{GroupId, OrganizationId, UserId};
use warden_domain::model::AuditEntry;
use warden_domain::scim::{
    CompareOp, FilterValue, GroupAttr, GroupChangeFn, GroupFilter, NewScimGroup, Rejection,
    ScimGroupMember, ScimGroupQuery, ScimGroupRecord,
};

use crate::db::{AnyConnection, MultiBackend, lock, lock_key};
use crate::error::map_diesel;
use crate::repos::insert_audit;
use crate::repos::users::escape_like;
use crate::rows::{GroupRow, MemberRow, from_db, parse_uuid, to_db};
use crate::schema::{group_members, groups, lower, organization_members, scim_groups, users};

diesel::define_sql_function! {
    /// SQL `nullif(a, b)`, the same on both backends.
    fn nullif(a: Text, b: Text) -> Nullable<Text>;
}

diesel::define_sql_function! {
    /// SQL `coalesce(a, b)` for text, the same on both backends.
    fn coalesce(a: Nullable<Text>, b: Text) -> Text;
}

/// Rows per multi-row statement: far below both backends' bind-parameter limits
/// (SQLite 32 766, PostgreSQL 65 535) at three or four columns a row.
const BATCH: usize = 1000;

/// A multi-row `INSERT`, run on the concrete connection: diesel's `MultiConnection`
/// backend has no batch insert of its own, both real backends do.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        crate::db::per_engine!($conn, |c| diesel::insert_into($table)
            .values($rows)
            .execute(c))
        .map_err(map_diesel)
    };
}

type Pred = Box<dyn BoxableExpression<groups::table, MultiBackend, SqlType = Bool>>;
type TextExpr = Box<dyn BoxableExpression<groups::table, MultiBackend, SqlType = Text>>;
type Boxed = groups::BoxedQuery<'static, MultiBackend>;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = group_members)]
struct GroupMemberRow {
    group_id: String,
    organization_id: String,
    user_id: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = scim_groups)]
struct ScimGroupRow {
    group_id: String,
    organization_id: String,
    external_id: String,
}

fn always(value: bool) -> Pred {
    if value {
        Box::new(groups::id.eq(groups::id))
    } else {
        Box::new(groups::id.ne(groups::id))
    }
}

/// `displayName` in its comparison form: the display name, or the name when the
/// display name is empty, lowercased.
fn display_name() -> TextExpr {
    Box::new(lower(coalesce(
        nullif(groups::display_name, ""),
        groups::name,
    )))
}

/// A group's `externalId`, the empty string for a group without a `scim_groups` row.
fn external_id_of_group() -> TextExpr {
    Box::new(coalesce(
        scim_groups::table
            .filter(scim_groups::group_id.eq(groups::id))
            .select(scim_groups::external_id)
            .single_value(),
        "",
    ))
}

fn like_pattern(op: CompareOp, value: &str) -> Option<String> {
    match op {
        CompareOp::Co => Some(format!("%{}%", escape_like(value))),
        CompareOp::Sw => Some(format!("{}%", escape_like(value))),
        CompareOp::Ew => Some(format!("%{}", escape_like(value))),
        _ => None,
    }
}

fn text_compare(lhs: TextExpr, op: CompareOp, value: String) -> Pred {
    if let Some(pattern) = like_pattern(op, &value) {
        return Box::new(lhs.like(pattern).escape('\\'));
    }
    match op {
        CompareOp::Eq => Box::new(lhs.eq(value)),
        CompareOp::Ne => Box::new(lhs.ne(value)),
        CompareOp::Gt => Box::new(lhs.gt(value)),
        CompareOp::Ge => Box::new(lhs.ge(value)),
        CompareOp::Lt => Box::new(lhs.lt(value)),
        _ => Box::new(lhs.le(value)),
    }
}

/// Groups whose `externalId` compares to `value` (case-exact), as a subquery.
fn external_id_compare(op: CompareOp, value: String) -> Pred {
    let ids = scim_groups::table.select(scim_groups::group_id);
    if let Some(pattern) = like_pattern(op, &value) {
        return Box::new(
            groups::id.eq_any(ids.filter(scim_groups::external_id.like(pattern).escape('\\'))),
        );
    }
    match op {
        CompareOp::Eq => {
            Box::new(groups::id.eq_any(ids.filter(scim_groups::external_id.eq(value))))
        }
        // A group without a row has the empty externalId, which differs from any value.
        CompareOp::Ne => Box::new(not(
            groups::id.eq_any(ids.filter(scim_groups::external_id.eq(value)))
        )),
        CompareOp::Gt => {
            Box::new(groups::id.eq_any(ids.filter(scim_groups::external_id.gt(value))))
        }
        CompareOp::Ge => {
            Box::new(groups::id.eq_any(ids.filter(scim_groups::external_id.ge(value))))
        }
        CompareOp::Lt => {
            Box::new(groups::id.eq_any(ids.filter(scim_groups::external_id.lt(value))))
        }
        _ => Box::new(groups::id.eq_any(ids.filter(scim_groups::external_id.le(value)))),
    }
}

fn predicate(filter: &GroupFilter) -> Result<Pred, RepoError> {
    Ok(match filter {
        GroupFilter::And(a, b) => Box::new(predicate(a)?.and(predicate(b)?)),
        GroupFilter::Or(a, b) => Box::new(predicate(a)?.or(predicate(b)?)),
        GroupFilter::Not(a) => Box::new(not(predicate(a)?)),
        GroupFilter::Const(v) => always(*v),
        GroupFilter::Present(attr) => match attr {
            GroupAttr::Id | GroupAttr::Created | GroupAttr::LastModified => always(true),
            GroupAttr::DisplayName => Box::new(display_name().ne("")),
            GroupAttr::ExternalId => Box::new(
                groups::id.eq_any(
                    scim_groups::table
                        .filter(scim_groups::external_id.ne(""))
                        .select(scim_groups::group_id),
                ),
            ),
            GroupAttr::Member => {
                Box::new(groups::id.eq_any(group_members::table.select(group_members::group_id)))
            }
        },
        GroupFilter::Compare { attr, op, value } => compare(*attr, *op, value)?,
    })
}

fn compare(attr: GroupAttr, op: CompareOp, value: &FilterValue) -> Result<Pred, RepoError> {
    let unsupported = || {
        RepoError::Internal(format!(
            "SCIM group filter {attr:?} {op:?} {value:?} reached storage"
        ))
    };
    match (attr, value) {
        (GroupAttr::Created | GroupAttr::LastModified, FilterValue::Time(t)) => {
            let t = to_db(*t);
            Ok(match (attr, op) {
                (GroupAttr::Created, CompareOp::Eq) => Box::new(groups::created_at.eq(t)),
                (GroupAttr::Created, CompareOp::Ne) => Box::new(groups::created_at.ne(t)),
                (GroupAttr::Created, CompareOp::Gt) => Box::new(groups::created_at.gt(t)),
                (GroupAttr::Created, CompareOp::Ge) => Box::new(groups::created_at.ge(t)),
                (GroupAttr::Created, CompareOp::Lt) => Box::new(groups::created_at.lt(t)),
                (GroupAttr::Created, CompareOp::Le) => Box::new(groups::created_at.le(t)),
                (_, CompareOp::Eq) => Box::new(groups::updated_at.eq(t)),
                (_, CompareOp::Ne) => Box::new(groups::updated_at.ne(t)),
                (_, CompareOp::Gt) => Box::new(groups::updated_at.gt(t)),
                (_, CompareOp::Ge) => Box::new(groups::updated_at.ge(t)),
                (_, CompareOp::Lt) => Box::new(groups::updated_at.lt(t)),
                (_, CompareOp::Le) => Box::new(groups::updated_at.le(t)),
                _ => return Err(unsupported()),
            })
        }
        (GroupAttr::Id, FilterValue::Text(v)) => {
            Ok(text_compare(Box::new(groups::id), op, v.to_lowercase()))
        }
        (GroupAttr::DisplayName, FilterValue::Text(v)) => {
            Ok(text_compare(display_name(), op, v.to_lowercase()))
        }
        (GroupAttr::ExternalId, FilterValue::Text(v)) => Ok(external_id_compare(op, v.clone())),
        (GroupAttr::Member, FilterValue::Text(v)) => {
            let having = groups::id.eq_any(
                group_members::table
                    .filter(group_members::user_id.eq(v.to_lowercase()))
                    .select(group_members::group_id),
            );
            match op {
                CompareOp::Eq => Ok(Box::new(having)),
                CompareOp::Ne => Ok(Box::new(not(having))),
                _ => Err(unsupported()),
            }
        }
        _ => Err(unsupported()),
    }
}

/// Groups of `org` that SCIM may see: all but its Everyone group.
fn scoped(org: &str) -> Boxed {
    groups::table
        .filter(groups::organization_id.eq(org.to_owned()))
        .filter(groups::id.ne(groups::organization_id))
        .into_boxed()
}

fn ordered(query: Boxed, sort: Option<(GroupAttr, bool)>) -> Boxed {
    let Some((attr, desc)) = sort else {
        return query.order(groups::id.asc());
    };
    macro_rules! by {
        ($e:expr) => {
            if desc {
                query.order($e.desc()).then_order_by(groups::id.asc())
            } else {
                query.order($e.asc()).then_order_by(groups::id.asc())
            }
        };
    }
    match attr {
        GroupAttr::DisplayName => by!(display_name()),
        GroupAttr::Created => by!(groups::created_at),
        GroupAttr::LastModified => by!(groups::updated_at),
        // RFC 7644 §3.4.2.3: groups without an externalId come last ascending, first
        // descending.
        GroupAttr::ExternalId => {
            let unassigned = external_id_of_group().eq("");
            if desc {
                query
                    .order(unassigned.desc())
                    .then_order_by(external_id_of_group().desc())
                    .then_order_by(groups::id.asc())
            } else {
                query
                    .order(unassigned.asc())
                    .then_order_by(external_id_of_group().asc())
                    .then_order_by(groups::id.asc())
            }
        }
        // The SCIM layer offers no other sort keys.
        GroupAttr::Id | GroupAttr::Member => by!(groups::id),
    }
}

/// The members of each group, ordered by user id, in one query per batch of groups.
fn members_of(
    conn: &mut AnyConnection,
    group_ids: &[String],
) -> Result<HashMap<String, Vec<ScimGroupMember>>, RepoError> {
    let mut out: HashMap<String, Vec<ScimGroupMember>> = HashMap::new();
    for chunk in group_ids.chunks(BATCH) {
        let rows: Vec<(String, String, String, String)> = group_members::table
            .inner_join(users::table)
            .filter(group_members::group_id.eq_any(chunk.to_vec()))
            .filter(not(users::deleted))
            .select((
                group_members::group_id,
                users::id,
                users::name,
                users::username,
            ))
            .order((group_members::group_id, users::id))
            .load(conn)
            .map_err(map_diesel)?;
        for (group, id, name, username) in rows {
            out.entry(group).or_default().push(ScimGroupMember {
                id: parse_uuid("user id", &id)?,
                display: if name.is_empty() { username } else { name },
            });
        }
    }
    Ok(out)
}

fn records(
    conn: &mut AnyConnection,
    rows: Vec<GroupRow>,
    with_members: bool,
) -> Result<Vec<ScimGroupRecord>, RepoError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut external: HashMap<String, String> = HashMap::new();
    for chunk in ids.chunks(BATCH) {
        let found: Vec<(String, String)> = scim_groups::table
            .filter(scim_groups::group_id.eq_any(chunk.to_vec()))
            .select((scim_groups::group_id, scim_groups::external_id))
            .load(conn)
            .map_err(map_diesel)?;
        external.extend(found);
    }
    let mut members = if with_members {
        Some(members_of(conn, &ids)?)
    } else {
        None
    };
    rows.into_iter()
        .map(|row| {
            let id = row.id.clone();
            Ok(ScimGroupRecord {
                external_id: external.remove(&id).unwrap_or_default(),
                members: members.as_mut().map(|m| m.remove(&id).unwrap_or_default()),
                group: row.into_entity()?,
            })
        })
        .collect()
}

fn load_row(conn: &mut AnyConnection, org: &str, id: &str) -> Result<GroupRow, RepoError> {
    scoped(org)
        .filter(groups::id.eq(id.to_owned()))
        .select(GroupRow::as_select())
        .first(conn)
        .map_err(map_diesel)
}

fn load_record(
    conn: &mut AnyConnection,
    org: &str,
    id: &str,
    with_members: bool,
) -> Result<ScimGroupRecord, RepoError> {
    let row = load_row(conn, org, id)?;
    records(conn, vec![row], with_members)?
        .pop()
        .ok_or(RepoError::NotFound)
}

/// Whether another group of `org` (not `except`) already shows this displayName,
/// case-insensitively.
fn display_name_taken(
    conn: &mut AnyConnection,
    org: &str,
    display: &str,
    except: &str,
) -> Result<bool, RepoError> {
    let found: i64 = scoped(org)
        .filter(display_name().eq(display.to_lowercase()))
        .filter(groups::id.ne(except.to_owned()))
        .count()
        .get_result(conn)
        .map_err(map_diesel)?;
    Ok(found > 0)
}

/// Adds users to a group in batches: checks they exist, makes those not yet in the
/// organization members of it, then inserts the group memberships.
fn add_members(
    conn: &mut AnyConnection,
    org: &str,
    group: &str,
    users_to_add: &[String],
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    for chunk in users_to_add.chunks(BATCH) {
        let existing: HashSet<String> = users::table
            .filter(users::id.eq_any(chunk.to_vec()))
            .filter(not(users::deleted))
            .select(users::id)
            .load::<String>(conn)
            .map_err(map_diesel)?
            .into_iter()
            .collect();
        if let Some(unknown) = chunk.iter().find(|u| !existing.contains(*u)) {
            return Err(RepoError::MissingReference(format!(
                "member {unknown} is not a user"
            )));
        }
        let in_org: HashSet<String> = organization_members::table
            .filter(organization_members::organization_id.eq(org))
            .filter(organization_members::user_id.eq_any(chunk.to_vec()))
            .select(organization_members::user_id)
            .load::<String>(conn)
            .map_err(map_diesel)?
            .into_iter()
            .collect();
        let joining: Vec<MemberRow> = chunk
            .iter()
            .filter(|u| !in_org.contains(*u))
            .map(|u| MemberRow {
                organization_id: org.to_owned(),
                user_id: u.clone(),
                created_at: to_db(now),
                updated_at: to_db(now),
            })
            .collect();
        if !joining.is_empty() {
            insert_rows!(conn, organization_members::table, &joining)?;
        }
        let rows: Vec<GroupMemberRow> = chunk
            .iter()
            .map(|u| GroupMemberRow {
                group_id: group.to_owned(),
                organization_id: org.to_owned(),
                user_id: u.clone(),
            })
            .collect();
        insert_rows!(conn, group_members::table, &rows)?;
    }
    Ok(())
}

fn remove_members(
    conn: &mut AnyConnection,
    group: &str,
    users_to_remove: &[String],
) -> Result<(), RepoError> {
    for chunk in users_to_remove.chunks(BATCH) {
        diesel::delete(
            group_members::table
                .filter(group_members::group_id.eq(group))
                .filter(group_members::user_id.eq_any(chunk.to_vec())),
        )
        .execute(conn)
        .map_err(map_diesel)?;
    }
    Ok(())
}

fn set_external_id(
    conn: &mut AnyConnection,
    org: &str,
    group: &str,
    external_id: &str,
) -> Result<(), RepoError> {
    let updated = diesel::update(scim_groups::table.find(group))
        .set(scim_groups::external_id.eq(external_id))
        .execute(conn)
        .map_err(map_diesel)?;
    if updated == 0 {
        diesel::insert_into(scim_groups::table)
            .values(ScimGroupRow {
                group_id: group.to_owned(),
                organization_id: org.to_owned(),
                external_id: external_id.to_owned(),
            })
            .execute(conn)
            .map_err(map_diesel)?;
    }
    Ok(())
}

/// Member ids without duplicates, in their first-seen order.
fn distinct(ids: &[UserId]) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.iter()
        .map(ToString::to_string)
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

pub(crate) fn list(
    conn: &mut AnyConnection,
    org: OrganizationId,
    query: &ScimGroupQuery,
) -> Result<(Vec<ScimGroupRecord>, i64), RepoError> {
    let org = org.to_string();
    let filtered = || -> Result<Boxed, RepoError> {
        Ok(match &query.filter {
            Some(f) => scoped(&org).filter(predicate(f)?),
            None => scoped(&org),
        })
    };
    let total: i64 = filtered()?.count().get_result(conn).map_err(map_diesel)?;
    if query.limit == 0 {
        return Ok((Vec::new(), total));
    }
    let rows: Vec<GroupRow> = ordered(filtered()?, query.sort)
        .limit(query.limit)
        .offset(query.offset)
        .select(GroupRow::as_select())
        .load(conn)
        .map_err(map_diesel)?;
    Ok((records(conn, rows, query.with_members)?, total))
}

pub(crate) fn get(
    conn: &mut AnyConnection,
    org: OrganizationId,
    id: GroupId,
    with_members: bool,
) -> Result<ScimGroupRecord, RepoError> {
    load_record(conn, &org.to_string(), &id.to_string(), with_members)
}

pub(crate) fn create(
    conn: &mut AnyConnection,
    org: OrganizationId,
    new: &NewScimGroup,
    audit: &AuditEntry,
) -> Result<ScimGroupRecord, RepoError> {
    let org = org.to_string();
    let id = new.group.id.to_string();
    let shown = if new.group.display_name.is_empty() {
        &new.group.name
    } else {
        &new.group.display_name
    };
    if display_name_taken(conn, &org, shown, &id)? {
        return Err(RepoError::Conflict("displayName".into()));
    }
    diesel::insert_into(groups::table)
        .values(GroupRow::from_entity(&new.group))
        .execute(conn)
        .map_err(|e| match map_diesel(e) {
            RepoError::Conflict(_) => RepoError::Conflict("name".into()),
            other => other,
        })?;
    set_external_id(conn, &org, &id, &new.external_id)?;
    add_members(
        conn,
        &org,
        &id,
        &distinct(&new.members),
        new.group.created_at,
    )?;
    insert_audit(conn, audit)?;
    load_record(conn, &org, &id, true)
}

fn current_display(record: &ScimGroupRecord) -> &str {
    if record.group.display_name.is_empty() {
        &record.group.name
    } else {
        &record.group.display_name
    }
}

pub(crate) fn change(
    conn: &mut AnyConnection,
    org: OrganizationId,
    id: GroupId,
    now: OffsetDateTime,
    change: GroupChangeFn,
) -> Result<Result<ScimGroupRecord, Rejection>, RepoError> {
    // The same lock as the Coder groups API's updates: both serialize on one group.
    lock(conn, lock_key(3, &[id.as_uuid()]))?;
    let org = org.to_string();
    let gid = id.to_string();
    let current = load_record(conn, &org, &gid, true)?;
    let next = match change(&current) {
        Ok(next) => next,
        Err(rejection) => return Ok(Err(rejection)),
    };
    if next.display_name.to_lowercase() != current_display(&current).to_lowercase()
        && display_name_taken(conn, &org, &next.display_name, &gid)?
    {
        return Err(RepoError::Conflict("displayName".into()));
    }
    let version = current.group.updated_at;
    let stamp = if now > version {
        now
    } else {
        version + Duration::microseconds(1)
    };
    diesel::update(groups::table.find(&gid))
        .set((
            groups::display_name.eq(&next.display_name),
            groups::updated_at.eq(to_db(stamp)),
        ))
        .execute(conn)
        .map_err(map_diesel)?;
    if next.external_id != current.external_id {
        set_external_id(conn, &org, &gid, &next.external_id)?;
    }
    let before: BTreeSet<String> = current
        .members
        .iter()
        .flatten()
        .map(|m| m.id.to_string())
        .collect();
    let after = distinct(&next.members);
    let after_set: HashSet<&String> = after.iter().collect();
    let added: Vec<String> = after
        .iter()
        .filter(|u| !before.contains(*u))
        .cloned()
        .collect();
    let removed: Vec<String> = before
        .iter()
        .filter(|u| !after_set.contains(u))
        .cloned()
        .collect();
    remove_members(conn, &gid, &removed)?;
    add_members(conn, &org, &gid, &added, now)?;
    insert_audit(conn, &next.audit)?;
    load_record(conn, &org, &gid, true).map(Ok)
}

pub(crate) fn delete(
    conn: &mut AnyConnection,
    org: OrganizationId,
    id: GroupId,
    version: Option<OffsetDateTime>,
    audit: &AuditEntry,
) -> Result<(), RepoError> {
    lock(conn, lock_key(3, &[id.as_uuid()]))?;
    let org = org.to_string();
    let gid = id.to_string();
    let row = load_row(conn, &org, &gid)?;
    if let Some(version) = version
        && from_db(row.updated_at) != version
    {
        return Err(RepoError::Conflict("version".into()));
    }
    diesel::delete(groups::table.find(&gid))
        .execute(conn)
        .map_err(map_diesel)?;
    insert_audit(conn, audit)
}
