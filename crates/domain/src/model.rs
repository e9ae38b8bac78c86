//! Entities: what Warden knows about users, organizations, memberships, API keys and
//! the audit trail. Storage reads and writes these; HTTP renders them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::ids::{ApiKeyId, AuditLogId, GroupId, OrganizationId, UserId};
use crate::values::{Email, OrganizationName, Username};

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and storage spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok($name::$variant),)+
                    other => Err(format!(
                        "{other:?} is not a valid value; expected one of: {}",
                        [$($s),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum!(
    /// Whether a user may sign in. Dormant users are active users who have not been
    /// seen for a while; they are reactivated when they authenticate.
    UserStatus {
        /// May sign in.
        Active => "active",
        /// Not seen recently; signs in normally and becomes active again.
        Dormant => "dormant",
        /// Blocked: every credential is refused with 401.
        Suspended => "suspended",
    }
);

string_enum!(
    /// How a user (or an API key) authenticates.
    LoginType {
        /// Email and password.
        Password => "password",
        /// GitHub OAuth.
        Github => "github",
        /// OpenID Connect.
        Oidc => "oidc",
        /// API tokens only.
        Token => "token",
        /// Cannot log in at all (service accounts).
        None => "none",
        /// An access token minted by Warden's OAuth2 provider.
        OAuth2ProviderApp => "oauth2_provider_app",
    }
);

/// A person or service account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub email: Email,
    pub name: String,
    pub avatar_url: String,
    pub status: UserStatus,
    pub login_type: LoginType,
    pub is_service_account: bool,
    /// Names of the site-wide roles held (`owner`, `auditor`, …). `member` is implied.
    pub site_roles: Vec<String>,
    /// Organizations the user is a member of.
    pub organization_ids: Vec<OrganizationId>,
    pub theme_preference: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

/// A user to insert. The password hash, when present, was computed by the
/// [`PasswordHasher`](crate::ports::PasswordHasher) port.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub username: Username,
    pub email: Email,
    pub name: String,
    pub hashed_password: Option<String>,
    pub status: UserStatus,
    pub login_type: LoginType,
    pub site_roles: Vec<String>,
    /// Organizations to join (with no extra roles) in the same transaction.
    pub organization_ids: Vec<OrganizationId>,
    pub now: OffsetDateTime,
}

/// A user with the password hash, for login only.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub hashed_password: Option<String>,
}

/// A tenant: users, groups, roles and resources belong to organizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: OrganizationName,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    /// The organization every user joins by default; it cannot be deleted.
    pub is_default: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The name of the default organization created with the first user.
pub const DEFAULT_ORGANIZATION_NAME: &str = "coder";
/// Its display name.
pub const DEFAULT_ORGANIZATION_DISPLAY_NAME: &str = "Coder";

/// A user's membership of an organization, with the organization roles held there.
/// `organization-member` is implied by membership and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationMember {
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub roles: Vec<String>,
    /// Display names of the custom roles among `roles`, by role name. Built-in roles
    /// carry theirs in `warden_rbac::roles`; storage leaves this empty and the members
    /// service fills it for responses.
    pub custom_role_display_names: BTreeMap<String, String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A stored API key. The secret half is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub hashed_secret: Vec<u8>,
    pub last_used: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub login_type: LoginType,
    pub lifetime_seconds: i64,
    /// Empty for session keys; set for named tokens.
    pub token_name: String,
    /// Canonical scope names (`coder:all`, …).
    pub scopes: Vec<String>,
    /// Allow-list entries as `<type>:<id>`, `*:*` meaning everything.
    pub allow_list: Vec<String>,
}

string_enum!(
    /// What a mutation did, as Coder's audit log spells it.
    AuditAction {
        /// A resource was created.
        Create => "create",
        /// A resource was changed.
        Write => "write",
        /// A resource was deleted.
        Delete => "delete",
        /// A user logged in.
        Login => "login",
        /// A user logged out.
        Logout => "logout",
        /// A user registered (first user).
        Register => "register",
    }
);

/// Where a request came from, recorded with the audit entries it causes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: Option<uuid::Uuid>,
    pub ip: String,
    pub user_agent: String,
}

/// One audit record, written in the same transaction as the change it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: AuditLogId,
    pub time: OffsetDateTime,
    pub request: RequestMeta,
    /// The HTTP status the change was answered with.
    pub status_code: i32,
    /// Who acted; `None` for the system (SCIM, first-user setup before login).
    pub actor: Option<UserId>,
    pub organization_id: Option<OrganizationId>,
    pub action: AuditAction,
    /// Coder's resource type name (`user`, `organization`, `api_key`, …).
    pub resource_type: String,
    pub resource_id: String,
    /// A human-readable name of the resource (username, organization name, …).
    pub resource_target: String,
    /// `{"field": {"old": …, "new": …}}` of what changed.
    pub diff: serde_json::Value,
    /// Coder's `additional_fields`: for a change made by an automatic subsystem,
    /// `{"automatic_actor": "coder", "automatic_subsystem": <name>}`; else `{}`.
    pub additional_fields: serde_json::Value,
}

