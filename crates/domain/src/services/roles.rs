//! Roles: listing the assignable site and organization roles, and custom organization
//! roles (create, update, delete) with the escalation guard.

use warden_rbac::{Action, Object, Permission, ResourceType, Role, RoleIdentifier, roles};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, RepoError};
use crate::ids::OrganizationId;
use crate::model::{AuditAction, CustomRole};
use crate::services::Services;
use crate::values::{name_valid, tag_failed};

/// A role as listed for a caller: its definition, and whether the caller may assign it.
#[derive(Debug, Clone)]
pub struct AssignableRole {
    pub name: String,
    pub display_name: String,
    pub organization_id: Option<OrganizationId>,
    pub site_permissions: Vec<Permission>,
    pub organization_permissions: Vec<Permission>,
    pub organization_member_permissions: Vec<Permission>,
    pub user_permissions: Vec<Permission>,
    pub assignable: bool,
    pub built_in: bool,
}

/// A permission as a client sent it, before its names are checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawPermission {
    pub negate: bool,
    pub resource_type: String,
    pub action: String,
}

/// `POST`/`PUT /organizations/{organization}/members/roles`.
#[derive(Debug, Clone, Default)]
pub struct CustomRoleRequest {
    pub name: String,
    pub display_name: String,
    pub site_permissions: Vec<RawPermission>,
    pub organization_permissions: Vec<RawPermission>,
    pub organization_member_permissions: Vec<RawPermission>,
    pub user_permissions: Vec<RawPermission>,
}

/// Parsed organization and member permissions of a request.
struct Grants {
    org: Vec<Permission>,
    member: Vec<Permission>,
}

/// Parses a list. Strict (create): an unknown type or action, or an action the type
/// does not have, is a 400 naming the entry. Lenient (update): such entries are
/// dropped, as Coder does.
fn parse_permissions(
    field: &str,
    list: &[RawPermission],
    strict: bool,
) -> DomainResult<Vec<Permission>> {
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let parsed = raw
            .resource_type
            .parse()
            .ok()
            .zip(raw.action.parse().ok())
            .map(|(resource_type, action)| Permission {
                negate: raw.negate,
                resource_type,
                action,
            })
            .filter(Permission::is_valid);
        match parsed {
            Some(p) => out.push(p),
            None if strict => {
                return Err(DomainError::invalid_field(
                    "Validation failed.",
                    format!("{field}[{i}]"),
                    format!(
                        "invalid permission: action {:?} is not valid for resource type {:?}",
                        raw.action, raw.resource_type
                    ),
                ));
            }
            None => {}
        }
    }
    Ok(out)
}

fn sorted(mut perms: Vec<Permission>) -> Vec<Permission> {
    perms.sort_by(|a, b| {
        (a.resource_type.as_str(), a.action.as_str(), a.negate).cmp(&(
            b.resource_type.as_str(),
            b.action.as_str(),
            b.negate,
        ))
    });
    perms
}

fn builtin(role: Role, org: Option<OrganizationId>, assignable: bool) -> AssignableRole {
    let (organization_permissions, organization_member_permissions) = role
        .by_org_id
        .values()
        .next()
        .map(|p| (p.org.clone(), p.member.clone()))
        .unwrap_or_default();
    AssignableRole {
        name: role.identifier.name,
        display_name: role.display_name,
        organization_id: org,
        site_permissions: sorted(role.site),
        organization_permissions: sorted(organization_permissions),
        organization_member_permissions: sorted(organization_member_permissions),
        user_permissions: sorted(role.user),
        assignable,
        built_in: true,
    }
}

fn custom(role: &CustomRole, assignable: bool) -> AssignableRole {
    AssignableRole {
        name: role.name.clone(),
        display_name: role.display_name.clone(),
        organization_id: Some(role.organization_id),
        site_permissions: Vec::new(),
        organization_permissions: sorted(role.organization_permissions.clone()),
        organization_member_permissions: sorted(role.organization_member_permissions.clone()),
        user_permissions: Vec::new(),
        assignable,
        built_in: false,
    }
}

