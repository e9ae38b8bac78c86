//! The escalation guard for custom organization roles: an actor may only grant
//! what it could do itself, and never negations or wildcards.

use std::fmt;

use uuid::Uuid;

use crate::{Action, Object, Permission, ResourceType, Subject};

/// Why a proposed permission may not be granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalationError {
    /// Negative permissions are not allowed in custom roles.
    Negative(Permission),
    /// `*` as resource type or action is not allowed in custom roles.
    Wildcard(Permission),
    /// The resource type or action is unknown, or the action does not apply to the type.
    Invalid(Permission),
    /// The actor does not hold this permission in the organization.
    NotHeld(Permission),
}

impl EscalationError {
    /// The offending permission.
    pub fn permission(&self) -> &Permission {
        match self {
            Self::Negative(p) | Self::Wildcard(p) | Self::Invalid(p) | Self::NotHeld(p) => p,
        }
    }
}

impl fmt::Display for EscalationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.permission();
        let reason = match self {
            Self::Negative(_) => "no negative permissions",
            Self::Wildcard(_) => "no wildcard symbols",
            Self::Invalid(_) => "invalid action for this resource type",
            Self::NotHeld(_) => "not allowed to grant this permission",
        };
        write!(
            f,
            "invalid permission for action={:?} type={:?}, {reason}",
            p.action.as_str(),
            p.resource_type.as_str()
        )
    }
}

impl std::error::Error for EscalationError {}

/// Checks that `actor` may put `permissions` into a custom role of `org`: each must be
/// positive, concrete (no `*`), valid for its resource type, and something the actor may
/// itself do on an object of that type in `org`. The first offending permission is named.
pub fn check_grantable(
    actor: &Subject,
    org: Uuid,
    permissions: &[Permission],
) -> Result<(), EscalationError> {
    for p in permissions {
        if p.negate {
            return Err(EscalationError::Negative(p.clone()));
        }
        if p.resource_type == ResourceType::Wildcard || p.action == Action::Wildcard {
            return Err(EscalationError::Wildcard(p.clone()));
        }
        if !p.is_valid() {
            return Err(EscalationError::Invalid(p.clone()));
        }
        if !actor.authorize(p.action, &Object::new(p.resource_type).in_org(org)) {
            return Err(EscalationError::NotHeld(p.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scope, roles};

    fn org_admin(org: Uuid) -> Subject {
        let mut granted = Vec::new();
        granted.extend(roles::site_role(roles::MEMBER));
        granted.extend(roles::org_role(roles::ORG_MEMBER, org));
        granted.extend(roles::org_role(roles::ORG_ADMIN, org));
        Subject::new(Uuid::new_v4(), granted, Vec::new(), Scope::all())
    }

    #[test]
    fn org_admin_may_grant_what_it_holds_in_its_org_only() {
        let org = Uuid::new_v4();
        let admin = org_admin(org);
        let read_templates = Permission::allow(ResourceType::Template, Action::Read);
        assert_eq!(
            check_grantable(&admin, org, std::slice::from_ref(&read_templates)),
            Ok(())
        );
        let other = Uuid::new_v4();
        assert_eq!(
            check_grantable(&admin, other, std::slice::from_ref(&read_templates)),
            Err(EscalationError::NotHeld(read_templates))
        );
    }

    #[test]
    fn negations_wildcards_invalid_and_unheld_permissions_are_named() {
        let org = Uuid::new_v4();
        let admin = org_admin(org);
        let deny = Permission::deny(ResourceType::Template, Action::Read);
        assert_eq!(
            check_grantable(&admin, org, std::slice::from_ref(&deny)),
            Err(EscalationError::Negative(deny))
        );
        let star = Permission::allow(ResourceType::Wildcard, Action::Read);
        assert_eq!(
            check_grantable(&admin, org, std::slice::from_ref(&star)),
            Err(EscalationError::Wildcard(star))
        );
        let invalid = Permission::allow(ResourceType::Group, Action::Ssh);
        assert_eq!(
            check_grantable(&admin, org, std::slice::from_ref(&invalid)),
            Err(EscalationError::Invalid(invalid))
        );
        let site = Permission::allow(ResourceType::AssignRole, Action::Assign);
        let err = check_grantable(&admin, org, std::slice::from_ref(&site));
        assert_eq!(err, Err(EscalationError::NotHeld(site)));
        assert_eq!(
            err.err().map(|e| e.to_string()).unwrap_or_default(),
            "invalid permission for action=\"assign\" type=\"assign_role\", not allowed to grant this permission"
        );
    }
}
