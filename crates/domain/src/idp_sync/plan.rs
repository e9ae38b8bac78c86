//! What a sign-in's claims say a user's organizations, groups and organization roles
//! should be: pure functions of the settings, the claims and the current state, with
//! Coder's semantics. Applying the plan is the storage's, in the sign-in's
//! transaction.
//!
//! - A claim is a string or an array of strings; a missing claim is no values; an
//!   empty string is no values; a comma-separated string or anything else does not
//!   parse, and then that part of the sync changes nothing.
//! - Organizations: the mapped organizations of every value (unmapped values are
//!   ignored), plus the default organization with `assign_default`.
//! - Groups, per organization the user is then a member of: values passing
//!   `regex_filter`; mapped values give their groups, unmapped ones the group of that
//!   name, created (`source: oidc`) when `auto_create_missing_groups` allows. The user
//!   leaves every other group of the organization, manual ones too; Everyone is
//!   implied by membership and never touched.
//! - Roles, per organization: mapped values give their roles, unmapped ones are used
//!   verbatim; names that are no assignable role of the organization are dropped, and
//!   `organization-member` is never stored (it is implied). A missing claim strips the
//!   organization roles.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use uuid::Uuid;
use warden_rbac::roles;

use crate::idp_sync::{GroupSyncSettings, OrganizationSyncSettings, RoleSyncSettings};
use crate::ids::{GroupId, OrganizationId};

/// The claims of a sign-in: the ID token's, merged with the userinfo response.
pub type Claims = serde_json::Map<String, Value>;

/// Coder's `ParseStringSliceClaim`: the values of a claim, or why it does not parse.
pub fn claim_values(claims: &Claims, field: &str) -> Result<Vec<String>, String> {
    match claims.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) if s.contains(',') => Err(format!(
            "claim {field:?} is a comma-separated string ({s:?}); have the identity provider send an array of strings"
        )),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "claim {field:?}: element {i} is {}, not a string",
                    kind(other)
                )),
            })
            .collect(),
        Some(other) => Err(format!(
            "claim {field:?} is {}, not a string or an array of strings",
            kind(other)
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Why part of a sync was skipped: the claim did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub organization: Option<OrganizationId>,
    pub reason: String,
}

/// The organizations the user should belong to; `Ok(None)` when organization sync is
/// off. `existing` is every organization there is: mapped IDs of organizations that
/// no longer exist are ignored.
pub fn expected_organizations(
    settings: &OrganizationSyncSettings,
    claims: &Claims,
    default_org: OrganizationId,
    existing: &BTreeSet<OrganizationId>,
) -> Result<Option<BTreeSet<OrganizationId>>, Skipped> {
    if settings.field.is_empty() {
        return Ok(None);
    }
    let values = claim_values(claims, &settings.field).map_err(|reason| Skipped {
        organization: None,
        reason,
    })?;
    let mut expected: BTreeSet<OrganizationId> = values
        .iter()
        .filter_map(|v| settings.mapping.get(v))
        .flatten()
        .map(|id| OrganizationId(*id))
        .filter(|id| existing.contains(id))
        .collect();
    if settings.assign_default {
        expected.insert(default_org);
    }
    Ok(Some(expected))
}

/// A group of the organization, as the planner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: GroupId,
    pub name: String,
}

/// The explicit groups a user should be in within one organization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPlan {
    /// Existing groups: exactly these, and no other explicit membership.
    pub groups: BTreeSet<GroupId>,
    /// Groups to create (`source: oidc`) and join, by name.
    pub create: BTreeSet<String>,
}

