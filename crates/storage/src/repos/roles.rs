//! [`RoleRepo`] on diesel: custom organization roles, one row per permission.

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::prelude::*;
use warden_domain::RepoError;
use warden_domain::ids::OrganizationId;
use warden_domain::model::{AuditEntry, CustomRole};
use warden_domain::ports::{RepoResult, RoleRepo};
use warden_rbac::Permission;

use crate::db::{AnyConnection, Database};
use crate::error::map_diesel;
use crate::repos::insert_audit;
use crate::rows::{from_db, parse_uuid, to_db};
use crate::schema::{
    custom_role_permissions as perms, custom_roles, lower, organization_member_roles,
};

const ORG_LEVEL: &str = "org";
const MEMBER_LEVEL: &str = "member";

/// Custom roles on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselRoleRepo {
    db: Database,
}

impl DieselRoleRepo {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

type RoleRow = (
    String,
    String,
    String,
    time::PrimitiveDateTime,
    time::PrimitiveDateTime,
);
type PermRow = (String, String, String, String, bool);

/// Loads the named roles of `org` (all when `names` is `None`), by name.
pub(crate) fn load_roles(
    conn: &mut AnyConnection,
    org: &str,
    names: Option<&[String]>,
) -> Result<Vec<CustomRole>, RepoError> {
    let mut query = custom_roles::table
        .filter(custom_roles::organization_id.eq(org))
        .order(custom_roles::name)
        .select((
            custom_roles::organization_id,
            custom_roles::name,
            custom_roles::display_name,
            custom_roles::created_at,
            custom_roles::updated_at,
        ))
        .into_boxed();
    if let Some(names) = names {
        query = query.filter(custom_roles::name.eq_any(names.to_vec()));
    }
    let rows: Vec<RoleRow> = query.load(conn).map_err(map_diesel)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let role_names: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let perm_rows: Vec<PermRow> = perms::table
        .filter(perms::organization_id.eq(org))
        .filter(perms::role_name.eq_any(role_names))
        .order((
            perms::role_name,
            perms::level,
            perms::resource_type,
            perms::action,
        ))
        .select((
            perms::role_name,
            perms::level,
            perms::resource_type,
            perms::action,
            perms::negate,
        ))
        .load(conn)
        .map_err(map_diesel)?;
    let mut by_role: HashMap<String, (Vec<Permission>, Vec<Permission>)> = HashMap::new();
    for (role, level, resource_type, action, negate) in perm_rows {
        let permission = Permission {
            negate,
            resource_type: resource_type
                .parse()
                .map_err(|e| RepoError::Internal(format!("corrupt permission: {e}")))?,
            action: action
                .parse()
                .map_err(|e| RepoError::Internal(format!("corrupt permission: {e}")))?,
        };
        let entry = by_role.entry(role).or_default();
        if level == MEMBER_LEVEL {
            entry.1.push(permission)
        } else {
            entry.0.push(permission)
        }
    }
    rows.into_iter()
        .map(|(org, name, display_name, created_at, updated_at)| {
            let (org_perms, member_perms) = by_role.remove(&name).unwrap_or_default();
            Ok(CustomRole {
                organization_id: parse_uuid("organization id", &org)?,
                name,
                display_name,
                organization_permissions: org_perms,
                organization_member_permissions: member_perms,
                created_at: from_db(created_at),
                updated_at: from_db(updated_at),
            })
        })
        .collect()
}

fn insert_permissions(conn: &mut AnyConnection, role: &CustomRole) -> Result<(), RepoError> {
    let org = role.organization_id.to_string();
    let levels = [
        (ORG_LEVEL, &role.organization_permissions),
        (MEMBER_LEVEL, &role.organization_member_permissions),
    ];
    for (level, list) in levels {
        let mut seen = std::collections::HashSet::new();
        for p in list.iter().filter(|p| seen.insert((*p).clone())) {
            diesel::insert_into(perms::table)
                .values((
                    perms::organization_id.eq(&org),
                    perms::role_name.eq(&role.name),
                    perms::level.eq(level),
                    perms::resource_type.eq(p.resource_type.as_str()),
                    perms::action.eq(p.action.as_str()),
                    perms::negate.eq(p.negate),
                ))
                .execute(conn)
                .map_err(map_diesel)?;
        }
    }
    Ok(())
}

fn find_name(conn: &mut AnyConnection, org: &str, name: &str) -> Result<String, RepoError> {
    custom_roles::table
        .filter(custom_roles::organization_id.eq(org))
        .filter(lower(custom_roles::name).eq(name.to_lowercase()))
        .select(custom_roles::name)
        .first(conn)
        .map_err(map_diesel)
}

#[async_trait]
impl RoleRepo for DieselRoleRepo {
    async fn list(&self, org: OrganizationId) -> RepoResult<Vec<CustomRole>> {
        self.db
            .run(move |conn| load_roles(conn, &org.to_string(), None))
            .await
    }

