//! [`ScimRepo`] on diesel: SCIM's user filters become SQL here, never an in-memory scan.

use async_trait::async_trait;
use diesel::dsl::not;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text};
use time::{Duration, OffsetDateTime};
use warden_domain::RepoError;
use warden_domain::ids::{GroupId, OrganizationId, UserId};
use warden_domain::model::{AuditEntry, UserStatus};
use warden_domain::ports::{ChangeTag, RepoResult};
use warden_domain::scim::{
    CompareOp, FilterValue, GroupChangeFn, NewScimGroup, NewScimUser, Rejection, ScimGroupQuery,
    ScimGroupRecord, ScimRepo, ScimUserFields, ScimUserQuery, ScimUserRecord, ScimUserUpdate,
    UserAttr, UserFilter,
};

use crate::Touched;
use crate::db::{AnyConnection, Database, MultiBackend, per_engine};
use crate::error::map_diesel;
use crate::repos::insert_audit;
use crate::repos::one_statement::Statement;
use crate::repos::scim_groups;
use crate::repos::users::{escape_like, hydrate, insert_user, insert_user_clauses};
use crate::rows::{AuditRow, MemberRow, UserRow, from_db, parse_uuid, to_db};
use crate::schema::{api_keys, lower, organization_members, organizations, scim_users, users};

/// SCIM provisioning on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselScimRepo {
    db: Database,
}

impl DieselScimRepo {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

type Source = diesel::dsl::InnerJoinQuerySource<users::table, scim_users::table>;
type Pred = Box<dyn BoxableExpression<Source, MultiBackend, SqlType = Bool>>;
type TextExpr = Box<dyn BoxableExpression<Source, MultiBackend, SqlType = Text>>;
type Boxed = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::InnerJoin<users::table, scim_users::table>,
    MultiBackend,
>;

/// A `scim_users` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = scim_users)]
struct ScimRow {
    user_id: String,
    organization_id: String,
    user_name: String,
    external_id: String,
    given_name: String,
    family_name: String,
    deleted: bool,
    formatted_name: String,
    display_name: String,
    email_type: String,
    email_primary: Option<bool>,
    active_assigned: bool,
}

impl ScimRow {
    fn new(
        user_id: String,
        organization_id: String,
        user_name: String,
        fields: ScimUserFields,
        deleted: bool,
    ) -> Self {
        Self {
            user_id,
            organization_id,
            user_name,
            external_id: fields.external_id,
            given_name: fields.given_name,
            family_name: fields.family_name,
            deleted,
            formatted_name: fields.formatted,
            display_name: fields.display_name,
            email_type: fields.email_type,
            email_primary: fields.email_primary,
            active_assigned: fields.active_assigned,
        }
    }