/// The group plan for one organization; `Ok(None)` when its group sync is off.
/// `groups` are the organization's groups (Everyone excluded).
pub fn expected_groups(
    org: OrganizationId,
    settings: &GroupSyncSettings,
    claims: &Claims,
    groups: &[GroupRef],
) -> Result<Option<GroupPlan>, Skipped> {
    if settings.field.is_empty() {
        return Ok(None);
    }
    let skipped = |reason| Skipped {
        organization: Some(org),
        reason,
    };
    let values = claim_values(claims, &settings.field).map_err(skipped)?;
    let filter = match settings.regex_filter.as_deref() {
        Some(pattern) => Some(
            regex::Regex::new(pattern)
                .map_err(|e| skipped(format!("regex_filter {pattern:?} does not compile: {e}")))?,
        ),
        None => None,
    };
    let by_id: BTreeSet<Uuid> = groups.iter().map(|g| g.id.as_uuid()).collect();
    let by_name: BTreeMap<&str, GroupId> = groups.iter().map(|g| (g.name.as_str(), g.id)).collect();
    let mut plan = GroupPlan::default();
    for value in values {
        if filter.as_ref().is_some_and(|f| !f.is_match(&value)) {
            continue;
        }
        if let Some(mapped) = settings.mapping.get(&value) {
            plan.groups.extend(
                mapped
                    .iter()
                    .filter(|id| by_id.contains(id))
                    .map(|id| GroupId(*id)),
            );
            continue;
        }
        let name = settings
            .legacy_group_name_mapping
            .get(&value)
            .cloned()
            .unwrap_or(value);
        match by_name.get(name.as_str()) {
            Some(id) => {
                plan.groups.insert(*id);
            }
            None if settings.auto_create_missing_groups => {
                plan.create.insert(name);
            }
            None => {}
        }
    }
    Ok(Some(plan))
}

/// The organization roles a member should hold, sorted; `Ok(None)` when the
/// organization's role sync is off. `custom_roles` are the organization's custom
/// role names.
pub fn expected_roles(
    org: OrganizationId,
    settings: &RoleSyncSettings,
    claims: &Claims,
    custom_roles: &[String],
) -> Result<Option<Vec<String>>, Skipped> {
    if settings.field.is_empty() {
        return Ok(None);
    }
    let values = claim_values(claims, &settings.field).map_err(|reason| Skipped {
        organization: Some(org),
        reason,
    })?;
    // The stored spelling of an assignable role, or `None`.
    let assignable = |name: String| {
        if name == roles::ORG_MEMBER {
            None
        } else if roles::is_builtin_org_role(&name) {
            Some(name)
        } else {
            custom_roles
                .iter()
                .find(|c| c.eq_ignore_ascii_case(&name))
                .cloned()
        }
    };
    let expected: BTreeSet<String> = values
        .into_iter()
        .flat_map(|value| match settings.mapping.get(&value) {
            Some(mapped) => mapped.clone(),
            None => vec![value],
        })
        .filter_map(assignable)
        .collect();
    Ok(Some(expected.into_iter().collect()))
}

/// What storage reports for planning groups and roles in some organizations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    /// Each organization's groups, Everyone excluded.
    pub groups: BTreeMap<OrganizationId, Vec<GroupRef>>,
    /// The user's explicit group memberships, per organization.
    pub memberships: BTreeMap<OrganizationId, BTreeSet<GroupId>>,
    /// Each organization's custom role names.
    pub custom_roles: BTreeMap<OrganizationId, Vec<String>>,
    /// Each organization's stored group and role sync settings (absent: never set).
    pub group_settings: BTreeMap<OrganizationId, Value>,
    pub role_settings: BTreeMap<OrganizationId, Value>,
}

/// A sync to apply, all in one transaction.
#[derive(Debug, Clone, Default)]
pub struct SyncChanges {
    /// Organizations to join (with no roles).
    pub join: Vec<OrganizationId>,
    /// Organizations to leave (with their groups and roles).
    pub leave: Vec<OrganizationId>,
    /// Per organization: exactly these explicit groups, after creating `create`.
    pub groups: Vec<(OrganizationId, GroupPlan)>,
    /// Per organization: exactly these roles.
    pub roles: Vec<(OrganizationId, Vec<String>)>,
    /// What the sync did, one record per change, made by the sync.
    pub audit: Vec<crate::model::AuditEntry>,
}

