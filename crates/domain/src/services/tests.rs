//! Use-case tests against in-memory fakes of every port: a [`FakeStore`] for the
//! repositories, a [`FixedClock`] that only moves when told, a counting
//! [`CountingSecrets`] generator and a [`PlainHasher`] that stores `plain:<pw>`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::actor::Actor;
use crate::error::{DomainError, RepoError};
use crate::ids::{ApiKeyId, OrganizationId, UserId};
use crate::model::{
    ApiKey, AuditAction, AuditEntry, LoginType, NewUser, Organization, OrganizationMember, User,
    UserCredentials, UserStatus,
};
use crate::ports::{
    ApiKeyRepo, ChangeTag, Clock, OrganizationPatch, OrganizationRepo, PasswordHasher, RepoResult,
    SecretGenerator, Session, UserPage, UserQuery, UserRepo,
};
use crate::services::api_keys::CreateToken;
use crate::services::auth::SIGNED_OUT;
use crate::services::organizations::CreateOrganization;
use crate::services::users::{CreateFirstUser, CreateUser};
use crate::services::{DomainConfig, Ports, Services};
use crate::token::{hash_secret, split_token};
use crate::values::{Email, Username};

/// The instant every test starts at.
const NOW: OffsetDateTime = datetime!(2026-05-04 03:02:01.5 UTC);
/// A password the strength rules accept.
const PASSWORD: &str = "SomeSecurePassword!";

// ---------------------------------------------------------------------------
// Fakes
// ---------------------------------------------------------------------------

/// A clock that stands still until advanced.
struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// Deterministic "randomness": the n-th call returns n, zero-padded to the length.
#[derive(Default)]
struct CountingSecrets(AtomicUsize);

impl SecretGenerator for CountingSecrets {
    fn alphanumeric(&self, len: usize) -> String {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        let digits = format!("{n:0>len$}");
        digits[digits.len() - len..].to_owned()
    }
}

/// A "hash" anyone can read, and how often each operation ran.
#[derive(Default)]
struct PlainHasher {
    hashes: AtomicUsize,
    verifies: AtomicUsize,
}

impl PlainHasher {
    fn calls(&self) -> (usize, usize) {
        (
            self.hashes.load(Ordering::SeqCst),
            self.verifies.load(Ordering::SeqCst),
        )
    }
}

#[async_trait]
impl PasswordHasher for PlainHasher {
    async fn hash(&self, password: &str) -> Result<String, String> {
        self.hashes.fetch_add(1, Ordering::SeqCst);
        Ok(format!("plain:{password}"))
    }

    async fn verify(&self, password: &str, phc: &str) -> Result<bool, String> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        Ok(phc == format!("plain:{password}"))
    }
}

/// A user row: the entity without memberships (derived on read) plus its hash.
#[derive(Clone)]
struct StoredUser {
    user: User,
    hashed_password: Option<String>,
}

#[derive(Default)]
struct State {
    users: BTreeMap<UserId, StoredUser>,
    orgs: BTreeMap<OrganizationId, Organization>,
    members: Vec<OrganizationMember>,
    keys: BTreeMap<String, ApiKey>,
    audit: Vec<AuditEntry>,
    touches: usize,
    roles: Vec<crate::model::CustomRole>,
    groups: Vec<(crate::model::Group, Vec<UserId>)>,
    generation: u64,
    replicas: Vec<crate::model::Replica>,
    git_ssh_keys: BTreeMap<UserId, crate::model::GitSshKey>,
    idp_sync: std::collections::HashMap<crate::idp_sync::SyncScope, serde_json::Value>,
    links: Vec<crate::oidc::UserLink>,
}

impl State {
    fn is_member(&self, org: OrganizationId, user: UserId) -> bool {
        self.members
            .iter()
            .any(|m| m.organization_id == org && m.user_id == user)
    }

    fn hydrate(&self, stored: &StoredUser) -> User {
        let mut user = stored.user.clone();
        user.organization_ids = self
            .members
            .iter()
            .filter(|m| m.user_id == user.id)
            .map(|m| m.organization_id)
            .collect();
        user
    }

    fn user(&self, id: UserId) -> RepoResult<User> {
        self.users
            .get(&id)
            .map(|s| self.hydrate(s))
            .ok_or(RepoError::NotFound)
    }

    fn insert_user(&mut self, new: NewUser) -> RepoResult<User> {
        let taken = self.users.values().any(|s| {
            s.user.id == new.id
                || s.user
                    .username
                    .as_str()
                    .eq_ignore_ascii_case(new.username.as_str())
                || s.user
                    .email
                    .as_str()
                    .eq_ignore_ascii_case(new.email.as_str())
        });
        if taken {
            return Err(RepoError::Conflict("users".into()));
        }
        if let Some(missing) = new
            .organization_ids
            .iter()
            .find(|o| !self.orgs.contains_key(o))
        {
            return Err(RepoError::MissingReference(missing.to_string()));
        }
        let user = User {
            id: new.id,
            username: new.username,
            email: new.email,
            name: new.name,
            avatar_url: String::new(),
            status: new.status,
            login_type: new.login_type,
            is_service_account: false,
            site_roles: new
                .site_roles
                .into_iter()
                .filter(|r| r != "member")
                .collect(),
            organization_ids: Vec::new(),
            theme_preference: String::new(),
            created_at: new.now,
            updated_at: new.now,
            last_seen_at: new.now,
        };
        for org in new.organization_ids {
            self.members.push(OrganizationMember {
                organization_id: org,
                user_id: user.id,
                roles: Vec::new(),
                custom_role_display_names: Default::default(),
                created_at: new.now,
                updated_at: new.now,
            });
        }
        let id = user.id;
        self.users.insert(
            id,
            StoredUser {
                user,
                hashed_password: new.hashed_password,
            },
        );
        self.user(id)
    }

    fn org_name_taken(&self, name: &str, except: Option<OrganizationId>) -> bool {
        self.orgs
            .values()
            .any(|o| Some(o.id) != except && o.name.as_str().eq_ignore_ascii_case(name))
    }
}

/// Distinct, recognisable "key pairs" (the real generator is tested in its adapter).
#[derive(Default)]
struct CountingSshKeys(AtomicUsize);

impl crate::ports::SshKeyGenerator for CountingSshKeys {
    fn generate(&self) -> Result<crate::ports::SshKeyPair, String> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Ok(crate::ports::SshKeyPair {
            private_key: format!("private {n}"),
            public_key: format!("ssh-ed25519 public{n}\n"),
        })
    }
}

/// Every repository port over one in-memory state.
#[derive(Default)]
struct FakeStore(Mutex<State>);

impl FakeStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }
}

#[async_trait]
impl crate::ports::IdpSyncRepo for FakeStore {
    async fn get(
        &self,
        scope: crate::idp_sync::SyncScope,
    ) -> RepoResult<Option<serde_json::Value>> {
        Ok(self.state().idp_sync.get(&scope).cloned())
    }

    async fn modify(
        &self,
        scope: crate::idp_sync::SyncScope,
        _now: OffsetDateTime,
        change: crate::ports::SyncSettingsChange,
    ) -> RepoResult<serde_json::Value> {
        let mut state = self.state();
        let (new, audit) = change(state.idp_sync.get(&scope).cloned())?;
        state.idp_sync.insert(scope, new.clone());
        state.audit.push(audit);
        Ok(new)
    }

    async fn sync_state(
        &self,
        user: UserId,
        orgs: Vec<OrganizationId>,
    ) -> RepoResult<crate::idp_sync::plan::SyncState> {
        use crate::idp_sync::SyncScope;
        let state = self.state();
        let mut out = crate::idp_sync::plan::SyncState::default();
        for org in orgs {
            for (group, members) in state
                .groups
                .iter()
                .filter(|(g, _)| g.organization_id == org)
            {
                if group.id.as_uuid() == org.as_uuid() {
                    continue;
                }
                out.groups
                    .entry(org)
                    .or_default()
                    .push(crate::idp_sync::plan::GroupRef {
                        id: group.id,
                        name: group.name.clone(),
                    });
                if members.contains(&user) {
                    out.memberships.entry(org).or_default().insert(group.id);
                }
            }
            out.custom_roles.insert(
                org,
                state
                    .roles
                    .iter()
                    .filter(|r| r.organization_id == org)
                    .map(|r| r.name.clone())
                    .collect(),
            );
            for (scope, into) in [
                (SyncScope::Groups(org), &mut out.group_settings),
                (SyncScope::Roles(org), &mut out.role_settings),
            ] {
                if let Some(settings) = state.idp_sync.get(&scope) {
                    into.insert(org, settings.clone());
                }
            }
        }
        Ok(out)
    }

    async fn apply(
        &self,
        user: UserId,
        changes: crate::idp_sync::plan::SyncChanges,
        now: OffsetDateTime,
    ) -> RepoResult<()> {
        let mut state = self.state();
        for org in changes.join {
            state.members.push(OrganizationMember {
                organization_id: org,
                user_id: user,
                roles: Vec::new(),
                custom_role_display_names: BTreeMap::new(),
                created_at: now,
                updated_at: now,
            });
        }
        for org in changes.leave {
            state
                .members
                .retain(|m| !(m.organization_id == org && m.user_id == user));
            for (group, members) in &mut state.groups {
                if group.organization_id == org {
                    members.retain(|m| *m != user);
                }
            }
        }
        for (org, plan) in changes.groups {
            let mut wanted = plan.groups.clone();
            for name in plan.create {
                let id = crate::ids::GroupId::new_random();
                state.groups.push((
                    crate::model::Group {
                        id,
                        organization_id: org,
                        name,
                        display_name: String::new(),
                        avatar_url: String::new(),
                        quota_allowance: 0,
                        source: crate::model::GroupSource::Oidc,
                        created_at: now,
                        updated_at: now,
                    },
                    Vec::new(),
                ));
                wanted.insert(id);
            }
            for (group, members) in &mut state.groups {
                if group.organization_id != org || group.id.as_uuid() == org.as_uuid() {
                    continue;
                }
                members.retain(|m| *m != user);
                if wanted.contains(&group.id) {
                    members.push(user);
                }
            }
        }
        for (org, roles) in changes.roles {
            if let Some(m) = state
                .members
                .iter_mut()
                .find(|m| m.organization_id == org && m.user_id == user)
            {
                m.roles = roles;
            }
        }
        state.audit.extend(changes.audit);
        Ok(())
    }
}