impl Services {
    /// `GET /users/roles`: the built-in site roles with `assignable` for the caller.
    pub async fn site_roles(&self, actor: &Actor) -> DomainResult<Vec<AssignableRole>> {
        actor.require(Action::Read, &Object::new(ResourceType::AssignRole))?;
        let mine = actor.role_identifiers();
        Ok(roles::builtin_site_role_names()
            .iter()
            .filter(|name| **name != roles::MEMBER)
            .filter_map(|name| roles::site_role(name))
            .map(|role| {
                let assignable = roles::can_assign_role(&mine, &role.identifier);
                builtin(role, None, assignable)
            })
            .collect())
    }

    /// `GET /organizations/{organization}/members/roles`: built-in organization roles
    /// (the implied ones excluded) followed by the organization's custom roles.
    pub async fn organization_roles(
        &self,
        actor: &Actor,
        org: &str,
    ) -> DomainResult<Vec<AssignableRole>> {
        let org = self.resolve_organization(actor, org).await?;
        let org_uuid = org.id.as_uuid();
        actor.require_visible(
            Action::Read,
            &Object::new(ResourceType::AssignOrgRole).in_org(org_uuid),
        )?;
        let mine = actor.role_identifiers();
        let mut listed: Vec<AssignableRole> = roles::builtin_org_role_names()
            .iter()
            .filter(|name| roles::display_name(name).is_some_and(|d| !d.is_empty()))
            .filter_map(|name| roles::org_role(name, org_uuid))
            .map(|role| {
                let assignable = roles::can_assign_role(&mine, &role.identifier);
                builtin(role, Some(org.id), assignable)
            })
            .collect();
        let custom_assignable = roles::can_assign_role(
            &mine,
            &RoleIdentifier::org(roles::CUSTOM_ORG_ROLE, org_uuid),
        );
        for role in self.ports.roles.list(org.id).await? {
            listed.push(custom(&role, custom_assignable));
        }
        Ok(listed)
    }

