//! [`UserLinkRepo`] on diesel: links to outside identity providers, the OIDC sign-in
//! transaction, and the claim index behind `available-fields` / `field-values`.
//!
//! The claims of a link are stored as one JSON document, and indexed as rows
//! (`oidc_claim_fields`: user, name; `oidc_claim_values`: user, name, string value) so
//! that listing the distinct names or values never parses JSON: a loose index scan
//! reads one index entry per distinct value, however many users share it.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::Text;
use std::collections::BTreeSet;

use warden_domain::RepoError;
use warden_domain::ids::{OrganizationId, UserId};
use warden_domain::model::{LoginType, User, UserStatus};
use warden_domain::oidc::{UserLink, string_values};
use warden_domain::ports::{LinkedSignIn, RepoResult, UserLinkRepo};

use crate::changes::Touched;
use crate::db::{AnyConnection, Database};
use crate::error::map_diesel;
use crate::kept::KeptQuery;
use crate::repos::idp_sync::apply_changes;
use crate::repos::insert_audits;
use crate::repos::users::{insert_user, load_user};
use crate::rows::{ApiKeyRow, corrupt, from_db, parse_uuid, to_db};
use crate::schema::{api_keys, oidc_claim_fields, oidc_claim_values, user_links, users};

/// User links on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselUserLinkRepo {
    db: Database,
}

