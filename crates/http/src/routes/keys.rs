//! `/users/{user}/keys`: session keys and named tokens.

use actix_web::{HttpResponse, delete, get, post, web};
use warden_domain::services::api_keys::CreateToken;

use crate::AppState;
use crate::auth::Authenticated;
use crate::dto::{ApiKey, ApiKeyWithOwner, CreateTokenRequest, GenerateApiKeyResponse};
use crate::error::{ApiResult, Response};
use crate::extract::{JsonBody, QueryPairs};

/// Creates a session key for the user (as the CLI does).
#[utoipa::path(post, path = "/api/v2/users/{user}/keys", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 201, body = GenerateApiKeyResponse), (status = 400, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[post("/users/{user}/keys")]
pub async fn create_session_key(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let key = state.services.create_session_key(&actor, &path).await?;
    Ok(HttpResponse::Created().json(GenerateApiKeyResponse { key }))
}

/// Creates a named token with a lifetime (nanoseconds) and scopes.
#[utoipa::path(post, path = "/api/v2/users/{user}/keys/tokens", tag = "Users", request_body = CreateTokenRequest,
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 201, body = GenerateApiKeyResponse), (status = 400, body = Response), (status = 409, body = Response)),
    security(("CoderSessionToken" = [])))]
#[post("/users/{user}/keys/tokens")]
pub async fn create_token(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<CreateTokenRequest>,
) -> ApiResult<HttpResponse> {
    let mut scopes = req.scopes;
    if scopes.is_empty() && !req.scope.is_empty() {
        scopes.push(req.scope);
    }
    let lifetime = (req.lifetime != 0).then(|| time::Duration::nanoseconds(req.lifetime));
    let key = state
        .services
        .create_token(
            &actor,
            &path,
            CreateToken {
                lifetime,
                scopes,
                token_name: req.token_name,
                allow_list: req
                    .allow_list
                    .into_iter()
                    .map(|e| format!("{}:{}", e.resource_type, e.id))
                    .collect(),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(GenerateApiKeyResponse { key }))
}

/// Lists the user's named tokens; `include_all=true` lists every user's that the caller may read.
#[utoipa::path(get, path = "/api/v2/users/{user}/keys/tokens", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me"), ("include_all" = Option<bool>, Query)),
    responses((status = 200, body = [ApiKeyWithOwner]), (status = 400, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users/{user}/keys/tokens")]
pub async fn list_tokens(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    query: QueryPairs,
) -> ApiResult<web::Json<Vec<ApiKeyWithOwner>>> {
    let include_all = query.flag("include_all")?;
    let tokens = state
        .services
        .list_tokens(&actor, &path, include_all)
        .await?;
    Ok(web::Json(
        tokens
            .into_iter()
            .map(|(key, username)| ApiKeyWithOwner {
                key: key.into(),
                username,
            })
            .collect(),
    ))
}

/// A named token by name.
#[utoipa::path(get, path = "/api/v2/users/{user}/keys/tokens/{keyname}", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me"), ("keyname" = String, Path)),
    responses((status = 200, body = ApiKey), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users/{user}/keys/tokens/{keyname}")]
pub async fn get_token_by_name(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<ApiKey>> {
    let (user, name) = path.into_inner();
    Ok(web::Json(
        state
            .services
            .get_token_by_name(&actor, &user, &name)
            .await?
            .into(),
    ))
}

/// A key by id.
#[utoipa::path(get, path = "/api/v2/users/{user}/keys/{keyid}", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me"), ("keyid" = String, Path)),
    responses((status = 200, body = ApiKey), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users/{user}/keys/{keyid}")]
pub async fn get_key(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<ApiKey>> {
    let (user, id) = path.into_inner();
    Ok(web::Json(
        state.services.get_key(&actor, &user, &id).await?.into(),
    ))
}

/// Deletes a key; it stops working at once.
#[utoipa::path(delete, path = "/api/v2/users/{user}/keys/{keyid}", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me"), ("keyid" = String, Path)),
    responses((status = 204), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[delete("/users/{user}/keys/{keyid}")]
pub async fn delete_key(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (user, id) = path.into_inner();
    state.services.delete_key(&actor, &user, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
