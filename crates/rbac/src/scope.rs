//! Scopes: a second, role-like permission set that limits what a credential
//! (an API key, an OAuth2 token) may do, plus an allow list of objects.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::error::RbacError;
use crate::permission::{Permission, PermissionTable, allow_all, every_type_except};
use crate::resource::{Action, ResourceType as T, ResourceType};
use crate::role::OrgPermissions;

/// Canonical name of the scope that allows everything.
pub const SCOPE_ALL: &str = "coder:all";
/// Canonical name of the scope that only allows connecting to workspace apps.
pub const SCOPE_APPLICATION_CONNECT: &str = "coder:application_connect";
/// Name of the scope that allows everything except user objects.
pub const SCOPE_NO_USER_DATA: &str = "no_user_data";

/// The composite `coder:*` scopes, each a site-level permission set.
const COMPOSITE_SCOPES: &[(&str, PermissionTable<'static>)] = &[
    (
        "coder:workspaces.create",
        &[
            (T::Template, &[Action::Read, Action::Use]),
            (
                T::Workspace,
                &[Action::Create, Action::Update, Action::Read],
            ),
        ],
    ),
    (
        "coder:workspaces.operate",
        &[(T::Workspace, &[Action::Read, Action::Update])],
    ),
    (
        "coder:workspaces.delete",
        &[(T::Workspace, &[Action::Read, Action::Delete])],
    ),
    (
        "coder:workspaces.access",
        &[(
            T::Workspace,
            &[Action::Read, Action::Ssh, Action::ApplicationConnect],
        )],
    ),
    (
        "coder:templates.build",
        &[
            (T::Template, &[Action::Read]),
            (T::File, &[Action::Create, Action::Read]),
            (T::ProvisionerJobs, &[Action::Read]),
        ],
    ),
    (
        "coder:templates.author",
        &[
            (
                T::Template,
                &[
                    Action::Read,
                    Action::Create,
                    Action::Update,
                    Action::Delete,
                    Action::ViewInsights,
                ],
            ),
            (T::File, &[Action::Create, Action::Read]),
        ],
    ),
    (
        "coder:apikeys.manage_self",
        &[(
            T::ApiKey,
            &[Action::Read, Action::Create, Action::Update, Action::Delete],
        )],
    ),
];

/// One entry of a scope's allow list: objects of `resource_type` (any type
/// for [`ResourceType::Wildcard`]) with the given id, or with any id when
/// `id` is `None`.
///
/// Written (`Display`/`FromStr`) as Coder stores it: `*:*`, `<type>:*` or
/// `<type>:<uuid>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllowListEntry {
    /// The object type this entry admits; `Wildcard` for every type.
    pub resource_type: ResourceType,
    /// The object id this entry admits; `None` for every id (`*`).
    pub id: Option<Uuid>,
}

impl AllowListEntry {
    /// `*:*`: every object.
    pub fn all() -> Self {
        Self {
            resource_type: ResourceType::Wildcard,
            id: None,
        }
    }

    /// `<type>:*`: every object of one type.
    pub fn of_type(resource_type: ResourceType) -> Self {
        Self {
            resource_type,
            id: None,
        }
    }

    /// `<type>:<id>`: one object.
    pub fn object(resource_type: ResourceType, id: Uuid) -> Self {
        Self {
            resource_type,
            id: Some(id),
        }
    }

    /// Whether this entry admits an object of type `resource_type` and id `id`
    /// (Coder's `object_is_included_in_scope_allow_list`, for one entry).
    /// Objects without an id are only admitted by `*` ids.
    pub fn admits(&self, resource_type: ResourceType, id: Option<Uuid>) -> bool {
        match self.id {
            None => {
                self.resource_type == ResourceType::Wildcard || self.resource_type == resource_type
            }
            Some(entry_id) => {
                id == Some(entry_id)
                    && (self.resource_type == ResourceType::Wildcard
                        || self.resource_type == resource_type)
            }
        }
    }
}

impl fmt::Display for AllowListEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            Some(id) => write!(f, "{}:{}", self.resource_type, id.hyphenated()),
            None => write!(f, "{}:*", self.resource_type),
        }
    }
}

impl FromStr for AllowListEntry {
    type Err = RbacError;

    /// Parses `*:*`, `<type>:*` or `<type>:<uuid>` (surrounding whitespace and
    /// case are ignored, as in Coder's `ParseAllowListEntry`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normalized = s.trim().to_ascii_lowercase();
        let invalid = |reason: &str| RbacError::InvalidAllowListEntry(format!("{s:?}: {reason}"));
        let (resource, id) = normalized
            .split_once(':')
            .filter(|(r, i)| !r.is_empty() && !i.is_empty())
            .ok_or_else(|| invalid("want <type>:<id>"))?;
        let resource_type = resource
            .parse::<ResourceType>()
            .map_err(|_| invalid("unknown resource type"))?;
        let id = match id {
            "*" => None,
            id => Some(Uuid::parse_str(id).map_err(|_| invalid("id must be a UUID or *"))?),
        };
        Ok(Self { resource_type, id })
    }
}

/// A scope: role-like permissions at the four levels plus an allow list.
///
/// An action is allowed only if the subject's roles (or an ACL) allow it
/// **and** the scope allows it, so scopes only ever narrow access. The scope's
/// organization permissions apply in the organizations the subject is a member
/// of through its roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    name: String,
    site: Vec<Permission>,
    user: Vec<Permission>,
    by_org_id: BTreeMap<Uuid, OrgPermissions>,
    allow_list: Vec<AllowListEntry>,
}