impl DieselUserLinkRepo {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// A stored link.
#[derive(Queryable, Selectable)]
#[diesel(table_name = user_links)]
struct LinkRow {
    user_id: String,
    login_type: String,
    linked_id: String,
    claims: String,
    created_at: time::PrimitiveDateTime,
    updated_at: time::PrimitiveDateTime,
}

impl LinkRow {
    fn into_link(self) -> Result<UserLink, RepoError> {
        Ok(UserLink {
            user_id: parse_uuid("user id", &self.user_id)?,
            login_type: self
                .login_type
                .parse()
                .map_err(|e: String| corrupt("link login type", e))?,
            linked_id: self.linked_id,
            claims: serde_json::from_str(&self.claims).map_err(|e| corrupt("link claims", e))?,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// Inserts or replaces `user`'s link of its login type.
fn upsert_link(conn: &mut AnyConnection, link: &UserLink) -> Result<(), RepoError> {
    let user = link.user_id.to_string();
    let login_type = link.login_type.as_str();
    let claims = link.claims.to_string();
    let changed = diesel::update(user_links::table.find((&user, login_type)))
        .set((
            user_links::linked_id.eq(&link.linked_id),
            user_links::claims.eq(&claims),
            user_links::updated_at.eq(to_db(link.updated_at)),
        ))
        .execute(conn)
        .map_err(map_diesel)?;
    if changed == 0 {
        diesel::insert_into(user_links::table)
            .values((
                user_links::user_id.eq(&user),
                user_links::login_type.eq(login_type),
                user_links::linked_id.eq(&link.linked_id),
                user_links::claims.eq(&claims),
                user_links::created_at.eq(to_db(link.created_at)),
                user_links::updated_at.eq(to_db(link.updated_at)),
            ))
            .execute(conn)
            .map_err(map_diesel)?;
    }
    Ok(())
}

/// Removes the claim index rows of `user`.
fn delete_claims(conn: &mut AnyConnection, user: &str) -> Result<(), RepoError> {
    diesel::delete(oidc_claim_fields::table.filter(oidc_claim_fields::user_id.eq(user)))
        .execute(conn)
        .map_err(map_diesel)?;
    diesel::delete(oidc_claim_values::table.filter(oidc_claim_values::user_id.eq(user)))
        .execute(conn)
        .map_err(map_diesel)?;
    Ok(())
}

/// Replaces the claim index rows of `user` with those of `claims`.
fn index_claims(
    conn: &mut AnyConnection,
    user: &str,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), RepoError> {
    delete_claims(conn, user)?;
    let fields: Vec<String> = claims.keys().cloned().collect();
    let values: BTreeSet<(String, String)> = claims
        .iter()
        .flat_map(|(field, value)| {
            string_values(value)
                .into_iter()
                .map(move |v| (field.clone(), v.to_owned()))
        })
        .collect();
    match conn {
        AnyConnection::Postgresql(pg) => {
            // Two statements whatever the number of claims: a round trip each would
            // dominate a sign-in with hundreds of group claims.
            KeptQuery::new(
                "INSERT INTO oidc_claim_fields (user_id, field) \
                 SELECT $1, f FROM unnest($2::text[]) AS t(f)",
            )
            .bind::<Text, _>(user)
            .bind::<diesel::sql_types::Array<Text>, _>(&fields)
            .execute(pg)
            .map_err(map_diesel)?;
            let (names, strings): (Vec<String>, Vec<String>) = values.into_iter().unzip();
            KeptQuery::new(
                "INSERT INTO oidc_claim_values (user_id, field, value) \
                 SELECT $1, f, v FROM unnest($2::text[], $3::text[]) AS t(f, v)",
            )
            .bind::<Text, _>(user)
            .bind::<diesel::sql_types::Array<Text>, _>(names)
            .bind::<diesel::sql_types::Array<Text>, _>(strings)
            .execute(pg)
            .map_err(map_diesel)?;
        }
        AnyConnection::Sqlite(_) => {
            for field in &fields {
                diesel::insert_into(oidc_claim_fields::table)
                    .values((
                        oidc_claim_fields::user_id.eq(user),
                        oidc_claim_fields::field.eq(field),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
            }
            for (field, value) in &values {
                diesel::insert_into(oidc_claim_values::table)
                    .values((
                        oidc_claim_values::user_id.eq(user),
                        oidc_claim_values::field.eq(field),
                        oidc_claim_values::value.eq(value),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
            }
        }
    }
    Ok(())
}

/// Removes a user's links and claim index; part of deleting the user.
pub(crate) fn delete_links(conn: &mut AnyConnection, user: &str) -> Result<(), RepoError> {
    delete_claims(conn, user)?;
    diesel::delete(user_links::table.filter(user_links::user_id.eq(user)))
        .execute(conn)
        .map_err(map_diesel)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Distinct {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    item: Option<String>,
}

/// The distinct values of `column` in `table` (optionally where `field` matches),
/// sorted, by a loose index scan: each step asks the index for the next value above
/// the last one, so the cost follows the number of distinct values, not of rows.
/// With `org`, only rows of members of that organization count.
fn distinct(
    conn: &mut AnyConnection,
    table: &str,
    column: &str,
    field: Option<&str>,
    org: Option<OrganizationId>,
) -> Result<Vec<String>, RepoError> {
    let postgres = matches!(conn, AnyConnection::Postgresql(_));
    // Parameters by number, so that each can be used twice: `$n` on PostgreSQL,
    // `?n` on SQLite.
    let param = |n: usize| {
        if postgres {
            format!("${n}")
        } else {
            format!("?{n}")
        }
    };
    let mut params = 0;
    let mut filter = String::new();
    if field.is_some() {
        params += 1;
        filter.push_str(&format!(" AND c.field = {}", param(params)));
    }
    if org.is_some() {
        params += 1;
        filter.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM organization_members m \
             WHERE m.organization_id = {} AND m.user_id = c.user_id)",
            param(params)
        ));
    }
    let sql = format!(
        "WITH RECURSIVE d(item) AS ( \
           SELECT (SELECT c.{column} FROM {table} c WHERE 1 = 1{filter} \
                   ORDER BY c.{column} LIMIT 1) \
           UNION ALL \
           SELECT (SELECT c.{column} FROM {table} c WHERE c.{column} > d.item{filter} \
                   ORDER BY c.{column} LIMIT 1) \
           FROM d WHERE d.item IS NOT NULL \
         ) SELECT item FROM d WHERE item IS NOT NULL"
    );
    let org = org.map(|o| o.to_string());
    let query = diesel::sql_query(sql);
    let rows: Vec<Distinct> = match (field, org) {
        (None, None) => query.load(conn),
        (Some(field), None) => query.bind::<Text, _>(field).load(conn),
        (None, Some(org)) => query.bind::<Text, _>(org).load(conn),
        (Some(field), Some(org)) => query.bind::<Text, _>(field).bind::<Text, _>(org).load(conn),
    }
    .map_err(map_diesel)?;
    Ok(rows.into_iter().filter_map(|r| r.item).collect())
}

#[async_trait]
impl UserLinkRepo for DieselUserLinkRepo {
    async fn by_linked_id(&self, login_type: LoginType, linked_id: &str) -> RepoResult<UserLink> {
        let linked_id = linked_id.to_owned();
        self.db
            .run(move |conn| {
                let row: LinkRow = user_links::table
                    .inner_join(users::table)
                    .filter(user_links::login_type.eq(login_type.as_str()))
                    .filter(user_links::linked_id.eq(&linked_id))
                    .filter(diesel::dsl::not(users::deleted))
                    .select(LinkRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?;
                row.into_link()
            })
            .await
    }

    async fn of_user(&self, user: UserId, login_type: LoginType) -> RepoResult<UserLink> {
        self.db
            .run(move |conn| {
                let row: LinkRow = user_links::table
                    .find((user.to_string(), login_type.as_str()))
                    .select(LinkRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?;
                row.into_link()
            })
            .await
    }

    async fn sign_in(&self, sign_in: LinkedSignIn) -> RepoResult<User> {
        let key = ApiKeyRow::from_entity(&sign_in.key)?;
        self.db
            .write_touching(Touched::Everything, move |conn| {
                let user = sign_in.link.user_id;
                let uid = user.to_string();
                if let Some(new) = &sign_in.new_user {
                    insert_user(conn, new)?;
                }
                if sign_in.reactivate {
                    diesel::update(users::table.find(&uid))
                        .set((
                            users::status.eq(UserStatus::Active.as_str()),
                            users::updated_at.eq(to_db(sign_in.link.updated_at)),
                        ))
                        .execute(conn)
                        .map_err(map_diesel)?;
                }
                if let Some((email, name)) = &sign_in.profile {
                    diesel::update(users::table.find(&uid))
                        .set((
                            users::email.eq(email.as_str()),
                            users::name.eq(name),
                            users::updated_at.eq(to_db(sign_in.link.updated_at)),
                        ))
                        .execute(conn)
                        .map_err(map_diesel)?;
                }
                upsert_link(conn, &sign_in.link)?;
                index_claims(conn, &uid, &sign_in.link.merged_claims())?;
                diesel::insert_into(api_keys::table)
                    .values(&key)
                    .execute(conn)
                    .map_err(map_diesel)?;
                apply_changes(conn, user, &sign_in.sync, sign_in.link.updated_at)?;
                insert_audits(conn, &sign_in.audit)?;
                load_user(conn, &uid)
            })
            .await
    }

    async fn claim_fields(&self, org: Option<OrganizationId>) -> RepoResult<Vec<String>> {
        self.db
            .run(move |conn| distinct(conn, "oidc_claim_fields", "field", None, org))
            .await
    }

    async fn claim_values(
        &self,
        org: Option<OrganizationId>,
        field: &str,
    ) -> RepoResult<Vec<String>> {
        let field = field.to_owned();
        self.db
            .run(move |conn| distinct(conn, "oidc_claim_values", "value", Some(&field), org))
            .await
    }
}
