//! OIDC sign-in: a verified identity from the relying party becomes a Warden session.
//! The account is found by its link (issuer and subject), created on a first sign-in
//! when sign-ups are allowed, and brought in line with the IdP sync settings; account,
//! link, key and sync are one transaction. Also the claim index behind the IdP sync
//! `available-fields` and `field-values` endpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;
use warden_rbac::{Action, Object, ResourceType};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, RepoError};
use crate::idp_sync::plan::Claims;
use crate::ids::{OrganizationId, UserId};
use crate::model::{AuditAction, AuditEntry, LoginType, NewUser, User, UserStatus};
use crate::oidc::{OidcError, OidcIdentity, OidcSettings, OidcStart, OpenIdProvider, UserLink};
use crate::ports::LinkedSignIn;
use crate::services::Services;
use crate::services::auth::{own_account_write, sign_in_record};
use crate::services::idp_sync_run::SyncReport;
use crate::values::{Email, Username, name_valid, real_name_valid};

/// The deployment's OpenID provider and how its sign-ins are treated.
#[derive(Clone)]
pub struct Oidc {
    pub provider: Arc<dyn OpenIdProvider>,
    pub settings: OidcSettings,
}

/// A finished OIDC sign-in.
#[derive(Debug, Clone)]
pub struct OidcSignedIn {
    /// The new session token.
    pub token: String,
    pub user: User,
    /// What IdP sync did, for the sign-in's log.
    pub sync: SyncReport,
}

/// Coder's message when OIDC is not configured.
pub const OIDC_NOT_CONFIGURED: &str = "OIDC is not configured.";

impl Services {
    /// Adds the deployment's OpenID provider.
    pub fn with_oidc(mut self, oidc: Oidc) -> Self {
        self.oidc = Some(Arc::new(oidc));
        self
    }

    /// The OIDC settings, when OIDC sign-in is configured.
    pub fn oidc_settings(&self) -> Option<&OidcSettings> {
        self.oidc.as_deref().map(|o| &o.settings)
    }

    fn oidc(&self) -> DomainResult<&Oidc> {
        self.oidc
            .as_deref()
            .ok_or_else(|| DomainError::bad_request(OIDC_NOT_CONFIGURED, ""))
    }

    /// Starts a sign-in at the provider.
    pub async fn oidc_start(&self) -> DomainResult<OidcStart> {
        self.oidc()?
            .provider
            .start()
            .await
            .map_err(|e| self.oidc_failure(e))
    }

