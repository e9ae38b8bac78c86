//! What SCIM 2.0 provisioning (`warden-scim`) needs from storage: a user filter that
//! storage translates into SQL, and the [`ScimRepo`] port. The SCIM protocol itself
//! (schemas, the filter grammar, PATCH) lives in `warden-scim`; this module only holds
//! the storage-facing vocabulary, so that `warden-storage` need not know SCIM.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::{GroupId, OrganizationId, UserId};
use crate::model::{AuditEntry, Group, NewUser, User, UserStatus};
use crate::ports::RepoResult;
use crate::values::Email;

/// A user attribute SCIM can filter and sort on, each backed by one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserAttr {
    /// `id` (exact).
    Id,
    /// `userName`: the provisioned userName (case-insensitive).
    UserName,
    /// `emails.value` (case-insensitive).
    Email,
    /// `name.formatted` as sent (case-insensitive).
    Formatted,
    /// `displayName` as sent (case-insensitive).
    DisplayName,
    /// `name.givenName` (case-insensitive).
    GivenName,
    /// `name.familyName` (case-insensitive).
    FamilyName,
    /// `externalId` (case-exact).
    ExternalId,
    /// `emails.type` of the stored email (case-insensitive).
    EmailType,
    /// `emails.primary` of the stored email.
    EmailPrimary,
    /// `active`: `false` when suspended, `true` when asserted and not suspended,
    /// unassigned otherwise.
    Active,
    /// `meta.created`.
    Created,
    /// `meta.lastModified`.
    LastModified,
}

/// A comparison operator of RFC 7644 §3.4.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value, already checked against the attribute's type.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Text(String),
    Bool(bool),
    Time(OffsetDateTime),
}

/// A filter over the attributes `A` of one resource type, translated into a SQL
/// `WHERE` clause by storage.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrFilter<A> {
    And(Box<AttrFilter<A>>, Box<AttrFilter<A>>),
    Or(Box<AttrFilter<A>>, Box<AttrFilter<A>>),
    Not(Box<AttrFilter<A>>),
    Compare {
        attr: A,
        op: CompareOp,
        value: FilterValue,
    },
    /// The attribute has a (non-empty) value.
    Present(A),
    /// Always true or always false: a comparison with an attribute Warden never stores.
    Const(bool),
}

/// A filter over users.
pub type UserFilter = AttrFilter<UserAttr>;

/// A filter over groups.
pub type GroupFilter = AttrFilter<GroupAttr>;

/// A group attribute SCIM can filter (and, except `members.value`, sort) on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupAttr {
    /// `id` (exact).
    Id,
    /// `displayName`: the group's display name, or its name when that is empty
    /// (case-insensitive).
    DisplayName,
    /// `externalId` (case-exact).
    ExternalId,
    /// `members.value`: the group has this member (`eq` only; `pr`: has members).
    Member,
    /// `meta.created`.
    Created,
    /// `meta.lastModified`.
    LastModified,
}

/// A SCIM user listing: filter, order and window.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUserQuery {
    pub filter: Option<UserFilter>,
    /// Attribute and descending flag; `None` = by id.
    pub sort: Option<(UserAttr, bool)>,
    pub offset: i64,
    pub limit: i64,
}

/// What an identity provider sent for a user beyond the Warden user's own fields,
/// kept as sent; empty text is unassigned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimUserFields {
    pub external_id: String,
    /// `name.formatted`.
    pub formatted: String,
    pub given_name: String,
    pub family_name: String,
    /// `displayName`, apart from `name.formatted` (the Warden name is derived from
    /// both, and is what Coder shows).
    pub display_name: String,
    /// `emails.type` of the email Warden keeps.
    pub email_type: String,
    /// `emails.primary` of the email Warden keeps; `None` when not sent.
    pub email_primary: Option<bool>,
    /// Whether the client asserted `active` (a removed `active` is unassigned).
    pub active_assigned: bool,
}

impl ScimUserFields {
    /// The fields SCIM shows for a Warden user it has not provisioned: its name as
    /// both `name.formatted` and `displayName`, its email as the primary work one.
    pub fn of_unprovisioned(user: &User) -> Self {
        Self {
            formatted: user.name.clone(),
            display_name: user.name.clone(),
            email_type: "work".to_owned(),
            email_primary: Some(true),
            active_assigned: true,
            ..Self::default()
        }
    }
}

/// A user as SCIM sees it: the Warden user plus what the identity provider sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserRecord {
    pub user: User,
    /// The provisioned userName; empty for a user SCIM has not provisioned (found by
    /// [`ScimRepo::find_by_identity`] only).
    pub scim_username: String,
    pub fields: ScimUserFields,
    /// Deleted through SCIM: hidden from SCIM until provisioned again.
    pub scim_deleted: bool,
}

impl ScimUserRecord {
    /// The SCIM `userName`.
    pub fn user_name(&self) -> &str {
        if self.scim_username.is_empty() {
            self.user.username.as_str()
        } else {
            &self.scim_username
        }
    }
}

/// A user to provision.
#[derive(Debug, Clone)]
pub struct NewScimUser {
    pub user: NewUser,
    pub scim_username: String,
    pub fields: ScimUserFields,
}

/// The SCIM-managed fields of a user, all replaced at once (`userName` is immutable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserUpdate {
    /// The userName recorded when SCIM adopts a user it had not provisioned; ignored
    /// for users it has.
    pub user_name: String,
    pub email: Email,
    /// The Warden name (what Coder shows).
    pub name: String,
    pub fields: ScimUserFields,
    pub status: UserStatus,
    /// Marks the user deleted for SCIM (it stays in Warden, suspended).
    pub scim_deleted: bool,
}

