//! [`OrganizationRepo`] on diesel.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use time::OffsetDateTime;
use warden_domain::RepoError;
use warden_domain::ids::{OrganizationId, UserId};
use warden_domain::model::{AuditEntry, Organization, OrganizationMember};
use warden_domain::ports::{ChangeTag, OrganizationPatch, OrganizationRepo, RepoResult};

use crate::cache::GenerationCache;
use crate::db::{AnyConnection, Database};
use crate::error::map_diesel;
use crate::repos::insert_audit;
use crate::rows::{MemberRow, OrganizationRow, to_db};
use crate::schema::{lower, organization_member_roles, organization_members, organizations};

/// Organizations on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselOrganizationRepo {
    db: Database,
    /// Single-organization reads by `id:<uuid>`, `name:<lowercased>` or `default`.
    cache: Arc<GenerationCache<String, Organization>>,
}

impl DieselOrganizationRepo {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            cache: Arc::default(),
        }
    }

    /// Serves `key` from the cache or loads it, remembering the result under the
    /// generation read before loading.
    async fn cached<F>(&self, key: String, load: F) -> RepoResult<Organization>
    where
        F: FnOnce(&mut AnyConnection) -> Result<Organization, RepoError> + Send + 'static,
    {
        if let Some(org) = self.cache.get(&key, &self.db) {
            return Ok(org);
        }
        let generation = self.db.generation();
        let org = self.db.run(load).await?;
        self.cache.put(
            key,
            generation,
            ChangeTag::Organization(org.id),
            org.clone(),
        );
        Ok(org)
    }
}

/// Inserts an organization with its Everyone group.
pub(crate) fn insert_organization(
    conn: &mut AnyConnection,
    org: &Organization,
) -> Result<(), RepoError> {
    diesel::insert_into(organizations::table)
        .values(OrganizationRow::from_entity(org))
        .execute(conn)
        .map_err(map_diesel)?;
    diesel::insert_into(crate::schema::groups::table)
        .values(crate::rows::GroupRow::everyone(org))
        .execute(conn)
        .map_err(map_diesel)?;
    Ok(())
}

pub(crate) fn load_org(conn: &mut AnyConnection, id: &str) -> Result<Organization, RepoError> {
    organizations::table
        .find(id)
        .select(OrganizationRow::as_select())
        .first(conn)
        .map_err(map_diesel)?
        .into_entity()
}

/// A user's memberships with their stored organization roles.
pub(crate) fn memberships(
    conn: &mut AnyConnection,
    user: &str,
) -> Result<Vec<OrganizationMember>, RepoError> {
    let rows: Vec<MemberRow> = organization_members::table
        .filter(organization_members::user_id.eq(user))
        .order((
            organization_members::created_at,
            organization_members::organization_id,
        ))
        .select(MemberRow::as_select())
        .load(conn)
        .map_err(map_diesel)?;
    let role_rows: Vec<(String, String)> = organization_member_roles::table
        .filter(organization_member_roles::user_id.eq(user))
        .order(organization_member_roles::role_name)
        .select((
            organization_member_roles::organization_id,
            organization_member_roles::role_name,
        ))
        .load(conn)
        .map_err(map_diesel)?;
    let mut roles: HashMap<String, Vec<String>> = HashMap::new();
    for (org, role) in role_rows {
        roles.entry(org).or_default().push(role);
    }
    rows.into_iter()
        .map(|row| {
            let r = roles.remove(&row.organization_id).unwrap_or_default();
            row.into_entity(r)
        })
        .collect()
}

