//! [`ApiKeyRepo`] on diesel.

use async_trait::async_trait;
use diesel::prelude::*;
use time::OffsetDateTime;
use warden_domain::RepoError;
use warden_domain::ids::{ApiKeyId, UserId};
use warden_domain::model::{ApiKey, AuditEntry, LoginType};
use warden_domain::ports::{ApiKeyRepo, ChangeTag, RepoResult, Session};

use crate::Touched;
use crate::db::Database;
use crate::error::map_diesel;
use crate::repos::insert_audit;
use crate::repos::organizations::memberships;
use crate::repos::roles::load_roles;
use crate::rows::parse_uuid;
use crate::rows::{ApiKeyRow, UserRow, to_db};
use crate::schema::{api_keys, group_members, user_site_roles, users};

/// API keys on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselApiKeyRepo {
    db: Database,
}

impl DieselApiKeyRepo {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ApiKeyRepo for DieselApiKeyRepo {
    async fn create(&self, key: ApiKey, audit: Option<AuditEntry>) -> RepoResult<ApiKey> {
        let row = ApiKeyRow::from_entity(&key)?;
        self.db
            .write_touching(
                Touched::Only(vec![ChangeTag::User(key.user_id)]),
                move |conn| {
                    diesel::insert_into(api_keys::table)
                        .values(&row)
                        .execute(conn)
                        .map_err(map_diesel)?;
                    if let Some(audit) = &audit {
                        insert_audit(conn, audit)?;
                    }
                    // What was stored: timestamps truncated to microseconds, as a read returns.
                    row.into_entity()
                },
            )
            .await
    }

    async fn session(&self, id: &ApiKeyId) -> RepoResult<Session> {
        let id = id.0.clone();
        self.db
            .run(move |conn| {
                let (key, user): (ApiKeyRow, UserRow) = api_keys::table
                    .inner_join(users::table)
                    .filter(api_keys::id.eq(&id))
                    .filter(diesel::dsl::not(users::deleted))
                    .select((ApiKeyRow::as_select(), UserRow::as_select()))
                    .first(conn)
                    .map_err(map_diesel)?;
                // Hot path: the memberships already name the user's organizations, so
                // only the site roles are loaded besides them.
                let site_roles: Vec<String> = user_site_roles::table
                    .filter(user_site_roles::user_id.eq(&user.id))
                    .order(user_site_roles::role_name)
                    .select(user_site_roles::role_name)
                    .load(conn)
                    .map_err(map_diesel)?;
                let memberships = memberships(conn, &user.id)?;
                let organization_ids = memberships.iter().map(|m| m.organization_id).collect();
                let groups = group_members::table
                    .filter(group_members::user_id.eq(&user.id))
                    .select(group_members::group_id)
                    .load::<String>(conn)
                    .map_err(map_diesel)?
                    .iter()
                    .map(|g| parse_uuid("group id", g))
                    .collect::<Result<_, _>>()?;
                let mut custom_roles = Vec::new();
                for m in &memberships {
                    let custom: Vec<String> = m
                        .roles
                        .iter()
                        .filter(|r| !warden_rbac::roles::is_reserved_name(r))
                        .cloned()
                        .collect();
                    if !custom.is_empty() {
                        custom_roles.extend(load_roles(
                            conn,
                            &m.organization_id.to_string(),
                            Some(&custom),
                        )?);
                    }
                }
                Ok(Session {
                    key: key.into_entity()?,
                    user: user.into_user(site_roles, organization_ids)?,
                    memberships,
                    groups,
                    custom_roles,
                })
            })
            .await
    }

    fn generation(&self) -> u64 {
        self.db.generation()
    }

    fn unchanged_since(&self, generation: u64, tags: &[ChangeTag]) -> bool {
        self.db.unchanged_since(generation, tags)
    }

    async fn touch(
        &self,
        id: &ApiKeyId,
        user: UserId,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> RepoResult<()> {
        let id = id.0.clone();
        self.db
            .write_touching(Touched::Only(vec![ChangeTag::User(user)]), move |conn| {
                let now = to_db(now);
                diesel::update(api_keys::table.find(&id))
                    .set((
                        api_keys::last_used.eq(now),
                        api_keys::expires_at.eq(to_db(expires_at)),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
                diesel::update(users::table.find(user.to_string()))
                    .set(users::last_seen_at.eq(now))
                    .execute(conn)
                    .map_err(map_diesel)?;
                Ok(())
            })
            .await
    }

    async fn get(&self, id: &ApiKeyId) -> RepoResult<ApiKey> {
        let id = id.0.clone();
        self.db
            .run(move |conn| {
                api_keys::table
                    .find(&id)
                    .select(ApiKeyRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?
                    .into_entity()
            })
            .await
    }

    async fn get_by_name(&self, user: UserId, name: &str) -> RepoResult<ApiKey> {
        let name = name.to_owned();
        self.db
            .run(move |conn| {
                api_keys::table
                    .filter(api_keys::user_id.eq(user.to_string()))
                    .filter(api_keys::token_name.eq(&name))
                    .filter(api_keys::login_type.eq(LoginType::Token.as_str()))
                    .select(ApiKeyRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?
                    .into_entity()
            })
            .await
    }

    async fn list_tokens(&self, user: Option<UserId>) -> RepoResult<Vec<(ApiKey, String)>> {
        self.db
            .run(move |conn| {
                let mut query = api_keys::table
                    .inner_join(users::table)
                    .filter(api_keys::login_type.eq(LoginType::Token.as_str()))
                    .order((api_keys::created_at, api_keys::id))
                    .select((ApiKeyRow::as_select(), users::username))
                    .into_boxed();
                if let Some(user) = user {
                    query = query.filter(api_keys::user_id.eq(user.to_string()));
                }
                query
                    .load::<(ApiKeyRow, String)>(conn)
                    .map_err(map_diesel)?
                    .into_iter()
                    .map(|(row, username)| Ok((row.into_entity()?, username)))
                    .collect()
            })
            .await
    }

    async fn delete(&self, id: &ApiKeyId, audit: Option<AuditEntry>) -> RepoResult<()> {
        let id = id.0.clone();
        self.db
            .write(move |conn| {
                let deleted = diesel::delete(api_keys::table.find(&id))
                    .execute(conn)
                    .map_err(map_diesel)?;
                if deleted == 0 {
                    return Err(RepoError::NotFound);
                }
                if let Some(audit) = &audit {
                    insert_audit(conn, audit)?;
                }
                Ok(())
            })
            .await
    }
}