    async fn get(&self, org: OrganizationId, name: &str) -> RepoResult<CustomRole> {
        let name = name.to_owned();
        self.db
            .run(move |conn| {
                let org = org.to_string();
                let stored = find_name(conn, &org, &name)?;
                load_roles(conn, &org, Some(&[stored]))?
                    .pop()
                    .ok_or(RepoError::NotFound)
            })
            .await
    }

    async fn create(&self, role: CustomRole, audit: AuditEntry) -> RepoResult<CustomRole> {
        self.db
            .write(move |conn| {
                let org = role.organization_id.to_string();
                diesel::insert_into(custom_roles::table)
                    .values((
                        custom_roles::organization_id.eq(&org),
                        custom_roles::name.eq(&role.name),
                        custom_roles::display_name.eq(&role.display_name),
                        custom_roles::created_at.eq(to_db(role.created_at)),
                        custom_roles::updated_at.eq(to_db(role.updated_at)),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
                insert_permissions(conn, &role)?;
                insert_audit(conn, &audit)?;
                load_roles(conn, &org, Some(std::slice::from_ref(&role.name)))?
                    .pop()
                    .ok_or(RepoError::NotFound)
            })
            .await
    }

    async fn update(&self, role: CustomRole, audit: AuditEntry) -> RepoResult<CustomRole> {
        self.db
            .write(move |conn| {
                let org = role.organization_id.to_string();
                let updated = diesel::update(custom_roles::table.find((&org, &role.name)))
                    .set((
                        custom_roles::display_name.eq(&role.display_name),
                        custom_roles::updated_at.eq(to_db(role.updated_at)),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
                if updated == 0 {
                    return Err(RepoError::NotFound);
                }
                diesel::delete(
                    perms::table
                        .filter(perms::organization_id.eq(&org))
                        .filter(perms::role_name.eq(&role.name)),
                )
                .execute(conn)
                .map_err(map_diesel)?;
                insert_permissions(conn, &role)?;
                insert_audit(conn, &audit)?;
                load_roles(conn, &org, Some(std::slice::from_ref(&role.name)))?
                    .pop()
                    .ok_or(RepoError::NotFound)
            })
            .await
    }

    async fn delete(&self, org: OrganizationId, name: &str, audit: AuditEntry) -> RepoResult<()> {
        let name = name.to_owned();
        self.db
            .write(move |conn| {
                let org = org.to_string();
                let stored = find_name(conn, &org, &name)?;
                diesel::delete(custom_roles::table.find((&org, &stored)))
                    .execute(conn)
                    .map_err(map_diesel)?;
                diesel::delete(
                    organization_member_roles::table
                        .filter(organization_member_roles::organization_id.eq(&org))
                        .filter(organization_member_roles::role_name.eq(&stored)),
                )
                .execute(conn)
                .map_err(map_diesel)?;
                insert_audit(conn, &audit)
            })
            .await
    }
}
