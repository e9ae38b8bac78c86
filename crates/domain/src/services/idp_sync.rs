//! IdP sync settings: read and changed by those holding `idpsync_settings`
//! permissions (the deployment's organization sync site-wide, group and role sync per
//! organization). Every change is validated against what exists (Coder stores any
//! ID or pattern; Warden refuses what could never match), applied in one locked
//! read-modify-write so that concurrent partial PATCHes never lose each other, and
//! audited with the fields it changed.

use std::collections::BTreeSet;

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;
use warden_rbac::{Action, Object, ResourceType, roles};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, FieldError, RepoError};
use crate::idp_sync::{
    GroupSyncSettings, MappingChange, OrganizationSyncSettings, RoleSyncSettings, SyncScope,
    apply_mapping_diff,
};
use crate::ids::{GroupId, OrganizationId};
use crate::model::{AuditAction, Organization};
use crate::ports::GroupQuery;
use crate::services::Services;

/// `PATCH …/groups/config`: everything but the mapping.
#[derive(Debug, Clone, Default)]
pub struct GroupSyncConfig {
    pub field: String,
    pub regex_filter: Option<String>,
    pub auto_create_missing_groups: bool,
}

fn settings_object(scope: SyncScope) -> Object {
    let object = Object::new(ResourceType::IdpsyncSettings);
    match scope.organization() {
        Some(org) => object.in_org(org.as_uuid()),
        None => object,
    }
}

fn invalid(validations: Vec<FieldError>) -> DomainError {
    DomainError::Invalid {
        message: "Invalid IdP sync settings.".into(),
        detail: String::new(),
        validations,
    }
}

/// A 400 naming every problem found, or nothing to complain about.
fn refuse_any(validations: Vec<FieldError>) -> DomainResult<()> {
    if validations.is_empty() {
        Ok(())
    } else {
        Err(invalid(validations))
    }
}

impl Services {
    /// The deployment's organization sync settings.
    pub async fn organization_sync_settings(
        &self,
        actor: &Actor,
    ) -> DomainResult<OrganizationSyncSettings> {
        self.read_sync_settings(actor, SyncScope::Organizations)
            .await
    }

    /// Replaces the organization sync settings.
    pub async fn update_organization_sync_settings(
        &self,
        actor: &Actor,
        new: OrganizationSyncSettings,
    ) -> DomainResult<OrganizationSyncSettings> {
        let scope = SyncScope::Organizations;
        self.authorize_sync_update(actor, scope)?;
        self.check_organizations(new.mapping.values().flatten())
            .await?;
        self.modify_sync_settings(
            actor,
            scope,
            "Organization Sync",
            move |_: OrganizationSyncSettings| new,
        )
        .await
    }

    /// Changes the organization sync claim and default assignment, keeping the mapping.
    pub async fn patch_organization_sync_config(
        &self,
        actor: &Actor,
        field: String,
        assign_default: bool,
    ) -> DomainResult<OrganizationSyncSettings> {
        let scope = SyncScope::Organizations;
        self.authorize_sync_update(actor, scope)?;
        self.modify_sync_settings(
            actor,
            scope,
            "Organization Sync",
            move |old: OrganizationSyncSettings| OrganizationSyncSettings {
                field,
                assign_default,
                ..old
            },
        )
        .await
    }

    /// Adds and removes organization mapping pairs, keeping everything else.
    pub async fn patch_organization_sync_mapping(
        &self,
        actor: &Actor,
        add: Vec<MappingChange<Uuid>>,
        remove: Vec<MappingChange<Uuid>>,
    ) -> DomainResult<OrganizationSyncSettings> {
        let scope = SyncScope::Organizations;
        self.authorize_sync_update(actor, scope)?;
        self.check_organizations(add.iter().map(|c| &c.gets))
            .await?;
        self.modify_sync_settings(
            actor,
            scope,
            "Organization Sync",
            move |mut new: OrganizationSyncSettings| {
                apply_mapping_diff(&mut new.mapping, &add, &remove);
                new
            },
        )
        .await
    }

    /// An organization's group sync settings.
    pub async fn group_sync_settings(
        &self,
        actor: &Actor,
        org_param: &str,
    ) -> DomainResult<GroupSyncSettings> {
        let org = self.resolve_organization(actor, org_param).await?;
        let scope = SyncScope::Groups(org.id);
        if !actor.can(Action::Read, &settings_object(scope)) {
            return Err(DomainError::forbidden());
        }
        self.group_settings_of(org.id, self.ports.idp_sync.get(scope).await?)
            .await
    }

