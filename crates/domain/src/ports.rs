//! Ports: what the domain needs from the outside world, as traits. `warden-storage`
//! implements the repositories; the binary supplies clock, randomness and hashing.
//! One repository call is one transaction, including its audit record.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::RepoError;
use crate::ids::{ApiKeyId, GroupId, OrganizationId, UserId};
use crate::model::{
    ApiKey, AuditAction, AuditEntry, AuditLog, CustomRole, Group, GroupDetails, MemberWithUser,
    NewUser, Organization, OrganizationMember, User, UserCredentials, UserStatus,
};

/// Result of a repository call.
pub type RepoResult<T> = Result<T, RepoError>;

/// The current time. Every expiry is computed from it, so tests can fix it.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Cryptographically secure randomness for secrets.
pub trait SecretGenerator: Send + Sync {
    /// `len` characters drawn uniformly from `[A-Za-z0-9]`.
    fn alphanumeric(&self, len: usize) -> String;
}

/// A freshly generated SSH key pair.
#[derive(Clone)]
pub struct SshKeyPair {
    /// OpenSSH private key format (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    pub private_key: String,
    /// One `authorized_keys` line, ending in a newline.
    pub public_key: String,
}

/// Generates SSH key pairs (Ed25519 in production).
pub trait SshKeyGenerator: Send + Sync {
    fn generate(&self) -> Result<SshKeyPair, String>;
}

/// Password hashing (argon2id in production). Implementations run the hash off the
/// async runtime: it is deliberately slow.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password into a self-describing PHC string.
    async fn hash(&self, password: &str) -> Result<String, String>;
    /// Checks a password against a PHC string.
    async fn verify(&self, password: &str, phc: &str) -> Result<bool, String>;
}

/// Sort order and window of a user listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Free text: matches username or email (case-insensitive substring).
    pub search: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub status: Vec<UserStatus>,
    /// Site role names; a user matches if they hold any.
    pub roles: Vec<String>,
    pub login_types: Vec<crate::model::LoginType>,
    /// Restrict to these users.
    pub only_ids: Option<Vec<UserId>>,
    /// The caller's visibility: an RBAC filter for reading users, applied in SQL.
    pub visible: Option<warden_rbac::Filter>,
    /// Keyset pagination: users ordered after this one.
    pub after_id: Option<UserId>,
    pub offset: i64,
    /// `None` = no limit.
    pub limit: Option<i64>,
}

/// A page of users with the total count matching the filter (ignoring the window).
#[derive(Debug, Clone, Default)]
pub struct UserPage {
    pub users: Vec<User>,
    pub count: i64,
}

