//! Dynamic client registration: RFC 7591 `POST /oauth2/register` and RFC 7592
//! `GET|PUT|DELETE /oauth2/clients/{client_id}`. Off unless the deployment switches
//! it on; then these routes answer 404 like any unknown route.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warden_oauth2_provider::OAuth2Error;
use warden_oauth2_provider::registration::RegistrationRequest;

use crate::AppState;
use crate::error::{OAuth2ApiError, OAuth2ErrorBody, RateLimited, Response};
use crate::ratelimit::retry_after_seconds;
use crate::routes::oauth2::no_store;

/// RFC 7591 §2 client metadata (request) — only the fields Warden reads.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuth2ClientRegistrationRequest {
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub scope: Option<String>,
    pub contacts: Option<Vec<String>>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    /// RFC 7592 updates only: must name the client.
    pub client_id: Option<String>,
}

/// RFC 7591 §3.2.1 / RFC 7592 §3 response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuth2ClientRegistrationResponse {
    pub client_id: String,
    /// At registration, for confidential clients only.
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    pub client_secret_expires_at: Option<i64>,
    /// At registration only.
    pub registration_access_token: Option<String>,
    pub registration_client_uri: String,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub scope: Option<String>,
    pub contacts: Option<Vec<String>>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(Response::message("Route not found."))
}

fn parse_body(body: &[u8]) -> Result<RegistrationRequest, OAuth2Error> {
    let invalid = |detail: String| {
        OAuth2Error::new(
            warden_oauth2_provider::ErrorCode::InvalidClientMetadata,
            detail,
        )
    };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "the body must be a JSON client metadata document: {e}"
        ))
    })?;
    if let Some(path) = crate::extract::nul_in_json(&value) {
        return Err(invalid(format!("{path}: {}", crate::extract::NUL_REFUSED)));
    }
    serde_json::from_value(value).map_err(|e| {
        invalid(format!(
            "the body must be a JSON client metadata document: {e}"
        ))
    })
}

fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// RFC 7591 registration. Rate-limited per client address.
#[utoipa::path(post, path = "/oauth2/register", tag = "Enterprise",
    request_body = OAuth2ClientRegistrationRequest,
    responses((status = 201, body = OAuth2ClientRegistrationResponse), (status = 400, body = OAuth2ErrorBody),
              (status = 404, body = Response, description = "Dynamic registration is switched off"),
              (status = 429, body = OAuth2ErrorBody)))]
#[post("/oauth2/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    if !state.oauth2.config().dynamic_registration {
        return Ok(not_found());
    }
    if let Some(ip) = req.peer_addr().map(|a| a.ip()) {
        let attempt = state
            .registration_limiter
            .attempt(&ip.to_string())
            .await
            .map_err(|e| OAuth2ApiError(e.into()))?;
        if let Err(wait) = attempt {
            return Err(RateLimited {
                retry_after: retry_after_seconds(wait),
            }
            .into());
        }
    }
    let request = parse_body(&body).map_err(OAuth2ApiError)?;
    let registered = state
        .oauth2
        .register_client(request)
        .await
        .map_err(OAuth2ApiError)?;
    Ok(no_store(HttpResponse::Created()).json(registered))
}

/// RFC 7592 read, with the registration access token.
#[utoipa::path(get, path = "/oauth2/clients/{client_id}", tag = "Enterprise",
    params(("client_id" = String, Path, description = "Client ID")),
    responses((status = 200, body = OAuth2ClientRegistrationResponse), (status = 401, body = OAuth2ErrorBody),
              (status = 404, body = Response, description = "Dynamic registration is switched off")))]
#[get("/oauth2/clients/{client_id}")]
pub async fn get_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, OAuth2ApiError> {
    if !state.oauth2.config().dynamic_registration {
        return Ok(not_found());
    }
    let read = state
        .oauth2
        .read_registration(&path, bearer(&req).as_deref())
        .await?;
    Ok(no_store(HttpResponse::Ok()).json(read))
}

/// RFC 7592 update: replaces the client's metadata.
#[utoipa::path(put, path = "/oauth2/clients/{client_id}", tag = "Enterprise",
    params(("client_id" = String, Path, description = "Client ID")),
    request_body = OAuth2ClientRegistrationRequest,
    responses((status = 200, body = OAuth2ClientRegistrationResponse), (status = 400, body = OAuth2ErrorBody),
              (status = 401, body = OAuth2ErrorBody),
              (status = 404, body = Response, description = "Dynamic registration is switched off")))]
#[put("/oauth2/clients/{client_id}")]
pub async fn update_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuth2ApiError> {
    if !state.oauth2.config().dynamic_registration {
        return Ok(not_found());
    }
    let token = bearer(&req);
    // Authenticate before reading the body, so a stranger learns nothing from it.
    state
        .oauth2
        .registered_client(&path, token.as_deref())
        .await?;
    let request = parse_body(&body)?;
    let updated = state
        .oauth2
        .update_registration(&path, token.as_deref(), request)
        .await?;
    Ok(no_store(HttpResponse::Ok()).json(updated))
}

/// RFC 7592 delete: the client and everything it was issued are gone.
#[utoipa::path(delete, path = "/oauth2/clients/{client_id}", tag = "Enterprise",
    params(("client_id" = String, Path, description = "Client ID")),
    responses((status = 204), (status = 401, body = OAuth2ErrorBody),
              (status = 404, body = Response, description = "Dynamic registration is switched off")))]
#[delete("/oauth2/clients/{client_id}")]
pub async fn delete_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, OAuth2ApiError> {
    if !state.oauth2.config().dynamic_registration {
        return Ok(not_found());
    }
    state
        .oauth2
        .delete_registration(&path, bearer(&req).as_deref())
        .await?;
    Ok(no_store(HttpResponse::NoContent()).finish())
}
