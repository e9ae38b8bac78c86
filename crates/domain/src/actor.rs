//! The authenticated caller and the one place use cases ask `warden-rbac` for a decision.

use warden_rbac::{Action, Object, RoleIdentifier, Scope, Subject, roles};

use crate::error::{DomainError, DomainResult};
use crate::model::{ApiKey, OrganizationMember, User};

/// Who is making a request: the user, the key they presented and the RBAC subject
/// compiled from the user's roles, memberships and the key's scopes.
#[derive(Debug)]
pub struct Actor {
    pub user: User,
    pub key: ApiKey,
    pub subject: Subject,
}

impl Actor {
    /// Compiles the RBAC subject of a session. Role names that are not built in are
    /// skipped here; custom organization roles are resolved by the members service.
    pub fn from_session(user: User, key: ApiKey, memberships: &[OrganizationMember]) -> Self {
        let mut granted = Vec::with_capacity(2 + memberships.len() * 2);
        granted.extend(roles::site_role(roles::MEMBER));
        for name in &user.site_roles {
            if name != roles::MEMBER {
                granted.extend(roles::site_role(name));
            }
        }
        for m in memberships {
            let org = m.organization_id.as_uuid();
            granted.extend(roles::org_role(roles::ORG_MEMBER, org));
            for name in &m.roles {
                granted.extend(roles::org_role(name, org));
            }
        }
        let scope = scope_of(&key);
        let subject = Subject::new(user.id.as_uuid(), granted, Vec::new(), scope);
        Self { user, key, subject }
    }

    /// Whether the subject may perform `action` on `object`.
    pub fn can(&self, action: Action, object: &Object) -> bool {
        self.subject.authorize(action, object)
    }

    /// Refuses with 403 unless allowed: for changes to something the caller can see.
    pub fn require(&self, action: Action, object: &Object) -> DomainResult<()> {
        if self.can(action, object) {
            Ok(())
        } else {
            Err(DomainError::forbidden())
        }
    }

    /// Refuses with 404 unless allowed: for reads, so that hidden things stay hidden.
    pub fn require_visible(&self, action: Action, object: &Object) -> DomainResult<()> {
        if self.can(action, object) {
            Ok(())
        } else {
            Err(DomainError::not_found())
        }
    }

    /// The role identifiers the caller holds (for role-assignment rules).
    pub fn role_identifiers(&self) -> Vec<RoleIdentifier> {
        self.subject.role_identifiers()
    }
}

/// The RBAC scope of a key: the union of its scope names, limited by its allow list.
/// Names were validated when the key was created; an unreadable stored scope yields
/// the empty union, which denies everything rather than widening access.
fn scope_of(key: &ApiKey) -> Scope {
    let names: Vec<&str> = key.scopes.iter().map(String::as_str).collect();
    let scope = Scope::union(&names)
        .unwrap_or_else(|_| Scope::union(&[]).unwrap_or_else(|_| Scope::application_connect()));
    let allow_list = key
        .allow_list
        .iter()
        .filter_map(|entry| crate::services::api_keys::parse_allow_entry(entry).ok())
        .collect::<Vec<_>>();
    if allow_list.is_empty() {
        scope
    } else {
        scope.with_allow_list(allow_list)
    }
}