/// A SCIM group listing: filter, order and window.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroupQuery {
    pub filter: Option<GroupFilter>,
    /// Attribute and descending flag; `None` = by id.
    pub sort: Option<(GroupAttr, bool)>,
    pub offset: i64,
    pub limit: i64,
    /// Whether to load each group's members (Entra ID asks for groups with
    /// `excludedAttributes=members`, which then costs no member query).
    pub with_members: bool,
}

/// A member of a group as SCIM shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupMember {
    pub id: UserId,
    /// The user's name, or its username when the name is empty.
    pub display: String,
}

/// A group as SCIM sees it: the Warden group plus what the identity provider sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupRecord {
    pub group: Group,
    pub external_id: String,
    /// The explicit members ordered by id; `None` when not loaded.
    pub members: Option<Vec<ScimGroupMember>>,
}

/// A group to create through SCIM, with its first members.
#[derive(Debug, Clone)]
pub struct NewScimGroup {
    pub group: Group,
    pub external_id: String,
    /// Users to make members; those not yet in the organization join it.
    pub members: Vec<UserId>,
}

/// The SCIM-managed state of a group, replacing the current one as a whole.
#[derive(Debug, Clone)]
pub struct ScimGroupChange {
    pub display_name: String,
    pub external_id: String,
    /// The complete member list after the change. Users not yet in the organization
    /// join it; an unknown user is `MissingReference`.
    pub members: Vec<UserId>,
    /// The audit record of the change, written in its transaction.
    pub audit: AuditEntry,
}

/// Why a group change computed by the protocol layer was refused (a SCIM error,
/// which storage passes back untouched).
pub type Rejection = Box<dyn std::error::Error + Send + Sync>;

/// Computes a group's next state from its current one (with members loaded). Storage
/// calls it inside the write transaction, serialized per group, so concurrent changes
/// to one group each see the previous one's result and none is lost.
pub type GroupChangeFn =
    Box<dyn FnOnce(&ScimGroupRecord) -> Result<ScimGroupChange, Rejection> + Send>;

/// SCIM provisioning's storage. Every change is one transaction with its audit record.
#[async_trait]
pub trait ScimRepo: Send + Sync {
    /// The organization SCIM provisions into: the named one, or the default.
    async fn organization(&self, name: Option<String>) -> RepoResult<OrganizationId>;
    /// Users provisioned into `org` and not deleted by SCIM, filtered in SQL, with
    /// the total matching the filter.
    async fn list_users(
        &self,
        org: OrganizationId,
        query: ScimUserQuery,
    ) -> RepoResult<(Vec<ScimUserRecord>, i64)>;
    /// One user provisioned into `org`, not deleted by SCIM.
    async fn get_user(&self, org: OrganizationId, id: UserId) -> RepoResult<ScimUserRecord>;
    /// Any Warden user (SCIM-deleted and never provisioned ones included) whose
    /// username, userName provisioned into `org` or email equals one of these,
    /// case-insensitively.
    async fn find_by_identity(
        &self,
        org: OrganizationId,
        user_name: &str,
        email: &str,
    ) -> RepoResult<Option<ScimUserRecord>>;
    /// Inserts a user, its membership of `org` and its SCIM fields. A taken
    /// username, userName or email is `Conflict`.
    async fn create_user(
        &self,
        org: OrganizationId,
        user: NewScimUser,
        audit: AuditEntry,
    ) -> RepoResult<ScimUserRecord>;
    /// Replaces the SCIM-managed fields if the user's version (`updated_at`) is still
    /// `version`, else `Conflict("version")`. Records the user as provisioned into
    /// `org` and makes it a member there if it is not yet. Suspending deletes the user's API keys and sessions in the same
    /// transaction. The new version is later than `version` and than `now`'s
    /// predecessor, so every change yields a new ETag.
    async fn update_user(
        &self,
        org: OrganizationId,
        id: UserId,
        version: OffsetDateTime,
        update: ScimUserUpdate,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<ScimUserRecord>;
    /// Groups of `org` other than its Everyone group, filtered and sorted in SQL,
    /// with the total matching the filter.
    async fn list_groups(
        &self,
        org: OrganizationId,
        query: ScimGroupQuery,
    ) -> RepoResult<(Vec<ScimGroupRecord>, i64)>;
    /// One group of `org` (never its Everyone group).
    async fn get_group(
        &self,
        org: OrganizationId,
        id: GroupId,
        with_members: bool,
    ) -> RepoResult<ScimGroupRecord>;
    /// Creates a group with its SCIM fields and members in one transaction. A taken
    /// name is `Conflict("name")`; an unknown member is `MissingReference`.
    async fn create_group(
        &self,
        org: OrganizationId,
        group: NewScimGroup,
        audit: AuditEntry,
    ) -> RepoResult<ScimGroupRecord>;
    /// Changes a group in one transaction, serialized per group: loads it with its
    /// members, asks `change` for the next state, and writes the difference (members
    /// added and removed in batches). A rejection changes nothing and is returned as
    /// the inner `Err`. The new version (`updated_at`) is later than the old one.
    async fn change_group(
        &self,
        org: OrganizationId,
        id: GroupId,
        now: OffsetDateTime,
        change: GroupChangeFn,
    ) -> RepoResult<Result<ScimGroupRecord, Rejection>>;
    /// Deletes a group of `org` (never its Everyone group) if its version is still
    /// `version` (when given), else `Conflict("version")`.
    async fn delete_group(
        &self,
        org: OrganizationId,
        id: GroupId,
        version: Option<OffsetDateTime>,
        audit: AuditEntry,
    ) -> RepoResult<()>;
}
