//! Organization members: listing, adding, removing and their organization roles.

use warden_rbac::{Action, Object, ResourceType, RoleIdentifier, roles};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, FieldError, RepoError};
use crate::ids::{OrganizationId, UserId};
use crate::model::{
    AuditAction, CustomRole, LoginType, MemberWithUser, Organization, OrganizationMember, User,
};
use crate::ports::MemberQuery;
use crate::services::Services;
use crate::services::pagination::Pagination;

/// The RBAC object of one membership: owned by the member, in the organization.
pub(crate) fn member_object(org: &Organization, user: UserId) -> Object {
    Object::new(ResourceType::OrganizationMember)
        .with_id(user.as_uuid())
        .owned_by(user.as_uuid())
        .in_org(org.id.as_uuid())
}

/// The org-wide RBAC object of memberships (for "may read all members").
fn all_members(org: &Organization) -> Object {
    Object::new(ResourceType::OrganizationMember).in_org(org.id.as_uuid())
}

/// A page of members and the total matching.
#[derive(Debug, Clone)]
pub struct MemberPage {
    pub members: Vec<MemberWithUser>,
    pub count: i64,
}

impl Services {
    /// `GET /organizations/{organization}/members`: every member the caller may read.
    pub async fn list_members(
        &self,
        actor: &Actor,
        org: &str,
        q: Option<&str>,
    ) -> DomainResult<Vec<MemberWithUser>> {
        let org = self.resolve_organization(actor, org).await?;
        let mut query = parse_member_query(q.unwrap_or(""))?;
        if !actor.can(Action::Read, &all_members(&org)) {
            query.only_ids = Some(vec![actor.user.id]);
        }
        let mut members = self.ports.members.list(org.id, query).await?.0;
        self.name_custom_roles(org.id, members.iter_mut().map(|m| &mut m.member))
            .await?;
        Ok(members)
    }

    /// `GET /organizations/{organization}/paginated-members`: needs org-wide read.
    pub async fn paginated_members(
        &self,
        actor: &Actor,
        org: &str,
        q: Option<&str>,
        page: Pagination,
    ) -> DomainResult<MemberPage> {
        let org = self.resolve_organization(actor, org).await?;
        let mut query = parse_member_query(q.unwrap_or(""))?;
        actor.require_visible(Action::Read, &all_members(&org))?;
        query.after_id = page.after_id;
        query.limit = page.limit;
        query.offset = page.offset;
        let (mut members, count) = self.ports.members.list(org.id, query).await?;
        self.name_custom_roles(org.id, members.iter_mut().map(|m| &mut m.member))
            .await?;
        Ok(MemberPage { members, count })
    }

