//! Running IdP sync at sign-in: organizations, then groups, then roles, planned from
//! the claims (see [`crate::idp_sync::plan`]) and applied in one transaction, every
//! change audited as made by the sync. A claim that does not parse skips its part and
//! is reported; it never fails the sign-in.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::error::DomainResult;
use crate::idp_sync::plan::{
    Claims, Skipped, SyncChanges, expected_groups, expected_organizations, expected_roles,
};
use crate::idp_sync::{OrganizationSyncSettings, RoleSyncSettings, SyncScope};
use crate::ids::{GroupId, OrganizationId, UserId};
use crate::model::{AuditAction, AuditEntry, User};
use crate::services::Services;
use crate::services::idp_sync::stored_or_default;

/// The audit trail's name for changes made by IdP sync.
const SUBSYSTEM: &str = "idp_sync";

/// What a sync did, for the sign-in's log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Parts skipped because their claim did not parse.
    pub skipped: Vec<Skipped>,
    /// Audit records written: one per organization joined or left, and one per
    /// membership whose groups or roles changed.
    pub changes: usize,
}

impl Services {
    /// Brings `user`'s organizations, groups and organization roles in line with
    /// `claims`, as the system.
    pub async fn sync_from_claims(&self, user: &User, claims: &Claims) -> DomainResult<SyncReport> {
        let now = self.now();
        let memberships = self.ports.organizations.memberships_of(user.id).await?;
        let roles_now = memberships
            .iter()
            .map(|m| (m.organization_id, m.roles.iter().cloned().collect()))
            .collect();
        let (changes, report) = self
            .plan_sync(user.id, user.username.as_str(), claims, &roles_now, now)
            .await?;
        if !changes.is_empty() {
            self.ports.idp_sync.apply(user.id, changes, now).await?;
        }
        Ok(report)
    }

    /// Plans a sync of the user `user` (`username`), whose organizations and roles
    /// there are `roles_now`, from one read of the settings and state.
    pub(crate) async fn plan_sync(
        &self,
        user: UserId,
        username: &str,
        claims: &Claims,
        roles_now: &BTreeMap<OrganizationId, BTreeSet<String>>,
        now: OffsetDateTime,
    ) -> DomainResult<(SyncChanges, SyncReport)> {
        let mut report = SyncReport::default();
        let mut changes = SyncChanges::default();
        let record = |action: AuditAction, org: OrganizationId| {
            AuditEntry::new(now, None, action, "organization_member", user, username)
                .in_org(org)
                .by_subsystem(SUBSYSTEM)
        };

        let current: BTreeSet<OrganizationId> = roles_now.keys().copied().collect();
        let settings: OrganizationSyncSettings =
            self.load_sync_settings(SyncScope::Organizations).await?;
        let mut orgs = current.clone();
        if !settings.field.is_empty() {
            let all = self.ports.organizations.list(None, None).await?;
            let default = all.iter().find(|o| o.is_default).map(|o| o.id);
            let existing: BTreeSet<OrganizationId> = all.iter().map(|o| o.id).collect();
            let planned = match default {
                Some(default) => expected_organizations(&settings, claims, default, &existing),
                None => Ok(None),
            };
            match planned {
                Ok(Some(expected)) => {
                    changes.join = expected.difference(&current).copied().collect();
                    changes.leave = current.difference(&expected).copied().collect();
                    changes
                        .audit
                        .extend(changes.join.iter().map(|o| record(AuditAction::Create, *o)));
                    changes.audit.extend(
                        changes
                            .leave
                            .iter()
                            .map(|o| record(AuditAction::Delete, *o)),
                    );
                    orgs = expected;
                }
                Ok(None) => {}
                Err(skipped) => report.skipped.push(skipped),
            }
        }

        let orgs: Vec<OrganizationId> = orgs.into_iter().collect();
        let mut state = self.ports.idp_sync.sync_state(user, orgs.clone()).await?;
        let (no_groups, no_roles) = (Vec::new(), Vec::new());
        for org in orgs {
            // One record per membership changed: its groups and its roles.
            let mut entry: Option<AuditEntry> = None;
            let groups = self
                .group_settings_of(org, state.group_settings.remove(&org))
                .await?;
            let org_groups = state.groups.get(&org).unwrap_or(&no_groups);
            match expected_groups(org, &groups, claims, org_groups) {
                Ok(Some(plan)) => {
                    let before = state.memberships.get(&org).cloned().unwrap_or_default();
                    if plan.groups != before || !plan.create.is_empty() {
                        let names = |ids: &BTreeSet<GroupId>| -> Vec<String> {
                            org_groups
                                .iter()
                                .filter(|g| ids.contains(&g.id))
                                .map(|g| g.name.clone())
                                .collect()
                        };
                        let mut after = names(&plan.groups);
                        after.extend(plan.create.iter().cloned());
                        after.sort();
                        entry = Some(
                            entry
                                .unwrap_or_else(|| record(AuditAction::Write, org))
                                .with_change("groups", names(&before), after),
                        );
                        changes.groups.push((org, plan));
                    }
                }
                Ok(None) => {}
                Err(skipped) => report.skipped.push(skipped),
            }

            let roles: RoleSyncSettings = stored_or_default(state.role_settings.remove(&org))?;
            let custom = state.custom_roles.get(&org).unwrap_or(&no_roles);
            match expected_roles(org, &roles, claims, custom) {
                Ok(Some(expected)) => {
                    let before: Vec<String> = roles_now
                        .get(&org)
                        .map(|r| r.iter().cloned().collect())
                        .unwrap_or_default();
                    if expected != before {
                        entry = Some(
                            entry
                                .unwrap_or_else(|| record(AuditAction::Write, org))
                                .with_change("roles", before, expected.clone()),
                        );
                        changes.roles.push((org, expected));
                    }
                }
                Ok(None) => {}
                Err(skipped) => report.skipped.push(skipped),
            }
            changes.audit.extend(entry);
        }

        report.changes = changes.audit.len();
        Ok((changes, report))
    }
}
