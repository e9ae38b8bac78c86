//! Coder's OAuth2 application management API (`/oauth2-provider/apps`).

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_domain::oauth2::{OAuth2App, OAuth2AppSecret};
use warden_oauth2_provider::apps::AppFields;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult, Response};
use crate::extract::{JsonBody, QueryPairs};

/// `codersdk.OAuth2AppEndpoints`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OAuth2AppEndpoints {
    pub authorization: String,
    pub token: String,
    pub token_revoke: String,
    /// The RFC 8628 device authorization endpoint.
    pub device_authorization: String,
}

/// `codersdk.OAuth2ProviderApp`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OAuth2ProviderApp {
    pub id: Uuid,
    pub name: String,
    pub callback_url: String,
    pub icon: String,
    pub endpoints: OAuth2AppEndpoints,
}

impl OAuth2ProviderApp {
    fn new(app: OAuth2App, access_url: &str) -> Self {
        let base = access_url.trim_end_matches('/');
        Self {
            id: app.id.as_uuid(),
            name: app.name,
            callback_url: app.callback_url,
            icon: app.icon,
            endpoints: OAuth2AppEndpoints {
                authorization: format!("{base}/oauth2/authorize"),
                token: format!("{base}/oauth2/tokens"),
                token_revoke: format!("{base}/oauth2/revoke"),
                device_authorization: format!("{base}/oauth2/device"),
            },
        }
    }
}

/// `codersdk.PostOAuth2ProviderAppRequest` and `PutOAuth2ProviderAppRequest`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuth2ProviderAppRequest {
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(required = true, format = "uri")]
    pub callback_url: String,
    #[serde(default)]
    pub icon: String,
    /// Warden's addition, read on creation only: `none` creates a public client (no
    /// secrets; PKCE required); absent, `client_secret_basic` or `client_secret_post`
    /// a confidential one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
}

impl From<OAuth2ProviderAppRequest> for AppFields {
    fn from(r: OAuth2ProviderAppRequest) -> Self {
        Self {
            name: r.name,
            callback_url: r.callback_url,
            icon: r.icon,
            token_endpoint_auth_method: r.token_endpoint_auth_method,
        }
    }
}

/// `codersdk.OAuth2ProviderAppSecret`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuth2ProviderAppSecret {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    pub client_secret_truncated: String,
}

impl From<OAuth2AppSecret> for OAuth2ProviderAppSecret {
    fn from(s: OAuth2AppSecret) -> Self {
        Self {
            id: s.id.as_uuid(),
            last_used_at: s.last_used_at,
            client_secret_truncated: s.display_secret,
        }
    }
}

/// `codersdk.OAuth2ProviderAppSecretFull`: the only time the secret is shown.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuth2ProviderAppSecretFull {
    pub id: Uuid,
    pub client_secret_full: String,
}

