//! `/users`: first user, sign-in methods, login/logout, lookup, listing, creation,
//! status, profile, password, site roles and deletion.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpResponse, delete, get, post, put, web};
use warden_domain::DomainError;
use warden_domain::ids::OrganizationId;
use warden_domain::model::UserStatus;
use warden_domain::services::pagination::Pagination;
use warden_domain::services::user_account::{UpdatePassword, UpdateProfile};
use warden_domain::services::users::{CreateFirstUser, CreateUser};

use crate::AppState;
use crate::auth::{Authenticated, SESSION_COOKIE};
use crate::dto::{
    AuthMethod, AuthMethods, CreateFirstUserRequest, CreateFirstUserResponse, CreateUserRequest,
    GetUsersResponse, GitSshKey, GithubAuthMethod, LoginType, LoginWithPasswordRequest,
    LoginWithPasswordResponse, OidcAuthMethod, UpdateRoles, UpdateUserPasswordRequest,
    UpdateUserProfileRequest, User, UserAppearanceSettings, UserLoginType, UserRoles,
};
use crate::error::{ApiResult, Response};
use crate::extract::{JsonBody, QueryPairs};

/// Whether the first user has been created.
#[utoipa::path(get, path = "/api/v2/users/first", tag = "Users",
    responses((status = 200, body = Response), (status = 404, body = Response)))]
#[get("/users/first")]
pub async fn get_first_user(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(if state.services.first_user_exists().await? {
        HttpResponse::Ok().json(Response::message(
            "The initial user has already been created!",
        ))
    } else {
        HttpResponse::NotFound().json(Response::message("The initial user has not been created!"))
    })
}

/// Creates the first user: a site owner, member of the default organization.
#[utoipa::path(post, path = "/api/v2/users/first", tag = "Users", request_body = CreateFirstUserRequest,
    responses((status = 201, body = CreateFirstUserResponse), (status = 400, body = Response), (status = 409, body = Response)))]
#[post("/users/first")]
pub async fn post_first_user(
    state: web::Data<AppState>,
    JsonBody(req): JsonBody<CreateFirstUserRequest>,
) -> ApiResult<HttpResponse> {
    let (user, org) = state
        .services
        .create_first_user(CreateFirstUser {
            email: req.email,
            username: req.username,
            name: req.name,
            password: req.password,
        })
        .await?;
    Ok(HttpResponse::Created().json(CreateFirstUserResponse {
        user_id: user.id.as_uuid(),
        organization_id: org.id.as_uuid(),
    }))
}

/// Password login: a session token, also set as the `coder_session_token` cookie.
#[utoipa::path(post, path = "/api/v2/users/login", tag = "Authorization", request_body = LoginWithPasswordRequest,
    responses((status = 201, body = LoginWithPasswordResponse), (status = 400, body = Response), (status = 401, body = Response)))]
#[post("/users/login")]
pub async fn login(
    state: web::Data<AppState>,
    JsonBody(req): JsonBody<LoginWithPasswordRequest>,
) -> ApiResult<HttpResponse> {
    let mut validations = Vec::new();
    if req.email.is_empty() {
        validations.push((
            "email",
            "Validation failed for tag \"required\" with value: \"\"",
        ));
    }
    if req.password.is_empty() {
        validations.push((
            "password",
            "Validation failed for tag \"required\" with value: \"\"",
        ));
    }
    if !validations.is_empty() {
        return Err(DomainError::Invalid {
            message: "Validation failed.".into(),
            detail: String::new(),
            validations: validations
                .into_iter()
                .map(|(f, d)| warden_domain::FieldError::new(f, d))
                .collect(),
        }
        .into());
    }
    let token = state
        .services
        .login_with_password(&req.email, &req.password)
        .await?;
    let cookie = Cookie::build(SESSION_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies)
        .finish();
    Ok(HttpResponse::Created()
        .cookie(cookie)
        .json(LoginWithPasswordResponse {
            session_token: token,
        }))
}

/// Logs out: deletes the presented key and clears the cookie.
#[utoipa::path(post, path = "/api/v2/users/logout", tag = "Users",
    responses((status = 200, body = Response), (status = 401, body = Response)),
    security(("CoderSessionToken" = [])))]