impl AuditEntry {
    /// A record with an empty diff.
    pub fn new(
        time: OffsetDateTime,
        actor: Option<UserId>,
        action: AuditAction,
        resource_type: &str,
        resource_id: impl ToString,
        resource_target: impl Into<String>,
    ) -> Self {
        let status_code = if action == AuditAction::Create {
            201
        } else {
            200
        };
        Self {
            id: AuditLogId::new_random(),
            time,
            request: RequestMeta::default(),
            status_code,
            actor,
            organization_id: None,
            action,
            resource_type: resource_type.to_owned(),
            resource_id: resource_id.to_string(),
            resource_target: resource_target.into(),
            diff: serde_json::Value::Object(serde_json::Map::new()),
            additional_fields: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Marks the change as made by an automatic subsystem (`scim`), with no acting
    /// user, as Coder records it.
    pub fn by_subsystem(mut self, subsystem: &str) -> Self {
        self.actor = None;
        self.additional_fields = serde_json::json!({
            "automatic_actor": "coder",
            "automatic_subsystem": subsystem,
        });
        self
    }

    /// Attributes the record to an organization.
    pub fn in_org(mut self, org: OrganizationId) -> Self {
        self.organization_id = Some(org);
        self
    }

    /// Records a changed field.
    pub fn with_change(
        mut self,
        field: &str,
        old: impl Into<serde_json::Value>,
        new: impl Into<serde_json::Value>,
    ) -> Self {
        if let serde_json::Value::Object(map) = &mut self.diff {
            map.insert(
                field.to_owned(),
                serde_json::json!({ "old": old.into(), "new": new.into() }),
            );
        }
        self
    }
}

/// A custom organization role: permissions at organization and member level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRole {
    pub organization_id: OrganizationId,
    pub name: String,
    pub display_name: String,
    pub organization_permissions: Vec<warden_rbac::Permission>,
    pub organization_member_permissions: Vec<warden_rbac::Permission>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl CustomRole {
    /// The RBAC role this definition grants.
    pub fn to_rbac(&self) -> warden_rbac::Role {
        warden_rbac::roles::custom_org_role(
            &self.name,
            &self.display_name,
            self.organization_id.as_uuid(),
            self.organization_permissions.clone(),
            self.organization_member_permissions.clone(),
        )
    }
}

string_enum!(
    /// Who manages a group.
    GroupSource {
        /// Created through the API.
        User => "user",
        /// Created by IdP group sync.
        Oidc => "oidc",
    }
);

/// The name of every organization's implicit group, whose id is the organization's.
pub const EVERYONE_GROUP: &str = "Everyone";

/// A group of an organization's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub display_name: String,
    pub avatar_url: String,
    pub quota_allowance: i32,
    pub source: GroupSource,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Group {
    /// Whether this is the organization's Everyone group.
    pub fn is_everyone(&self) -> bool {
        self.id.as_uuid() == self.organization_id.as_uuid()
    }
}

/// A group with its organization and members, as the API renders it.
#[derive(Debug, Clone)]
pub struct GroupDetails {
    pub group: Group,
    pub organization: Organization,
    /// Members the caller may see (the service filters them).
    pub members: Vec<User>,
    /// All members, whether the caller may see them or not.
    pub total_member_count: i64,
}

/// A membership together with the member's user record.
#[derive(Debug, Clone)]
pub struct MemberWithUser {
    pub member: OrganizationMember,
    pub user: User,
}

/// A stored audit record with what it refers to, for reading.
#[derive(Debug, Clone)]
pub struct AuditLog {
    pub entry: AuditEntry,
    pub user: Option<User>,
    pub organization: Option<Organization>,
    /// The audited resource is gone. Known for the kinds Coder checks that Warden can
    /// delete (OAuth2 apps and their secrets); `false` for every other kind.
    pub resource_deleted: bool,
    /// The OAuth2 app an audited app secret belongs to, while the secret exists.
    pub resource_app_id: Option<String>,
}

/// A user's Git SSH key pair (Coder's `GitSSHKey`): Ed25519, the private half in
/// OpenSSH format, the public half as an `authorized_keys` line.
#[derive(Clone, PartialEq, Eq)]
pub struct GitSshKey {
    pub user_id: UserId,
    pub private_key: String,
    pub public_key: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for GitSshKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitSshKey")
            .field("user_id", &self.user_id)
            .field("private_key", &"<redacted>")
            .field("public_key", &self.public_key)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A server process serving this database, as it last reported itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub id: crate::ids::ReplicaId,
    pub hostname: String,
    /// Coder's DERP region; Warden relays nothing, so always 0.
    pub region_id: i32,
    /// Coder's DERP relay address; always empty in Warden.
    pub relay_address: String,
    /// What went wrong at the replica's last heartbeat; empty when nothing did.
    pub error: String,
    /// The round trip to the database at the last heartbeat, in microseconds.
    pub database_latency: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}