    /// `org`'s group sync settings from what is stored: when nothing is, the default
    /// organization syncs the deployment's `--oidc-group-field`, as in Coder.
    pub(crate) async fn group_settings_of(
        &self,
        org: OrganizationId,
        stored: Option<serde_json::Value>,
    ) -> DomainResult<GroupSyncSettings> {
        let legacy = self
            .oidc_settings()
            .map(|s| s.group_field.clone())
            .filter(|field| !field.is_empty());
        if stored.is_none()
            && let Some(field) = legacy
            && self.ports.organizations.get_default().await?.id == org
        {
            return Ok(GroupSyncSettings {
                field,
                ..GroupSyncSettings::default()
            });
        }
        Ok(stored_or_default(stored)?)
    }

    /// Replaces an organization's group sync settings.
    pub async fn update_group_sync_settings(
        &self,
        actor: &Actor,
        org_param: &str,
        new: GroupSyncSettings,
    ) -> DomainResult<GroupSyncSettings> {
        let org = self.resolve_organization(actor, org_param).await?;
        let scope = SyncScope::Groups(org.id);
        self.authorize_sync_update(actor, scope)?;
        if !new.legacy_group_name_mapping.is_empty() {
            return Err(DomainError::Invalid {
                message: "Unexpected field 'legacy_group_name_mapping'. Field not allowed, set to null or remove it.".into(),
                detail: "legacy_group_name_mapping is deprecated, use mapping instead".into(),
                validations: vec![FieldError::new("legacy_group_name_mapping", "field is not allowed")],
            });
        }
        check_regex(new.regex_filter.as_deref())?;
        self.check_groups(&org, new.mapping.values().flatten())
            .await?;
        let target = org.name.as_str().to_owned();
        self.modify_sync_settings(actor, scope, &target, move |old: GroupSyncSettings| {
            GroupSyncSettings {
                // Kept from an older configuration; only ever cleared by Coder's tools.
                legacy_group_name_mapping: old.legacy_group_name_mapping,
                ..new
            }
        })
        .await
    }

    /// Changes an organization's group sync claim, filter and auto-creation, keeping
    /// the mapping.
    pub async fn patch_group_sync_config(
        &self,
        actor: &Actor,
        org_param: &str,
        config: GroupSyncConfig,
    ) -> DomainResult<GroupSyncSettings> {
        let org = self.resolve_organization(actor, org_param).await?;
        let scope = SyncScope::Groups(org.id);
        self.authorize_sync_update(actor, scope)?;
        check_regex(config.regex_filter.as_deref())?;
        let target = org.name.as_str().to_owned();
        self.modify_sync_settings(actor, scope, &target, move |old: GroupSyncSettings| {
            GroupSyncSettings {
                field: config.field,
                regex_filter: config.regex_filter,
                auto_create_missing_groups: config.auto_create_missing_groups,
                ..old
            }
        })
        .await
    }

    /// Adds and removes group mapping pairs of an organization.
    pub async fn patch_group_sync_mapping(
        &self,
        actor: &Actor,
        org_param: &str,
        add: Vec<MappingChange<Uuid>>,
        remove: Vec<MappingChange<Uuid>>,
    ) -> DomainResult<GroupSyncSettings> {
        let org = self.resolve_organization(actor, org_param).await?;
        let scope = SyncScope::Groups(org.id);
        self.authorize_sync_update(actor, scope)?;
        self.check_groups(&org, add.iter().map(|c| &c.gets)).await?;
        let target = org.name.as_str().to_owned();
        self.modify_sync_settings(actor, scope, &target, move |mut new: GroupSyncSettings| {
            apply_mapping_diff(&mut new.mapping, &add, &remove);
            new
        })
        .await
    }

    /// An organization's role sync settings.
    pub async fn role_sync_settings(
        &self,
        actor: &Actor,
        org_param: &str,
    ) -> DomainResult<RoleSyncSettings> {
        let org = self.resolve_organization(actor, org_param).await?;
        self.read_sync_settings(actor, SyncScope::Roles(org.id))
            .await
    }