#[post("/users/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> ApiResult<HttpResponse> {
    state.services.logout(&actor).await?;
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .finish();
    cookie.make_removal();
    Ok(HttpResponse::Ok()
        .cookie(cookie)
        .json(Response::message("Logged out!")))
}

/// Lists users the caller may read. `q` takes Coder's search syntax.
#[utoipa::path(get, path = "/api/v2/users", tag = "Users",
    params(("q" = Option<String>, Query, description = "Search: free text plus status:, role:, login_type:, username:, email:"),
           ("after_id" = Option<String>, Query, pattern = r"^$|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "A UUID; empty is absent"), ("limit" = Option<i32>, Query, minimum = 0, description = "0 = all"), ("offset" = Option<i32>, Query, minimum = 0)),
    responses((status = 200, body = GetUsersResponse), (status = 400, body = Response), (status = 401, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: QueryPairs,
) -> ApiResult<web::Json<GetUsersResponse>> {
    let q = query.single("q")?;
    // Coder parses the search query before pagination; keep that order of complaints.
    let search = warden_domain::services::users::parse_user_query(q.unwrap_or(""))?;
    let page = Pagination::parse(
        query.single("limit")?,
        query.single("offset")?,
        query.single("after_id")?,
    )?;
    let page = state.services.list_users(&actor, search, page).await?;
    Ok(web::Json(GetUsersResponse {
        count: page.count,
        users: page.users.into_iter().map(User::from).collect(),
    }))
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v2/users", tag = "Users", request_body = CreateUserRequest,
    responses((status = 201, body = User), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response), (status = 409, body = Response)),
    security(("CoderSessionToken" = [])))]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(req): JsonBody<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let mut organization_ids: Vec<OrganizationId> = req
        .organization_ids
        .into_iter()
        .map(OrganizationId)
        .collect();
    if let Some(legacy) = req.organization_id {
        organization_ids.push(OrganizationId(legacy));
    }
    let login_type = if req.disable_login {
        Some(warden_domain::model::LoginType::None)
    } else {
        req.login_type.and_then(LoginType::to_domain)
    };
    let user = state
        .services
        .create_user(
            &actor,
            CreateUser {
                email: req.email,
                username: req.username,
                name: req.name,
                password: req.password,
                login_type,
                status: req.user_status.map(Into::into),
                organization_ids,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(User::from(user)))
}

/// A user by UUID, username or `me`.
#[utoipa::path(get, path = "/api/v2/users/{user}", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = User), (status = 400, body = Response), (status = 401, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users/{user}")]
pub async fn get_user(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<User>> {
    Ok(web::Json(
        state.services.get_user(&actor, &path).await?.into(),
    ))
}

/// Suspends a user; their keys stop working at once.
#[utoipa::path(put, path = "/api/v2/users/{user}/status/suspend", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = User), (status = 400, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[put("/users/{user}/status/suspend")]
pub async fn suspend_user(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<User>> {
    let user = state
        .services
        .set_user_status(&actor, &path, UserStatus::Suspended)
        .await?;
    Ok(web::Json(user.into()))
}

/// Reactivates a user.
#[utoipa::path(put, path = "/api/v2/users/{user}/status/activate", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = User), (status = 400, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[put("/users/{user}/status/activate")]
pub async fn activate_user(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<User>> {
    let user = state
        .services
        .set_user_status(&actor, &path, UserStatus::Active)
        .await?;
    Ok(web::Json(user.into()))
}

/// How one can sign in: password, and the external providers configured.
#[utoipa::path(get, path = "/api/v2/users/authmethods", tag = "Users",
    responses((status = 200, body = AuthMethods)))]
#[get("/users/authmethods")]
pub async fn auth_methods(state: web::Data<AppState>) -> web::Json<AuthMethods> {
    let oidc = state.services.oidc_settings();
    web::Json(AuthMethods {
        terms_of_service_url: String::new(),
        password: AuthMethod { enabled: true },
        github: GithubAuthMethod {
            enabled: false,
            default_provider_configured: false,
        },
        oidc: OidcAuthMethod {
            enabled: oidc.is_some(),
            sign_in_text: oidc.map(|o| o.sign_in_text.clone()).unwrap_or_default(),
            icon_url: oidc.map(|o| o.icon_url.clone()).unwrap_or_default(),
        },
    })
}

/// Deletes a user: their sessions, tokens and memberships end at once; the username
/// and email are free again.
#[utoipa::path(delete, path = "/api/v2/users/{user}", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = Response), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[delete("/users/{user}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<Response>> {
    state.services.delete_user(&actor, &path).await?;
    Ok(web::Json(Response::message("User has been deleted!")))
}

/// Changes a user's username and name.
#[utoipa::path(put, path = "/api/v2/users/{user}/profile", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    request_body = UpdateUserProfileRequest,
    responses((status = 200, body = User), (status = 400, body = Response), (status = 401, body = Response), (status = 404, body = Response), (status = 409, body = Response)),
    security(("CoderSessionToken" = [])))]
