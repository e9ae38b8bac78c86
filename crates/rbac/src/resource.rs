//! The vocabulary of the permission model: resource types and actions, with
//! the string spellings Coder uses on the wire and in stored roles.
//!
//! The set mirrors Coder's `coderd/rbac/policy/policy.go` (the union of the
//! newest snapshots available when this was written). Adding a type here makes
//! the built-in roles that are defined as "everything except …" (owner,
//! member, organization-admin, `no_user_data`) cover it automatically, exactly
//! as in Coder; review `roles.rs` when doing so.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::RbacError;

/// Defines [`Action`] from one table, so that the enum, its string spelling
/// and its parser can never disagree.
macro_rules! define_actions {
    (
        $(#[$wild_meta:meta])* Wildcard => "*",
        $( $(#[$meta:meta])* $variant:ident => $name:literal, )+
    ) => {
        /// Something a subject may do to an object.
        ///
        /// Serialized as Coder's spelling (`"read"`, `"read_personal"`, `"*"`…).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $(#[$wild_meta])*
            Wildcard,
            $( $(#[$meta])* $variant, )+
        }

        impl Action {
            /// Every concrete action (the wildcard excluded), in declaration order.
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];

            /// Coder's spelling of this action; `"*"` for [`Action::Wildcard`].
            pub fn as_str(self) -> &'static str {
                match self {
                    Action::Wildcard => "*",
                    $(Action::$variant => $name,)+
                }
            }
        }

        impl FromStr for Action {
            type Err = RbacError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    "*" => Ok(Action::Wildcard),
                    $($name => Ok(Action::$variant),)+
                    _ => Err(RbacError::UnknownAction(s.to_owned())),
                }
            }
        }
    };
}

define_actions! {
    /// `*`: in a permission, every action; as a requested action it only
    /// matches permissions and ACL entries that are themselves `*`.
    Wildcard => "*",
    /// `create`
    Create => "create",
    /// `read`
    Read => "read",
    /// `update`
    Update => "update",
    /// `delete`
    Delete => "delete",
    /// `read_personal`: a user's private data (settings, auth links).
    ReadPersonal => "read_personal",
    /// `update_personal`: change a user's private data.
    UpdatePersonal => "update_personal",
    /// `assign`: grant a role.
    Assign => "assign",
    /// `unassign`: revoke a role.
    Unassign => "unassign",
    /// `use`: create workspaces from a template.
    Use => "use",
    /// `view_insights`: template usage insights.
    ViewInsights => "view_insights",
    /// `start`: start a workspace.
    Start => "start",
    /// `stop`: stop a workspace.
    Stop => "stop",
    /// `ssh`: open a shell in a workspace.
    Ssh => "ssh",
    /// `application_connect`: reach workspace apps through the browser.
    ApplicationConnect => "application_connect",
    /// `create_agent`: create a workspace agent.
    CreateAgent => "create_agent",
    /// `update_agent`: update a workspace agent.
    UpdateAgent => "update_agent",
    /// `delete_agent`: delete a workspace agent.
    DeleteAgent => "delete_agent",
    /// `share`: share an object with other users or groups.
    Share => "share",
    /// `use_shared`: use a workspace shared through an ACL (only read by
    /// Coder's newest policy; declared here so such permissions parse).
    UseShared => "use_shared",
}

/// Number of [`Action`] variants, the wildcard included.
pub(crate) const ACTION_COUNT: usize = Action::ALL.len() + 1;