    /// `POST /organizations/{organization}/members/roles`.
    pub async fn create_custom_role(
        &self,
        actor: &Actor,
        org: &str,
        req: CustomRoleRequest,
    ) -> DomainResult<AssignableRole> {
        let org = self.resolve_organization(actor, org).await?;
        let grants = validate_custom_role(&req, true)?;
        let object = Object::new(ResourceType::AssignOrgRole).in_org(org.id.as_uuid());
        actor.require_visible(Action::Create, &object)?;
        guard_escalation(actor, org.id, &grants)?;
        let now = self.now();
        let role = CustomRole {
            organization_id: org.id,
            name: req.name.clone(),
            display_name: req.display_name,
            organization_permissions: grants.org,
            organization_member_permissions: grants.member,
            created_at: now,
            updated_at: now,
        };
        let audit = actor
            .audit(
                now,
                AuditAction::Create,
                "custom_role",
                &role.name,
                role.name.as_str(),
            )
            .in_org(org.id);
        match self.ports.roles.create(role, audit).await {
            Ok(role) => Ok(custom(&role, true)),
            Err(RepoError::Conflict(_)) => Err(DomainError::Conflict {
                message: format!(
                    "A custom role named {:?} already exists in this organization.",
                    req.name
                ),
                detail: String::new(),
                validations: vec![crate::error::FieldError::new(
                    "name",
                    "This value is already in use and should be unique.",
                )],
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// `PUT /organizations/{organization}/members/roles`: replaces a custom role's
    /// display name and permissions. As in Coder, permissions naming an unknown
    /// resource type or an action the type does not have are dropped, not refused.
    pub async fn update_custom_role(
        &self,
        actor: &Actor,
        org: &str,
        req: CustomRoleRequest,
    ) -> DomainResult<AssignableRole> {
        let org = self.resolve_organization(actor, org).await?;
        let grants = validate_custom_role(&req, false)?;
        let object = Object::new(ResourceType::AssignOrgRole).in_org(org.id.as_uuid());
        actor.require_visible(Action::Update, &object)?;
        let existing = match self.ports.roles.get(org.id, &req.name).await {
            Ok(role) => role,
            Err(RepoError::NotFound) => return Err(DomainError::not_found()),
            Err(e) => return Err(e.into()),
        };
        guard_escalation(actor, org.id, &grants)?;
        let now = self.now();
        let role = CustomRole {
            display_name: req.display_name,
            organization_permissions: grants.org,
            organization_member_permissions: grants.member,
            updated_at: now,
            ..existing.clone()
        };
        let audit = actor
            .audit(
                now,
                AuditAction::Write,
                "custom_role",
                &role.name,
                role.name.as_str(),
            )
            .in_org(org.id)
            .with_change(
                "display_name",
                existing.display_name.as_str(),
                role.display_name.as_str(),
            )
            .with_change(
                "organization_permissions",
                serde_json::to_value(&existing.organization_permissions).unwrap_or_default(),
                serde_json::to_value(&role.organization_permissions).unwrap_or_default(),
            );
        let role = self.ports.roles.update(role, audit).await?;
        Ok(custom(&role, true))
    }

    /// `DELETE /organizations/{organization}/members/roles/{roleName}`: members holding
    /// the role lose it in the same transaction.
    pub async fn delete_custom_role(
        &self,
        actor: &Actor,
        org: &str,
        name: &str,
    ) -> DomainResult<()> {
        let org = self.resolve_organization(actor, org).await?;
        if roles::is_reserved_name(name) {
            return Err(DomainError::bad_request(
                "Reserved role name",
                format!("{name:?} is a reserved role name, and not allowed to be used"),
            ));
        }
        let missing = || DomainError::NotFound {
            message: format!("No custom role with the name {name} found"),
        };
        let role = match self.ports.roles.get(org.id, name).await {
            Ok(role) => role,
            Err(RepoError::NotFound) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        actor.require(
            Action::Delete,
            &Object::new(ResourceType::AssignOrgRole).in_org(org.id.as_uuid()),
        )?;
        let audit = actor
            .audit(
                self.now(),
                AuditAction::Delete,
                "custom_role",
                &role.name,
                role.name.as_str(),
            )
            .in_org(org.id);
        match self.ports.roles.delete(org.id, &role.name, audit).await {
            Err(RepoError::NotFound) => Err(missing()),
            other => Ok(other?),
        }
    }
}

/// Coder's checks on a custom role request, in Coder's order; returns the parsed grants.
fn validate_custom_role(req: &CustomRoleRequest, strict: bool) -> DomainResult<Grants> {
    if name_valid(&req.name).is_err() {
        let tag = if req.name.is_empty() {
            "required"
        } else {
            "username"
        };
        return Err(DomainError::invalid_field(
            "Validation failed.",
            "name",
            tag_failed(tag, &req.name),
        ));
    }
    if roles::is_reserved_name(&req.name) {
        return Err(DomainError::bad_request(
            "Reserved role name",
            format!(
                "{:?} is a reserved role name, and not allowed to be used",
                req.name
            ),
        ));
    }
    if crate::values::display_name_valid(&req.display_name).is_err() {
        return Err(DomainError::invalid_field(
            "Validation failed.",
            "display_name",
            tag_failed("display_name", &req.display_name),
        ));
    }
    if !req.site_permissions.is_empty() {
        return Err(DomainError::bad_request(
            "Invalid request, not allowed to assign site wide permissions for an organization role.",
            "organization scoped roles may not contain site wide permissions",
        ));
    }
    if !req.user_permissions.is_empty() {
        return Err(DomainError::bad_request(
            "Invalid request, not allowed to assign user permissions for an organization role.",
            "organization scoped roles may not contain user permissions",
        ));
    }
    Ok(Grants {
        org: parse_permissions(
            "organization_permissions",
            &req.organization_permissions,
            strict,
        )?,
        member: parse_permissions(
            "organization_member_permissions",
            &req.organization_member_permissions,
            strict,
        )?,
    })
}

/// No negations, no wildcards, nothing the actor does not hold itself.
fn guard_escalation(actor: &Actor, org: OrganizationId, grants: &Grants) -> DomainResult<()> {
    let all: Vec<Permission> = grants
        .org
        .iter()
        .chain(grants.member.iter())
        .cloned()
        .collect();
    warden_rbac::check_grantable(&actor.subject, org.as_uuid(), &all).map_err(|e| {
        DomainError::Invalid {
            message: "Failed to update role permissions".into(),
            detail: format!("org={:?}: {e}", org.to_string()),
            validations: Vec::new(),
        }
    })
}