/// Users and their site roles.
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Whether any user exists.
    async fn any_exists(&self) -> RepoResult<bool>;
    /// Creates the first user as site owner, the default organization if it does not
    /// exist, and the membership — atomically, failing with `Conflict("first_user")` if a
    /// user already exists.
    async fn create_first(
        &self,
        user: NewUser,
        default_org: Organization,
        audit: AuditEntry,
    ) -> RepoResult<(User, Organization)>;
    /// Inserts a user and its memberships.
    async fn create(&self, user: NewUser, audit: AuditEntry) -> RepoResult<User>;
    /// A user by id (deleted users are not found).
    async fn get(&self, id: UserId) -> RepoResult<User>;
    /// A user by username, case-insensitively.
    async fn get_by_username(&self, username: &str) -> RepoResult<User>;
    /// A user and password hash by email, case-insensitively.
    async fn credentials_by_email(&self, email: &str) -> RepoResult<UserCredentials>;
    /// A filtered, windowed listing ordered by username.
    async fn list(&self, query: UserQuery) -> RepoResult<UserPage>;
    /// Sets a user's status. Keys of a suspended user stay stored but are refused by
    /// authentication until the user is activated again, as in Coder.
    async fn set_status(
        &self,
        id: UserId,
        status: UserStatus,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<User>;
    /// Replaces username and name; `Conflict("username")` if another user has the
    /// username.
    async fn update_profile(
        &self,
        id: UserId,
        username: crate::values::Username,
        name: String,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<User>;
    /// Stores a new password hash and ends every credential of the user — API keys
    /// (sessions and tokens) and OAuth2 grants — in the same transaction, except the
    /// key `keep` (the session of a user changing their own password).
    async fn set_password(
        &self,
        id: UserId,
        hashed_password: String,
        keep: Option<ApiKeyId>,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<()>;
    /// Replaces the site roles (`member` is implied and never stored).
    async fn set_site_roles(
        &self,
        id: UserId,
        roles: Vec<String>,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<User>;
    /// Deletes a user: the row is kept, marked deleted, so the audit trail still
    /// names it and the username and email are free again; every credential ends and
    /// every membership (with its roles and groups) goes, in one transaction.
    async fn delete(&self, id: UserId, now: OffsetDateTime, audit: AuditEntry) -> RepoResult<()>;
}

/// A change to an organization's editable fields; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct OrganizationPatch {
    pub name: Option<crate::values::OrganizationName>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub icon: Option<String>,
}

/// Organizations and memberships.
#[async_trait]
pub trait OrganizationRepo: Send + Sync {
    /// Creates an organization and makes `creator` a member with `creator_roles`.
    async fn create(
        &self,
        org: Organization,
        creator: UserId,
        creator_roles: Vec<String>,
        audit: AuditEntry,
    ) -> RepoResult<Organization>;
    /// By id.
    async fn get(&self, id: OrganizationId) -> RepoResult<Organization>;
    /// By name, case-insensitively.
    async fn get_by_name(&self, name: &str) -> RepoResult<Organization>;
    /// The default organization.
    async fn get_default(&self) -> RepoResult<Organization>;
    /// Organizations by name; `only` restricts to these ids and `visible` to what an
    /// RBAC filter for reading organizations admits (applied in SQL).
    async fn list(
        &self,
        only: Option<Vec<OrganizationId>>,
        visible: Option<warden_rbac::Filter>,
    ) -> RepoResult<Vec<Organization>>;
    /// Applies a patch.
    async fn update(
        &self,
        id: OrganizationId,
        patch: OrganizationPatch,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<Organization>;
    /// Deletes a non-default organization and everything that belongs to it.
    async fn delete(&self, id: OrganizationId, audit: AuditEntry) -> RepoResult<()>;
    /// A user's memberships.
    async fn memberships_of(&self, user: UserId) -> RepoResult<Vec<OrganizationMember>>;
}

/// What a committed write may have changed, and what a cached read depends on. A
/// cached value stays valid while no write touching any of its tags has committed
/// since it was loaded; a write that names no tags touches everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeTag {
    /// A user's row, site roles, memberships (with their roles), groups and API keys.
    User(UserId),
    /// An organization's row.
    Organization(OrganizationId),
    /// The definitions of an organization's custom roles.
    OrganizationRoles(OrganizationId),
    /// An OAuth2 app's row and its client secrets.
    OAuth2App(crate::ids::OAuth2AppId),
}

/// Everything needed to authenticate a request, loaded in one call.
#[derive(Debug, Clone)]
pub struct Session {
    pub key: ApiKey,
    pub user: User,
    pub memberships: Vec<OrganizationMember>,
    /// The explicit groups the user belongs to (Everyone is implied by membership).
    pub groups: Vec<GroupId>,
    /// Definitions of the custom roles the user holds.
    pub custom_roles: Vec<CustomRole>,
}

/// API keys and the per-request session lookup.
#[async_trait]
pub trait ApiKeyRepo: Send + Sync {
    /// Stores a key. A named token whose name the user already uses → `Conflict`.
    async fn create(&self, key: ApiKey, audit: Option<AuditEntry>) -> RepoResult<ApiKey>;
    /// The key, its user and the user's memberships; `NotFound` if any is missing.
    async fn session(&self, id: &ApiKeyId) -> RepoResult<Session>;
    /// A number that moves on every committed write, here or (with a shared database)
    /// in another replica. Read it before loading a session and keep it with what was
    /// loaded: [`unchanged_since`](Self::unchanged_since) takes it back.
    fn generation(&self) -> u64;
    /// Whether no write touching any of `tags` has committed since `generation` was
    /// read. `false` whenever in doubt: a cached session is then reloaded.
    fn unchanged_since(&self, generation: u64, tags: &[ChangeTag]) -> bool;
    /// Records use: sets `last_used` and `expires_at` of the key and the user's
    /// `last_seen_at`. Called at most once an hour per key, never on every request.
    async fn touch(
        &self,
        id: &ApiKeyId,
        user: UserId,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> RepoResult<()>;
    /// One key by id, whoever owns it.
    async fn get(&self, id: &ApiKeyId) -> RepoResult<ApiKey>;
    /// A user's named token by name.
    async fn get_by_name(&self, user: UserId, name: &str) -> RepoResult<ApiKey>;
    /// A user's keys of the given login type (tokens: `LoginType::Token`).
    async fn list_tokens(&self, user: Option<UserId>) -> RepoResult<Vec<(ApiKey, String)>>;
    /// Deletes one key.
    async fn delete(&self, id: &ApiKeyId, audit: Option<AuditEntry>) -> RepoResult<()>;
}

/// A member listing's filter and window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberQuery {
    /// Free text over username, email and name (case-insensitive substring).
    pub search: Option<String>,
    pub user_id: Option<UserId>,
    /// Restrict to these users (the caller's visibility, from RBAC).
    pub only_ids: Option<Vec<UserId>>,
    pub after_id: Option<UserId>,
    pub offset: i64,
    /// `None` = no limit.
    pub limit: Option<i64>,
}

/// Organization memberships and member roles.
#[async_trait]
pub trait MemberRepo: Send + Sync {
    /// Adds a user to an organization with no roles; `Conflict` if already a member.
    async fn add(
        &self,
        org: OrganizationId,
        user: UserId,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<OrganizationMember>;
    /// One membership with its user; `NotFound` if not a member.
    async fn get(&self, org: OrganizationId, user: UserId) -> RepoResult<MemberWithUser>;
    /// Members ordered by username, with the total matching the filter.
    async fn list(
        &self,
        org: OrganizationId,
        query: MemberQuery,
    ) -> RepoResult<(Vec<MemberWithUser>, i64)>;
    /// Removes a membership (and the user's groups and roles there).
    async fn remove(&self, org: OrganizationId, user: UserId, audit: AuditEntry) -> RepoResult<()>;
    /// Replaces a member's organization roles, serialized against concurrent updates.
    async fn set_roles(
        &self,
        org: OrganizationId,
        user: UserId,
        roles: Vec<String>,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<OrganizationMember>;
}

/// Custom organization roles.
#[async_trait]
pub trait RoleRepo: Send + Sync {
    /// An organization's custom roles by name.
    async fn list(&self, org: OrganizationId) -> RepoResult<Vec<CustomRole>>;
    /// One custom role by name (case-insensitive).
    async fn get(&self, org: OrganizationId, name: &str) -> RepoResult<CustomRole>;
    /// Stores a new role; `Conflict` if the name is taken.
    async fn create(&self, role: CustomRole, audit: AuditEntry) -> RepoResult<CustomRole>;
    /// Replaces a role's display name and permissions; `NotFound` if absent.
    async fn update(&self, role: CustomRole, audit: AuditEntry) -> RepoResult<CustomRole>;
    /// Deletes a role and unassigns it from every member; `NotFound` if absent.
    async fn delete(&self, org: OrganizationId, name: &str, audit: AuditEntry) -> RepoResult<()>;
}

/// A filter over groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupQuery {
    pub organization: Option<OrganizationId>,
    /// Groups this user belongs to (Everyone included for the user's organizations).
    pub has_member: Option<UserId>,
    pub ids: Option<Vec<GroupId>>,
}

/// A change to a group; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub quota_allowance: Option<i32>,
    pub add_users: Vec<UserId>,
    pub remove_users: Vec<UserId>,
}

/// Groups and group membership.
#[async_trait]
pub trait GroupRepo: Send + Sync {
    /// Groups matching the filter, with organization and members, by name.
    async fn list(&self, query: GroupQuery) -> RepoResult<Vec<GroupDetails>>;
    /// One group by id.
    async fn get(&self, id: GroupId) -> RepoResult<GroupDetails>;
    /// One group by organization and name (case-insensitive).
    async fn get_by_name(&self, org: OrganizationId, name: &str) -> RepoResult<GroupDetails>;
    /// Creates a group; `Conflict` if the name is taken in the organization.
    async fn create(&self, group: Group, audit: AuditEntry) -> RepoResult<GroupDetails>;
    /// Applies a patch in one transaction, serialized per group. Adding a member
    /// already present or removing a non-member is `Conflict("member:<id>")` /
    /// `NotFound`; adding a non-member of the organization is `MissingReference`.
    async fn update(
        &self,
        id: GroupId,
        patch: GroupPatch,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<GroupDetails>;
    /// Deletes a group.
    async fn delete(&self, id: GroupId, audit: AuditEntry) -> RepoResult<()>;
}

/// A filter over the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub resource_target: Option<String>,
    pub action: Option<AuditAction>,
    pub actor: Option<UserId>,
    pub actor_email: Option<String>,
    pub organization: Option<OrganizationId>,
    pub request_id: Option<uuid::Uuid>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Restrict to entries of these organizations (the caller's visibility);
    /// `None` = everything.
    pub only_orgs: Option<Vec<OrganizationId>>,
    pub offset: i64,
    pub limit: i64,
}

/// Reading the audit log (writing happens inside every mutation's transaction).
#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// Newest first, with the total matching (capped at `count_cap`).
    async fn list(&self, query: AuditQuery, count_cap: i64) -> RepoResult<(Vec<AuditLog>, i64)>;
}

/// The attempts counted by rate limits that every replica shares.
#[async_trait]
pub trait AttemptLog: Send + Sync {
    /// Counts an attempt in `bucket` at `now` unless `max` attempts were already counted
    /// there within `window` before `now`: `Ok(id)` of the counted attempt, or
    /// `Err(until)`, when the oldest of them leaves the window. Concurrent calls for
    /// one bucket, from any replica, take turns. Attempts older than the window go.
    async fn attempt(
        &self,
        bucket: &str,
        now: OffsetDateTime,
        window: std::time::Duration,
        max: u32,
    ) -> RepoResult<Result<uuid::Uuid, OffsetDateTime>>;
    /// Uncounts an attempt; one that is gone already is no error.
    async fn forgive(&self, id: uuid::Uuid) -> RepoResult<()>;
}

/// Turns the stored IdP sync settings document (`None`: never written) into the new
/// one and the audit record of the change.
pub type SyncSettingsChange = Box<
    dyn FnOnce(Option<serde_json::Value>) -> RepoResult<(serde_json::Value, AuditEntry)> + Send,
>;

/// IdP sync settings documents, one per [`crate::idp_sync::SyncScope`].
#[async_trait]
pub trait IdpSyncRepo: Send + Sync {
    /// The document of `scope`; `None` if it was never written.
    async fn get(&self, scope: crate::idp_sync::SyncScope)
    -> RepoResult<Option<serde_json::Value>>;
    /// Reads, changes and writes the document of `scope` in one transaction that
    /// concurrent changes of the same scope wait for, with the change's audit record;
    /// returns the document written.
    async fn modify(
        &self,
        scope: crate::idp_sync::SyncScope,
        now: OffsetDateTime,
        change: SyncSettingsChange,
    ) -> RepoResult<serde_json::Value>;
    /// What the group and role planners need of `orgs` for `user`: each
    /// organization's groups (Everyone excluded) and custom role names, and the user's
    /// explicit group memberships there.
    async fn sync_state(
        &self,
        user: UserId,
        orgs: Vec<OrganizationId>,
    ) -> RepoResult<crate::idp_sync::plan::SyncState>;
    /// Applies a sync in one transaction, with its audit records: joins and leaves
    /// organizations, creates groups, sets the explicit groups and the roles of each
    /// organization named. Organizations and groups deleted meanwhile are skipped.
    async fn apply(
        &self,
        user: UserId,
        changes: crate::idp_sync::plan::SyncChanges,
        now: OffsetDateTime,
    ) -> RepoResult<()>;
}

/// Everything one OIDC sign-in writes, committed together: the account (created on a
/// first sign-in, reactivated when dormant), the link with the sign-in's claims, the
/// session key, and the IdP sync changes, with their audit records.
#[derive(Debug, Clone)]
pub struct LinkedSignIn {
    /// A first sign-in's new account, which the link and key belong to.
    pub new_user: Option<NewUser>,
    /// A dormant account to make active again.
    pub reactivate: bool,
    /// An existing account's e-mail and name, when the provider now says otherwise
    /// (mirrored as Coder does; the username never changes).
    pub profile: Option<(crate::values::Email, String)>,
    pub link: crate::oidc::UserLink,
    pub key: ApiKey,
    pub sync: crate::idp_sync::plan::SyncChanges,
    /// The account's creation or reactivation, and the sign-in itself.
    pub audit: Vec<AuditEntry>,
}

/// Links between users and outside identity providers, and the claim index they feed.
#[async_trait]
pub trait UserLinkRepo: Send + Sync {
    /// The link of `login_type` whose provider-side id is `linked_id`, of a user not
    /// deleted.
    async fn by_linked_id(
        &self,
        login_type: crate::model::LoginType,
        linked_id: &str,
    ) -> RepoResult<crate::oidc::UserLink>;
    /// `user`'s link of `login_type`.
    async fn of_user(
        &self,
        user: UserId,
        login_type: crate::model::LoginType,
    ) -> RepoResult<crate::oidc::UserLink>;
    /// Commits a sign-in in one transaction (see [`LinkedSignIn`]); returns the user.
    /// A concurrent first sign-in of the same account makes this a
    /// [`RepoError::Conflict`].
    async fn sign_in(&self, sign_in: LinkedSignIn) -> RepoResult<User>;
    /// The top-level claim names OIDC users signed in with, sorted; only of members of
    /// `org` when given.
    async fn claim_fields(&self, org: Option<OrganizationId>) -> RepoResult<Vec<String>>;
    /// The string values of claim `field` (each string of an array claim), sorted;
    /// only of members of `org` when given.
    async fn claim_values(
        &self,
        org: Option<OrganizationId>,
        field: &str,
    ) -> RepoResult<Vec<String>>;
}

/// Users' Git SSH keys.
#[async_trait]
pub trait GitSshKeyRepo: Send + Sync {
    /// A user's key; `NotFound` if they have none yet.
    async fn get(&self, user: UserId) -> RepoResult<crate::model::GitSshKey>;
    /// Stores `key` unless the user already has one, and returns the stored key
    /// (so two concurrent first reads agree on one key). `NotFound` if the user is
    /// not there.
    async fn insert_if_absent(
        &self,
        key: crate::model::GitSshKey,
    ) -> RepoResult<crate::model::GitSshKey>;
    /// Replaces the user's key pair, keeping `created_at` (or stores it when the user
    /// has none), with its audit record.
    async fn replace(
        &self,
        key: crate::model::GitSshKey,
        audit: AuditEntry,
    ) -> RepoResult<crate::model::GitSshKey>;
}

/// The registry of running server processes (replicas) sharing the database.
#[async_trait]
pub trait ReplicaRepo: Send + Sync {
    /// Writes a replica's row as given, inserting it if it is not there (first
    /// heartbeat, or removed meanwhile as stale).
    async fn heartbeat(&self, replica: crate::model::Replica) -> RepoResult<()>;
    /// The replicas that reported at or after `since`, oldest first.
    async fn alive(&self, since: OffsetDateTime) -> RepoResult<Vec<crate::model::Replica>>;
    /// Removes a replica's row; removing one that is not there is no error.
    async fn remove(&self, id: crate::ids::ReplicaId) -> RepoResult<()>;
    /// Removes the rows of replicas that last reported before `before`.
    async fn remove_stale(&self, before: OffsetDateTime) -> RepoResult<u64>;
    /// Times one round trip to the database.
    async fn ping(&self) -> RepoResult<std::time::Duration>;
}

/// The OAuth2 authorization server's storage: applications, client secrets, codes,
/// refresh-token families, and the API keys they issue (written in the same
/// transaction as the grant that issues them).
#[async_trait]
pub trait OAuth2Repo: Send + Sync {
    /// Stores an application; `Conflict("name")` if the name is taken.
    async fn create_app(
        &self,
        app: crate::oauth2::OAuth2App,
        audit: AuditEntry,
    ) -> RepoResult<crate::oauth2::OAuth2App>;
    /// One application.
    async fn get_app(&self, id: crate::ids::OAuth2AppId) -> RepoResult<crate::oauth2::OAuth2App>;
    /// Applications by name; with `authorized_by`, only those holding live tokens of
    /// that user.
    async fn list_apps(
        &self,
        authorized_by: Option<UserId>,
    ) -> RepoResult<Vec<crate::oauth2::OAuth2App>>;
    /// Replaces name, callback URL, icon and redirect URIs; `Conflict("name")` if the
    /// name is taken.
    async fn update_app(
        &self,
        app: crate::oauth2::OAuth2App,
        audit: AuditEntry,
    ) -> RepoResult<crate::oauth2::OAuth2App>;
    /// Deletes an application with its secrets, codes, tokens and the API keys issued.
    async fn delete_app(&self, id: crate::ids::OAuth2AppId, audit: AuditEntry) -> RepoResult<()>;
    /// Stores a client secret.
    async fn create_secret(
        &self,
        secret: crate::oauth2::OAuth2AppSecret,
        audit: AuditEntry,
    ) -> RepoResult<crate::oauth2::OAuth2AppSecret>;
    /// An application's secrets, oldest first.
    async fn list_secrets(
        &self,
        app: crate::ids::OAuth2AppId,
    ) -> RepoResult<Vec<crate::oauth2::OAuth2AppSecret>>;
    /// A secret by its prefix.
    async fn secret_by_prefix(&self, prefix: &str) -> RepoResult<crate::oauth2::OAuth2AppSecret>;
    /// Deletes a secret of an application and revokes the tokens obtained with it.
    async fn delete_secret(
        &self,
        app: crate::ids::OAuth2AppId,
        id: crate::ids::OAuth2SecretId,
        audit: AuditEntry,
    ) -> RepoResult<()>;
    /// Stores a code, dropping the expired codes of the same application and user.
    async fn create_code(&self, code: crate::oauth2::OAuth2Code) -> RepoResult<()>;
    /// A code by its prefix.
    async fn code_by_prefix(&self, prefix: &str) -> RepoResult<crate::oauth2::OAuth2Code>;
    /// Redeems a code, serialized per code: marks it used and issues the tokens, or,
    /// if it was used before, revokes everything issued from it and issues nothing.
    async fn redeem_code(
        &self,
        code: uuid::Uuid,
        issue: crate::oauth2::TokenIssue,
    ) -> RepoResult<crate::oauth2::Redemption>;
    /// A refresh token by its prefix.
    async fn refresh_by_prefix(&self, prefix: &str) -> RepoResult<crate::oauth2::RefreshToken>;
    /// Rotates a refresh token, serialized per token: a token not yet rotated, or
    /// rotated at or after `grace_since`, is marked rotated, its access token deleted,
    /// and the successor issued; a token rotated before `grace_since` revokes the
    /// whole family and issues nothing. A family revoked at the same time loses the
    /// successor too.
    async fn rotate_refresh(
        &self,
        old: uuid::Uuid,
        grace_since: OffsetDateTime,
        issue: crate::oauth2::TokenIssue,
    ) -> RepoResult<crate::oauth2::Redemption>;
    /// An OAuth2 access token with its refresh token and user.
    async fn access_token(&self, key: &ApiKeyId) -> RepoResult<crate::oauth2::AccessTokenInfo>;
    /// Revokes the family of a refresh token (by id), with its access tokens.
    async fn revoke_family(&self, family: uuid::Uuid) -> RepoResult<()>;
    /// Stores a client registered through RFC 7591: the application, its redirect
    /// URIs, its secret (confidential clients) and the registration, in one
    /// transaction; `Conflict("name")` if the name is taken.
    async fn register_client(
        &self,
        app: crate::oauth2::OAuth2App,
        secret: Option<crate::oauth2::OAuth2AppSecret>,
        registration: crate::oauth2::ClientRegistration,
        audit: AuditEntry,
    ) -> RepoResult<()>;
    /// The RFC 7591 registration of an application; `NotFound` if it was created
    /// through the admin API.
    async fn registration(
        &self,
        app: crate::ids::OAuth2AppId,
    ) -> RepoResult<crate::oauth2::ClientRegistration>;
    /// Replaces a registered client's application fields, redirect URIs, grant types
    /// and metadata; `Conflict("name")` if the name is taken.
    async fn update_registration(
        &self,
        app: crate::oauth2::OAuth2App,
        registration: crate::oauth2::ClientRegistration,
        audit: AuditEntry,
    ) -> RepoResult<()>;
    /// Stores a device authorization; `Conflict` if its user code is taken.
    async fn create_device(&self, device: crate::oauth2::DeviceAuthorization) -> RepoResult<()>;
    /// A device authorization by its device code's prefix.
    async fn device_by_prefix(
        &self,
        prefix: &str,
    ) -> RepoResult<crate::oauth2::DeviceAuthorization>;
    /// A device authorization by the hash of its user code.
    async fn device_by_user_code(
        &self,
        user_code_hash: &str,
    ) -> RepoResult<crate::oauth2::DeviceAuthorization>;
    /// Records the user's decision on a pending, unexpired device authorization;
    /// `false` if it was no longer pending or had expired.
    async fn decide_device(
        &self,
        id: uuid::Uuid,
        user: UserId,
        approved: bool,
        now: OffsetDateTime,
    ) -> RepoResult<bool>;
    /// A device polls, serialized per authorization: enforces the interval (growing
    /// it by 5 s on `SlowDown`), reports the state, and when it is approved and
    /// `issue` is given (minted for the approving user), marks it redeemed and
    /// issues the tokens.
    async fn poll_device(
        &self,
        id: uuid::Uuid,
        now: OffsetDateTime,
        issue: Option<crate::oauth2::TokenIssue>,
    ) -> RepoResult<crate::oauth2::DevicePoll>;
    /// Revokes everything an application holds for a user: codes, tokens, API keys.
    async fn revoke_app_for_user(
        &self,
        app: crate::ids::OAuth2AppId,
        user: UserId,
        audit: AuditEntry,
    ) -> RepoResult<()>;
}