/// Defines [`ResourceType`] and its valid actions from one table.
macro_rules! define_resource_types {
    (
        $( $(#[$meta:meta])* $variant:ident => $name:literal : [$($action:ident),* $(,)?], )+
    ) => {
        /// A kind of object permissions talk about.
        ///
        /// Serialized as Coder's spelling (`"organization_member"`, `"*"`…).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ResourceType {
            /// `*`: in a permission, every resource type.
            Wildcard,
            $( $(#[$meta])* $variant, )+
        }

        impl ResourceType {
            /// Every concrete resource type (no wildcard), sorted by Coder's spelling.
            pub const ALL: &'static [ResourceType] = &[$(ResourceType::$variant),+];

            /// Coder's spelling of this type; `"*"` for [`ResourceType::Wildcard`].
            pub fn as_str(self) -> &'static str {
                match self {
                    ResourceType::Wildcard => "*",
                    $(ResourceType::$variant => $name,)+
                }
            }

            /// The actions Coder's policy declares for this type (empty for the
            /// wildcard, which only takes the `*` action).
            pub fn actions(self) -> &'static [Action] {
                match self {
                    ResourceType::Wildcard => &[],
                    $(ResourceType::$variant => &[$(Action::$action),*],)+
                }
            }
        }

        impl FromStr for ResourceType {
            type Err = RbacError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    "*" => Ok(ResourceType::Wildcard),
                    $($name => Ok(ResourceType::$variant),)+
                    _ => Err(RbacError::UnknownResourceType(s.to_owned())),
                }
            }
        }
    };
}