#[async_trait]
impl crate::ports::UserLinkRepo for FakeStore {
    async fn by_linked_id(
        &self,
        login_type: LoginType,
        linked_id: &str,
    ) -> RepoResult<crate::oidc::UserLink> {
        let state = self.state();
        state
            .links
            .iter()
            .find(|l| l.login_type == login_type && l.linked_id == linked_id)
            .cloned()
            .ok_or(RepoError::NotFound)
    }

    async fn of_user(
        &self,
        user: UserId,
        login_type: LoginType,
    ) -> RepoResult<crate::oidc::UserLink> {
        self.state()
            .links
            .iter()
            .find(|l| l.user_id == user && l.login_type == login_type)
            .cloned()
            .ok_or(RepoError::NotFound)
    }

    async fn sign_in(&self, sign_in: crate::ports::LinkedSignIn) -> RepoResult<User> {
        let user = sign_in.link.user_id;
        {
            let mut state = self.state();
            if state.links.iter().any(|l| {
                l.login_type == sign_in.link.login_type
                    && l.linked_id == sign_in.link.linked_id
                    && l.user_id != user
            }) {
                return Err(RepoError::Conflict("user link".into()));
            }
            if let Some(new) = sign_in.new_user {
                state.insert_user(new)?;
            }
            if sign_in.reactivate {
                let stored = state.users.get_mut(&user).ok_or(RepoError::NotFound)?;
                stored.user.status = UserStatus::Active;
            }
            if let Some((email, name)) = sign_in.profile {
                let stored = state.users.get_mut(&user).ok_or(RepoError::NotFound)?;
                stored.user.email = email;
                stored.user.name = name;
            }
            state
                .links
                .retain(|l| !(l.user_id == user && l.login_type == sign_in.link.login_type));
            state.links.push(sign_in.link);
            state.keys.insert(sign_in.key.id.0.clone(), sign_in.key);
            state.audit.extend(sign_in.audit);
        }
        let now = NOW;
        crate::ports::IdpSyncRepo::apply(self, user, sign_in.sync, now).await?;
        self.state().user(user)
    }

    async fn claim_fields(&self, org: Option<OrganizationId>) -> RepoResult<Vec<String>> {
        let state = self.state();
        let fields: BTreeSet<String> = state
            .links
            .iter()
            .filter(|l| org.is_none_or(|o| state.is_member(o, l.user_id)))
            .flat_map(|l| l.merged_claims().keys().cloned().collect::<Vec<_>>())
            .collect();
        Ok(fields.into_iter().collect())
    }