    fn fields(&self) -> ScimUserFields {
        ScimUserFields {
            external_id: self.external_id.clone(),
            formatted: self.formatted_name.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            display_name: self.display_name.clone(),
            email_type: self.email_type.clone(),
            email_primary: self.email_primary,
            active_assigned: self.active_assigned,
        }
    }
}

fn always(value: bool) -> Pred {
    if value {
        Box::new(users::id.eq(users::id))
    } else {
        Box::new(users::id.ne(users::id))
    }
}

/// A comparison of a text expression already in its comparison form (lowercased for
/// case-insensitive attributes, as `value` is).
fn text_compare(lhs: TextExpr, op: CompareOp, value: String) -> Pred {
    match op {
        CompareOp::Eq => Box::new(lhs.eq(value)),
        CompareOp::Ne => Box::new(lhs.ne(value)),
        CompareOp::Co => Box::new(lhs.like(format!("%{}%", escape_like(&value))).escape('\\')),
        CompareOp::Sw => Box::new(lhs.like(format!("{}%", escape_like(&value))).escape('\\')),
        CompareOp::Ew => Box::new(lhs.like(format!("%{}", escape_like(&value))).escape('\\')),
        CompareOp::Gt => Box::new(lhs.gt(value)),
        CompareOp::Ge => Box::new(lhs.ge(value)),
        CompareOp::Lt => Box::new(lhs.lt(value)),
        CompareOp::Le => Box::new(lhs.le(value)),
    }
}

/// The comparison form of a text attribute and whether it is case-exact; `None` for
/// attributes that are not text.
fn text_column(attr: UserAttr) -> Option<(TextExpr, bool)> {
    Some(match attr {
        UserAttr::Id => (Box::new(users::id), true),
        UserAttr::UserName => (Box::new(lower(scim_users::user_name)), false),
        UserAttr::ExternalId => (Box::new(scim_users::external_id), true),
        UserAttr::Email => (Box::new(lower(users::email)), false),
        UserAttr::Formatted => (Box::new(lower(scim_users::formatted_name)), false),
        UserAttr::DisplayName => (Box::new(lower(scim_users::display_name)), false),
        UserAttr::EmailType => (Box::new(lower(scim_users::email_type)), false),
        UserAttr::GivenName => (Box::new(lower(scim_users::given_name)), false),
        UserAttr::FamilyName => (Box::new(lower(scim_users::family_name)), false),
        UserAttr::Active | UserAttr::EmailPrimary | UserAttr::Created | UserAttr::LastModified => {
            return None;
        }
    })
}

/// Translates a filter into a SQL predicate.
fn predicate(filter: &UserFilter) -> Result<Pred, RepoError> {
    Ok(match filter {
        UserFilter::And(a, b) => Box::new(predicate(a)?.and(predicate(b)?)),
        UserFilter::Or(a, b) => Box::new(predicate(a)?.or(predicate(b)?)),
        UserFilter::Not(a) => Box::new(not(predicate(a)?)),
        UserFilter::Const(v) => always(*v),
        UserFilter::Present(attr) => match attr {
            UserAttr::UserName | UserAttr::Id | UserAttr::Created | UserAttr::LastModified => {
                always(true)
            }
            // Rendered when asserted, and always for a suspended user.
            UserAttr::Active => Box::new(
                scim_users::active_assigned
                    .eq(true)
                    .or(users::status.eq(UserStatus::Suspended.as_str())),
            ),
            // Rendered only when true.
            UserAttr::EmailPrimary => Box::new(scim_users::email_primary.is_not_null()),
            UserAttr::Email => Box::new(users::email.ne("")),
            UserAttr::EmailType => Box::new(scim_users::email_type.ne("")),
            UserAttr::Formatted => Box::new(scim_users::formatted_name.ne("")),
            UserAttr::DisplayName => Box::new(scim_users::display_name.ne("")),
            UserAttr::GivenName => Box::new(scim_users::given_name.ne("")),
            UserAttr::FamilyName => Box::new(scim_users::family_name.ne("")),
            UserAttr::ExternalId => Box::new(scim_users::external_id.ne("")),
        },
        UserFilter::Compare { attr, op, value } => compare(*attr, *op, value)?,
    })
}

fn compare(attr: UserAttr, op: CompareOp, value: &FilterValue) -> Result<Pred, RepoError> {
    let unsupported = || {
        RepoError::Internal(format!(
            "SCIM filter {attr:?} {op:?} {value:?} reached storage"
        ))
    };
    match (attr, value) {
        (UserAttr::Active, FilterValue::Bool(b)) => {
            let suspended = UserStatus::Suspended.as_str();
            // As rendered: false when suspended, true when asserted and not
            // suspended, unassigned (equal to neither) otherwise.
            let equal: Pred = if *b {
                Box::new(
                    users::status
                        .ne(suspended)
                        .and(scim_users::active_assigned.eq(true)),
                )
            } else {
                Box::new(users::status.eq(suspended))
            };
            match op {
                CompareOp::Eq => Ok(equal),
                CompareOp::Ne => Ok(Box::new(not(equal))),
                _ => Err(unsupported()),
            }
        }
        (UserAttr::EmailPrimary, FilterValue::Bool(b)) => {
            // Not sent is unassigned: equal to neither value (FALSE, never NULL, so
            // that `not (…)` holds for it).
            let equal = scim_users::email_primary
                .is_not_null()
                .and(scim_users::email_primary.eq(*b).assume_not_null());
            match op {
                CompareOp::Eq => Ok(Box::new(equal)),
                CompareOp::Ne => Ok(Box::new(
                    scim_users::email_primary
                        .is_null()
                        .or(scim_users::email_primary.ne(*b).assume_not_null()),
                )),
                _ => Err(unsupported()),
            }
        }
        (UserAttr::Created | UserAttr::LastModified, FilterValue::Time(t)) => {
            let t = to_db(*t);
            Ok(match (attr, op) {
                (UserAttr::Created, CompareOp::Eq) => Box::new(users::created_at.eq(t)),
                (UserAttr::Created, CompareOp::Ne) => Box::new(users::created_at.ne(t)),
                (UserAttr::Created, CompareOp::Gt) => Box::new(users::created_at.gt(t)),
                (UserAttr::Created, CompareOp::Ge) => Box::new(users::created_at.ge(t)),
                (UserAttr::Created, CompareOp::Lt) => Box::new(users::created_at.lt(t)),
                (UserAttr::Created, CompareOp::Le) => Box::new(users::created_at.le(t)),
                (_, CompareOp::Eq) => Box::new(users::updated_at.eq(t)),
                (_, CompareOp::Ne) => Box::new(users::updated_at.ne(t)),
                (_, CompareOp::Gt) => Box::new(users::updated_at.gt(t)),
                (_, CompareOp::Ge) => Box::new(users::updated_at.ge(t)),
                (_, CompareOp::Lt) => Box::new(users::updated_at.lt(t)),
                (_, CompareOp::Le) => Box::new(users::updated_at.le(t)),
                _ => return Err(unsupported()),
            })
        }
        (attr, FilterValue::Text(v)) => {
            let (lhs, case_exact) = text_column(attr).ok_or_else(unsupported)?;
            let v = if case_exact {
                v.clone()
            } else {
                v.to_lowercase()
            };
            Ok(text_compare(lhs, op, v))
        }
        _ => Err(unsupported()),
    }
}

/// Users provisioned into `org` that SCIM may see.
fn scoped(org: &str) -> Boxed {
    users::table
        .inner_join(scim_users::table)
        .filter(not(users::deleted))
        .filter(scim_users::organization_id.eq(org.to_owned()))
        .filter(not(scim_users::deleted))
        .into_boxed()
}

fn ordered(query: Boxed, sort: Option<(UserAttr, bool)>) -> Boxed {
    let Some((attr, desc)) = sort else {
        return query.order(users::id.asc());
    };
    macro_rules! by {
        ($e:expr) => {
            if desc {
                query.order($e.desc()).then_order_by(users::id.asc())
            } else {
                query.order($e.asc()).then_order_by(users::id.asc())
            }
        };
    }
    // Text attributes keep '' for unassigned, which sorts last ascending and first
    // descending (RFC 7644 §3.4.2.3); `$key` is the column, lowered unless caseExact.
    macro_rules! by_text {
        ($column:expr) => {
            by_text!($column, lower($column))
        };
        ($column:expr, $key:expr) => {{
            let unassigned = $column.eq("");
            if desc {
                query
                    .order(unassigned.desc())
                    .then_order_by($key.desc())
                    .then_order_by(users::id.asc())
            } else {
                query
                    .order(unassigned.asc())
                    .then_order_by($key.asc())
                    .then_order_by(users::id.asc())
            }
        }};
    }
    match attr {
        UserAttr::Id => by!(users::id),
        UserAttr::Active => by!(users::status),
        UserAttr::UserName => by!(lower(scim_users::user_name)),
        UserAttr::Email => by!(lower(users::email)),
        UserAttr::Formatted => by_text!(scim_users::formatted_name),
        UserAttr::DisplayName => by_text!(scim_users::display_name),
        UserAttr::EmailType => by_text!(scim_users::email_type),
        // Unassigned last ascending, first descending (RFC 7644 §3.4.2.3), on both
        // backends (their NULL orders differ).
        UserAttr::EmailPrimary => {
            let unassigned = scim_users::email_primary.is_null();
            if desc {
                query
                    .order(unassigned.desc())
                    .then_order_by(scim_users::email_primary.desc())
                    .then_order_by(users::id.asc())
            } else {
                query
                    .order(unassigned.asc())
                    .then_order_by(scim_users::email_primary.asc())
                    .then_order_by(users::id.asc())
            }
        }
        UserAttr::GivenName => by_text!(scim_users::given_name),
        UserAttr::FamilyName => by_text!(scim_users::family_name),
        UserAttr::ExternalId => by_text!(scim_users::external_id, scim_users::external_id),
        UserAttr::Created => by!(users::created_at),
        UserAttr::LastModified => by!(users::updated_at),
    }
}

fn records(
    conn: &mut AnyConnection,
    rows: Vec<(UserRow, Option<ScimRow>)>,
) -> Result<Vec<ScimUserRecord>, RepoError> {
    let (user_rows, extra): (Vec<UserRow>, Vec<Option<ScimRow>>) = rows.into_iter().unzip();
    let users = hydrate(conn, user_rows)?;
    Ok(users
        .into_iter()
        .zip(extra)
        .map(|(user, scim)| match scim {
            Some(s) => ScimUserRecord {
                fields: s.fields(),
                user,
                scim_username: s.user_name,
                scim_deleted: s.deleted,
            },
            None => ScimUserRecord {
                fields: ScimUserFields::of_unprovisioned(&user),
                user,
                scim_username: String::new(),
                scim_deleted: false,
            },
        })
        .collect())
}

fn load_record(conn: &mut AnyConnection, id: &str) -> Result<ScimUserRecord, RepoError> {
    let row: (UserRow, Option<ScimRow>) = users::table
        .left_join(scim_users::table)
        .filter(users::id.eq(id))
        .filter(not(users::deleted))
        .select((UserRow::as_select(), scim_users::all_columns.nullable()))
        .first(conn)
        .map_err(map_diesel)?;
    records(conn, vec![row])?.pop().ok_or(RepoError::NotFound)
}

fn joined(rows: Vec<(UserRow, ScimRow)>) -> Vec<(UserRow, Option<ScimRow>)> {
    rows.into_iter().map(|(u, s)| (u, Some(s))).collect()
}

#[async_trait]
impl ScimRepo for DieselScimRepo {
    async fn organization(&self, name: Option<String>) -> RepoResult<OrganizationId> {
        self.db
            .run(move |conn| {
                let query = organizations::table.select(organizations::id).into_boxed();
                let query = match name {
                    Some(name) => query.filter(lower(organizations::name).eq(name.to_lowercase())),
                    None => query.filter(organizations::is_default.eq(true)),
                };
                let id: String = query.first(conn).map_err(map_diesel)?;
                parse_uuid("organization id", &id)
            })
            .await
    }