    /// Replaces an organization's role sync settings.
    pub async fn update_role_sync_settings(
        &self,
        actor: &Actor,
        org_param: &str,
        new: RoleSyncSettings,
    ) -> DomainResult<RoleSyncSettings> {
        let org = self.resolve_organization(actor, org_param).await?;
        let scope = SyncScope::Roles(org.id);
        self.authorize_sync_update(actor, scope)?;
        self.check_roles(&org, new.mapping.values().flatten())
            .await?;
        let target = org.name.as_str().to_owned();
        self.modify_sync_settings(actor, scope, &target, move |_: RoleSyncSettings| new)
            .await
    }

    /// Changes an organization's role sync claim, keeping the mapping.
    pub async fn patch_role_sync_config(
        &self,
        actor: &Actor,
        org_param: &str,
        field: String,
    ) -> DomainResult<RoleSyncSettings> {
        let org = self.resolve_organization(actor, org_param).await?;
        let scope = SyncScope::Roles(org.id);
        self.authorize_sync_update(actor, scope)?;
        let target = org.name.as_str().to_owned();
        self.modify_sync_settings(actor, scope, &target, move |old: RoleSyncSettings| {
            RoleSyncSettings { field, ..old }
        })
        .await
    }

    /// Adds and removes role mapping pairs of an organization.
    pub async fn patch_role_sync_mapping(
        &self,
        actor: &Actor,
        org_param: &str,
        add: Vec<MappingChange<String>>,
        remove: Vec<MappingChange<String>>,
    ) -> DomainResult<RoleSyncSettings> {
        let org = self.resolve_organization(actor, org_param).await?;
        let scope = SyncScope::Roles(org.id);
        self.authorize_sync_update(actor, scope)?;
        self.check_roles(&org, add.iter().map(|c| &c.gets)).await?;
        let target = org.name.as_str().to_owned();
        self.modify_sync_settings(actor, scope, &target, move |mut new: RoleSyncSettings| {
            apply_mapping_diff(&mut new.mapping, &add, &remove);
            new
        })
        .await
    }

    /// The settings of `scope` (defaults when never written); needs `read`.
    async fn read_sync_settings<T: DeserializeOwned + Default>(
        &self,
        actor: &Actor,
        scope: SyncScope,
    ) -> DomainResult<T> {
        if !actor.can(Action::Read, &settings_object(scope)) {
            return Err(DomainError::forbidden());
        }
        self.load_sync_settings(scope).await
    }

    /// The settings of `scope`, without an authorization check (the sign-in applies
    /// them as the system).
    pub(crate) async fn load_sync_settings<T: DeserializeOwned + Default>(
        &self,
        scope: SyncScope,
    ) -> DomainResult<T> {
        Ok(stored_or_default(self.ports.idp_sync.get(scope).await?)?)
    }

    /// Whether organization sync is on (its claim is set): memberships of OIDC users
    /// are then the identity provider's, not an administrator's.
    pub(crate) async fn organization_sync_enabled(&self) -> DomainResult<bool> {
        let settings: OrganizationSyncSettings =
            self.load_sync_settings(SyncScope::Organizations).await?;
        Ok(!settings.field.is_empty())
    }

    /// Whether role sync is on in `org`: OIDC members' roles are then the identity
    /// provider's.
    pub(crate) async fn role_sync_enabled(&self, org: OrganizationId) -> DomainResult<bool> {
        let settings: RoleSyncSettings = self.load_sync_settings(SyncScope::Roles(org)).await?;
        Ok(!settings.field.is_empty())
    }

    fn authorize_sync_update(&self, actor: &Actor, scope: SyncScope) -> DomainResult<()> {
        if actor.can(Action::Update, &settings_object(scope)) {
            Ok(())
        } else {
            Err(DomainError::forbidden())
        }
    }