#[put("/users/{user}/profile")]
pub async fn update_profile(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<UpdateUserProfileRequest>,
) -> ApiResult<web::Json<User>> {
    let user = state
        .services
        .update_profile(
            &actor,
            &path,
            UpdateProfile {
                username: req.username,
                name: req.name,
            },
        )
        .await?;
    Ok(web::Json(user.into()))
}

/// Sets a user's password; their other sessions and tokens end.
#[utoipa::path(put, path = "/api/v2/users/{user}/password", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    request_body = UpdateUserPasswordRequest,
    responses((status = 204), (status = 400, body = Response), (status = 401, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[put("/users/{user}/password")]
pub async fn update_password(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<UpdateUserPasswordRequest>,
) -> ApiResult<HttpResponse> {
    state
        .services
        .update_password(
            &actor,
            &path,
            UpdatePassword {
                old_password: req.old_password,
                password: req.password,
            },
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's site roles and organization roles.
#[utoipa::path(get, path = "/api/v2/users/{user}/roles", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = UserRoles), (status = 400, body = Response), (status = 401, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users/{user}/roles")]
pub async fn user_roles(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<UserRoles>> {
    let roles = state.services.user_roles(&actor, &path).await?;
    Ok(web::Json(UserRoles {
        roles: roles.site,
        organization_roles: roles
            .organizations
            .into_iter()
            .map(|(org, roles)| (org.as_uuid(), roles))
            .collect(),
    }))
}

/// Replaces a user's site roles.
#[utoipa::path(put, path = "/api/v2/users/{user}/roles", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    request_body = UpdateRoles,
    responses((status = 200, body = User), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[put("/users/{user}/roles")]
pub async fn update_user_roles(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<UpdateRoles>,
) -> ApiResult<web::Json<User>> {
    let user = state
        .services
        .set_user_roles(&actor, &path, req.roles)
        .await?;
    Ok(web::Json(user.into()))
}

/// The caller's own login type.
#[utoipa::path(get, path = "/api/v2/users/{user}/login-type", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = UserLoginType), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users/{user}/login-type")]
pub async fn get_login_type(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<UserLoginType>> {
    let login_type = state.services.login_type(&actor, &path).await?;
    Ok(web::Json(UserLoginType {
        login_type: login_type.as_str().to_owned(),
    }))
}

/// A user's appearance settings.
#[utoipa::path(get, path = "/api/v2/users/{user}/appearance", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = UserAppearanceSettings), (status = 400, body = Response), (status = 401, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users/{user}/appearance")]
pub async fn appearance(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<UserAppearanceSettings>> {
    let user = state.services.get_user(&actor, &path).await?;
    Ok(web::Json(UserAppearanceSettings {
        theme_preference: user.theme_preference,
        terminal_font: String::new(),
    }))
}

/// A user's Git SSH public key, made on first use.
#[utoipa::path(get, path = "/api/v2/users/{user}/gitsshkey", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = GitSshKey), (status = 400, body = Response), (status = 401, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users/{user}/gitsshkey")]
pub async fn git_ssh_key(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<GitSshKey>> {
    let key = state.services.git_ssh_key(&actor, &path).await?;
    Ok(web::Json(key.into()))
}

/// Replaces a user's Git SSH key pair with a new one.
#[utoipa::path(put, path = "/api/v2/users/{user}/gitsshkey", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = GitSshKey), (status = 400, body = Response), (status = 401, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[put("/users/{user}/gitsshkey")]
pub async fn regenerate_git_ssh_key(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<GitSshKey>> {
    let key = state.services.regenerate_git_ssh_key(&actor, &path).await?;
    Ok(web::Json(key.into()))
}
