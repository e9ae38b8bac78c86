//! Groups of an organization's members, including the implicit Everyone group.

use warden_rbac::{Action, Object, ResourceType};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, FieldError, RepoError};
use crate::ids::{GroupId, OrganizationId, UserId};
use crate::model::{AuditAction, EVERYONE_GROUP, Group, GroupDetails, GroupSource};
use crate::ports::{GroupPatch, GroupQuery};
use crate::services::Services;
use crate::values::{display_name_valid, tag_failed};

/// `POST /organizations/{organization}/groups`.
#[derive(Debug, Clone, Default)]
pub struct CreateGroup {
    pub name: String,
    pub display_name: String,
    pub avatar_url: String,
    pub quota_allowance: i32,
}

/// `PATCH /groups/{group}`; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct UpdateGroup {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub quota_allowance: Option<i32>,
    pub add_users: Vec<String>,
    pub remove_users: Vec<String>,
}

/// Raw `GET /groups` filters.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub organization: Option<String>,
    pub has_member: Option<String>,
    pub group_ids: Option<String>,
}

/// The RBAC object of a group: in its organization, readable by its members.
pub(crate) fn group_object(group: &Group) -> Object {
    Object::new(ResourceType::Group)
        .with_id(group.id.as_uuid())
        .in_org(group.organization_id.as_uuid())
        .with_group_acl(group.id.as_uuid(), vec![Action::Read])
}