    async fn claim_values(
        &self,
        org: Option<OrganizationId>,
        field: &str,
    ) -> RepoResult<Vec<String>> {
        let state = self.state();
        let values: BTreeSet<String> = state
            .links
            .iter()
            .filter(|l| org.is_none_or(|o| state.is_member(o, l.user_id)))
            .flat_map(|l| {
                l.merged_claims()
                    .get(field)
                    .map(|v| {
                        crate::oidc::string_values(v)
                            .into_iter()
                            .map(str::to_owned)
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect();
        Ok(values.into_iter().collect())
    }
}

#[async_trait]
impl crate::ports::GitSshKeyRepo for FakeStore {
    async fn get(&self, user: UserId) -> RepoResult<crate::model::GitSshKey> {
        self.state()
            .git_ssh_keys
            .get(&user)
            .cloned()
            .ok_or(RepoError::NotFound)
    }

    async fn insert_if_absent(
        &self,
        key: crate::model::GitSshKey,
    ) -> RepoResult<crate::model::GitSshKey> {
        Ok(self
            .state()
            .git_ssh_keys
            .entry(key.user_id)
            .or_insert(key)
            .clone())
    }

    async fn replace(
        &self,
        mut key: crate::model::GitSshKey,
        audit: AuditEntry,
    ) -> RepoResult<crate::model::GitSshKey> {
        let mut state = self.state();
        if let Some(old) = state.git_ssh_keys.get(&key.user_id) {
            key.created_at = old.created_at;
        }
        state.git_ssh_keys.insert(key.user_id, key.clone());
        state.audit.push(audit);
        Ok(key)
    }
}

#[async_trait]
impl UserRepo for FakeStore {
    async fn any_exists(&self) -> RepoResult<bool> {
        Ok(!self.state().users.is_empty())
    }

    async fn create_first(
        &self,
        mut user: NewUser,
        default_org: Organization,
        audit: AuditEntry,
    ) -> RepoResult<(User, Organization)> {
        let mut state = self.state();
        if !state.users.is_empty() {
            return Err(RepoError::Conflict("first_user".into()));
        }
        let org = match state.orgs.values().find(|o| o.is_default) {
            Some(existing) => existing.clone(),
            None => {
                state.orgs.insert(default_org.id, default_org.clone());
                default_org
            }
        };
        user.organization_ids = vec![org.id];
        let created = state.insert_user(user)?;
        state.audit.push(audit.in_org(org.id));
        Ok((created, org))
    }

    async fn create(&self, user: NewUser, audit: AuditEntry) -> RepoResult<User> {
        let mut state = self.state();
        let created = state.insert_user(user)?;
        state.audit.push(audit);
        Ok(created)
    }

    async fn get(&self, id: UserId) -> RepoResult<User> {
        self.state().user(id)
    }

    async fn get_by_username(&self, username: &str) -> RepoResult<User> {
        let state = self.state();
        state
            .users
            .values()
            .find(|s| s.user.username.as_str().eq_ignore_ascii_case(username))
            .map(|s| state.hydrate(s))
            .ok_or(RepoError::NotFound)
    }

    async fn credentials_by_email(&self, email: &str) -> RepoResult<UserCredentials> {
        let state = self.state();
        state
            .users
            .values()
            .find(|s| s.user.email.as_str().eq_ignore_ascii_case(email))
            .map(|s| UserCredentials {
                user: state.hydrate(s),
                hashed_password: s.hashed_password.clone(),
            })
            .ok_or(RepoError::NotFound)
    }

    async fn list(&self, q: UserQuery) -> RepoResult<UserPage> {
        let state = self.state();
        let mut users: Vec<User> = state
            .users
            .values()
            .map(|s| state.hydrate(s))
            .filter(|u| {
                let lower = |s: &str| s.to_lowercase();
                q.search.as_deref().is_none_or(|s| {
                    lower(u.username.as_str()).contains(&lower(s))
                        || lower(u.email.as_str()).contains(&lower(s))
                }) && q
                    .username
                    .as_deref()
                    .is_none_or(|n| u.username.as_str().eq_ignore_ascii_case(n))
                    && q.email
                        .as_deref()
                        .is_none_or(|e| u.email.as_str().eq_ignore_ascii_case(e))
                    && (q.status.is_empty() || q.status.contains(&u.status))
                    && (q.login_types.is_empty() || q.login_types.contains(&u.login_type))
                    && (q.roles.is_empty()
                        || q.roles
                            .iter()
                            .any(|r| r == "member" || u.site_roles.contains(r)))
                    && q.only_ids.as_ref().is_none_or(|ids| ids.contains(&u.id))
                    && q.visible
                        .as_ref()
                        .is_none_or(|f| f.matches(&crate::services::users::user_object(u.id)))
            })
            .collect();
        users.sort_by_key(|u| u.username.as_str().to_lowercase());
        let count = i64::try_from(users.len()).unwrap();
        if let Some(after) = q.after_id {
            let after = state
                .user(after)
                .map_err(|_| RepoError::MissingReference("after_id: no such user".into()))?;
            let after = after.username.as_str().to_lowercase();
            users.retain(|u| u.username.as_str().to_lowercase() > after);
        }
        let users = users
            .into_iter()
            .skip(usize::try_from(q.offset).unwrap())
            .take(q.limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap()))
            .collect();
        Ok(UserPage { users, count })
    }

    async fn set_status(
        &self,
        id: UserId,
        status: UserStatus,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<User> {
        let mut state = self.state();
        let stored = state.users.get_mut(&id).ok_or(RepoError::NotFound)?;
        stored.user.status = status;
        stored.user.updated_at = now;
        state.audit.push(audit);
        state.user(id)
    }

    async fn update_profile(
        &self,
        id: UserId,
        username: crate::values::Username,
        name: String,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<User> {
        let mut state = self.state();
        let taken = state.users.values().any(|s| {
            s.user.id != id
                && s.user
                    .username
                    .as_str()
                    .eq_ignore_ascii_case(username.as_str())
        });
        if taken {
            return Err(RepoError::Conflict("username".into()));
        }
        let stored = state.users.get_mut(&id).ok_or(RepoError::NotFound)?;
        stored.user.username = username;
        stored.user.name = name;
        stored.user.updated_at = now;
        state.audit.push(audit);
        state.user(id)
    }

    async fn set_password(
        &self,
        id: UserId,
        hashed_password: String,
        keep: Option<ApiKeyId>,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<()> {
        let mut state = self.state();
        let stored = state.users.get_mut(&id).ok_or(RepoError::NotFound)?;
        stored.hashed_password = Some(hashed_password);
        stored.user.updated_at = now;
        state.keys.retain(|key_id, k| {
            k.user_id != id || keep.as_ref().is_some_and(|keep| &keep.0 == key_id)
        });
        state.audit.push(audit);
        Ok(())
    }

    async fn set_site_roles(
        &self,
        id: UserId,
        roles: Vec<String>,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<User> {
        let mut state = self.state();
        let stored = state.users.get_mut(&id).ok_or(RepoError::NotFound)?;
        let mut roles: Vec<String> = roles.into_iter().filter(|r| r != "member").collect();
        roles.sort();
        roles.dedup();
        stored.user.site_roles = roles;
        stored.user.updated_at = now;
        state.audit.push(audit);
        state.user(id)
    }

    async fn delete(&self, id: UserId, _now: OffsetDateTime, audit: AuditEntry) -> RepoResult<()> {
        let mut state = self.state();
        state.users.remove(&id).ok_or(RepoError::NotFound)?;
        state.members.retain(|m| m.user_id != id);
        for (_, members) in &mut state.groups {
            members.retain(|m| *m != id);
        }
        state.keys.retain(|_, k| k.user_id != id);
        state.audit.push(audit);
        Ok(())
    }
}

#[async_trait]
impl OrganizationRepo for FakeStore {
    async fn create(
        &self,
        org: Organization,
        creator: UserId,
        creator_roles: Vec<String>,
        audit: AuditEntry,
    ) -> RepoResult<Organization> {
        let mut state = self.state();
        if state.org_name_taken(org.name.as_str(), None) {
            return Err(RepoError::Conflict("organizations_name_lower".into()));
        }
        if !state.users.contains_key(&creator) {
            return Err(RepoError::MissingReference("user".into()));
        }
        state.orgs.insert(org.id, org.clone());
        state.members.push(OrganizationMember {
            organization_id: org.id,
            user_id: creator,
            roles: creator_roles,
            custom_role_display_names: Default::default(),
            created_at: org.created_at,
            updated_at: org.created_at,
        });
        state.audit.push(audit);
        Ok(org)
    }

    async fn get(&self, id: OrganizationId) -> RepoResult<Organization> {
        self.state()
            .orgs
            .get(&id)
            .cloned()
            .ok_or(RepoError::NotFound)
    }

    async fn get_by_name(&self, name: &str) -> RepoResult<Organization> {
        self.state()
            .orgs
            .values()
            .find(|o| o.name.as_str().eq_ignore_ascii_case(name))
            .cloned()
            .ok_or(RepoError::NotFound)
    }

    async fn get_default(&self) -> RepoResult<Organization> {
        self.state()
            .orgs
            .values()
            .find(|o| o.is_default)
            .cloned()
            .ok_or(RepoError::NotFound)
    }

    async fn list(
        &self,
        only: Option<Vec<OrganizationId>>,
        visible: Option<warden_rbac::Filter>,
    ) -> RepoResult<Vec<Organization>> {
        let mut orgs: Vec<Organization> = self
            .state()
            .orgs
            .values()
            .filter(|o| only.as_ref().is_none_or(|ids| ids.contains(&o.id)))
            .filter(|o| {
                visible
                    .as_ref()
                    .is_none_or(|f| f.matches(&crate::services::organizations::org_object(o.id)))
            })
            .cloned()
            .collect();
        orgs.sort_by_key(|o| o.name.as_str().to_lowercase());
        Ok(orgs)
    }

    async fn update(
        &self,
        id: OrganizationId,
        patch: OrganizationPatch,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<Organization> {
        let mut state = self.state();
        if let Some(name) = &patch.name
            && state.org_name_taken(name.as_str(), Some(id))
        {
            return Err(RepoError::Conflict("organizations_name_lower".into()));
        }
        let org = state.orgs.get_mut(&id).ok_or(RepoError::NotFound)?;
        if let Some(name) = patch.name {
            org.name = name;
        }
        if let Some(display_name) = patch.display_name {
            org.display_name = display_name;
        }
        if let Some(description) = patch.description {
            org.description = description;
        }
        if let Some(icon) = patch.icon {
            org.icon = icon;
        }
        org.updated_at = now;
        let org = org.clone();
        state.audit.push(audit);
        Ok(org)
    }

    async fn delete(&self, id: OrganizationId, audit: AuditEntry) -> RepoResult<()> {
        let mut state = self.state();
        match state.orgs.get(&id) {
            Some(org) if !org.is_default => {}
            _ => return Err(RepoError::NotFound),
        }
        state.orgs.remove(&id);
        state.members.retain(|m| m.organization_id != id);
        state.audit.push(audit);
        Ok(())
    }

    async fn memberships_of(&self, user: UserId) -> RepoResult<Vec<OrganizationMember>> {
        Ok(self
            .state()
            .members
            .iter()
            .filter(|m| m.user_id == user)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl crate::ports::MemberRepo for FakeStore {
    async fn add(
        &self,
        org: OrganizationId,
        user: UserId,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<OrganizationMember> {
        let mut state = self.state();
        if state
            .members
            .iter()
            .any(|m| m.organization_id == org && m.user_id == user)
        {
            return Err(RepoError::Conflict("organization_members".into()));
        }
        let member = OrganizationMember {
            organization_id: org,
            user_id: user,
            roles: Vec::new(),
            custom_role_display_names: Default::default(),
            created_at: now,
            updated_at: now,
        };
        state.members.push(member.clone());
        state.audit.push(audit);
        Ok(member)
    }

    async fn get(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> RepoResult<crate::model::MemberWithUser> {
        let state = self.state();
        let member = state
            .members
            .iter()
            .find(|m| m.organization_id == org && m.user_id == user)
            .cloned()
            .ok_or(RepoError::NotFound)?;
        Ok(crate::model::MemberWithUser {
            member,
            user: state.user(user)?,
        })
    }

    async fn list(
        &self,
        org: OrganizationId,
        query: crate::ports::MemberQuery,
    ) -> RepoResult<(Vec<crate::model::MemberWithUser>, i64)> {
        let state = self.state();
        let mut all: Vec<_> = state
            .members
            .iter()
            .filter(|m| m.organization_id == org)
            .filter(|m| {
                query
                    .only_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&m.user_id))
            })
            .map(|m| {
                Ok(crate::model::MemberWithUser {
                    member: m.clone(),
                    user: state.user(m.user_id)?,
                })
            })
            .collect::<RepoResult<_>>()?;
        all.sort_by(|a, b| a.user.username.as_str().cmp(b.user.username.as_str()));
        let count = all.len() as i64;
        Ok((all, count))
    }

    async fn remove(&self, org: OrganizationId, user: UserId, audit: AuditEntry) -> RepoResult<()> {
        let mut state = self.state();
        let before = state.members.len();
        state
            .members
            .retain(|m| !(m.organization_id == org && m.user_id == user));
        if state.members.len() == before {
            return Err(RepoError::NotFound);
        }
        state.audit.push(audit);
        Ok(())
    }

    async fn set_roles(
        &self,
        org: OrganizationId,
        user: UserId,
        roles: Vec<String>,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<OrganizationMember> {
        let mut state = self.state();
        let member = state
            .members
            .iter_mut()
            .find(|m| m.organization_id == org && m.user_id == user)
            .ok_or(RepoError::NotFound)?;
        member.roles = roles;
        member.updated_at = now;
        let member = member.clone();
        state.audit.push(audit);
        Ok(member)
    }
}

#[async_trait]
impl crate::ports::RoleRepo for FakeStore {
    async fn list(&self, org: OrganizationId) -> RepoResult<Vec<crate::model::CustomRole>> {
        Ok(self
            .state()
            .roles
            .iter()
            .filter(|r| r.organization_id == org)
            .cloned()
            .collect())
    }

    async fn get(&self, org: OrganizationId, name: &str) -> RepoResult<crate::model::CustomRole> {
        self.state()
            .roles
            .iter()
            .find(|r| r.organization_id == org && r.name.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or(RepoError::NotFound)
    }

    async fn create(
        &self,
        role: crate::model::CustomRole,
        audit: AuditEntry,
    ) -> RepoResult<crate::model::CustomRole> {
        let mut state = self.state();
        if state.roles.iter().any(|r| {
            r.organization_id == role.organization_id && r.name.eq_ignore_ascii_case(&role.name)
        }) {
            return Err(RepoError::Conflict("custom_roles".into()));
        }
        state.roles.push(role.clone());
        state.audit.push(audit);
        Ok(role)
    }

    async fn update(
        &self,
        role: crate::model::CustomRole,
        audit: AuditEntry,
    ) -> RepoResult<crate::model::CustomRole> {
        let mut state = self.state();
        let stored = state
            .roles
            .iter_mut()
            .find(|r| r.organization_id == role.organization_id && r.name == role.name)
            .ok_or(RepoError::NotFound)?;
        *stored = role.clone();
        state.audit.push(audit);
        Ok(role)
    }

    async fn delete(&self, org: OrganizationId, name: &str, audit: AuditEntry) -> RepoResult<()> {
        let mut state = self.state();
        let before = state.roles.len();
        state
            .roles
            .retain(|r| !(r.organization_id == org && r.name.eq_ignore_ascii_case(name)));
        if state.roles.len() == before {
            return Err(RepoError::NotFound);
        }
        for m in state
            .members
            .iter_mut()
            .filter(|m| m.organization_id == org)
        {
            m.roles.retain(|r| !r.eq_ignore_ascii_case(name));
        }
        state.audit.push(audit);
        Ok(())
    }
}

impl State {
    fn group_details(
        &self,
        group: &crate::model::Group,
        members: &[UserId],
    ) -> RepoResult<crate::model::GroupDetails> {
        let members: Vec<User> = if group.is_everyone() {
            self.members
                .iter()
                .filter(|m| m.organization_id == group.organization_id)
                .map(|m| self.user(m.user_id))
                .collect::<RepoResult<_>>()?
        } else {
            members
                .iter()
                .map(|u| self.user(*u))
                .collect::<RepoResult<_>>()?
        };
        Ok(crate::model::GroupDetails {
            group: group.clone(),
            organization: self
                .orgs
                .get(&group.organization_id)
                .cloned()
                .ok_or(RepoError::NotFound)?,
            total_member_count: members.len() as i64,
            members,
        })
    }
}

#[async_trait]
impl crate::ports::GroupRepo for FakeStore {
    async fn list(
        &self,
        query: crate::ports::GroupQuery,
    ) -> RepoResult<Vec<crate::model::GroupDetails>> {
        let state = self.state();
        state
            .groups
            .iter()
            .filter(|(g, _)| query.organization.is_none_or(|o| g.organization_id == o))
            .filter(|(g, _)| query.ids.as_ref().is_none_or(|ids| ids.contains(&g.id)))
            .filter(|(_, members)| query.has_member.is_none_or(|u| members.contains(&u)))
            .map(|(g, members)| state.group_details(g, members))
            .collect()
    }

    async fn get(&self, id: crate::ids::GroupId) -> RepoResult<crate::model::GroupDetails> {
        let state = self.state();
        let (g, members) = state
            .groups
            .iter()
            .find(|(g, _)| g.id == id)
            .ok_or(RepoError::NotFound)?;
        state.group_details(g, members)
    }

    async fn get_by_name(
        &self,
        org: OrganizationId,
        name: &str,
    ) -> RepoResult<crate::model::GroupDetails> {
        let state = self.state();
        let (g, members) = state
            .groups
            .iter()
            .find(|(g, _)| g.organization_id == org && g.name.eq_ignore_ascii_case(name))
            .ok_or(RepoError::NotFound)?;
        state.group_details(g, members)
    }

    async fn create(
        &self,
        group: crate::model::Group,
        audit: AuditEntry,
    ) -> RepoResult<crate::model::GroupDetails> {
        let mut state = self.state();
        if state.groups.iter().any(|(g, _)| {
            g.organization_id == group.organization_id && g.name.eq_ignore_ascii_case(&group.name)
        }) {
            return Err(RepoError::Conflict("groups".into()));
        }
        state.groups.push((group.clone(), Vec::new()));
        state.audit.push(audit);
        state.group_details(&group, &[])
    }

    async fn update(
        &self,
        id: crate::ids::GroupId,
        patch: crate::ports::GroupPatch,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> RepoResult<crate::model::GroupDetails> {
        let mut state = self.state();
        let org = state
            .groups
            .iter()
            .find(|(g, _)| g.id == id)
            .map(|(g, _)| g.organization_id)
            .ok_or(RepoError::NotFound)?;
        for user in &patch.add_users {
            if !state
                .members
                .iter()
                .any(|m| m.organization_id == org && m.user_id == *user)
            {
                return Err(RepoError::MissingReference(user.to_string()));
            }
        }
        let (group, members) = state
            .groups
            .iter_mut()
            .find(|(g, _)| g.id == id)
            .ok_or(RepoError::NotFound)?;
        let mut next = members.clone();
        for user in &patch.add_users {
            if next.contains(user) {
                return Err(RepoError::Conflict(format!("member:{user}")));
            }
            next.push(*user);
        }
        for user in &patch.remove_users {
            let before = next.len();
            next.retain(|u| u != user);
            if next.len() == before {
                return Err(RepoError::NotFound);
            }
        }
        if let Some(name) = patch.name {
            group.name = name;
        }
        if let Some(display_name) = patch.display_name {
            group.display_name = display_name;
        }
        group.updated_at = now;
        *members = next;
        let (group, members) = (group.clone(), members.clone());
        state.audit.push(audit);
        state.group_details(&group, &members)
    }

    async fn delete(&self, id: crate::ids::GroupId, audit: AuditEntry) -> RepoResult<()> {
        let mut state = self.state();
        let before = state.groups.len();
        state.groups.retain(|(g, _)| g.id != id);
        if state.groups.len() == before {
            return Err(RepoError::NotFound);
        }
        state.audit.push(audit);
        Ok(())
    }
}

#[async_trait]
impl crate::ports::ReplicaRepo for FakeStore {
    async fn heartbeat(&self, replica: crate::model::Replica) -> RepoResult<()> {
        let mut state = self.state();
        state.replicas.retain(|r| r.id != replica.id);
        state.replicas.push(replica);
        Ok(())
    }

    async fn alive(&self, since: OffsetDateTime) -> RepoResult<Vec<crate::model::Replica>> {
        let mut alive: Vec<_> = self
            .state()
            .replicas
            .iter()
            .filter(|r| r.updated_at >= since)
            .cloned()
            .collect();
        alive.sort_by_key(|r| r.created_at);
        Ok(alive)
    }

    async fn remove(&self, id: crate::ids::ReplicaId) -> RepoResult<()> {
        self.state().replicas.retain(|r| r.id != id);
        Ok(())
    }

    async fn remove_stale(&self, before: OffsetDateTime) -> RepoResult<u64> {
        let mut state = self.state();
        let was = state.replicas.len();
        state.replicas.retain(|r| r.updated_at >= before);
        Ok((was - state.replicas.len()) as u64)
    }

    async fn ping(&self) -> RepoResult<std::time::Duration> {
        Ok(std::time::Duration::from_micros(1))
    }
}

#[async_trait]
impl crate::ports::AuditRepo for FakeStore {
    async fn list(
        &self,
        query: crate::ports::AuditQuery,
        count_cap: i64,
    ) -> RepoResult<(Vec<crate::model::AuditLog>, i64)> {
        let state = self.state();
        let matching: Vec<_> = state
            .audit
            .iter()
            .rev()
            .filter(|e| {
                query
                    .resource_type
                    .as_ref()
                    .is_none_or(|t| &e.resource_type == t)
            })
            .filter(|e| {
                query
                    .only_orgs
                    .as_ref()
                    .is_none_or(|orgs| e.organization_id.is_some_and(|o| orgs.contains(&o)))
            })
            .cloned()
            .collect();
        let count = (matching.len() as i64).min(count_cap);
        let logs = matching
            .into_iter()
            .skip(query.offset as usize)
            .take(query.limit as usize)
            .map(|entry| crate::model::AuditLog {
                user: entry.actor.and_then(|u| state.user(u).ok()),
                organization: None,
                resource_deleted: false,
                resource_app_id: None,
                entry,
            })
            .collect();
        Ok((logs, count))
    }
}

#[async_trait]
impl ApiKeyRepo for FakeStore {
    async fn create(&self, key: ApiKey, audit: Option<AuditEntry>) -> RepoResult<ApiKey> {
        let mut state = self.state();
        if !state.users.contains_key(&key.user_id) {
            return Err(RepoError::MissingReference("user".into()));
        }
        let name_taken = !key.token_name.is_empty()
            && state
                .keys
                .values()
                .any(|k| k.user_id == key.user_id && k.token_name == key.token_name);
        if name_taken || state.keys.contains_key(&key.id.0) {
            return Err(RepoError::Conflict("api_keys_user_token_name".into()));
        }
        state.keys.insert(key.id.0.clone(), key.clone());
        state.audit.extend(audit);
        Ok(key)
    }

    async fn session(&self, id: &ApiKeyId) -> RepoResult<Session> {
        let state = self.state();
        let key = state.keys.get(&id.0).cloned().ok_or(RepoError::NotFound)?;
        let user = state.user(key.user_id)?;
        let memberships = state
            .members
            .iter()
            .filter(|m| m.user_id == user.id)
            .cloned()
            .collect();
        let groups = state
            .groups
            .iter()
            .filter(|(_, members)| members.contains(&user.id))
            .map(|(g, _)| g.id)
            .collect();
        let custom_roles = state.roles.clone();
        Ok(Session {
            key,
            user,
            memberships,
            groups,
            custom_roles,
        })
    }

    /// Moves on every call: the fake never lets a compiled session be reused, so
    /// every test sees the store's current state.
    fn generation(&self) -> u64 {
        let mut state = self.state();
        state.generation += 1;
        state.generation
    }

    fn unchanged_since(&self, _generation: u64, _tags: &[ChangeTag]) -> bool {
        // Every call moves the generation: a cached session is never reused here.
        false
    }

    async fn touch(
        &self,
        id: &ApiKeyId,
        user: UserId,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> RepoResult<()> {
        let mut state = self.state();
        state.touches += 1;
        if let Some(key) = state.keys.get_mut(&id.0) {
            key.last_used = now;
            key.expires_at = expires_at;
        }
        if let Some(stored) = state.users.get_mut(&user) {
            stored.user.last_seen_at = now;
        }
        Ok(())
    }

    async fn get(&self, id: &ApiKeyId) -> RepoResult<ApiKey> {
        self.state()
            .keys
            .get(&id.0)
            .cloned()
            .ok_or(RepoError::NotFound)
    }

    async fn get_by_name(&self, user: UserId, name: &str) -> RepoResult<ApiKey> {
        self.state()
            .keys
            .values()
            .find(|k| k.user_id == user && k.token_name == name && k.login_type == LoginType::Token)
            .cloned()
            .ok_or(RepoError::NotFound)
    }

    async fn list_tokens(&self, user: Option<UserId>) -> RepoResult<Vec<(ApiKey, String)>> {
        let state = self.state();
        Ok(state
            .keys
            .values()
            .filter(|k| k.login_type == LoginType::Token && user.is_none_or(|u| k.user_id == u))
            .filter_map(|k| {
                let owner = state.users.get(&k.user_id)?;
                Some((k.clone(), owner.user.username.as_str().to_owned()))
            })
            .collect())
    }

    async fn delete(&self, id: &ApiKeyId, audit: Option<AuditEntry>) -> RepoResult<()> {
        let mut state = self.state();
        state.keys.remove(&id.0).ok_or(RepoError::NotFound)?;
        state.audit.extend(audit);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

struct Harness {
    store: Arc<FakeStore>,
    clock: Arc<FixedClock>,
    hasher: Arc<PlainHasher>,
    services: Services,
    /// Distinguishes keys seeded directly into the store.
    seeded_keys: AtomicUsize,
}

fn harness() -> Harness {
    let store = Arc::new(FakeStore::default());
    let clock = Arc::new(FixedClock(Mutex::new(NOW)));
    let hasher = Arc::new(PlainHasher::default());
    let services = Services::new(
        Ports {
            users: store.clone(),
            organizations: store.clone(),
            api_keys: store.clone(),
            members: store.clone(),
            roles: store.clone(),
            groups: store.clone(),
            audit: store.clone(),
            replicas: store.clone(),
            clock: clock.clone(),
            secrets: Arc::new(CountingSecrets::default()),
            passwords: hasher.clone(),
            git_ssh_keys: store.clone(),
            idp_sync: store.clone(),
            user_links: store.clone(),
            ssh_keys: Arc::new(CountingSshKeys::default()),
        },
        DomainConfig::default(),
    );
    Harness {
        store,
        clock,
        hasher,
        services,
        seeded_keys: AtomicUsize::new(0),
    }
}

impl Harness {
    /// The first user, through the use case, and the default organization.
    async fn first_user(&self) -> (User, Organization) {
        self.services
            .create_first_user(CreateFirstUser {
                email: "admin@example.com".into(),
                username: "admin".into(),
                name: "Ada Admin".into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap()
    }

    /// A user written straight into the store, bypassing the use cases' rules.
    fn seed_user(
        &self,
        username: &str,
        status: UserStatus,
        login_type: LoginType,
        site_roles: &[&str],
    ) -> User {
        let default = self
            .store
            .state()
            .orgs
            .values()
            .find(|o| o.is_default)
            .map(|o| o.id);
        self.store
            .state()
            .insert_user(NewUser {
                id: UserId::new_random(),
                username: Username::from_trusted(username.to_owned()),
                email: Email::from_trusted(format!("{username}@example.com")),
                name: String::new(),
                hashed_password: Some(format!("plain:{PASSWORD}")),
                status,
                login_type,
                site_roles: site_roles.iter().map(|r| (*r).to_owned()).collect(),
                organization_ids: default.into_iter().collect(),
                now: NOW,
            })
            .unwrap()
    }

    /// A key written straight into the store; returns the token that presents it.
    fn seed_key(
        &self,
        user: UserId,
        lifetime: Duration,
        last_used: OffsetDateTime,
        expires_at: OffsetDateTime,
        scopes: &[&str],
    ) -> String {
        let n = self.seeded_keys.fetch_add(1, Ordering::SeqCst);
        let id = format!("seeded{n:04}");
        let secret = format!("{n:s>22}");
        self.store.state().keys.insert(
            id.clone(),
            ApiKey {
                id: ApiKeyId(id.clone()),
                user_id: user,
                hashed_secret: hash_secret(&secret),
                last_used,
                expires_at,
                created_at: last_used,
                updated_at: last_used,
                login_type: LoginType::Password,
                lifetime_seconds: lifetime.whole_seconds(),
                token_name: String::new(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                allow_list: vec!["*:*".into()],
            },
        );
        format!("{id}-{secret}")
    }

    /// A fresh, day-long `coder:all` key for `user`, authenticated.
    async fn sign_in(&self, user: &User) -> Actor {
        self.sign_in_scoped(user, &["coder:all"]).await
    }

    async fn sign_in_scoped(&self, user: &User, scopes: &[&str]) -> Actor {
        let now = self.clock.now();
        let token = self.seed_key(user.id, Duration::DAY, now, now + Duration::DAY, scopes);
        self.services.authenticate(&token).await.unwrap()
    }

    fn key_of(&self, token: &str) -> ApiKey {
        let (id, _) = split_token(token).unwrap();
        self.store.state().keys[&id.0].clone()
    }

    fn touches(&self) -> usize {
        self.store.state().touches
    }

    fn status_of(&self, id: UserId) -> UserStatus {
        self.store.state().users[&id].user.status
    }
}

fn unauthorized(e: DomainError) -> (String, String) {
    match e {
        DomainError::Unauthorized { message, detail } => (message, detail),
        other => panic!("expected 401, got {other:?}"),
    }
}

fn forbidden(e: DomainError) -> String {
    match e {
        DomainError::Forbidden { message, .. } => message,
        other => panic!("expected 403, got {other:?}"),
    }
}

fn invalid(e: DomainError) -> (String, String, Vec<(String, String)>) {
    match e {
        DomainError::Invalid {
            message,
            detail,
            validations,
        } => (
            message,
            detail,
            validations
                .into_iter()
                .map(|v| (v.field, v.detail))
                .collect(),
        ),
        other => panic!("expected 400, got {other:?}"),
    }
}

fn fields(validations: &[(String, String)]) -> Vec<&str> {
    validations.iter().map(|(f, _)| f.as_str()).collect()
}

// ---------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------

#[tokio::test]
async fn authenticate_refuses_an_expired_key_with_coders_detail() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let expired_at = datetime!(2026-05-04 03:02:00.25 UTC);
    let token = h.seed_key(
        admin.id,
        Duration::DAY,
        expired_at - Duration::DAY,
        expired_at,
        &["coder:all"],
    );
    let (message, detail) = unauthorized(h.services.authenticate(&token).await.unwrap_err());
    assert_eq!(message, SIGNED_OUT);
    assert_eq!(
        detail,
        r#"API key expired at "2026-05-04 03:02:00.250000 +0000 UTC"."#
    );
    assert_eq!(h.touches(), 0, "a refused key is not touched");

    // Expiring exactly now is still valid, as in Coder (`now.After(expires)`).
    let token = h.seed_key(
        admin.id,
        Duration::DAY,
        NOW - Duration::DAY,
        NOW,
        &["coder:all"],
    );
    assert!(h.services.authenticate(&token).await.is_ok());
}

#[tokio::test]
async fn authenticate_refuses_malformed_unknown_and_wrong_secret_tokens() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let token = h.seed_key(
        admin.id,
        Duration::DAY,
        NOW,
        NOW + Duration::DAY,
        &["coder:all"],
    );
    let (id, secret) = token.split_once('-').unwrap();

    let cases = [
        (
            "nonsense".to_owned(),
            "Invalid API key format: incorrect amount of API key parts, expected 2 got 1",
        ),
        (format!("unknownid0-{secret}"), "API key is invalid."),
        (
            format!("{id}-{}", "x".repeat(22)),
            "API key secret is invalid.",
        ),
    ];
    for (token, want) in cases {
        let (message, detail) = unauthorized(h.services.authenticate(&token).await.unwrap_err());
        assert_eq!(message, SIGNED_OUT);
        assert_eq!(detail, want, "for {token:?}");
    }
    assert_eq!(
        h.services.authenticate(&token).await.unwrap().user.id,
        admin.id
    );
}

#[tokio::test]
async fn authenticate_records_use_at_most_once_an_hour() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    // Expiry far beyond the lifetime, so only staleness (not sliding) can cause a write.
    let far = NOW + Duration::days(10);
    let token = h.seed_key(admin.id, Duration::DAY, NOW, far, &["coder:all"]);

    h.services.authenticate(&token).await.unwrap();
    h.clock.advance(Duration::minutes(30));
    h.services.authenticate(&token).await.unwrap();
    h.clock.advance(Duration::minutes(30));
    h.services.authenticate(&token).await.unwrap();
    assert_eq!(h.touches(), 0, "exactly an hour is not yet stale");

    h.clock.advance(Duration::seconds(1));
    let actor = h.services.authenticate(&token).await.unwrap();
    assert_eq!(h.touches(), 1);
    let used = NOW + Duration::HOUR + Duration::SECOND;
    assert_eq!(actor.key.last_used, used);
    let stored = h.key_of(&token);
    assert_eq!(stored.last_used, used);
    assert_eq!(stored.expires_at, far, "no slide while far from expiry");
    assert_eq!(h.store.state().users[&admin.id].user.last_seen_at, used);

    for _ in 0..5 {
        h.clock.advance(Duration::minutes(10));
        h.services.authenticate(&token).await.unwrap();
    }
    assert_eq!(h.touches(), 1, "within the hour after a touch, reads only");
    h.clock.advance(Duration::minutes(11));
    h.services.authenticate(&token).await.unwrap();
    assert_eq!(h.touches(), 2);
}

#[tokio::test]
async fn authenticate_slides_the_expiry() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let token = h.seed_key(
        admin.id,
        Duration::DAY,
        NOW,
        NOW + Duration::DAY,
        &["coder:all"],
    );

    h.clock.advance(Duration::hours(2));
    let actor = h.services.authenticate(&token).await.unwrap();
    let now = NOW + Duration::hours(2);
    assert_eq!(actor.key.expires_at, now + Duration::DAY);
    let stored = h.key_of(&token);
    assert_eq!(
        (stored.last_used, stored.expires_at),
        (now, now + Duration::DAY)
    );
    assert_eq!(h.touches(), 1);

    // Close to expiry but recently used: the slide alone triggers the write.
    let near = h.seed_key(
        admin.id,
        Duration::DAY,
        now,
        now + Duration::minutes(30),
        &["coder:all"],
    );
    h.services.authenticate(&near).await.unwrap();
    assert_eq!(h.touches(), 2);
    assert_eq!(h.key_of(&near).expires_at, now + Duration::DAY);
}

#[tokio::test]
async fn authenticate_reactivates_a_dormant_user() {
    let h = harness();
    h.first_user().await;
    let sleeper = h.seed_user("sleeper", UserStatus::Dormant, LoginType::Password, &[]);
    let token = h.seed_key(
        sleeper.id,
        Duration::DAY,
        NOW,
        NOW + Duration::DAY,
        &["coder:all"],
    );
    let audits = h.store.state().audit.len();

    let actor = h.services.authenticate(&token).await.unwrap();
    assert_eq!(actor.user.status, UserStatus::Active);
    assert_eq!(h.status_of(sleeper.id), UserStatus::Active);
    let state = h.store.state();
    assert_eq!(state.audit.len(), audits + 1);
    let entry = state.audit.last().unwrap();
    assert_eq!(entry.action, AuditAction::Write);
    assert_eq!(entry.resource_id, sleeper.id.to_string());
    assert_eq!(
        entry.diff,
        serde_json::json!({"status": {"old": "dormant", "new": "active"}})
    );
}

#[tokio::test]
async fn authenticate_refuses_a_suspended_user() {
    let h = harness();
    h.first_user().await;
    let banned = h.seed_user("banned", UserStatus::Suspended, LoginType::Password, &[]);
    let token = h.seed_key(
        banned.id,
        Duration::DAY,
        NOW - Duration::hours(5),
        NOW + Duration::DAY,
        &["coder:all"],
    );
    let (message, _) = unauthorized(h.services.authenticate(&token).await.unwrap_err());
    assert_eq!(
        message,
        r#"User is not active (status = "suspended"). Contact an admin to reactivate your account."#
    );
    assert_eq!(h.touches(), 0, "a refused user's key is not touched");
    assert_eq!(h.status_of(banned.id), UserStatus::Suspended);
}

// ---------------------------------------------------------------------------
// Password login
// ---------------------------------------------------------------------------

#[tokio::test]
async fn login_issues_a_session_key_and_reactivates_a_dormant_user() {
    let h = harness();
    h.first_user().await;
    let sleeper = h.seed_user("sleeper", UserStatus::Dormant, LoginType::Password, &[]);

    let token = h
        .services
        .login_with_password("SLEEPER@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(h.status_of(sleeper.id), UserStatus::Active);
    let key = h.key_of(&token);
    assert_eq!(key.user_id, sleeper.id);
    assert_eq!(key.login_type, LoginType::Password);
    assert_eq!(key.expires_at, NOW + Duration::DAY, "the session lifetime");
    assert_eq!(key.lifetime_seconds, 86_400);
    assert_eq!(key.scopes, ["coder:all"]);
    assert_eq!(key.token_name, "");
    assert_eq!(
        h.services.authenticate(&token).await.unwrap().user.id,
        sleeper.id
    );
    assert_eq!(
        h.store.state().audit.last().unwrap().action,
        AuditAction::Login
    );
}

#[tokio::test]
async fn login_refuses_the_wrong_login_type_after_checking_the_password() {
    let h = harness();
    h.first_user().await;
    h.seed_user("octo", UserStatus::Active, LoginType::Github, &[]);
    let keys = h.store.state().keys.len();

    let message = forbidden(
        h.services
            .login_with_password("octo@example.com", PASSWORD)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        message,
        r#"Incorrect login type, attempting to use "password" but user is of login type "github""#
    );
    // A wrong password does not reveal the login type.
    let (message, _) = unauthorized(
        h.services
            .login_with_password("octo@example.com", "wrong")
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "Incorrect email or password.");
    assert_eq!(h.store.state().keys.len(), keys, "no key issued");
}

#[tokio::test]
async fn login_spends_a_hash_on_unknown_emails() {
    let h = harness();
    h.first_user().await;
    let before = h.hasher.calls();

    let (message, _) = unauthorized(
        h.services
            .login_with_password("nobody@example.com", PASSWORD)
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "Incorrect email or password.");
    let after = h.hasher.calls();
    assert_eq!(after.0, before.0 + 1, "unknown email still hashes (timing)");

    let (message, _) = unauthorized(
        h.services
            .login_with_password("admin@example.com", "wrong")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        message, "Incorrect email or password.",
        "same words as an unknown email"
    );
    assert_eq!(h.hasher.calls().1, after.1 + 1, "a known email verifies");

    // A user without a password also costs a hash.
    let nopass = h.seed_user("nopass", UserStatus::Active, LoginType::None, &[]);
    h.store
        .state()
        .users
        .get_mut(&nopass.id)
        .unwrap()
        .hashed_password = None;
    let hashes = h.hasher.calls().0;
    assert!(
        h.services
            .login_with_password("nopass@example.com", PASSWORD)
            .await
            .is_err()
    );
    assert_eq!(h.hasher.calls().0, hashes + 1);
}

#[tokio::test]
async fn login_refuses_a_suspended_user() {
    let h = harness();
    h.first_user().await;
    h.seed_user("banned", UserStatus::Suspended, LoginType::Password, &[]);
    let (message, _) = unauthorized(
        h.services
            .login_with_password("banned@example.com", PASSWORD)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        message,
        "Your account is suspended. Contact an admin to reactivate your account."
    );
}

// ---------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------

#[tokio::test]
async fn create_first_user_makes_an_owner_and_the_default_organization() {
    let h = harness();
    assert!(!h.services.first_user_exists().await.unwrap());
    let (admin, org) = h.first_user().await;
    assert!(h.services.first_user_exists().await.unwrap());
    assert_eq!(admin.site_roles, ["owner"]);
    assert_eq!(admin.status, UserStatus::Active);
    assert_eq!(admin.organization_ids, [org.id]);
    assert!(org.is_default);
    assert_eq!(org.name.as_str(), "coder");
    assert_eq!(
        h.store.state().users[&admin.id].hashed_password.as_deref(),
        Some(format!("plain:{PASSWORD}").as_str())
    );
    assert_eq!(h.store.state().audit[0].action, AuditAction::Register);
}

#[tokio::test]
async fn create_first_user_validates_the_body_before_the_conflict() {
    let h = harness();
    let req = |username: &str, email: &str, password: &str| CreateFirstUser {
        email: email.into(),
        username: username.into(),
        name: String::new(),
        password: password.into(),
    };

    // Before the first user: a weak password is a 400.
    let (message, _, validations) = invalid(
        h.services
            .create_first_user(req("admin", "admin@example.com", "weak"))
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "Password not strong enough!");
    assert_eq!(fields(&validations), ["password"]);
    assert!(!h.services.first_user_exists().await.unwrap());

    h.first_user().await;

    // Every body problem is reported at once, and before the 409.
    let (message, _, validations) = invalid(
        h.services
            .create_first_user(req("bad name", "not-an-email", PASSWORD))
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "Validation failed.");
    assert_eq!(fields(&validations), ["username", "email"]);
    let (_, _, validations) = invalid(
        h.services
            .create_first_user(req("other", "other@example.com", ""))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        validations,
        [(
            "password".to_owned(),
            r#"Validation failed for tag "required" with value: """#.to_owned()
        )]
    );

    // A well-formed body gets the 409, even with a password too weak to accept.
    for password in [PASSWORD, "weak"] {
        match h
            .services
            .create_first_user(req("other", "other@example.com", password))
            .await
        {
            Err(DomainError::Conflict { message, .. }) => {
                assert_eq!(message, "The initial user has already been created.");
            }
            other => panic!("expected 409, got {other:?}"),
        }
    }
    assert_eq!(h.store.state().users.len(), 1);
}

#[tokio::test]
async fn create_user_requires_organization_ids_before_authorization() {
    let h = harness();
    h.first_user().await;
    let member = h.seed_user("member", UserStatus::Active, LoginType::Password, &[]);
    let actor = h.sign_in(&member).await;
    let req = CreateUser {
        email: "new@example.com".into(),
        username: "newcomer".into(),
        password: PASSWORD.into(),
        ..CreateUser::default()
    };
    let (_, detail, validations) = invalid(
        h.services
            .create_user(&actor, req.clone())
            .await
            .unwrap_err(),
    );
    assert_eq!(
        detail,
        "required at least 1 value for the array 'organization_ids'"
    );
    assert_eq!(
        validations,
        [(
            "organization_ids".to_owned(),
            "Missing values, this cannot be empty".to_owned()
        )]
    );

    let message = forbidden(
        h.services
            .create_user(
                &actor,
                CreateUser {
                    organization_ids: vec![OrganizationId(uuid::Uuid::nil())],
                    ..req
                },
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "You are not authorized to create users.");
    assert_eq!(h.store.state().users.len(), 2, "nothing created");
}

#[tokio::test]
async fn create_user_maps_the_nil_uuid_to_the_default_organization() {
    let h = harness();
    let (admin, default) = h.first_user().await;
    let actor = h.sign_in(&admin).await;
    let hashes = h.hasher.calls().0;
    let user = h
        .services
        .create_user(
            &actor,
            CreateUser {
                email: "New@Example.com".into(),
                username: "newbie".into(),
                name: "New Bie".into(),
                password: PASSWORD.into(),
                organization_ids: vec![OrganizationId(uuid::Uuid::nil()), default.id],
                ..CreateUser::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        user.organization_ids,
        [default.id],
        "nil means default, de-duplicated"
    );
    assert_eq!(
        user.status,
        UserStatus::Dormant,
        "Coder's default for admin-created users"
    );
    assert_eq!(user.login_type, LoginType::Password);
    assert!(user.site_roles.is_empty());
    assert_eq!(h.hasher.calls().0, hashes + 1);
    assert_eq!(
        h.store.state().users[&user.id].hashed_password.as_deref(),
        Some(format!("plain:{PASSWORD}").as_str())
    );

    // A taken username is a 409 with Coder's words.
    match h
        .services
        .create_user(
            &actor,
            CreateUser {
                email: "other@example.com".into(),
                username: "NEWBIE".into(),
                password: PASSWORD.into(),
                organization_ids: vec![default.id],
                ..CreateUser::default()
            },
        )
        .await
    {
        Err(DomainError::Conflict { message, .. }) => assert_eq!(message, "User already exists."),
        other => panic!("expected 409, got {other:?}"),
    }

    // An unknown organization is a 404 naming it.
    let ghost = OrganizationId::new_random();
    match h
        .services
        .create_user(
            &actor,
            CreateUser {
                email: "third@example.com".into(),
                username: "third".into(),
                password: PASSWORD.into(),
                organization_ids: vec![ghost],
                ..CreateUser::default()
            },
        )
        .await
    {
        Err(DomainError::NotFound { message }) => assert_eq!(
            message,
            format!(
                "Organization does not exist with the provided id {:?}.",
                ghost.to_string()
            )
        ),
        other => panic!("expected 404, got {other:?}"),
    }
}

#[tokio::test]
async fn set_user_status_refuses_to_suspend_owners_and_oneself() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let actor = h.sign_in(&admin).await;
    let other_owner = h.seed_user("boss", UserStatus::Active, LoginType::Password, &["owner"]);
    let member = h.seed_user("member", UserStatus::Active, LoginType::Password, &[]);

    let (message, _, _) = invalid(
        h.services
            .set_user_status(&actor, "boss", UserStatus::Suspended)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        message,
        r#"You cannot suspend a user with the "owner" role. You must remove the role first."#
    );
    assert_eq!(h.status_of(other_owner.id), UserStatus::Active);

    let (message, _, _) = invalid(
        h.services
            .set_user_status(&actor, "me", UserStatus::Suspended)
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "You cannot suspend yourself.");
    assert_eq!(h.status_of(admin.id), UserStatus::Active);

    let audits = h.store.state().audit.len();
    let suspended = h
        .services
        .set_user_status(&actor, &member.id.to_string(), UserStatus::Suspended)
        .await
        .unwrap();
    assert_eq!(suspended.status, UserStatus::Suspended);
    assert_eq!(h.status_of(member.id), UserStatus::Suspended);
    let audit = h.store.state().audit.clone();
    assert_eq!(audit.len(), audits + 1);
    assert_eq!(
        audit.last().unwrap().diff,
        serde_json::json!({"status": {"old": "active", "new": "suspended"}})
    );

    // Activating an owner is fine; a no-op change writes nothing.
    let audits = h.store.state().audit.len();
    h.services
        .set_user_status(&actor, "boss", UserStatus::Active)
        .await
        .unwrap();
    assert_eq!(
        h.store.state().audit.len(),
        audits,
        "unchanged status is not audited"
    );
}

// ---------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------

#[tokio::test]
async fn create_token_lifetimes() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let actor = h.sign_in(&admin).await;
    let config = DomainConfig::default();
    let default = Duration::try_from(config.default_token_lifetime).unwrap();
    let max = Duration::try_from(config.max_token_lifetime).unwrap();
    let create = |lifetime: Option<Duration>, name: &str| {
        let req = CreateToken {
            lifetime,
            token_name: name.to_owned(),
            ..CreateToken::default()
        };
        let services = h.services.clone();
        let actor = &actor;
        async move { services.create_token(actor, "me", req).await }
    };

    for (lifetime, name) in [(None, "absent"), (Some(Duration::ZERO), "zero")] {
        let key = h.key_of(&create(lifetime, name).await.unwrap());
        assert_eq!(key.lifetime_seconds, default.whole_seconds(), "{name}");
        assert_eq!(key.expires_at, NOW + default, "{name}");
        assert_eq!(key.login_type, LoginType::Token);
        assert_eq!(key.token_name, name);
    }

    let key = h.key_of(&create(Some(max), "max").await.unwrap());
    assert_eq!(key.expires_at, NOW + max, "exactly the maximum is accepted");

    let (message, detail, _) = invalid(
        create(Some(max + Duration::SECOND), "too-long")
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "Failed to validate create API key request.");
    assert_eq!(detail, "lifetime must be less than 8760h0m0s");

    let (_, detail, _) = invalid(
        create(Some(-Duration::SECOND), "negative")
            .await
            .unwrap_err(),
    );
    assert_eq!(detail, "lifetime must be positive number greater than 0");

    let tokens = h.services.list_tokens(&actor, "me", false).await.unwrap();
    let mut names: Vec<_> = tokens.iter().map(|(k, _)| k.token_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["absent", "max", "zero"],
        "refused requests store nothing"
    );

    match create(None, "max").await {
        Err(DomainError::Conflict { message, .. }) => {
            assert_eq!(message, r#"A token with name "max" already exists."#);
        }
        other => panic!("expected 409, got {other:?}"),
    }
}

#[tokio::test]
async fn create_token_canonicalizes_scopes() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let actor = h.sign_in(&admin).await;
    let scopes_of = |scopes: &[&str]| CreateToken {
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        ..CreateToken::default()
    };

    let token = h
        .services
        .create_token(
            &actor,
            "me",
            scopes_of(&["all", "coder:all", "application_connect", "all"]),
        )
        .await
        .unwrap();
    let key = h.key_of(&token);
    assert_eq!(key.scopes, ["coder:all", "coder:application_connect"]);
    assert_eq!(key.allow_list, ["*:*"]);
    assert!(key.token_name.starts_with("token_"), "{}", key.token_name);

    let token = h
        .services
        .create_token(&actor, "me", scopes_of(&[]))
        .await
        .unwrap();
    assert_eq!(h.key_of(&token).scopes, ["coder:all"], "no scope means all");

    let (message, detail, _) = invalid(
        h.services
            .create_token(&actor, "me", scopes_of(&["coder:all", "bogus"]))
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "Failed to create API key.");
    assert_eq!(detail, r#"invalid or unsupported API key scope: "bogus""#);
}

#[tokio::test]
async fn an_application_connect_key_cannot_create_an_organization() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let req = || CreateOrganization {
        name: "acme".into(),
        ..CreateOrganization::default()
    };

    let narrow = h
        .sign_in_scoped(&admin, &["coder:application_connect"])
        .await;
    assert!(matches!(
        h.services.create_organization(&narrow, req()).await,
        Err(DomainError::Forbidden { .. })
    ));
    assert_eq!(h.store.state().orgs.len(), 1, "nothing created");

    // The same owner with a full key may: the scope, not the role, refused.
    let full = h.sign_in(&admin).await;
    let org = h.services.create_organization(&full, req()).await.unwrap();
    assert_eq!(org.name.as_str(), "acme");
    assert_eq!(org.display_name, "acme");
    assert!(
        h.store
            .state()
            .members
            .iter()
            .any(|m| m.organization_id == org.id && m.user_id == admin.id && m.roles.is_empty())
    );
}

fn replica(reported: OffsetDateTime) -> crate::model::Replica {
    crate::model::Replica {
        id: crate::ids::ReplicaId::new_random(),
        hostname: "host".into(),
        region_id: 0,
        relay_address: String::new(),
        error: String::new(),
        database_latency: 250,
        created_at: reported - Duration::HOUR,
        updated_at: reported,
    }
}

#[tokio::test]
async fn replicas_lists_the_recently_reported_to_site_readers_only() {
    use crate::ports::ReplicaRepo;

    let h = harness();
    let (admin, _) = h.first_user().await;
    let member = h.seed_user("member", UserStatus::Active, LoginType::Password, &[]);
    let auditor = h.seed_user(
        "auditor",
        UserStatus::Active,
        LoginType::Password,
        &["auditor"],
    );
    let fresh = replica(NOW - Duration::seconds(14));
    let older = replica(NOW - Duration::seconds(1));
    let silent = replica(NOW - Duration::seconds(16));
    for r in [&fresh, &older, &silent] {
        h.store.heartbeat(r.clone()).await.unwrap();
    }
    let mut older_first = older.clone();
    older_first.created_at = fresh.created_at - Duration::MINUTE;
    h.store.heartbeat(older_first.clone()).await.unwrap();

    let listed = h.services.replicas(&h.sign_in(&admin).await).await.unwrap();
    assert_eq!(listed, vec![older_first, fresh], "alive ones, oldest first");
    for reader in [&member, &auditor] {
        let refused = h.services.replicas(&h.sign_in(reader).await).await;
        assert!(
            matches!(refused, Err(DomainError::NotFound { .. })),
            "{}: {refused:?}",
            reader.username.as_str()
        );
    }
}

// ---------------------------------------------------------------------------
// User accounts
// ---------------------------------------------------------------------------

#[tokio::test]
async fn set_user_roles_guards_against_escalation() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let owner = h.sign_in(&admin).await;
    let user_admin = h.seed_user(
        "ua",
        UserStatus::Active,
        LoginType::Password,
        &["user-admin"],
    );
    let user_admin = h.sign_in(&user_admin).await;
    let member = h.seed_user("member", UserStatus::Active, LoginType::Password, &[]);
    let plain = h.sign_in(&member).await;
    let target = h.seed_user("target", UserStatus::Active, LoginType::Password, &[]);

    let (message, _, _) = invalid(
        h.services
            .set_user_roles(&owner, "me", vec!["auditor".into()])
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "You cannot change your own roles.");

    let (message, _, _) = invalid(
        h.services
            .set_user_roles(&owner, "target", vec!["organization-admin".into()])
            .await
            .unwrap_err(),
    );
    assert_eq!(message, r#""organization-admin" is not a supported role"#);

    let (message, _, _) = invalid(
        h.services
            .set_user_roles(&user_admin, "target", vec!["owner".into()])
            .await
            .unwrap_err(),
    );
    assert_eq!(message, r#"not authorized to assign role "owner""#);

    let auditor = h.seed_user("aud", UserStatus::Active, LoginType::Password, &["auditor"]);
    let auditor = h.sign_in(&auditor).await;
    assert_eq!(
        forbidden(
            h.services
                .set_user_roles(&auditor, "target", vec!["auditor".into()])
                .await
                .unwrap_err()
        ),
        "Forbidden."
    );
    let (message, _, _) = invalid(
        h.services
            .set_user_roles(&plain, "target", vec!["auditor".into()])
            .await
            .unwrap_err(),
    );
    assert_eq!(message, crate::services::users::USER_PARAM_ERROR);
    assert!(h.store.state().users[&target.id].user.site_roles.is_empty());

    let updated = h
        .services
        .set_user_roles(
            &owner,
            "target",
            vec!["auditor".into(), "member".into(), "auditor".into()],
        )
        .await
        .unwrap();
    assert_eq!(updated.site_roles, vec!["auditor".to_owned()]);
    assert_eq!(
        h.store.state().audit.last().unwrap().diff,
        serde_json::json!({"rbac_roles": {"old": "", "new": "auditor"}})
    );
}

#[tokio::test]
async fn update_password_checks_in_coders_order_and_keeps_only_the_callers_session() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let owner = h.sign_in(&admin).await;
    let member = h.seed_user("member", UserStatus::Active, LoginType::Password, &[]);
    let session = h.sign_in(&member).await;
    let other_session = h.sign_in(&member).await;
    let oidc = h.seed_user("sso", UserStatus::Active, LoginType::Oidc, &[]);
    let change = |old: &str, new: &str| crate::services::user_account::UpdatePassword {
        old_password: old.into(),
        password: new.into(),
    };

    let (message, _, _) = invalid(
        h.services
            .update_password(&owner, "sso", change("", "a-new-Passw0rd!"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        message,
        "Users without password login type cannot change their password."
    );
    assert_eq!(
        h.store.state().users[&oidc.id].hashed_password.as_deref(),
        Some(format!("plain:{PASSWORD}").as_str())
    );

    let (message, _, _) = invalid(
        h.services
            .update_password(&session, "me", change("", "a-new-Passw0rd!"))
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "Old password is required.");

    let (message, _, validations) = invalid(
        h.services
            .update_password(&session, "me", change(PASSWORD, "short"))
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "Invalid password.");
    assert_eq!(fields(&validations), ["password"]);

    let (message, _, validations) = invalid(
        h.services
            .update_password(&session, "me", change("wrong-Passw0rd!", "a-new-Passw0rd!"))
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "Old password is incorrect.");
    assert_eq!(fields(&validations), ["old_password"]);

    let (message, _, _) = invalid(
        h.services
            .update_password(&session, "me", change(PASSWORD, PASSWORD))
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "New password cannot match old password.");

    h.services
        .update_password(&session, "me", change(PASSWORD, "a-new-Passw0rd!"))
        .await
        .unwrap();
    let state = h.store.state();
    assert_eq!(
        state.users[&member.id].hashed_password.as_deref(),
        Some("plain:a-new-Passw0rd!")
    );
    assert!(
        state.keys.contains_key(&session.key.id.0),
        "own session kept"
    );
    assert!(
        !state.keys.contains_key(&other_session.key.id.0),
        "other sessions end"
    );
}

#[tokio::test]
async fn delete_user_refuses_oneself_and_callers_without_delete() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let owner = h.sign_in(&admin).await;
    let member = h.seed_user("member", UserStatus::Active, LoginType::Password, &[]);
    let plain = h.sign_in(&member).await;
    h.seed_user("target", UserStatus::Active, LoginType::Password, &[]);

    assert_eq!(
        forbidden(h.services.delete_user(&owner, "me").await.unwrap_err()),
        "You cannot delete yourself!"
    );
    let auditor = h.seed_user("aud", UserStatus::Active, LoginType::Password, &["auditor"]);
    let auditor = h.sign_in(&auditor).await;
    assert_eq!(
        forbidden(
            h.services
                .delete_user(&auditor, "target")
                .await
                .unwrap_err()
        ),
        "Forbidden."
    );
    let (message, _, _) = invalid(h.services.delete_user(&plain, "target").await.unwrap_err());
    assert_eq!(message, crate::services::users::USER_PARAM_ERROR);
    h.services.delete_user(&owner, "member").await.unwrap();
    let state = h.store.state();
    assert!(!state.users.contains_key(&member.id));
    assert!(state.keys.values().all(|k| k.user_id != member.id));
    assert_eq!(state.audit.last().unwrap().action, AuditAction::Delete);
}

#[tokio::test]
async fn git_ssh_key_is_made_once_and_replaced_on_request() {
    let h = harness();
    let (admin, _) = h.first_user().await;
    let owner = h.sign_in(&admin).await;
    let member = h.seed_user("member", UserStatus::Active, LoginType::Password, &[]);
    let plain = h.sign_in(&member).await;

    let first = h.services.git_ssh_key(&plain, "me").await.unwrap();
    let again = h.services.git_ssh_key(&plain, "me").await.unwrap();
    assert_eq!(first, again, "made once, then read");
    assert_eq!(first.user_id, member.id);

    h.clock.advance(Duration::minutes(5));
    let audits = h.store.state().audit.len();
    let replaced = h
        .services
        .regenerate_git_ssh_key(&plain, "me")
        .await
        .unwrap();
    assert_ne!(replaced.public_key, first.public_key);
    assert_eq!(replaced.created_at, first.created_at);
    assert_eq!(replaced.updated_at, NOW + Duration::minutes(5));
    assert_eq!(h.store.state().audit.len(), audits + 1);

    // Someone the caller cannot see is a 400; the owner may read anyone's.
    let (message, _, _) = invalid(h.services.git_ssh_key(&plain, "admin").await.unwrap_err());
    assert_eq!(message, crate::services::users::USER_PARAM_ERROR);
    let read = h.services.git_ssh_key(&owner, "member").await.unwrap();
    assert_eq!(read.public_key, replaced.public_key);
}

/// OIDC sign-ins take a verified identity; the relying party is never reached.
struct NoProvider;

#[async_trait]
impl crate::oidc::OpenIdProvider for NoProvider {
    async fn start(&self) -> Result<crate::oidc::OidcStart, crate::oidc::OidcError> {
        Err(crate::oidc::OidcError::Unavailable(
            "no provider in unit tests".into(),
        ))
    }

    async fn finish(
        &self,
        _code: &str,
        _verifier: &str,
        _nonce: &str,
    ) -> Result<crate::oidc::OidcIdentity, crate::oidc::OidcError> {
        Err(crate::oidc::OidcError::Unavailable(
            "no provider in unit tests".into(),
        ))
    }
}

fn with_oidc(h: &Harness, settings: crate::oidc::OidcSettings) -> Services {
    h.services.clone().with_oidc(crate::services::oidc::Oidc {
        provider: Arc::new(NoProvider),
        settings,
    })
}

fn identity(subject: &str, claims: serde_json::Value) -> crate::oidc::OidcIdentity {
    let serde_json::Value::Object(claims) = claims else {
        panic!("claims are an object")
    };
    crate::oidc::OidcIdentity {
        issuer: "https://idp.example".into(),
        subject: subject.into(),
        id_token_claims: claims,
        userinfo_claims: serde_json::Map::new(),
    }
}

#[tokio::test]
async fn a_first_oidc_sign_in_creates_the_account_and_later_ones_find_it_by_link() {
    let h = harness();
    let (_, org) = h.first_user().await;
    let services = with_oidc(&h, crate::oidc::OidcSettings::default());
    let first = services
        .sign_in_identity(&identity(
            "sub-1",
            serde_json::json!({"email": "ada@corp.com", "preferred_username": "ada.l", "name": "Ada"}),
        ))
        .await
        .unwrap();
    assert_eq!(first.user.username.as_str(), "ada-l");
    assert_eq!(first.user.login_type, LoginType::Oidc);
    assert_eq!(first.user.organization_ids, vec![org.id]);
    let actor = services.authenticate(&first.token).await.unwrap();
    assert_eq!(actor.user.id, first.user.id);
    assert_eq!(actor.key.login_type, LoginType::Oidc);

    // The provider changed the address: the link (issuer + sub) still finds the account.
    let again = services
        .sign_in_identity(&identity(
            "sub-1",
            serde_json::json!({"email": "ada@new.com"}),
        ))
        .await
        .unwrap();
    assert_eq!(again.user.id, first.user.id);
    let links = h.store.state().links.clone();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].linked_id, "https://idp.example||sub-1");
    assert_eq!(links[0].merged_claims()["email"], "ada@new.com");
}

#[tokio::test]
async fn oidc_sign_ins_are_refused_as_coder_refuses_them() {
    let h = harness();
    h.first_user().await;
    let closed = with_oidc(
        &h,
        crate::oidc::OidcSettings {
            allow_signups: false,
            ..Default::default()
        },
    );
    let err = closed
        .sign_in_identity(&identity("s", serde_json::json!({"email": "x@corp.com"})))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Signups are disabled");
    assert_eq!(h.store.state().users.len(), 1, "nothing was created");

    let services = with_oidc(&h, crate::oidc::OidcSettings::default());
    // The first user signs in with a password: the same address through OIDC is refused.
    let err = services
        .sign_in_identity(&identity(
            "s",
            serde_json::json!({"email": "admin@example.com"}),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Incorrect login type, attempting to use \"oidc\" but user is of login type \"password\""
    );

    let user = services
        .sign_in_identity(&identity("s2", serde_json::json!({"email": "s2@corp.com"})))
        .await
        .unwrap()
        .user;
    h.store.state().users.get_mut(&user.id).unwrap().user.status = UserStatus::Suspended;
    let err = services
        .sign_in_identity(&identity("s2", serde_json::json!({"email": "s2@corp.com"})))
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Forbidden { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Your account is suspended. Contact an admin to reactivate your account."
    );
}

#[tokio::test]
async fn a_taken_username_gets_a_suffix_and_an_unlinked_oidc_account_is_claimed_by_email() {
    let h = harness();
    h.first_user().await;
    let precreated = h.seed_user("bob", UserStatus::Active, LoginType::Oidc, &[]);
    let services = with_oidc(&h, crate::oidc::OidcSettings::default());
    let signed_in = services
        .sign_in_identity(&identity(
            "bob-sub",
            serde_json::json!({"email": "bob@example.com", "preferred_username": "someone"}),
        ))
        .await
        .unwrap();
    assert_eq!(
        signed_in.user.id, precreated.id,
        "the administrator's account is linked"
    );

    let other = services
        .sign_in_identity(&identity(
            "other-sub",
            serde_json::json!({"email": "b2@corp.com", "preferred_username": "bob"}),
        ))
        .await
        .unwrap();
    let name = other.user.username.as_str();
    assert!(name.starts_with("bob-") && name.len() == 10, "{name}");

    // The e-mail of a linked account does not let another provider account in.
    let err = services
        .sign_in_identity(&identity(
            "intruder",
            serde_json::json!({"email": "bob@example.com"}),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Forbidden { .. }), "{err:?}");
}