    /// Changes the settings of `scope` in one locked read-modify-write, audited with
    /// the top-level fields that changed.
    async fn modify_sync_settings<T, F>(
        &self,
        actor: &Actor,
        scope: SyncScope,
        target: &str,
        change: F,
    ) -> DomainResult<T>
    where
        T: Serialize + DeserializeOwned + Default,
        F: FnOnce(T) -> T + Send + 'static,
    {
        let now = self.now();
        let resource_id = scope
            .organization()
            .map_or_else(Uuid::nil, |org| org.as_uuid());
        let mut audit = actor.audit(
            now,
            AuditAction::Write,
            scope.audit_type(),
            resource_id,
            target,
        );
        if let Some(org) = scope.organization() {
            audit = audit.in_org(org);
        }
        let written = self
            .ports
            .idp_sync
            .modify(
                scope,
                now,
                Box::new(move |stored| {
                    let old: T = stored_or_default(stored)?;
                    let old_json = to_json(&old)?;
                    let new_json = to_json(&change(old))?;
                    for (field, value) in new_json.as_object().into_iter().flatten() {
                        let before = old_json.get(field).cloned().unwrap_or_default();
                        if before != *value {
                            audit = audit.with_change(field, before, value.clone());
                        }
                    }
                    Ok((new_json, audit))
                }),
            )
            .await?;
        Ok(parse(written)?)
    }

    /// Every mapped organization must exist.
    async fn check_organizations<'a>(
        &self,
        ids: impl Iterator<Item = &'a Uuid>,
    ) -> DomainResult<()> {
        let mut validations = Vec::new();
        for id in ids.collect::<BTreeSet<_>>() {
            match self.ports.organizations.get(OrganizationId(*id)).await {
                Ok(_) => {}
                Err(RepoError::NotFound) => validations.push(FieldError::new(
                    "mapping",
                    format!("organization {id} does not exist"),
                )),
                Err(e) => return Err(e.into()),
            }
        }
        refuse_any(validations)
    }

    /// Every mapped group must be a group of `org`.
    async fn check_groups<'a>(
        &self,
        org: &Organization,
        ids: impl Iterator<Item = &'a Uuid>,
    ) -> DomainResult<()> {
        let wanted: BTreeSet<Uuid> = ids.copied().collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let found: BTreeSet<Uuid> = self
            .ports
            .groups
            .list(GroupQuery {
                organization: Some(org.id),
                has_member: None,
                ids: Some(wanted.iter().copied().map(GroupId).collect()),
            })
            .await?
            .into_iter()
            .map(|g| g.group.id.as_uuid())
            .collect();
        let validations: Vec<FieldError> = wanted
            .difference(&found)
            .map(|id| {
                FieldError::new(
                    "mapping",
                    format!(
                        "group {id} is not a group of organization {:?}",
                        org.name.as_str()
                    ),
                )
            })
            .collect();
        refuse_any(validations)
    }

    /// Every mapped role must be an organization role of `org` that can be assigned:
    /// built-in or custom, and not the implied `organization-member`.
    async fn check_roles<'a>(
        &self,
        org: &Organization,
        names: impl Iterator<Item = &'a String>,
    ) -> DomainResult<()> {
        let wanted: BTreeSet<&String> = names.collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let custom = self.ports.roles.list(org.id).await?;
        let mut validations = Vec::new();
        for name in wanted {
            let known = (roles::is_builtin_org_role(name) && name != roles::ORG_MEMBER)
                || custom.iter().any(|c| c.name.eq_ignore_ascii_case(name));
            if !known {
                validations.push(FieldError::new(
                    "mapping",
                    format!(
                        "{name:?} is not an assignable role of organization {:?}",
                        org.name.as_str()
                    ),
                ));
            }
        }
        refuse_any(validations)
    }
}

fn check_regex(pattern: Option<&str>) -> DomainResult<()> {
    match pattern.map(regex::Regex::new) {
        Some(Err(e)) => Err(invalid(vec![FieldError::new(
            "regex_filter",
            format!("not a valid regular expression: {e}"),
        )])),
        _ => Ok(()),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, RepoError> {
    serde_json::to_value(value)
        .map_err(|e| RepoError::Internal(format!("cannot encode IdP sync settings: {e}")))
}

/// Stored settings, or the defaults when they were never written.
pub(crate) fn stored_or_default<T: DeserializeOwned + Default>(
    stored: Option<serde_json::Value>,
) -> Result<T, RepoError> {
    stored.map_or_else(|| Ok(T::default()), parse)
}

fn parse<T: DeserializeOwned>(stored: serde_json::Value) -> Result<T, RepoError> {
    serde_json::from_value(stored)
        .map_err(|e| RepoError::Internal(format!("stored IdP sync settings do not parse: {e}")))
}