/// Coder's `GroupNameValid`: like `NameValid` but up to 36 characters.
fn group_name_valid(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 36
        && name != "new"
        && name != "create"
        && name
            .split('-')
            .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl Services {
    /// `GET /groups` and `GET /organizations/{organization}/groups`.
    pub async fn list_groups(
        &self,
        actor: &Actor,
        filter: GroupFilter,
    ) -> DomainResult<Vec<GroupDetails>> {
        let mut errors = Vec::new();
        let mut query = GroupQuery::default();
        if let Some(org) = filter.organization.as_deref().filter(|o| !o.is_empty()) {
            match self.resolve_organization(actor, org).await {
                Ok(org) => query.organization = Some(org.id),
                Err(DomainError::NotFound { .. }) => errors.push(FieldError::new(
                    "organization",
                    format!("Query param \"organization\" has invalid value: organization {org:?} not found"),
                )),
                Err(e) => return Err(e),
            }
        }
        if let Some(user) = filter.has_member.as_deref().filter(|u| !u.is_empty()) {
            match self.resolve_user(actor, user).await {
                Ok(user) => query.has_member = Some(user.id),
                Err(DomainError::Invalid { .. }) => errors.push(FieldError::new(
                    "has_member",
                    format!(
                        "Query param \"has_member\" has invalid value: user {user:?} not found"
                    ),
                )),
                Err(e) => return Err(e),
            }
        }
        if let Some(ids) = filter.group_ids.as_deref().filter(|i| !i.is_empty()) {
            let mut parsed = Vec::new();
            let mut bad = Vec::new();
            for raw in ids.split(',').map(str::trim) {
                match raw.parse::<GroupId>() {
                    Ok(id) => parsed.push(id),
                    Err(e) => bad.push(format!("invalid UUID {raw:?}: {e}")),
                }
            }
            if bad.is_empty() {
                query.ids = Some(parsed);
            } else {
                errors.push(FieldError::new(
                    "group_ids",
                    format!(
                        "Query param \"group_ids\" has invalid values: {}",
                        bad.join("\n")
                    ),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid {
                message: "Query parameters have invalid values.".into(),
                detail: String::new(),
                validations: errors,
            });
        }
        let groups = self.ports.groups.list(query).await?;
        Ok(groups
            .into_iter()
            .filter(|g| actor.can(Action::Read, &group_object(&g.group)))
            .map(|g| self.visible_members(actor, g))
            .collect())
    }

    /// `GET /groups/{group}`; the id must be a UUID.
    pub async fn get_group(&self, actor: &Actor, id: &str) -> DomainResult<GroupDetails> {
        let group = self.load_group(actor, id).await?;
        Ok(self.visible_members(actor, group))
    }

    /// `GET /organizations/{organization}/groups/{groupName}`.
    pub async fn get_group_by_name(
        &self,
        actor: &Actor,
        org: &str,
        name: &str,
    ) -> DomainResult<GroupDetails> {
        let org = self.resolve_organization(actor, org).await?;
        let group = match self.ports.groups.get_by_name(org.id, name).await {
            Ok(g) => g,
            Err(RepoError::NotFound) => return Err(DomainError::not_found()),
            Err(e) => return Err(e.into()),
        };
        actor.require_visible(Action::Read, &group_object(&group.group))?;
        Ok(self.visible_members(actor, group))
    }

    /// `POST /organizations/{organization}/groups`.
    pub async fn create_group(
        &self,
        actor: &Actor,
        org: &str,
        req: CreateGroup,
    ) -> DomainResult<GroupDetails> {
        let org = self.resolve_organization(actor, org).await?;
        let mut validations = Vec::new();
        if !group_name_valid(&req.name) {
            let tag = if req.name.is_empty() {
                "required"
            } else {
                "group_name"
            };
            validations.push(FieldError::new("name", tag_failed(tag, &req.name)));
        }
        if display_name_valid(&req.display_name).is_err() {
            validations.push(FieldError::new(
                "display_name",
                tag_failed("group_display_name", &req.display_name),
            ));
        }
        if req.quota_allowance < 0 {
            validations.push(FieldError::new("quota_allowance", "must be >= 0"));
        }
        if !validations.is_empty() {
            return Err(DomainError::validation(validations));
        }
        if req.name == EVERYONE_GROUP {
            return Err(DomainError::invalid_field(
                "Invalid group name.",
                "name",
                "\"Everyone\" is a reserved group name",
            ));
        }
        actor.require(
            Action::Create,
            &Object::new(ResourceType::Group).in_org(org.id.as_uuid()),
        )?;
        let now = self.now();
        let group = Group {
            id: GroupId::new_random(),
            organization_id: org.id,
            name: req.name.clone(),
            display_name: req.display_name,
            avatar_url: req.avatar_url,
            quota_allowance: req.quota_allowance,
            source: GroupSource::User,
            created_at: now,
            updated_at: now,
        };
        let audit = actor
            .audit(
                now,
                AuditAction::Create,
                "group",
                group.id,
                group.name.as_str(),
            )
            .in_org(org.id);
        match self.ports.groups.create(group, audit).await {
            Err(RepoError::Conflict(_)) => Err(DomainError::Conflict {
                message: format!("A group named {:?} already exists.", req.name),
                detail: String::new(),
                validations: vec![FieldError::new("name", "Group names must be unique")],
            }),
            other => Ok(other?),
        }
    }

    /// `PATCH /groups/{group}`: fields and membership in one transaction.
    pub async fn update_group(
        &self,
        actor: &Actor,
        id: &str,
        req: UpdateGroup,
    ) -> DomainResult<GroupDetails> {
        let current = self.load_group(actor, id).await?;
        let group = &current.group;
        let rename = req
            .name
            .clone()
            .filter(|n| !n.is_empty() && *n != group.name);
        if group.is_everyone() {
            if rename.is_some() {
                return Err(DomainError::bad_request(
                    "Cannot rename the \"Everyone\" group!",
                    "",
                ));
            }
            if req.display_name.as_deref().is_some_and(|d| !d.is_empty()) {
                return Err(DomainError::bad_request(
                    "Cannot update the Display Name for the \"Everyone\" group!",
                    "",
                ));
            }
        }
        if rename.as_deref() == Some(EVERYONE_GROUP) {
            return Err(DomainError::bad_request(
                "\"Everyone\" is a reserved group name!",
                "",
            ));
        }
        if let Some(name) = rename.as_ref().filter(|n| !group_name_valid(n)) {
            return Err(DomainError::invalid_field(
                "Validation failed.",
                "name",
                tag_failed("group_name", name),
            ));
        }
        if let Some(display) = req
            .display_name
            .as_ref()
            .filter(|d| display_name_valid(d).is_err())
        {
            return Err(DomainError::invalid_field(
                "Validation failed.",
                "display_name",
                tag_failed("group_display_name", display),
            ));
        }
        if req.quota_allowance.is_some_and(|q| q < 0) {
            return Err(DomainError::invalid_field(
                "Validation failed.",
                "quota_allowance",
                "must be >= 0",
            ));
        }
        if group.is_everyone() && (!req.add_users.is_empty() || !req.remove_users.is_empty()) {
            return Err(DomainError::forbidden_msg(
                "Cannot add or remove users from the \"Everyone\" group!",
            ));
        }
        let parse_ids = |raw: &[String]| -> DomainResult<Vec<UserId>> {
            raw.iter()
                .map(|id| {
                    id.parse::<UserId>().map_err(|_| {
                        DomainError::bad_request(
                            format!("ID {id:?} must be a valid user UUID."),
                            "",
                        )
                    })
                })
                .collect()
        };
        let add_users = parse_ids(&req.add_users)?;
        let remove_users = parse_ids(&req.remove_users)?;
        let mut seen = std::collections::HashSet::new();
        if add_users.iter().any(|u| !seen.insert(*u)) {
            return Err(DomainError::bad_request(
                "Cannot add the same user to a group twice!",
                "",
            ));
        }
        actor.require(Action::Update, &group_object(group))?;
        let now = self.now();
        let mut audit = actor
            .audit(
                now,
                AuditAction::Write,
                "group",
                group.id,
                group.name.as_str(),
            )
            .in_org(group.organization_id);
        if let Some(name) = &rename {
            audit = audit.with_change("name", group.name.as_str(), name.as_str());
        }
        if !add_users.is_empty() || !remove_users.is_empty() {
            let ids = |v: &[UserId]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
            audit = audit.with_change("members", ids(&remove_users), ids(&add_users));
        }
        let patch = GroupPatch {
            name: rename.clone(),
            display_name: req.display_name,
            avatar_url: req.avatar_url,
            quota_allowance: req.quota_allowance,
            add_users,
            remove_users,
        };
        let org_name = current.organization.name.as_str().to_owned();
        match self.ports.groups.update(group.id, patch, now, audit).await {
            Ok(updated) => Ok(self.visible_members(actor, updated)),
            Err(RepoError::Conflict(what)) if what.starts_with("member:") => {
                Err(DomainError::bad_request(
                    "Cannot add the same user to a group twice!",
                    format!(
                        "user {} is already a member of the group",
                        &what["member:".len()..]
                    ),
                ))
            }
            Err(RepoError::Conflict(_)) => Err(DomainError::conflict(
                format!(
                    "A group with name {:?} already exists.",
                    rename.unwrap_or_default()
                ),
                "",
            )),
            Err(RepoError::MissingReference(what)) => Err(DomainError::bad_request(
                format!("User must be a member of organization {org_name:?}"),
                what,
            )),
            Err(RepoError::NotFound) => Err(DomainError::bad_request(
                "Failed to add or remove non-existent group member",
                "a user to remove is not a member of the group",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /groups/{group}`.
    pub async fn delete_group(&self, actor: &Actor, id: &str) -> DomainResult<()> {
        let current = self.load_group(actor, id).await?;
        if current.group.is_everyone() {
            return Err(DomainError::bad_request(
                "\"Everyone\" is a reserved group and cannot be deleted!",
                "",
            ));
        }
        actor.require(Action::Delete, &group_object(&current.group))?;
        let audit = actor
            .audit(
                self.now(),
                AuditAction::Delete,
                "group",
                current.group.id,
                current.group.name.as_str(),
            )
            .in_org(current.group.organization_id);
        Ok(self.ports.groups.delete(current.group.id, audit).await?)
    }

    async fn load_group(&self, actor: &Actor, id: &str) -> DomainResult<GroupDetails> {
        let id: GroupId = id.parse().map_err(|e: uuid::Error| {
            DomainError::bad_request(format!("Invalid UUID {id:?}."), e.to_string())
        })?;
        let group = match self.ports.groups.get(id).await {
            Ok(g) => g,
            Err(RepoError::NotFound) => return Err(DomainError::not_found()),
            Err(e) => return Err(e.into()),
        };
        actor.require_visible(Action::Read, &group_object(&group.group))?;
        Ok(group)
    }

    /// Keeps only the members the caller may see (`group_member` read), as Coder does;
    /// `total_member_count` is computed from the full list by the caller beforehand.
    fn visible_members(&self, actor: &Actor, mut details: GroupDetails) -> GroupDetails {
        let org = details.group.organization_id.as_uuid();
        let group_id = details.group.id.as_uuid();
        details.members.retain(|user| {
            actor.can(
                Action::Read,
                &Object::new(ResourceType::GroupMember)
                    .with_id(user.id.as_uuid())
                    .owned_by(user.id.as_uuid())
                    .in_org(org)
                    .with_group_acl(group_id, vec![Action::Read]),
            )
        });
        details
    }
}

/// The organization id a group filter names, for the organization-scoped listing.
pub fn org_filter(org: OrganizationId) -> GroupFilter {
    GroupFilter {
        organization: Some(org.to_string()),
        ..GroupFilter::default()
    }
}
