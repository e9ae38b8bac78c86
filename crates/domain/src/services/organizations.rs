//! Organizations: create, read, update, delete, and a user's organizations.

use warden_rbac::{Action, Object, ResourceType};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, FieldError, RepoError};
use crate::ids::OrganizationId;
use crate::model::{AuditAction, Organization};
use crate::ports::OrganizationPatch;
use crate::services::Services;
use crate::values::{OrganizationName, display_name_valid};

/// `POST /organizations`.
#[derive(Debug, Clone, Default)]
pub struct CreateOrganization {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub icon: Option<String>,
}

/// `PATCH /organizations/{organization}`; absent fields stay unchanged.
#[derive(Debug, Clone, Default)]
pub struct UpdateOrganization {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub icon: Option<String>,
}

/// Longest description accepted.
const MAX_DESCRIPTION: usize = 256;

/// The RBAC object of an organization (it is "in" itself).
pub(crate) fn org_object(id: OrganizationId) -> Object {
    Object::new(ResourceType::Organization)
        .with_id(id.as_uuid())
        .in_org(id.as_uuid())
}

impl Services {
    /// Resolves `{organization}`: a UUID, a name, or `default`. Organizations the caller
    /// may not read are reported exactly like missing ones.
    pub async fn resolve_organization(
        &self,
        actor: &Actor,
        param: &str,
    ) -> DomainResult<Organization> {
        let found = match param.parse::<OrganizationId>() {
            Ok(id) if id.as_uuid().is_nil() => self.ports.organizations.get_default().await,
            Ok(id) => self.ports.organizations.get(id).await,
            Err(_) if param == "default" => self.ports.organizations.get_default().await,
            Err(_) => self.ports.organizations.get_by_name(param).await,
        };
        let missing = DomainError::not_found;
        let org = match found {
            Ok(org) => org,
            Err(RepoError::NotFound) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        if !actor.can(Action::Read, &org_object(org.id)) {
            return Err(missing());
        }
        Ok(org)
    }

    /// Every organization the caller may read, by name.
    pub async fn list_organizations(&self, actor: &Actor) -> DomainResult<Vec<Organization>> {
        let visible = actor
            .subject
            .filter(Action::Read, ResourceType::Organization);
        Ok(self.ports.organizations.list(None, Some(visible)).await?)
    }

    /// Creates an organization; the creator joins it as a plain member, as in Coder.
    pub async fn create_organization(
        &self,
        actor: &Actor,
        req: CreateOrganization,
    ) -> DomainResult<Organization> {
        actor.require(Action::Create, &Object::new(ResourceType::Organization))?;
        let mut validations = Vec::new();
        let name = OrganizationName::parse(&req.name)
            .map_err(|_| {
                let tag = if req.name.is_empty() {
                    "required"
                } else {
                    "organization_name"
                };
                validations.push(FieldError::new(
                    "name",
                    crate::values::tag_failed(tag, &req.name),
                ))
            })
            .ok();
        let display_name = req
            .display_name
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| req.name.clone());
        check_texts(&display_name, req.description.as_deref(), &mut validations);
        let Some(name) = name.filter(|_| validations.is_empty()) else {
            return Err(DomainError::validation(validations));
        };
        if name.as_str() == "default" {
            return Err(reserved_default());
        }
        let now = self.now();
        let org = Organization {
            id: OrganizationId::new_random(),
            name,
            display_name,
            description: req.description.unwrap_or_default(),
            icon: req.icon.unwrap_or_default(),
            is_default: false,
            created_at: now,
            updated_at: now,
        };
        let audit = actor
            .audit(
                now,
                AuditAction::Create,
                "organization",
                org.id,
                org.name.as_str(),
            )
            .in_org(org.id);
        self.ports
            .organizations
            .create(org, actor.user.id, Vec::new(), audit)
            .await
            .map_err(|e| match e {
                RepoError::Conflict(_) => {
                    DomainError::conflict("Organization already exists with that name.", "")
                }
                other => other.into(),
            })
    }

