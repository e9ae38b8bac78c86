//! Users: the first user, admin-created users, lookup, listing and suspension.

use warden_rbac::{Action, Object, ResourceType, roles};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, FieldError, RepoError};
use crate::ids::{OrganizationId, UserId};
use crate::model::{
    AuditAction, AuditEntry, DEFAULT_ORGANIZATION_DISPLAY_NAME, DEFAULT_ORGANIZATION_NAME,
    LoginType, NewUser, Organization, User, UserStatus,
};
use crate::ports::{UserPage, UserQuery};
use crate::services::Services;
use crate::services::pagination::Pagination;
use crate::values::{Email, OrganizationName, Password, Username, real_name_valid};

/// Coder's message when `{user}` names nobody the caller can see.
pub const USER_PARAM_ERROR: &str = "\"user\" must be an existing uuid or username.";

/// `POST /users/first`.
#[derive(Debug, Clone)]
pub struct CreateFirstUser {
    pub email: String,
    pub username: String,
    pub name: String,
    pub password: String,
}

/// `POST /users`.
#[derive(Debug, Clone, Default)]
pub struct CreateUser {
    pub email: String,
    pub username: String,
    pub name: String,
    pub password: String,
    /// `None` = password.
    pub login_type: Option<LoginType>,
    /// Active by default; `dormant` is also allowed.
    pub status: Option<UserStatus>,
    /// Empty = the default organization.
    pub organization_ids: Vec<OrganizationId>,
}

/// The RBAC object of a user: owned by itself.
pub(crate) fn user_object(id: UserId) -> Object {
    Object::new(ResourceType::User)
        .with_id(id.as_uuid())
        .owned_by(id.as_uuid())
}

impl Services {
    /// Hashes a new, policy-checked password for storage.
    pub(crate) async fn hash_password(&self, password: &Password) -> DomainResult<String> {
        self.ports
            .passwords
            .hash(password.expose())
            .await
            .map_err(DomainError::Internal)
    }

    /// Whether the first user has been created.
    pub async fn first_user_exists(&self) -> DomainResult<bool> {
        Ok(self.ports.users.any_exists().await?)
    }

    /// Creates the first user as site owner, and the default organization.
    /// Anyone may call it, but only while no user exists.
    pub async fn create_first_user(
        &self,
        req: CreateFirstUser,
    ) -> DomainResult<(User, Organization)> {
        let (username, email, name) = validate_identity(&req.username, &req.email, &req.name)?;
        if req.password.is_empty() {
            return Err(DomainError::invalid_field(
                "Validation failed.",
                "password",
                crate::values::tag_failed("required", ""),
            ));
        }
        if self.ports.users.any_exists().await? {
            return Err(first_user_conflict());
        }
        let password = Password::parse_new(&req.password)?;
        let hashed = self.hash_password(&password).await?;
        let now = self.now();
        let user = NewUser {
            id: UserId::new_random(),
            username,
            email,
            name,
            hashed_password: Some(hashed),
            status: UserStatus::Active,
            login_type: LoginType::Password,
            site_roles: vec![roles::OWNER.to_owned()],
            organization_ids: Vec::new(),
            now,
        };
        let org = Organization {
            id: OrganizationId::new_random(),
            name: OrganizationName::from_trusted(DEFAULT_ORGANIZATION_NAME.to_owned()),
            display_name: DEFAULT_ORGANIZATION_DISPLAY_NAME.to_owned(),
            description: "Builtin default organization.".to_owned(),
            icon: String::new(),
            is_default: true,
            created_at: now,
            updated_at: now,
        };
        let audit = AuditEntry::new(
            now,
            Some(user.id),
            AuditAction::Register,
            "user",
            user.id,
            user.username.as_str(),
        );
        match self.ports.users.create_first(user, org, audit).await {
            Err(RepoError::Conflict(what)) if what == "first_user" => Err(first_user_conflict()),
            other => other.map_err(user_conflict),
        }
    }