impl SyncChanges {
    /// Whether applying changes nothing.
    pub fn is_empty(&self) -> bool {
        self.join.is_empty()
            && self.leave.is_empty()
            && self.groups.is_empty()
            && self.roles.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test failing to plan is the test failing
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> Claims {
        match value {
            Value::Object(map) => map,
            _ => Claims::new(),
        }
    }

    fn org(n: u128) -> OrganizationId {
        OrganizationId(Uuid::from_u128(n))
    }

    fn group(n: u128, name: &str) -> GroupRef {
        GroupRef {
            id: GroupId(Uuid::from_u128(n)),
            name: name.into(),
        }
    }

    #[test]
    fn claims_are_a_string_or_an_array_of_strings() {
        let c = claims(json!({
            "one": "devs", "many": ["a", "b"], "empty": "", "csv": "a,b", "number": 3,
            "mixed": ["a", 1], "null": null,
        }));
        assert_eq!(claim_values(&c, "one"), Ok(vec!["devs".to_owned()]));
        assert_eq!(
            claim_values(&c, "many"),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(claim_values(&c, "empty"), Ok(vec![]));
        assert_eq!(claim_values(&c, "missing"), Ok(vec![]));
        assert_eq!(claim_values(&c, "null"), Ok(vec![]));
        for bad in ["csv", "number", "mixed"] {
            assert!(claim_values(&c, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn organizations_follow_the_mapping_and_the_default() {
        let existing: BTreeSet<_> = [org(1), org(2), org(3)].into();
        let mut settings = OrganizationSyncSettings {
            field: "orgs".into(),
            mapping: BTreeMap::from([
                (
                    "eng".to_owned(),
                    vec![org(2).as_uuid(), Uuid::from_u128(99)],
                ),
                ("ops".to_owned(), vec![org(3).as_uuid()]),
            ]),
            assign_default: false,
        };
        let c = claims(json!({"orgs": ["eng", "unmapped"]}));
        assert_eq!(
            expected_organizations(&settings, &c, org(1), &existing),
            Ok(Some([org(2)].into())),
            "unmapped values and vanished organizations are ignored"
        );
        settings.assign_default = true;
        assert_eq!(
            expected_organizations(&settings, &claims(json!({})), org(1), &existing),
            Ok(Some([org(1)].into()))
        );
        assert!(
            expected_organizations(&settings, &claims(json!({"orgs": 5})), org(1), &existing)
                .is_err()
        );
        settings.field.clear();
        assert_eq!(
            expected_organizations(&settings, &c, org(1), &existing),
            Ok(None)
        );
    }

    #[test]
    fn groups_come_from_the_mapping_then_by_name_then_by_creation() {
        let groups = [group(10, "devs"), group(11, "ops"), group(12, "mapped")];
        let mut settings = GroupSyncSettings {
            field: "groups".into(),
            mapping: BTreeMap::from([(
                "engineering".to_owned(),
                vec![Uuid::from_u128(12), Uuid::from_u128(404)],
            )]),
            regex_filter: Some("^(engineering|devs|new-.*)$".into()),
            auto_create_missing_groups: false,
            ..GroupSyncSettings::default()
        };
        let c = claims(json!({"groups": ["engineering", "devs", "ops", "new-team"]}));
        let plan = expected_groups(org(1), &settings, &c, &groups)
            .unwrap()
            .unwrap();
        assert_eq!(
            plan.groups,
            [GroupId(Uuid::from_u128(10)), GroupId(Uuid::from_u128(12))].into(),
            "ops fails the filter; unknown IDs are dropped"
        );
        assert!(plan.create.is_empty());

        settings.auto_create_missing_groups = true;
        let plan = expected_groups(org(1), &settings, &c, &groups)
            .unwrap()
            .unwrap();
        assert_eq!(plan.create, ["new-team".to_owned()].into());

        let none = expected_groups(org(1), &settings, &claims(json!({})), &groups)
            .unwrap()
            .unwrap();
        assert_eq!(
            none,
            GroupPlan::default(),
            "a missing claim leaves every group"
        );
        assert!(
            expected_groups(
                org(1),
                &settings,
                &claims(json!({"groups": "a,b"})),
                &groups
            )
            .is_err()
        );
    }

    #[test]
    fn roles_are_mapped_or_verbatim_and_only_assignable_ones_stay() {
        let settings = RoleSyncSettings {
            field: "roles".into(),
            mapping: BTreeMap::from([(
                "admins".to_owned(),
                vec!["organization-admin".to_owned(), "reviewer".to_owned()],
            )]),
        };
        let custom = ["Reviewer".to_owned()];
        let c = claims(
            json!({"roles": ["admins", "organization-auditor", "organization-member", "owner", "wizard"]}),
        );
        assert_eq!(
            expected_roles(org(1), &settings, &c, &custom),
            Ok(Some(vec![
                "Reviewer".to_owned(),
                "organization-admin".to_owned(),
                "organization-auditor".to_owned(),
            ]))
        );
        assert_eq!(
            expected_roles(org(1), &settings, &claims(json!({})), &custom),
            Ok(Some(vec![])),
            "a missing claim strips the organization roles"
        );
        assert!(expected_roles(org(1), &settings, &claims(json!({"roles": {}})), &custom).is_err());
    }
}