#[async_trait]
impl OrganizationRepo for DieselOrganizationRepo {
    async fn create(
        &self,
        org: Organization,
        creator: UserId,
        creator_roles: Vec<String>,
        audit: AuditEntry,
    ) -> RepoResult<Organization> {
        self.db
            .write(move |conn| {
                let id = org.id.to_string();
                let now = to_db(org.created_at);
                insert_organization(conn, &org)?;
                diesel::insert_into(organization_members::table)
                    .values(MemberRow {
                        organization_id: id.clone(),
                        user_id: creator.to_string(),
                        created_at: now,
                        updated_at: now,
                    })
                    .execute(conn)
                    .map_err(map_diesel)?;
                for role in &creator_roles {
                    diesel::insert_into(organization_member_roles::table)
                        .values((
                            organization_member_roles::organization_id.eq(&id),
                            organization_member_roles::user_id.eq(creator.to_string()),
                            organization_member_roles::role_name.eq(role),
                        ))
                        .execute(conn)
                        .map_err(map_diesel)?;
                }
                insert_audit(conn, &audit)?;
                load_org(conn, &id)
            })
            .await
    }

    async fn get(&self, id: OrganizationId) -> RepoResult<Organization> {
        self.cached(format!("id:{id}"), move |conn| {
            load_org(conn, &id.to_string())
        })
        .await
    }

    async fn get_by_name(&self, name: &str) -> RepoResult<Organization> {
        let name = name.to_lowercase();
        self.cached(format!("name:{name}"), move |conn| {
            organizations::table
                .filter(lower(organizations::name).eq(name))
                .select(OrganizationRow::as_select())
                .first(conn)
                .map_err(map_diesel)?
                .into_entity()
        })
        .await
    }

    async fn get_default(&self) -> RepoResult<Organization> {
        self.cached("default".to_owned(), |conn| {
            organizations::table
                .filter(organizations::is_default.eq(true))
                .select(OrganizationRow::as_select())
                .first(conn)
                .map_err(map_diesel)?
                .into_entity()
        })
        .await
    }

    async fn list(
        &self,
        only: Option<Vec<OrganizationId>>,
        visible: Option<warden_rbac::Filter>,
    ) -> RepoResult<Vec<Organization>> {
        self.db
            .run(move |conn| {
                let mut query = organizations::table
                    .order(lower(organizations::name))
                    .select(OrganizationRow::as_select())
                    .into_boxed();
                if let Some(ids) = only {
                    query = query.filter(
                        organizations::id
                            .eq_any(ids.iter().map(ToString::to_string).collect::<Vec<_>>()),
                    );
                }
                if let Some(visible) = &visible {
                    query = query.filter(crate::rbac_sql::organizations_visible(visible));
                }
                query
                    .load(conn)
                    .map_err(map_diesel)?
                    .into_iter()
                    .map(OrganizationRow::into_entity)
                    .collect()
            })
            .await
    }

    async fn update(
        &self,
        id: OrganizationId,
        patch: OrganizationPatch,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<Organization> {
        self.db
            .write(move |conn| {
                let id = id.to_string();
                let mut row: OrganizationRow = organizations::table
                    .find(&id)
                    .select(OrganizationRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?;
                if let Some(name) = patch.name {
                    row.name = name.into_inner();
                }
                if let Some(display_name) = patch.display_name {
                    row.display_name = display_name;
                }
                if let Some(description) = patch.description {
                    row.description = description;
                }
                if let Some(icon) = patch.icon {
                    row.icon = icon;
                }
                row.updated_at = to_db(now);
                diesel::update(organizations::table.find(&id))
                    .set(&row)
                    .execute(conn)
                    .map_err(map_diesel)?;
                insert_audit(conn, &audit)?;
                load_org(conn, &id)
            })
            .await
    }

    async fn delete(&self, id: OrganizationId, audit: AuditEntry) -> RepoResult<()> {
        self.db
            .write(move |conn| {
                let deleted = diesel::delete(
                    organizations::table
                        .find(id.to_string())
                        .filter(organizations::is_default.eq(false)),
                )
                .execute(conn)
                .map_err(map_diesel)?;
                if deleted == 0 {
                    return Err(RepoError::NotFound);
                }
                insert_audit(conn, &audit)
            })
            .await
    }

    async fn memberships_of(&self, user: UserId) -> RepoResult<Vec<OrganizationMember>> {
        self.db
            .run(move |conn| memberships(conn, &user.to_string()))
            .await
    }
}