define_resource_types! {
    /// AI Gateway keys.
    AiGatewayKey => "ai_gateway_key": [Create, Delete, Read, Update],
    /// AI model prices.
    AiModelPrice => "ai_model_price": [Read, Update],
    /// AI provider configuration.
    AiProvider => "ai_provider": [Create, Delete, Read, Update],
    /// AI seat usage.
    AiSeat => "ai_seat": [Create, Read],
    /// AI Bridge interceptions and related records.
    AibridgeInterception => "aibridge_interception": [Create, Read, Update],
    /// API keys (session tokens); owned by a user.
    ApiKey => "api_key": [Create, Delete, Read, Update],
    /// Organization role assignment, and custom organization roles (c/u/d).
    AssignOrgRole => "assign_org_role": [Assign, Create, Delete, Read, Unassign, Update],
    /// Site role assignment.
    AssignRole => "assign_role": [Assign, Read, Unassign],
    /// Audit log entries.
    AuditLog => "audit_log": [Create, Read],
    /// Boundary logs.
    BoundaryLog => "boundary_log": [Create, Delete, Read],
    /// Boundary usage statistics.
    BoundaryUsage => "boundary_usage": [Delete, Read, Update],
    /// Chats.
    Chat => "chat": [Create, Delete, Read, Share, Update],
    /// Chat automations.
    ChatAutomation => "chat_automation": [Create, Delete, Read, Update],
    /// Chat model configurations.
    ChatModelConfig => "chat_model_config": [Create, Delete, Read, Share, Update],
    /// Chat projects.
    ChatProject => "chat_project": [Create, Delete, Read, Share, Update],
    /// Connection logs.
    ConnectionLog => "connection_log": [Read, Update],
    /// Signing and encryption keys.
    CryptoKey => "crypto_key": [Create, Delete, Read, Update],
    /// Debug routes.
    DebugInfo => "debug_info": [Read],
    /// Deployment configuration.
    DeploymentConfig => "deployment_config": [Read, Update],
    /// Deployment statistics.
    DeploymentStats => "deployment_stats": [Read],
    /// Uploaded files.
    File => "file": [Create, Read],
    /// Groups.
    Group => "group": [Create, Delete, Read, Update],
    /// A user's membership in a group.
    GroupMember => "group_member": [Read],
    /// IdP (OIDC) sync settings.
    IdpsyncSettings => "idpsync_settings": [Read, Update],
    /// Inbox notifications.
    InboxNotification => "inbox_notification": [Create, Read, Update],
    /// Licenses (immutable: no update).
    License => "license": [Create, Delete, Read],
    /// MCP server configurations.
    McpServerConfig => "mcp_server_config": [Create, Delete, Read, Share, Update],
    /// Notification messages.
    NotificationMessage => "notification_message": [Create, Delete, Read, Update],
    /// Notification preferences.
    NotificationPreference => "notification_preference": [Read, Update],
    /// Notification templates.
    NotificationTemplate => "notification_template": [Read, Update],
    /// OAuth2 provider applications.
    OAuth2App => "oauth2_app": [Create, Delete, Read, Update],
    /// OAuth2 authorization codes and tokens.
    OAuth2AppCodeToken => "oauth2_app_code_token": [Create, Delete, Read],
    /// OAuth2 application secrets.
    OAuth2AppSecret => "oauth2_app_secret": [Create, Delete, Read, Update],
    /// Organizations.
    Organization => "organization": [Create, Delete, Read, Update],
    /// A user's membership in an organization.
    OrganizationMember => "organization_member": [Create, Delete, Read, Update],
    /// Prebuilt workspaces.
    PrebuiltWorkspace => "prebuilt_workspace": [Delete, Update],
    /// Provisioner daemons and keys.
    ProvisionerDaemon => "provisioner_daemon": [Create, Delete, Read, Update],
    /// Provisioner jobs.
    ProvisionerJobs => "provisioner_jobs": [Create, Read, Update],
    /// Server replicas.
    Replicas => "replicas": [Read],
    /// Deprecated catch-all for system resources.
    System => "system": [Create, Delete, Read, Update],
    /// Tailnet coordinators.
    TailnetCoordinator => "tailnet_coordinator": [Create, Delete, Read, Update],
    /// Tasks.
    Task => "task": [Create, Delete, Read, Update],
    /// Templates.
    Template => "template": [Create, Delete, Read, Update, Use, ViewInsights],
    /// Usage events.
    UsageEvent => "usage_event": [Create, Read, Update],
    /// Users.
    User => "user": [Create, Delete, Read, ReadPersonal, Update, UpdatePersonal],
    /// User secrets.
    UserSecret => "user_secret": [Create, Delete, Read, Update],
    /// Personal skills.
    UserSkill => "user_skill": [Create, Delete, Read, Update],
    /// Web push subscriptions.
    WebpushSubscription => "webpush_subscription": [Create, Delete, Read],
    /// Workspaces.
    Workspace => "workspace": [
        ApplicationConnect, Create, CreateAgent, Delete, DeleteAgent, Read, Share, Ssh,
        Start, Stop, Update, UpdateAgent, UseShared,
    ],
    /// Workspace agent devcontainers.
    WorkspaceAgentDevcontainers => "workspace_agent_devcontainers": [Create],
    /// Workspace agent resource monitors.
    WorkspaceAgentResourceMonitor => "workspace_agent_resource_monitor": [Create, Read, Update],
    /// Workspace build orchestration.
    WorkspaceBuildOrchestration => "workspace_build_orchestration": [Create, Delete, Read, Update],
    /// Dormant workspaces (same actions as workspaces).
    WorkspaceDormant => "workspace_dormant": [
        ApplicationConnect, Create, CreateAgent, Delete, DeleteAgent, Read, Share, Ssh,
        Start, Stop, Update, UpdateAgent, UseShared,
    ],
    /// Workspace proxies.
    WorkspaceProxy => "workspace_proxy": [Create, Delete, Read, Update],
}

/// Number of [`ResourceType`] variants, the wildcard included.
pub(crate) const RESOURCE_TYPE_COUNT: usize = ResourceType::ALL.len() + 1;

// The compiled subject keeps one action bitmask (`u32`) per resource type.
const _: () = assert!(ACTION_COUNT <= 32, "action bitmasks are u32");

impl ResourceType {
    /// Position of this type in per-type tables (the wildcard is slot 0).
    pub(crate) fn slot(self) -> usize {
        self as usize
    }
}

impl Action {
    /// This action's bit in an action bitmask (the wildcard is bit 0).
    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ParseVisitor::<Action>::new("an RBAC action"))
    }
}

impl Serialize for ResourceType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResourceType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ParseVisitor::<ResourceType>::new("an RBAC resource type"))
    }
}

/// Deserializes any `FromStr` type from a string without allocating.
pub(crate) struct ParseVisitor<T> {
    expecting: &'static str,
    marker: PhantomData<T>,
}

impl<T> ParseVisitor<T> {
    pub(crate) fn new(expecting: &'static str) -> Self {
        Self {
            expecting,
            marker: PhantomData,
        }
    }
}

impl<T> Visitor<'_> for ParseVisitor<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }
}