    /// Resolves Coder's `{user}` path parameter: `me`, a UUID or a username. Anything
    /// that names no user the caller may read is a 400, exactly as in Coder.
    pub async fn resolve_user(&self, actor: &Actor, param: &str) -> DomainResult<User> {
        if param == "me" {
            return Ok((*actor.user).clone());
        }
        let user = self.lookup_user_unchecked(param).await?;
        if !actor.can(Action::Read, &user_object(user.id)) {
            return Err(user_param_error(param));
        }
        Ok(user)
    }

    /// Finds a user by `{user}` parameter without a visibility check; callers
    /// authorize through another object (an organization's memberships).
    pub(crate) async fn lookup_user_unchecked(&self, param: &str) -> DomainResult<User> {
        let found = match param.parse::<UserId>() {
            Ok(id) => self.ports.users.get(id).await,
            Err(_) => self.ports.users.get_by_username(param).await,
        };
        match found {
            Ok(user) => Ok(user),
            Err(RepoError::NotFound) => Err(user_param_error(param)),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates a user (an administrator's action). Checks run in Coder's order, so
    /// the same bad request gets the same first complaint.
    pub async fn create_user(&self, actor: &Actor, req: CreateUser) -> DomainResult<User> {
        let (username, email, name) = validate_identity(&req.username, &req.email, &req.name)?;
        let login_type = req.login_type.unwrap_or(LoginType::Password);
        if login_type != LoginType::Password && !req.password.is_empty() {
            return Err(DomainError::bad_request(
                format!(
                    "Password cannot be set for non-password ({:?}) authentication.",
                    login_type.as_str()
                ),
                "",
            ));
        }
        if req.organization_ids.is_empty() {
            return Err(DomainError::Invalid {
                message: "No organization specified to place the user as a member of. It is required to specify at least one organization id to place the user in.".into(),
                detail: "required at least 1 value for the array 'organization_ids'".into(),
                validations: vec![FieldError::new("organization_ids", "Missing values, this cannot be empty")],
            });
        }
        if !actor.can(Action::Create, &Object::new(ResourceType::User)) {
            return Err(DomainError::forbidden_msg(
                "You are not authorized to create users.",
            ));
        }
        let mut organization_ids = Vec::with_capacity(req.organization_ids.len());
        for requested in &req.organization_ids {
            let found = if requested.as_uuid().is_nil() {
                self.ports.organizations.get_default().await
            } else {
                self.ports.organizations.get(*requested).await
            };
            let org = match found {
                Ok(org)
                    if actor.can(
                        Action::Read,
                        &crate::services::organizations::org_object(org.id),
                    ) =>
                {
                    org
                }
                Ok(_) | Err(RepoError::NotFound) => {
                    return Err(DomainError::not_found_msg(format!(
                        "Organization does not exist with the provided id {:?}.",
                        requested.to_string()
                    )));
                }
                Err(e) => return Err(e.into()),
            };
            actor.require(
                Action::Create,
                &Object::new(ResourceType::OrganizationMember).in_org(org.id.as_uuid()),
            )?;
            if !organization_ids.contains(&org.id) {
                organization_ids.push(org.id);
            }
        }
        let hashed_password = match login_type {
            LoginType::Password => {
                let password = Password::parse_new(&req.password)?;
                Some(self.hash_password(&password).await?)
            }
            LoginType::Oidc if self.oidc.is_none() => {
                return Err(DomainError::bad_request(
                    "You must configure OIDC before creating OIDC users.",
                    "",
                ));
            }
            LoginType::Github => {
                return Err(DomainError::bad_request(
                    "You must configure Github OAuth2 before creating Github users.",
                    "",
                ));
            }
            LoginType::None | LoginType::Oidc => None,
            LoginType::Token | LoginType::OAuth2ProviderApp => {
                return Err(DomainError::bad_request(
                    format!(
                        "Unsupported login type {:?} for manually creating new users.",
                        login_type.as_str()
                    ),
                    "",
                ));
            }
        };
        let now = self.now();
        let user = NewUser {
            id: UserId::new_random(),
            username,
            email,
            name,
            hashed_password,
            // Coder's default for an admin-created user: dormant until first sign-in.
            status: req.status.unwrap_or(UserStatus::Dormant),
            login_type,
            site_roles: Vec::new(),
            organization_ids,
            now,
        };
        let audit = actor.audit(
            now,
            AuditAction::Create,
            "user",
            user.id,
            user.username.as_str(),
        );
        self.ports
            .users
            .create(user, audit)
            .await
            .map_err(user_conflict)
    }

    /// A user by `{user}` parameter.
    pub async fn get_user(&self, actor: &Actor, param: &str) -> DomainResult<User> {
        self.resolve_user(actor, param).await
    }

    /// Lists the users the caller may read, filtered by a search parsed with
    /// [`parse_user_query`] (the edge parses it first, to complain in Coder's order).
    pub async fn list_users(
        &self,
        actor: &Actor,
        mut query: UserQuery,
        page: Pagination,
    ) -> DomainResult<UserPage> {
        query.visible = Some(actor.subject.filter(Action::Read, ResourceType::User));
        query.after_id = page.after_id;
        query.limit = page.limit;
        query.offset = page.offset;
        Ok(self.ports.users.list(query).await?)
    }

    /// Suspends or reactivates a user.
    pub async fn set_user_status(
        &self,
        actor: &Actor,
        param: &str,
        status: UserStatus,
    ) -> DomainResult<User> {
        let user = self.resolve_user(actor, param).await?;
        actor.require(Action::Update, &user_object(user.id))?;
        if status == UserStatus::Suspended && user.id == actor.user.id {
            return Err(DomainError::bad_request("You cannot suspend yourself.", ""));
        }
        if status == UserStatus::Suspended && user.site_roles.iter().any(|r| r == roles::OWNER) {
            return Err(DomainError::bad_request(
                "You cannot suspend a user with the \"owner\" role. You must remove the role first.",
                "",
            ));
        }
        if user.status == status {
            return Ok(user);
        }
        let now = self.now();
        let action = AuditAction::Write;
        let audit = actor
            .audit(now, action, "user", user.id, user.username.as_str())
            .with_change("status", user.status.as_str(), status.as_str());
        Ok(self
            .ports
            .users
            .set_status(user.id, status, now, audit)
            .await?)
    }
}

fn first_user_conflict() -> DomainError {
    DomainError::conflict("The initial user has already been created.", "")
}

fn user_param_error(param: &str) -> DomainError {
    DomainError::bad_request(USER_PARAM_ERROR, format!("queried user={param:?}"))
}

fn user_conflict(e: RepoError) -> DomainError {
    match e {
        RepoError::Conflict(_) => DomainError::conflict("User already exists.", ""),
        other => other.into(),
    }
}

fn validate_identity(
    username: &str,
    email: &str,
    name: &str,
) -> DomainResult<(Username, Email, String)> {
    let mut validations = Vec::new();
    let username = Username::parse(username)
        .map_err(|e| collect(e, &mut validations))
        .ok();
    let email = Email::parse(email)
        .map_err(|e| collect(e, &mut validations))
        .ok();
    if real_name_valid(name).is_err() {
        validations.push(FieldError::new(
            "name",
            crate::values::tag_failed("user_real_name", name),
        ));
    }
    match (username, email) {
        (Some(u), Some(e)) if validations.is_empty() => Ok((u, e, name.to_owned())),
        _ => Err(DomainError::validation(validations)),
    }
}

fn collect(e: DomainError, into: &mut Vec<FieldError>) {
    if let DomainError::Invalid { validations, .. } = e {
        into.extend(validations);
    }
}

/// Parses Coder's user search syntax. The whole query is lowercased and split on
/// spaces outside double quotes; `key:value` elements filter (`status`, `role` and
/// `login_type` take comma-separated lists), and one bare word searches usernames and
/// emails. Every problem is reported at once, each under the field Coder names.
pub fn parse_user_query(q: &str) -> DomainResult<UserQuery> {
    let mut query = UserQuery::default();
    let mut errors = Vec::new();
    let mut searches = Vec::new();
    for element in split_query(&q.to_lowercase()) {
        let unquoted_colons = count_unquoted(&element, ':');
        if unquoted_colons == 0 {
            searches.push(element);
            continue;
        }
        if element.starts_with(':') || element.ends_with(':') {
            errors.push(FieldError::new(
                "q",
                format!("Query element {element:?} cannot start or end with ':'"),
            ));
            continue;
        }
        if unquoted_colons > 1 {
            errors.push(FieldError::new(
                "q",
                format!("Query element {element:?} can only contain 1 ':'"),
            ));
            continue;
        }
        let Some((key, value)) = element.split_once(':') else {
            continue;
        };
        let value = value.trim_matches('"');
        let list = || value.split(',').map(str::trim).filter(|v| !v.is_empty());
        match key {
            "status" => collect_enum(key, list(), &mut query.status, &mut errors),
            "login_type" => collect_enum(key, list(), &mut query.login_types, &mut errors),
            "role" => query.roles.extend(list().map(str::to_owned)),
            "username" => query.username = Some(value.to_owned()),
            "email" => query.email = Some(value.to_owned()),
            "search" => searches.push(value.to_owned()),
            _ => errors.push(FieldError::new(
                key,
                format!("{key:?} is not a valid query param"),
            )),
        }
    }
    match searches.len() {
        0 => {}
        1 => query.search = searches.pop(),
        n => errors.push(FieldError::new(
            "search",
            format!("Query param \"search\" provided more than once, found {n} times. Only provide 1 instance of this query param."),
        )),
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid {
            message: "Invalid user search query.".into(),
            detail: String::new(),
            validations: errors,
        });
    }
    Ok(query)
}

fn collect_enum<'a, T: std::str::FromStr>(
    key: &str,
    values: impl Iterator<Item = &'a str>,
    into: &mut Vec<T>,
    errors: &mut Vec<FieldError>,
) {
    let mut bad = Vec::new();
    for v in values {
        match v.parse() {
            Ok(parsed) => into.push(parsed),
            Err(_) => bad.push(format!("{v:?} is not a valid value")),
        }
    }
    if !bad.is_empty() {
        errors.push(FieldError::new(
            key,
            format!("Query param {key:?} has invalid values: {}", bad.join("\n")),
        ));
    }
}

fn count_unquoted(s: &str, needle: char) -> usize {
    let mut quoted = false;
    s.chars()
        .filter(|&c| {
            if c == '"' {
                quoted = !quoted;
            }
            !quoted && c == needle
        })
        .count()
}

/// Splits on spaces outside double quotes.
pub(crate) fn split_query(q: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ' ' if !quoted => {
                if !current.is_empty() {
                    terms.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        terms.push(current);
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_query_filters_and_free_text() {
        let q = parse_user_query(
            "Alice status:active,dormant role:owner login_type:password email:\"a@b.c\"",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.search.as_deref(), Some("alice"));
        assert_eq!(q.status, [UserStatus::Active, UserStatus::Dormant]);
        assert_eq!(q.roles, ["owner"]);
        assert_eq!(q.login_types, [LoginType::Password]);
        assert_eq!(q.email.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn user_query_rejects_unknown_keys_and_values() {
        let Err(DomainError::Invalid { validations, .. }) =
            parse_user_query("colour:blue status:asleep a:b:c :x one two")
        else {
            panic!("expected an error");
        };
        let fields: Vec<_> = validations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["colour", "status", "q", "q", "search"]);
        assert_eq!(
            validations[1].detail,
            r#"Query param "status" has invalid values: "asleep" is not a valid value"#
        );
    }
}