impl Scope {
    /// A scope from explicit parts, for callers that need a scope Coder has no
    /// name for (e.g. a workspace agent's: [`Scope::all`] with a narrow allow list).
    /// An empty allow list admits nothing.
    pub fn new(
        name: impl Into<String>,
        site: Vec<Permission>,
        user: Vec<Permission>,
        by_org_id: BTreeMap<Uuid, OrgPermissions>,
        allow_list: Vec<AllowListEntry>,
    ) -> Self {
        Self {
            name: name.into(),
            site,
            user,
            by_org_id,
            allow_list,
        }
    }

    /// `coder:all`: no restriction.
    pub fn all() -> Scope {
        Self::site_only(
            SCOPE_ALL,
            vec![Permission::allow(ResourceType::Wildcard, Action::Wildcard)],
        )
    }

    /// `coder:application_connect`: only `workspace:application_connect`.
    pub fn application_connect() -> Scope {
        Self::site_only(
            SCOPE_APPLICATION_CONNECT,
            vec![Permission::allow(
                ResourceType::Workspace,
                Action::ApplicationConnect,
            )],
        )
    }

    /// `no_user_data`: everything except user objects.
    pub fn no_user_data() -> Scope {
        Self::site_only(SCOPE_NO_USER_DATA, every_type_except(&[ResourceType::User]))
    }

    /// Expands a scope name (Coder's `ExpandScope`): `coder:all` (alias `all`),
    /// `coder:application_connect` (alias `application_connect`),
    /// `no_user_data`, the composite `coder:*` scopes, and low-level
    /// `<resource>:<action>` / `<resource>:*` scopes whose action the resource
    /// declares. All of these are site-level with an allow-everything list.
    pub fn by_name(name: &str) -> Result<Scope, RbacError> {
        match name {
            SCOPE_ALL | "all" => return Ok(Self::all()),
            SCOPE_APPLICATION_CONNECT | "application_connect" => {
                return Ok(Self::application_connect());
            }
            SCOPE_NO_USER_DATA => return Ok(Self::no_user_data()),
            _ => {}
        }
        if let Some((_, table)) = COMPOSITE_SCOPES.iter().find(|(n, _)| *n == name) {
            return Ok(Self::site_only(name, allow_all(table)));
        }
        let permission =
            parse_low_level(name).ok_or_else(|| RbacError::UnknownScope(name.to_owned()))?;
        Ok(Self::site_only(name, vec![permission]))
    }

    /// The canonical spelling of a scope name (`all` → `coder:all`,
    /// `application_connect` → `coder:application_connect`), after checking
    /// that it expands.
    pub fn canonical_name(name: &str) -> Result<&str, RbacError> {
        Self::by_name(name)?;
        Ok(match name {
            "all" => SCOPE_ALL,
            "application_connect" => SCOPE_APPLICATION_CONNECT,
            other => other,
        })
    }

    /// The names of the composite `coder:*` scopes.
    pub fn composite_names() -> impl Iterator<Item = &'static str> {
        COMPOSITE_SCOPES.iter().map(|(name, _)| *name)
    }

    /// Several scopes combined, as API keys carry them: the union of their
    /// permissions and of their allow lists. No names at all gives a scope
    /// that allows nothing.
    pub fn union(names: &[&str]) -> Result<Scope, RbacError> {
        let mut combined = Scope::new(
            names.join(" "),
            Vec::new(),
            Vec::new(),
            BTreeMap::new(),
            Vec::new(),
        );
        for name in names {
            let scope = Self::by_name(name)?;
            combined.site.extend(scope.site);
            combined.user.extend(scope.user);
            for (org, perms) in scope.by_org_id {
                let entry = combined.by_org_id.entry(org).or_default();
                entry.org.extend(perms.org);
                entry.member.extend(perms.member);
            }
            for entry in scope.allow_list {
                if !combined.allow_list.contains(&entry) {
                    combined.allow_list.push(entry);
                }
            }
        }
        dedup(&mut combined.site);
        dedup(&mut combined.user);
        if combined.allow_list.contains(&AllowListEntry::all()) {
            combined.allow_list = vec![AllowListEntry::all()];
        }
        Ok(combined)
    }

    /// The same scope with its allow list replaced. An empty list admits nothing.
    pub fn with_allow_list(self, list: Vec<AllowListEntry>) -> Scope {
        Scope {
            allow_list: list,
            ..self
        }
    }

    /// The scope's name (several names joined by spaces for a union).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Site-level permissions.
    pub fn site(&self) -> &[Permission] {
        &self.site
    }

    /// User-level permissions.
    pub fn user(&self) -> &[Permission] {
        &self.user
    }

    /// Organization and organization-member permissions, per organization.
    pub fn by_org_id(&self) -> &BTreeMap<Uuid, OrgPermissions> {
        &self.by_org_id
    }

    /// The objects the scope admits at all.
    pub fn allow_list(&self) -> &[AllowListEntry] {
        &self.allow_list
    }

    fn site_only(name: &str, site: Vec<Permission>) -> Scope {
        Scope::new(
            name,
            site,
            Vec::new(),
            BTreeMap::new(),
            vec![AllowListEntry::all()],
        )
    }
}

/// `<resource>:<action>` or `<resource>:*`, where the resource is declared by
/// the policy (Coder accepts `*:*` too) and the action belongs to it.
fn parse_low_level(name: &str) -> Option<Permission> {
    let (resource, action) = name.split_once(':')?;
    let resource_type = resource.parse::<ResourceType>().ok()?;
    let action = action.parse::<Action>().ok()?;
    let permission = Permission::allow(resource_type, action);
    let declared = action == Action::Wildcard || resource_type.actions().contains(&action);
    declared.then_some(permission)
}

fn dedup(perms: &mut Vec<Permission>) {
    let mut seen = std::collections::HashSet::with_capacity(perms.len());
    perms.retain(|p| seen.insert(p.clone()));
}
