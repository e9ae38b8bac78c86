//! What SCIM 2.0 provisioning (`warden-scim`) needs from storage: a user filter that
//! storage translates into SQL, and the [`ScimRepo`] port. The SCIM protocol itself
//! (schemas, the filter grammar, PATCH) lives in `warden-scim`; this module only holds
//! the storage-facing vocabulary, so that `warden-storage` need not know SCIM.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::{OrganizationId, UserId};
use crate::model::{AuditEntry, NewUser, User, UserStatus};
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
    /// `name.formatted` and `displayName`: the user's name (case-insensitive).
    Name,
    /// `name.givenName` (case-insensitive).
    GivenName,
    /// `name.familyName` (case-insensitive).
    FamilyName,
    /// `externalId` (case-exact).
    ExternalId,
    /// `active`: not suspended.
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

/// A filter over users, translated into a SQL `WHERE` clause by storage.
#[derive(Debug, Clone, PartialEq)]
pub enum UserFilter {
    And(Box<UserFilter>, Box<UserFilter>),
    Or(Box<UserFilter>, Box<UserFilter>),
    Not(Box<UserFilter>),
    Compare {
        attr: UserAttr,
        op: CompareOp,
        value: FilterValue,
    },
    /// The attribute has a (non-empty) value.
    Present(UserAttr),
    /// Always true or always false: a comparison with an attribute Warden never stores.
    Const(bool),
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

/// A user as SCIM sees it: the Warden user plus what the identity provider sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserRecord {
    pub user: User,
    /// The provisioned userName; empty for a user SCIM has not provisioned (found by
    /// [`ScimRepo::find_by_identity`] only).
    pub scim_username: String,
    pub external_id: String,
    pub given_name: String,
    pub family_name: String,
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
    pub external_id: String,
    pub given_name: String,
    pub family_name: String,
}

/// The SCIM-managed fields of a user, all replaced at once (`userName` is immutable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserUpdate {
    /// The userName recorded when SCIM adopts a user it had not provisioned; ignored
    /// for users it has.
    pub user_name: String,
    pub email: Email,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub external_id: String,
    pub status: UserStatus,
    /// Marks the user deleted for SCIM (it stays in Warden, suspended).
    pub scim_deleted: bool,
}

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
}
