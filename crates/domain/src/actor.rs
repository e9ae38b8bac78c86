//! The authenticated caller and the one place use cases ask `warden-rbac` for a decision.

use std::sync::Arc;

use time::OffsetDateTime;
use warden_rbac::{Action, Object, RoleIdentifier, Scope, Subject, roles};

use crate::error::{DomainError, DomainResult};
use crate::model::{ApiKey, AuditAction, AuditEntry, RequestMeta, User};
use crate::ports::Session;

/// Who is making a request: the user, the key they presented, where the request came
/// from, and the RBAC subject compiled from the user's roles (built-in and custom),
/// memberships, groups and the key's scopes. The compiled parts are shared, so a
/// cached actor is cheap to hand to the next request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: Arc<User>,
    pub key: Arc<ApiKey>,
    pub subject: Arc<Subject>,
    pub request: RequestMeta,
}

impl Actor {
    /// Compiles the RBAC subject of a session. Organization roles resolve to built-in
    /// roles or to the session's custom role definitions; a role name that is neither
    /// (a custom role deleted meanwhile) grants nothing.
    pub fn from_session(session: Session) -> Self {
        let Session {
            key,
            user,
            memberships,
            groups,
            custom_roles,
        } = session;
        let mut granted = Vec::with_capacity(2 + memberships.len() * 2);
        granted.extend(roles::site_role(roles::MEMBER));
        for name in &user.site_roles {
            if name != roles::MEMBER {
                granted.extend(roles::site_role(name));
            }
        }
        for m in &memberships {
            let org = m.organization_id.as_uuid();
            granted.extend(roles::org_role(roles::ORG_MEMBER, org));
            for name in &m.roles {
                match roles::org_role(name, org) {
                    Some(role) => granted.push(role),
                    None => granted.extend(
                        custom_roles
                            .iter()
                            .find(|c| {
                                c.organization_id == m.organization_id
                                    && c.name.eq_ignore_ascii_case(name)
                            })
                            .map(|c| c.to_rbac()),
                    ),
                }
            }
        }
        let scope = scope_of(&key);
        let groups = groups.iter().map(|g| g.as_uuid()).collect();
        let subject = Subject::new(user.id.as_uuid(), granted, groups, scope);
        Self {
            user: Arc::new(user),
            key: Arc::new(key),
            subject: Arc::new(subject),
            request: RequestMeta::default(),
        }
    }

    /// Whether the subject may perform `action` on `object`.
    pub fn can(&self, action: Action, object: &Object) -> bool {
        let allowed = self.subject.authorize(action, object);
        crate::metrics::record_decision(allowed);
        allowed
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

    /// Refuses replacing the roles `current` with `wanted` unless the caller may
    /// assign (for roles added) and unassign (for roles removed) on `assign_object`
    /// (403), and may assign every role that changes (400, naming it): nobody grants
    /// more than they hold. `identify` names a role in its scope.
    pub fn require_role_change(
        &self,
        assign_object: &Object,
        current: &[String],
        wanted: &[String],
        identify: impl Fn(&str) -> RoleIdentifier,
    ) -> DomainResult<()> {
        let added: Vec<&String> = wanted.iter().filter(|r| !current.contains(r)).collect();
        let removed: Vec<&String> = current.iter().filter(|r| !wanted.contains(r)).collect();
        if (!added.is_empty() && !self.can(Action::Assign, assign_object))
            || (!removed.is_empty() && !self.can(Action::Unassign, assign_object))
        {
            return Err(DomainError::forbidden());
        }
        let mine = self.role_identifiers();
        for role in added.into_iter().chain(removed) {
            let target = identify(role);
            if !roles::can_assign_role(&mine, &target) {
                return Err(DomainError::bad_request(
                    format!("not authorized to assign role {:?}", target.to_string()),
                    "",
                ));
            }
        }
        Ok(())
    }

    /// The role identifiers the caller holds (for role-assignment rules).
    pub fn role_identifiers(&self) -> Vec<RoleIdentifier> {
        self.subject.role_identifiers()
    }

    /// An audit record of something this actor did, stamped with the request's origin.
    pub fn audit(
        &self,
        time: OffsetDateTime,
        action: AuditAction,
        resource_type: &str,
        resource_id: impl ToString,
        resource_target: impl Into<String>,
    ) -> AuditEntry {
        let mut entry = AuditEntry::new(
            time,
            Some(self.user.id),
            action,
            resource_type,
            resource_id,
            resource_target,
        );
        entry.request = self.request.clone();
        entry
    }
}

/// The RBAC scope of a key: the union of its scope names, limited by its allow list.
/// Names were validated when the key was created; an unreadable stored scope yields
/// the empty union, which denies everything rather than widening access.
fn scope_of(key: &ApiKey) -> Scope {
    let names: Vec<&str> = key.scopes.iter().map(String::as_str).collect();
    let scope = Scope::union(&names).unwrap_or_else(|_| {
        // Deny everything rather than guess at a wider scope.
        Scope::new(
            "unreadable",
            Vec::new(),
            Vec::new(),
            std::collections::BTreeMap::new(),
            Vec::new(),
        )
    });
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