    /// `GET /organizations/{organization}/members/{user}`.
    pub async fn get_member(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
    ) -> DomainResult<MemberWithUser> {
        let org = self.resolve_organization(actor, org).await?;
        // A UUID asked for by a caller who reads every member: the membership read is
        // the one lookup. Anything not found takes the long way, for the precise error.
        if let Ok(id) = user.parse::<UserId>()
            && actor.can(Action::Read, &all_members(&org))
        {
            match self.ports.members.get(org.id, id).await {
                Ok(mut member) => {
                    self.name_custom_roles(org.id, [&mut member.member]).await?;
                    return Ok(member);
                }
                Err(RepoError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let user = self.resolve_user_for_org(actor, &org, user).await?;
        let mut member = self.visible_member(actor, &org, &user).await?;
        self.name_custom_roles(org.id, [&mut member.member]).await?;
        Ok(member)
    }

    /// `POST /organizations/{organization}/members/{user}`: adds with no extra roles.
    pub async fn add_member(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
    ) -> DomainResult<OrganizationMember> {
        // Not a member yet: the user must be visible to the caller as a user (400 otherwise).
        let org = self.resolve_organization(actor, org).await?;
        let user = self.resolve_user(actor, user).await?;
        if user.login_type == LoginType::Oidc && self.organization_sync_enabled().await? {
            return Err(DomainError::bad_request(
                "Organization sync is enabled for OIDC users, meaning manual organization assignment is not allowed for this user. Have the user re-login to refresh their organizations.",
                format!(
                    "User {} is an OIDC user and organization sync is enabled. Ask an administrator to resolve the membership in your external IDP.",
                    user.username.as_str()
                ),
            ));
        }
        let implied = RoleIdentifier::org(roles::ORG_MEMBER, org.id.as_uuid());
        let may_assign = actor.can(
            Action::Assign,
            &Object::new(ResourceType::AssignOrgRole).in_org(org.id.as_uuid()),
        ) && roles::can_assign_role(&actor.role_identifiers(), &implied);
        if !may_assign || !actor.can(Action::Create, &member_object(&org, user.id)) {
            return Err(DomainError::not_found());
        }
        let now = self.now();
        let audit = actor
            .audit(
                now,
                AuditAction::Create,
                "organization_member",
                user.id,
                user.username.as_str(),
            )
            .in_org(org.id);
        match self.ports.members.add(org.id, user.id, now, audit).await {
            Err(RepoError::Conflict(_)) => Err(DomainError::bad_request(
                "Organization member already exists in this organization",
                "",
            )),
            other => Ok(other?),
        }
    }

    /// `DELETE /organizations/{organization}/members/{user}`.
    pub async fn remove_member(&self, actor: &Actor, org: &str, user: &str) -> DomainResult<()> {
        let (org, user) = self.resolve_member_target(actor, org, user).await?;
        if user.id == actor.user.id {
            return Err(DomainError::bad_request(
                "cannot remove self from an organization",
                "",
            ));
        }
        self.visible_member(actor, &org, &user).await?;
        actor.require_visible(Action::Delete, &member_object(&org, user.id))?;
        let audit = actor
            .audit(
                self.now(),
                AuditAction::Delete,
                "organization_member",
                user.id,
                user.username.as_str(),
            )
            .in_org(org.id);
        Ok(self.ports.members.remove(org.id, user.id, audit).await?)
    }

    /// `PUT /organizations/{organization}/members/{user}/roles`: replaces the member's
    /// organization roles. Names may carry this organization's `:<uuid>` suffix, as
    /// 2023 clients send them.
    pub async fn update_member_roles(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
        requested: Vec<String>,
    ) -> DomainResult<OrganizationMember> {
        let (org, user) = self.resolve_member_target(actor, org, user).await?;
        if user.login_type == LoginType::Oidc && self.role_sync_enabled(org.id).await? {
            return Err(DomainError::bad_request(
                "Cannot modify roles for OIDC users when role sync is enabled. This organization member's roles are managed by the identity provider. Have the user re-login to refresh their roles.",
                "'User Role Field' is set in the organization settings. Ask an administrator to adjust or disable these settings.",
            ));
        }
        if user.id == actor.user.id {
            return Err(DomainError::bad_request(
                "You cannot change your own organization roles.",
                "Another user with the appropriate permissions must change your roles.",
            ));
        }
        let current = match self.visible_member(actor, &org, &user).await {
            Ok(m) => m.member,
            Err(DomainError::NotFound { .. }) => return Err(DomainError::forbidden()),
            Err(e) => return Err(e),
        };
        let custom = self.ports.roles.list(org.id).await?;
        let mut wanted: Vec<String> = Vec::with_capacity(requested.len());
        for raw in requested {
            let name = match raw.split_once(':') {
                None => raw.clone(),
                Some((name, suffix)) if suffix == org.id.to_string() => name.to_owned(),
                Some(_) => {
                    return Err(DomainError::bad_request(
                        format!(
                            "attempt to assign a role {raw:?}, remove the ':<organization_id> suffix"
                        ),
                        "",
                    ));
                }
            };
            if name == roles::ORG_MEMBER {
                continue; // implied by membership, never stored
            }
            let canonical = if roles::is_builtin_org_role(&name)
                && roles::display_name(&name).is_some_and(|d| !d.is_empty())
            {
                name
            } else if let Some(role) = custom.iter().find(|c| c.name.eq_ignore_ascii_case(&name)) {
                role.name.clone()
            } else {
                return Err(DomainError::Invalid {
                    message: format!("\"{name}:{}\" is not a supported role", org.id),
                    detail: String::new(),
                    validations: vec![FieldError::new(
                        "roles",
                        format!("{name:?} is not a role of this organization"),
                    )],
                });
            };
            if !wanted.contains(&canonical) {
                wanted.push(canonical);
            }
        }
        actor.require_role_change(
            &Object::new(ResourceType::AssignOrgRole).in_org(org.id.as_uuid()),
            &current.roles,
            &wanted,
            |role| RoleIdentifier::org(role, org.id.as_uuid()),
        )?;
        let now = self.now();
        let audit = actor
            .audit(
                now,
                AuditAction::Write,
                "organization_member",
                user.id,
                user.username.as_str(),
            )
            .in_org(org.id)
            .with_change("roles", current.roles.clone(), wanted.clone());
        let mut member = self
            .ports
            .members
            .set_roles(org.id, user.id, wanted, now, audit)
            .await?;
        name_roles_from(&mut member, &custom);
        Ok(member)
    }

    /// Fills in the display names of the custom roles `members` hold, as Coder's member
    /// responses carry them: one lookup, and none when every role is built in.
    async fn name_custom_roles<'a>(
        &self,
        org: OrganizationId,
        members: impl IntoIterator<Item = &'a mut OrganizationMember>,
    ) -> DomainResult<()> {
        let mut custom: Option<Vec<CustomRole>> = None;
        for member in members {
            if member.roles.iter().all(|r| roles::is_builtin_org_role(r)) {
                continue;
            }
            let known = match &custom {
                Some(known) => known,
                None => custom.insert(self.ports.roles.list(org).await?),
            };
            name_roles_from(member, known);
        }
        Ok(())
    }

    async fn resolve_member_target(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
    ) -> DomainResult<(Organization, User)> {
        let org = self.resolve_organization(actor, org).await?;
        let user = self.resolve_user_for_org(actor, &org, user).await?;
        Ok((org, user))
    }

    /// Like `resolve_user`, but a user is also visible through organization membership
    /// reads in `org` (an org admin reads its members without site-wide user read).
    async fn resolve_user_for_org(
        &self,
        actor: &Actor,
        org: &Organization,
        param: &str,
    ) -> DomainResult<User> {
        if param != "me" && actor.can(Action::Read, &all_members(org)) {
            // Membership reads make the member visible; look the user up once.
            return self.lookup_user_unchecked(param).await;
        }
        self.resolve_user(actor, param).await
    }

    async fn visible_member(
        &self,
        actor: &Actor,
        org: &Organization,
        user: &User,
    ) -> DomainResult<MemberWithUser> {
        let member = match self.ports.members.get(org.id, user.id).await {
            Ok(m) => m,
            Err(RepoError::NotFound) => return Err(DomainError::not_found()),
            Err(e) => return Err(e.into()),
        };
        actor.require_visible(Action::Read, &member_object(org, user.id))?;
        Ok(member)
    }
}

/// Records the display names of the roles in `custom` that `member` holds.
fn name_roles_from(member: &mut OrganizationMember, custom: &[CustomRole]) {
    for role in custom {
        if member.roles.contains(&role.name) {
            member
                .custom_role_display_names
                .insert(role.name.clone(), role.display_name.clone());
        }
    }
}

/// Parses the members search: `user_id:<uuid>`, `username:<name>`, `email:<address>`,
/// `include_system:<bool>` (accepted, there are no system users), and free text matched
/// against usernames, emails and names. Not lowercased, as in Coder.
pub fn parse_member_query(q: &str) -> DomainResult<MemberQuery> {
    let mut query = MemberQuery::default();
    let mut errors = Vec::new();
    let mut free = Vec::new();
    for element in crate::services::users::split_query(q.trim()) {
        let Some((key, value)) = element.split_once(':') else {
            free.push(element.trim_matches('"').to_owned());
            continue;
        };
        if key.is_empty() || value.is_empty() {
            errors.push(FieldError::new(
                "q",
                format!("Query element {element:?} cannot start or end with ':'"),
            ));
            continue;
        }
        if value.contains(':') && !value.starts_with('"') {
            errors.push(FieldError::new(
                "q",
                format!("Query element {element:?} can only contain 1 ':'"),
            ));
            continue;
        }
        let key = key.to_ascii_lowercase();
        let value = value.trim_matches('"');
        match key.as_str() {
            "user_id" => match value.parse::<UserId>() {
                Ok(id) => query.user_id = Some(id),
                Err(_) => errors.push(FieldError::new(
                    "user_id",
                    "Query param \"user_id\" must be a valid uuid",
                )),
            },
            "username" | "email" => free.push(value.to_owned()),
            "include_system" => {
                if !matches!(value, "true" | "false" | "1" | "0") {
                    errors.push(FieldError::new(
                        "include_system",
                        format!("Query param \"include_system\" must be a valid boolean: strconv.ParseBool: parsing {value:?}: invalid syntax"),
                    ));
                }
            }
            _ => errors.push(FieldError::new(
                key.clone(),
                format!("{key:?} is not a valid query param"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid {
            message: "Invalid member search query.".into(),
            detail: String::new(),
            validations: errors,
        });
    }
    if !free.is_empty() {
        query.search = Some(free.join(" "));
    }
    Ok(query)
}