    /// Finishes a sign-in: redeems the code, verifies the ID token and signs the
    /// account in. Every refusal is a 4xx naming the problem.
    pub async fn oidc_sign_in(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> DomainResult<OidcSignedIn> {
        let outcome = async {
            let identity = self
                .oidc()?
                .provider
                .finish(code, pkce_verifier, nonce)
                .await
                .map_err(|e| self.oidc_failure(e))?;
            self.sign_in_identity(&identity).await
        }
        .await;
        crate::metrics::record_sign_in("oidc", &outcome);
        outcome
    }

    fn oidc_failure(&self, error: OidcError) -> DomainError {
        match error {
            OidcError::Unavailable(detail) => DomainError::Upstream {
                message: "The identity provider could not be reached. Try again later.".into(),
                detail,
            },
            OidcError::Rejected(detail) => {
                DomainError::bad_request("Failed to sign in with OIDC.", detail)
            }
        }
    }

    /// Signs in the account of a verified identity (see the module documentation).
    pub async fn sign_in_identity(&self, identity: &OidcIdentity) -> DomainResult<OidcSignedIn> {
        // A concurrent first sign-in of the same account commits first at most once;
        // the retry then finds its link.
        match self.try_sign_in(identity).await {
            Err(DomainError::Conflict { .. }) => self.try_sign_in(identity).await,
            outcome => outcome,
        }
    }

    async fn try_sign_in(&self, identity: &OidcIdentity) -> DomainResult<OidcSignedIn> {
        let settings = &self.oidc()?.settings;
        let claims = identity.merged_claims();
        let email = claimed_email(settings, &claims)?;
        let linked_id = identity.linked_id();
        let now = self.now();

        let existing = match self
            .ports
            .user_links
            .by_linked_id(LoginType::Oidc, &linked_id)
            .await
        {
            Ok(link) => Some((self.ports.users.get(link.user_id).await?, Some(link))),
            Err(RepoError::NotFound) => self.unlinked_account(email.as_str()).await?,
            Err(e) => return Err(e.into()),
        };

        let mut audit = Vec::new();
        let mut profile = None;
        let (user_id, username, new_user, link_created, reactivate) = match &existing {
            Some((user, link)) => {
                if user.login_type != LoginType::Oidc {
                    return Err(DomainError::forbidden_msg(format!(
                        "Incorrect login type, attempting to use \"oidc\" but user is of login type \"{}\"",
                        user.login_type
                    )));
                }
                if user.status == UserStatus::Suspended {
                    return Err(DomainError::forbidden_msg(format!(
                        "Your account is {}. Contact an admin to reactivate your account.",
                        user.status
                    )));
                }
                let reactivate = user.status == UserStatus::Dormant;
                if reactivate {
                    audit.push(
                        own_account_write(now, user).with_change("status", "dormant", "active"),
                    );
                }
                // The provider is the source of truth for the address and name.
                let name = claimed_name(settings, &claims);
                if user.email != email || user.name != name {
                    let mut entry = own_account_write(now, user);
                    if user.email != email {
                        entry = entry.with_change("email", user.email.as_str(), email.as_str());
                    }
                    if user.name != name {
                        entry = entry.with_change("name", user.name.as_str(), name.as_str());
                    }
                    audit.push(entry);
                    profile = Some((email.clone(), name));
                }
                let created = link.as_ref().map(|l| l.created_at);
                (user.id, user.username.clone(), None, created, reactivate)
            }
            None => {
                if !settings.allow_signups {
                    return Err(DomainError::Forbidden {
                        message: "Signups are disabled".into(),
                        detail: "Please contact your administrator to request access.".into(),
                    });
                }
                let username = self.free_username(settings, &claims, &email).await?;
                let id = UserId::new_random();
                let orgs = if self.organization_sync_enabled().await? {
                    Vec::new()
                } else {
                    vec![self.ports.organizations.get_default().await?.id]
                };
                audit.push(AuditEntry::new(
                    now,
                    Some(id),
                    AuditAction::Create,
                    "user",
                    id,
                    username.as_str(),
                ));
                let new = NewUser {
                    id,
                    username: username.clone(),
                    email: email.clone(),
                    name: claimed_name(settings, &claims),
                    hashed_password: None,
                    status: UserStatus::Active,
                    login_type: LoginType::Oidc,
                    site_roles: Vec::new(),
                    organization_ids: orgs,
                    now,
                };
                (id, username, Some(new), None, false)
            }
        };

        let roles_now: BTreeMap<OrganizationId, BTreeSet<String>> = match &new_user {
            Some(new) => new
                .organization_ids
                .iter()
                .map(|o| (*o, BTreeSet::new()))
                .collect(),
            None => self
                .ports
                .organizations
                .memberships_of(user_id)
                .await?
                .into_iter()
                .map(|m| (m.organization_id, m.roles.into_iter().collect()))
                .collect(),
        };
        let (sync, report) = self
            .plan_sync(user_id, username.as_str(), &claims, &roles_now, now)
            .await?;

        let (key, token) = self.session_key(user_id, LoginType::Oidc, now)?;
        audit.push(sign_in_record(now, user_id, username.as_str(), &key));
        let user = self
            .ports
            .user_links
            .sign_in(LinkedSignIn {
                new_user,
                reactivate,
                profile,
                link: UserLink {
                    user_id,
                    login_type: LoginType::Oidc,
                    linked_id,
                    claims: identity.link_claims(),
                    created_at: link_created.unwrap_or(now),
                    updated_at: now,
                },
                key,
                sync,
                audit,
            })
            .await?;
        Ok(OidcSignedIn {
            token,
            user,
            sync: report,
        })
    }

    /// The account of an e-mail address that has no link yet: an OIDC account made by
    /// an administrator before its first sign-in. An account of another login type is
    /// returned too, to be refused by name; one linked to another provider account is
    /// refused here.
    async fn unlinked_account(
        &self,
        email: &str,
    ) -> DomainResult<Option<(User, Option<UserLink>)>> {
        let user = match self.ports.users.credentials_by_email(email).await {
            Ok(credentials) => credentials.user,
            Err(RepoError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match self
            .ports
            .user_links
            .of_user(user.id, LoginType::Oidc)
            .await
        {
            Err(RepoError::NotFound) => Ok(Some((user, None))),
            Ok(_) => Err(DomainError::forbidden_msg(format!(
                "The email address {email:?} is already linked to another account at the identity provider."
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// A username for a new account: the username claim (or the e-mail's local part)
    /// made valid, with a random suffix while it is taken.
    async fn free_username(
        &self,
        settings: &OidcSettings,
        claims: &Claims,
        email: &Email,
    ) -> DomainResult<Username> {
        let claimed = claims
            .get(&settings.username_field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default());
        let base = username_from(claimed);
        let mut candidate = base.clone();
        for _ in 0..10 {
            match self.ports.users.get_by_username(&candidate).await {
                Err(RepoError::NotFound) => return Username::parse(&candidate),
                Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
            let suffix = self.ports.secrets.alphanumeric(6).to_lowercase();
            let stem: String = base.chars().take(32 - suffix.len() - 1).collect();
            candidate = format!("{}-{suffix}", stem.trim_end_matches('-'));
        }
        Err(DomainError::conflict(
            "Could not find a free username for the account.",
            format!("{base:?} and ten alternatives are taken"),
        ))
    }

    /// The claim names OIDC users signed in with, deployment-wide or of `org_param`'s
    /// members. Needs `idpsync_settings` read.
    pub async fn oidc_claim_fields(
        &self,
        actor: &Actor,
        org_param: Option<&str>,
    ) -> DomainResult<Vec<String>> {
        let org = self
            .claims_scope(actor, org_param, "available IDP fields")
            .await?;
        Ok(self.ports.user_links.claim_fields(org).await?)
    }

    /// The string values of `field` OIDC users signed in with.
    pub async fn oidc_claim_values(
        &self,
        actor: &Actor,
        org_param: Option<&str>,
        field: Option<&str>,
    ) -> DomainResult<Vec<String>> {
        let org = self
            .claims_scope(actor, org_param, "IDP claim field values")
            .await?;
        let field = field.filter(|f| !f.is_empty()).ok_or_else(|| {
            DomainError::bad_request("claimField query parameter is required", "")
        })?;
        Ok(self.ports.user_links.claim_values(org, field).await?)
    }

    async fn claims_scope(
        &self,
        actor: &Actor,
        org_param: Option<&str>,
        what: &str,
    ) -> DomainResult<Option<OrganizationId>> {
        let org = match org_param {
            Some(param) => Some(self.resolve_organization(actor, param).await?.id),
            None => None,
        };
        let object = Object::new(ResourceType::IdpsyncSettings);
        let object = match org {
            Some(org) => object.in_org(org.as_uuid()),
            None => object,
        };
        if !actor.can(Action::Read, &object) {
            return Err(DomainError::Forbidden {
                message: format!("You do not have permission to view the {what}"),
                detail: "idpsync_settings.read permission is required".into(),
            });
        }
        Ok(org)
    }
}

/// The e-mail claim, checked against the deployment's rules, with Coder's messages.
fn claimed_email(settings: &OidcSettings, claims: &Claims) -> DomainResult<Email> {
    let raw = match claims.get(&settings.email_field) {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(DomainError::bad_request(
                "No email found in OIDC payload!",
                format!("the {:?} claim is missing", settings.email_field),
            ));
        }
        Some(other) => {
            return Err(DomainError::bad_request(
                "No email found in OIDC payload!",
                format!(
                    "the {:?} claim is not a string: {other}",
                    settings.email_field
                ),
            ));
        }
    };
    if !settings.ignore_email_verified
        && let Some(verified) = claims.get("email_verified")
        && verified == &Value::Bool(false)
    {
        return Err(DomainError::forbidden_msg(format!(
            "Verify the {raw:?} email address on your OIDC provider to authenticate!"
        )));
    }
    if !settings.email_domains.is_empty() {
        let domain = raw.rsplit('@').next().unwrap_or_default();
        if !settings
            .email_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
        {
            let quoted: Vec<String> = settings
                .email_domains
                .iter()
                .map(|d| format!("{d:?}"))
                .collect();
            return Err(DomainError::forbidden_msg(format!(
                "Your email {raw:?} is not in domains [{}]!",
                quoted.join(" ")
            )));
        }
    }
    Email::parse(raw).map_err(|_| {
        DomainError::bad_request(
            "The email address from the identity provider is not valid.",
            format!("{raw:?}"),
        )
    })
}

/// The name claim, or nothing when it is absent or not a valid name.
fn claimed_name(settings: &OidcSettings, claims: &Claims) -> String {
    let name = claims
        .get(&settings.name_field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    let name: String = name.chars().take(128).collect();
    if real_name_valid(&name).is_ok() {
        name
    } else {
        String::new()
    }
}

/// Coder's `UsernameFrom`: `raw` when valid, otherwise its runs of letters and digits
/// joined by single hyphens, at most 32 characters; `user` when nothing is left.
pub fn username_from(raw: &str) -> String {
    if name_valid(raw).is_ok() {
        return raw.to_owned();
    }
    let joined = raw
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|run| !run.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let truncated: String = joined.chars().take(32).collect();
    let truncated = truncated.trim_end_matches('-').to_owned();
    if name_valid(&truncated).is_ok() {
        truncated
    } else {
        "user".to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test failing to unwrap is the test failing
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> Claims {
        match json {
            Value::Object(map) => map,
            _ => Claims::new(),
        }
    }

    #[test]
    fn usernames_are_made_valid() {
        assert_eq!(username_from("alice"), "alice");
        assert_eq!(username_from("Alice.Smith"), "Alice-Smith");
        assert_eq!(username_from("a__b--c"), "a-b-c");
        assert_eq!(username_from("..."), "user");
        assert_eq!(username_from("new"), "user");
        assert_eq!(username_from(&"x.".repeat(40)).len(), 31);
    }

    #[test]
    fn email_rules_follow_coder() {
        let mut settings = OidcSettings::default();
        let err = claimed_email(&settings, &claims(serde_json::json!({}))).unwrap_err();
        assert_eq!(err.to_string(), "No email found in OIDC payload!");
        let unverified = claims(serde_json::json!({"email": "a@x.com", "email_verified": false}));
        let err = claimed_email(&settings, &unverified).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Verify the \"a@x.com\" email address on your OIDC provider to authenticate!"
        );
        settings.ignore_email_verified = true;
        assert!(claimed_email(&settings, &unverified).is_ok());
        settings.email_domains = vec!["corp.com".into(), "y.org".into()];
        let err = claimed_email(&settings, &unverified).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Your email \"a@x.com\" is not in domains [\"corp.com\" \"y.org\"]!"
        );
        let corp = claims(serde_json::json!({"email": "b@CORP.com"}));
        assert_eq!(
            claimed_email(&settings, &corp).unwrap().as_str(),
            "b@CORP.com"
        );
        let wrong_type = claims(serde_json::json!({"email": ["b@corp.com"]}));
        assert!(claimed_email(&settings, &wrong_type).is_err());
    }

    #[test]
    fn names_outside_the_rules_are_dropped() {
        let settings = OidcSettings::default();
        let named = claims(serde_json::json!({"name": " Ada Lovelace "}));
        assert_eq!(claimed_name(&settings, &named), "Ada Lovelace");
        let numeric = claims(serde_json::json!({"name": 7}));
        assert_eq!(claimed_name(&settings, &numeric), "");
    }
}