    async fn list_users(
        &self,
        org: OrganizationId,
        query: ScimUserQuery,
    ) -> RepoResult<(Vec<ScimUserRecord>, i64)> {
        let org = org.to_string();
        self.db
            .run(move |conn| {
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
                let rows: Vec<(UserRow, ScimRow)> = ordered(filtered()?, query.sort)
                    .limit(query.limit)
                    .offset(query.offset)
                    .select((UserRow::as_select(), ScimRow::as_select()))
                    .load(conn)
                    .map_err(map_diesel)?;
                Ok((records(conn, joined(rows))?, total))
            })
            .await
    }

    async fn get_user(&self, org: OrganizationId, id: UserId) -> RepoResult<ScimUserRecord> {
        let org = org.to_string();
        self.db
            .run(move |conn| {
                let rows: Vec<(UserRow, ScimRow)> = scoped(&org)
                    .filter(users::id.eq(id.to_string()))
                    .select((UserRow::as_select(), ScimRow::as_select()))
                    .limit(1)
                    .load(conn)
                    .map_err(map_diesel)?;
                records(conn, joined(rows))?
                    .pop()
                    .ok_or(RepoError::NotFound)
            })
            .await
    }

    async fn find_by_identity(
        &self,
        org: OrganizationId,
        user_name: &str,
        email: &str,
    ) -> RepoResult<Option<ScimUserRecord>> {
        let user_name = user_name.to_lowercase();
        let email = email.to_lowercase();
        let org = org.to_string();
        self.db
            .run(move |conn| {
                // One indexed lookup per name, in one statement: an OR of the three
                // would scan `users` on SQLite (its partial indexes do not serve OR
                // terms).
                let ids: Vec<String> = per_engine!(conn, |c| {
                    scim_users::table
                        .filter(scim_users::organization_id.eq(&org))
                        .filter(lower(scim_users::user_name).eq(&user_name))
                        .select(scim_users::user_id)
                        .union_all(
                            users::table
                                .filter(lower(users::username).eq(&user_name))
                                .filter(not(users::deleted))
                                .select(users::id),
                        )
                        .union_all(
                            users::table
                                .filter(lower(users::email).eq(&email))
                                .filter(users::email.ne(""))
                                .filter(not(users::deleted))
                                .select(users::id),
                        )
                        .load(c)
                })
                .map_err(map_diesel)?;
                if ids.is_empty() {
                    return Ok(None);
                }
                let row: Option<(UserRow, Option<ScimRow>)> = users::table
                    .left_join(scim_users::table)
                    .filter(users::id.eq_any(ids))
                    .filter(not(users::deleted))
                    .select((UserRow::as_select(), scim_users::all_columns.nullable()))
                    .order(users::created_at.asc())
                    .first(conn)
                    .optional()
                    .map_err(map_diesel)?;
                match row {
                    Some(row) => Ok(records(conn, vec![row])?.pop()),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn create_user(
        &self,
        org: OrganizationId,
        mut new: NewScimUser,
        audit: AuditEntry,
    ) -> RepoResult<ScimUserRecord> {
        new.user.organization_ids = vec![org];
        // A new user: no cached read can hold it yet, and nothing else changes.
        let touched = Touched::Only(vec![ChangeTag::User(new.user.id)]);
        // One statement on PostgreSQL: the user, their membership, the SCIM row and
        // the audit record.
        self.db
            .write_statement(touched, move |conn| {
                let row = ScimRow::new(
                    new.user.id.to_string(),
                    org.to_string(),
                    new.scim_username,
                    new.fields,
                    false,
                );
                let user = match conn {
                    AnyConnection::Postgresql(pg) => {
                        let audit = AuditRow::from_entity(&audit);
                        let mut statement = Statement::new();
                        let user = insert_user_clauses(&mut statement, &new.user)?;
                        let values = [
                            statement.param::<Text, _>(&row.organization_id),
                            statement.param::<Text, _>(&row.user_name),
                            statement.param::<Text, _>(&row.external_id),
                            statement.param::<Text, _>(&row.given_name),
                            statement.param::<Text, _>(&row.family_name),
                            statement.param::<Bool, _>(row.deleted),
                            statement.param::<Text, _>(&row.formatted_name),
                            statement.param::<Text, _>(&row.display_name),
                            statement.param::<Text, _>(&row.email_type),
                            statement.param::<Nullable<Bool>, _>(row.email_primary),
                            statement.param::<Bool, _>(row.active_assigned),
                        ]
                        .join(", ");
                        statement.with(
                            "scim",
                            format!(
                                "INSERT INTO scim_users (user_id, organization_id, user_name, \
                                 external_id, given_name, family_name, deleted, formatted_name, \
                                 display_name, email_type, email_primary, active_assigned) \
                                 SELECT id, {values} FROM new_user RETURNING 1"
                            ),
                        );
                        statement.execute_with_audit(pg, &audit)?;
                        user
                    }
                    AnyConnection::Sqlite(_) => {
                        let user = insert_user(conn, &new.user)?;
                        diesel::insert_into(scim_users::table)
                            .values(&row)
                            .execute(conn)
                            .map_err(map_diesel)?;
                        insert_audit(conn, &audit)?;
                        user
                    }
                };
                // What was written is what a read would return: no read back.
                Ok(ScimUserRecord {
                    fields: row.fields(),
                    scim_username: row.user_name,
                    scim_deleted: false,
                    user,
                })
            })
            .await
    }

    async fn update_user(
        &self,
        org: OrganizationId,
        id: UserId,
        version: OffsetDateTime,
        update: ScimUserUpdate,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<ScimUserRecord> {
        self.db
            .write(move |conn| {
                let id = id.to_string();
                // Every change moves the version, even two within one microsecond.
                let next = if now > version {
                    now
                } else {
                    version + Duration::microseconds(1)
                };
                let changed = diesel::update(
                    users::table
                        .find(&id)
                        .filter(not(users::deleted))
                        .filter(users::updated_at.eq(to_db(version))),
                )
                .set((
                    users::email.eq(update.email.as_str()),
                    users::name.eq(&update.name),
                    users::status.eq(update.status.as_str()),
                    users::updated_at.eq(to_db(next)),
                ))
                .execute(conn)
                .map_err(map_diesel)?;
                if changed == 0 {
                    let current: Option<time::PrimitiveDateTime> = users::table
                        .find(&id)
                        .filter(not(users::deleted))
                        .select(users::updated_at)
                        .first(conn)
                        .optional()
                        .map_err(map_diesel)?;
                    return Err(match current {
                        Some(at) if from_db(at) != version => RepoError::Conflict("version".into()),
                        _ => RepoError::NotFound,
                    });
                }
                if update.status == UserStatus::Suspended {
                    // Deprovisioning takes effect now: every session and token goes.
                    diesel::delete(api_keys::table.filter(api_keys::user_id.eq(&id)))
                        .execute(conn)
                        .map_err(map_diesel)?;
                }
                let org = org.to_string();
                let provisioned = diesel::update(scim_users::table.find(&id))
                    .set((
                        (
                            scim_users::external_id.eq(&update.fields.external_id),
                            scim_users::formatted_name.eq(&update.fields.formatted),
                            scim_users::given_name.eq(&update.fields.given_name),
                            scim_users::family_name.eq(&update.fields.family_name),
                            scim_users::display_name.eq(&update.fields.display_name),
                        ),
                        (
                            scim_users::email_type.eq(&update.fields.email_type),
                            scim_users::email_primary.eq(update.fields.email_primary),
                            scim_users::active_assigned.eq(update.fields.active_assigned),
                            scim_users::deleted.eq(update.scim_deleted),
                        ),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
                if provisioned == 0 {
                    diesel::insert_into(scim_users::table)
                        .values(ScimRow::new(
                            id.clone(),
                            org.clone(),
                            update.user_name,
                            update.fields,
                            update.scim_deleted,
                        ))
                        .execute(conn)
                        .map_err(map_diesel)?;
                }
                let member: Option<String> = organization_members::table
                    .filter(organization_members::organization_id.eq(&org))
                    .filter(organization_members::user_id.eq(&id))
                    .select(organization_members::user_id)
                    .first(conn)
                    .optional()
                    .map_err(map_diesel)?;
                if member.is_none() {
                    diesel::insert_into(organization_members::table)
                        .values(MemberRow {
                            organization_id: org,
                            user_id: id.clone(),
                            created_at: to_db(now),
                            updated_at: to_db(now),
                        })
                        .execute(conn)
                        .map_err(map_diesel)?;
                }
                insert_audit(conn, &audit)?;
                load_record(conn, &id)
            })
            .await
    }

    async fn list_groups(
        &self,
        org: OrganizationId,
        query: ScimGroupQuery,
    ) -> RepoResult<(Vec<ScimGroupRecord>, i64)> {
        self.db
            .run(move |conn| scim_groups::list(conn, org, &query))
            .await
    }

    async fn get_group(
        &self,
        org: OrganizationId,
        id: GroupId,
        with_members: bool,
    ) -> RepoResult<ScimGroupRecord> {
        self.db
            .run(move |conn| scim_groups::get(conn, org, id, with_members))
            .await
    }

    async fn create_group(
        &self,
        org: OrganizationId,
        group: NewScimGroup,
        audit: AuditEntry,
    ) -> RepoResult<ScimGroupRecord> {
        self.db
            .write(move |conn| scim_groups::create(conn, org, &group, &audit))
            .await
    }

    async fn change_group(
        &self,
        org: OrganizationId,
        id: GroupId,
        now: OffsetDateTime,
        change: GroupChangeFn,
    ) -> RepoResult<Result<ScimGroupRecord, Rejection>> {
        self.db
            .write(move |conn| scim_groups::change(conn, org, id, now, change))
            .await
    }

    async fn delete_group(
        &self,
        org: OrganizationId,
        id: GroupId,
        version: Option<OffsetDateTime>,
        audit: AuditEntry,
    ) -> RepoResult<()> {
        self.db
            .write(move |conn| scim_groups::delete(conn, org, id, version, &audit))
            .await
    }
}