impl std::fmt::Debug for OAuth2ProviderAppSecretFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2ProviderAppSecretFull")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// OAuth2 applications, or those a user has authorized (`user_id`).
#[utoipa::path(get, path = "/api/v2/oauth2-provider/apps", tag = "Enterprise",
    params(("user_id" = Option<String>, Query, pattern = r"^$|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "Filter by applications authorized for a user")),
    responses((status = 200, body = [OAuth2ProviderApp]), (status = 400, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/oauth2-provider/apps")]
pub async fn list_apps(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: QueryPairs,
) -> ApiResult<web::Json<Vec<OAuth2ProviderApp>>> {
    if let Some((k, _)) = query.0.iter().find(|(k, _)| k != "user_id") {
        return Err(ApiError::bad_field(
            "Query parameters have invalid values.",
            k.as_str(),
            format!("{k:?} is not a valid query param"),
        ));
    }
    let apps = state
        .oauth2
        .list_apps(&actor, query.single("user_id")?)
        .await?;
    let base = &state.config.access_url;
    Ok(web::Json(
        apps.into_iter()
            .map(|a| OAuth2ProviderApp::new(a, base))
            .collect(),
    ))
}

/// Registers an OAuth2 application (a confidential client).
#[utoipa::path(post, path = "/api/v2/oauth2-provider/apps", tag = "Enterprise", request_body = OAuth2ProviderAppRequest,
    responses((status = 201, body = OAuth2ProviderApp), (status = 400, body = Response), (status = 403, body = Response), (status = 409, body = Response)),
    security(("CoderSessionToken" = [])))]
#[post("/oauth2-provider/apps")]
pub async fn create_app(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(req): JsonBody<OAuth2ProviderAppRequest>,
) -> ApiResult<HttpResponse> {
    let app = state.oauth2.create_app(&actor, req.into()).await?;
    Ok(HttpResponse::Created().json(OAuth2ProviderApp::new(app, &state.config.access_url)))
}

/// One OAuth2 application.
#[utoipa::path(get, path = "/api/v2/oauth2-provider/apps/{app}", tag = "Enterprise",
    params(("app" = Uuid, Path, description = "App ID")),
    responses((status = 200, body = OAuth2ProviderApp), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/oauth2-provider/apps/{app}")]
pub async fn get_app(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<OAuth2ProviderApp>> {
    let app = state.oauth2.get_app(&actor, &path).await?;
    Ok(web::Json(OAuth2ProviderApp::new(
        app,
        &state.config.access_url,
    )))
}

/// Changes an application's name, callback URL and icon.
#[utoipa::path(put, path = "/api/v2/oauth2-provider/apps/{app}", tag = "Enterprise", request_body = OAuth2ProviderAppRequest,
    params(("app" = Uuid, Path, description = "App ID")),
    responses((status = 200, body = OAuth2ProviderApp), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response), (status = 409, body = Response)),
    security(("CoderSessionToken" = [])))]
#[put("/oauth2-provider/apps/{app}")]
pub async fn update_app(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<OAuth2ProviderAppRequest>,
) -> ApiResult<web::Json<OAuth2ProviderApp>> {
    let app = state.oauth2.update_app(&actor, &path, req.into()).await?;
    Ok(web::Json(OAuth2ProviderApp::new(
        app,
        &state.config.access_url,
    )))
}

/// Deletes an application and revokes every token it obtained.
#[utoipa::path(delete, path = "/api/v2/oauth2-provider/apps/{app}", tag = "Enterprise",
    params(("app" = Uuid, Path, description = "App ID")),
    responses((status = 204), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[delete("/oauth2-provider/apps/{app}")]
pub async fn delete_app(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    state.oauth2.delete_app(&actor, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An application's client secrets, truncated.
#[utoipa::path(get, path = "/api/v2/oauth2-provider/apps/{app}/secrets", tag = "Enterprise",
    params(("app" = Uuid, Path, description = "App ID")),
    responses((status = 200, body = [OAuth2ProviderAppSecret]), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/oauth2-provider/apps/{app}/secrets")]
pub async fn list_secrets(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<Vec<OAuth2ProviderAppSecret>>> {
    let secrets = state.oauth2.list_secrets(&actor, &path).await?;
    Ok(web::Json(secrets.into_iter().map(Into::into).collect()))
}

/// Creates a client secret; the response is the only time it is shown.
#[utoipa::path(post, path = "/api/v2/oauth2-provider/apps/{app}/secrets", tag = "Enterprise",
    params(("app" = Uuid, Path, description = "App ID")),
    responses((status = 201, body = OAuth2ProviderAppSecretFull), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[post("/oauth2-provider/apps/{app}/secrets")]
pub async fn create_secret(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let secret = state.oauth2.create_secret(&actor, &path).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(OAuth2ProviderAppSecretFull {
            id: secret.id.as_uuid(),
            client_secret_full: secret.full,
        }))
}

/// Deletes a client secret and revokes the tokens obtained with it.
#[utoipa::path(delete, path = "/api/v2/oauth2-provider/apps/{app}/secrets/{secretID}", tag = "Enterprise",
    params(("app" = Uuid, Path, description = "App ID"), ("secretID" = Uuid, Path, description = "Secret ID")),
    responses((status = 204), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[delete("/oauth2-provider/apps/{app}/secrets/{secretID}")]
pub async fn delete_secret(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (app, secret) = path.into_inner();
    state.oauth2.delete_secret(&actor, &app, &secret).await?;
    Ok(HttpResponse::NoContent().finish())
}