    /// Updates an organization's name, display name, description or icon.
    pub async fn update_organization(
        &self,
        actor: &Actor,
        param: &str,
        req: UpdateOrganization,
    ) -> DomainResult<Organization> {
        let org = self.resolve_organization(actor, param).await?;
        actor.require(Action::Update, &org_object(org.id))?;
        let mut validations = Vec::new();
        let name = match req.name.as_deref().filter(|n| *n != org.name.as_str()) {
            None => None,
            Some(raw) => match OrganizationName::parse(raw) {
                Ok(n) if n.as_str() == "default" => return Err(reserved_default()),
                Ok(n) => Some(n),
                Err(_) => {
                    validations.push(FieldError::new(
                        "name",
                        crate::values::tag_failed("organization_name", raw),
                    ));
                    None
                }
            },
        };
        if let Some(display) = &req.display_name {
            check_texts(display, req.description.as_deref(), &mut validations);
        } else {
            check_texts("", req.description.as_deref(), &mut validations);
        }
        if !validations.is_empty() {
            return Err(DomainError::validation(validations));
        }
        let now = self.now();
        let mut audit = actor
            .audit(
                now,
                AuditAction::Write,
                "organization",
                org.id,
                org.name.as_str(),
            )
            .in_org(org.id);
        if let Some(n) = &name {
            audit = audit.with_change("name", org.name.as_str(), n.as_str());
        }
        for (field, old, new) in [
            ("display_name", &org.display_name, &req.display_name),
            ("description", &org.description, &req.description),
            ("icon", &org.icon, &req.icon),
        ] {
            if let Some(new) = new.as_ref().filter(|n| *n != old) {
                audit = audit.with_change(field, old.as_str(), new.as_str());
            }
        }
        let patch = OrganizationPatch {
            name,
            display_name: req.display_name.filter(|d| !d.is_empty()),
            description: req.description,
            icon: req.icon,
        };
        self.ports
            .organizations
            .update(org.id, patch, now, audit)
            .await
            .map_err(|e| match e {
                RepoError::Conflict(_) => DomainError::Conflict {
                    message: format!(
                        "Organization already exists with the name {:?}.",
                        req.name.clone().unwrap_or_default()
                    ),
                    detail: String::new(),
                    validations: vec![FieldError::new(
                        "name",
                        "This value is already in use and should be unique.",
                    )],
                },
                other => other.into(),
            })
    }

    /// Deletes an organization other than the default one.
    pub async fn delete_organization(&self, actor: &Actor, param: &str) -> DomainResult<()> {
        let org = self.resolve_organization(actor, param).await?;
        actor.require(Action::Delete, &org_object(org.id))?;
        if org.is_default {
            return Err(DomainError::bad_request(
                "Default organization cannot be deleted.",
                "",
            ));
        }
        let audit = actor
            .audit(
                self.now(),
                AuditAction::Delete,
                "organization",
                org.id,
                org.name.as_str(),
            )
            .in_org(org.id);
        self.ports.organizations.delete(org.id, audit).await?;
        Ok(())
    }

    /// The organizations `{user}` belongs to that the caller may read.
    pub async fn user_organizations(
        &self,
        actor: &Actor,
        param: &str,
    ) -> DomainResult<Vec<Organization>> {
        let user = self.resolve_user(actor, param).await?;
        if user.organization_ids.is_empty() {
            return Ok(Vec::new());
        }
        let orgs = self
            .ports
            .organizations
            .list(
                Some(user.organization_ids.clone()),
                Some(
                    actor
                        .subject
                        .filter(Action::Read, ResourceType::Organization),
                ),
            )
            .await?;
        Ok(orgs)
    }
}

fn check_texts(display_name: &str, description: Option<&str>, validations: &mut Vec<FieldError>) {
    if display_name_valid(display_name).is_err() {
        validations.push(FieldError::new(
            "display_name",
            crate::values::tag_failed("organization_display_name", display_name),
        ));
    }
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        validations.push(FieldError::new(
            "description",
            format!("must be <= {MAX_DESCRIPTION} characters"),
        ));
    }
}

fn reserved_default() -> DomainError {
    DomainError::bad_request("Organization name \"default\" is reserved.", "")
}
