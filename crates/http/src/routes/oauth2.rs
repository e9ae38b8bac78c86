//! The OAuth2 protocol endpoints (mounted at the root, as Coder mounts them), their
//! discovery documents, and the two browser pages they need: consent and login.

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warden_domain::Actor;
use warden_oauth2_provider::authorize::{AuthorizeFailure, AuthorizeRequest};
use warden_oauth2_provider::token::FormRequest;
use warden_oauth2_provider::{OAuth2Error, OAuth2Provider};

use crate::AppState;
use crate::auth::{Authenticated, SESSION_COOKIE, SESSION_HEADER, presented_token};
use crate::error::{
    ApiError, ApiResult, OAuth2ApiError, OAuth2ErrorBody, PageKind, Response, page_status,
};
use crate::extract::QueryPairs;

/// Largest form body the OAuth2 endpoints read.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// RFC 8414 metadata (`codersdk.OAuth2AuthorizationServerMetadata` and more).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuth2AuthorizationServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub device_authorization_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    /// Only while dynamic client registration is switched on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
}

/// RFC 9728 metadata.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuth2ProtectedResourceMetadata {
    pub resource: String,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub bearer_methods_supported: Vec<String>,
}

/// `oauth2.Token`: the token endpoint's success body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuth2Token {
    pub access_token: String,
    pub token_type: String,
    /// Absent for clients not registered for the `refresh_token` grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub expires_in: i64,
    pub expiry: String,
    pub scope: String,
}

/// RFC 7662's introspection response (only `active` when inactive).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuth2Introspection {
    pub active: bool,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub token_type: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub sub: Option<String>,
    pub aud: Option<String>,
    pub iss: Option<String>,
}

fn server_metadata(state: &AppState) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(state.oauth2.server_metadata())
}

/// RFC 8414 authorization server metadata.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "Enterprise",
    responses((status = 200, body = OAuth2AuthorizationServerMetadata)))]
#[get("/.well-known/oauth-authorization-server")]
pub async fn server_metadata_root(state: web::Data<AppState>) -> HttpResponse {
    server_metadata(&state)
}

/// RFC 8414 authorization server metadata, where Coder's API documents it.
#[utoipa::path(get, path = "/api/v2/.well-known/oauth-authorization-server", tag = "Enterprise",
    responses((status = 200, body = OAuth2AuthorizationServerMetadata)))]
#[get("/.well-known/oauth-authorization-server")]
pub async fn server_metadata_api(state: web::Data<AppState>) -> HttpResponse {
    server_metadata(&state)
}

/// RFC 9728 protected resource metadata.
#[utoipa::path(get, path = "/.well-known/oauth-protected-resource", tag = "Enterprise",
    responses((status = 200, body = OAuth2ProtectedResourceMetadata)))]
#[get("/.well-known/oauth-protected-resource")]
pub async fn resource_metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(state.oauth2.resource_metadata())
}

/// Reads a form body of at most [`MAX_FORM_BYTES`] into ordered pairs.
pub(crate) async fn read_form(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Vec<(String, String)>, OAuth2Error> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| OAuth2Error::invalid_request(e.to_string()))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(OAuth2Error::invalid_request(format!(
                "the request body must not exceed {MAX_FORM_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media != "application/x-www-form-urlencoded" {
        return Err(OAuth2Error::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|e| OAuth2Error::invalid_request(format!("malformed form body: {e}")))?;
    if let Some((name, _)) = pairs
        .iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(OAuth2Error::invalid_request(format!(
            "{}: {}",
            name.replace('\0', "%00"),
            crate::extract::NUL_REFUSED
        )));
    }
    Ok(pairs)
}

pub(crate) async fn form_request(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<FormRequest, OAuth2Error> {
    Ok(FormRequest {
        pairs: read_form(req, payload).await?,
        authorization: req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    })
}

/// Token responses must not be cached (RFC 6749 §5.1).
pub(crate) fn no_store(
    mut builder: actix_web::HttpResponseBuilder,
) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"));
    builder
}

/// The token endpoint: `authorization_code` (with PKCE and `resource`),
/// `refresh_token` and RFC 8628 `device_code` grants; `client_secret_basic`,
/// `client_secret_post`, or `none` for public clients.
#[utoipa::path(post, path = "/oauth2/tokens", tag = "Enterprise",
    request_body(content_type = "application/x-www-form-urlencoded", description = "grant_type, code, code_verifier, redirect_uri, refresh_token, device_code, resource, scope, client_id, client_secret"),
    responses((status = 200, body = OAuth2Token), (status = 400, body = OAuth2ErrorBody), (status = 401, body = OAuth2ErrorBody)))]
#[post("/oauth2/tokens")]
pub async fn token_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OAuth2ApiError> {
    let form = form_request(&req, payload).await?;
    let outcome = state.oauth2.token(&form).await;
    let grant = form
        .pairs
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.as_str());
    crate::metrics::record_token_grant(
        grant,
        outcome.as_ref().map(|_| ()).map_err(|e| e.code.as_str()),
    );
    Ok(no_store(HttpResponse::Ok()).json(outcome?))
}

/// RFC 7009 revocation: revokes the token's whole family; unknown tokens succeed too.
#[utoipa::path(post, path = "/oauth2/revoke", tag = "Enterprise",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token, token_type_hint, client_id, client_secret"),
    responses((status = 200), (status = 400, body = OAuth2ErrorBody), (status = 401, body = OAuth2ErrorBody)))]
#[post("/oauth2/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OAuth2ApiError> {
    let form = form_request(&req, payload).await?;
    state.oauth2.revoke(&form).await?;
    Ok(no_store(HttpResponse::Ok()).finish())
}

/// RFC 7662 introspection, for the client the token was issued to.
#[utoipa::path(post, path = "/oauth2/introspect", tag = "Enterprise",
    request_body(content_type = "application/x-www-form-urlencoded", description = "token, token_type_hint, client_id, client_secret"),
    responses((status = 200, body = OAuth2Introspection), (status = 400, body = OAuth2ErrorBody), (status = 401, body = OAuth2ErrorBody)))]
#[post("/oauth2/introspect")]
pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OAuth2ApiError> {
    let form = form_request(&req, payload).await?;
    let result = state.oauth2.introspect(&form).await?;
    Ok(no_store(HttpResponse::Ok()).json(result))
}

/// The signed-in user revokes an application: its codes, refresh and access tokens.
#[utoipa::path(delete, path = "/oauth2/tokens", tag = "Enterprise",
    params(("client_id" = String, Query, description = "Client ID")),
    responses((status = 204), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[delete("/oauth2/tokens")]
pub async fn revoke_app(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: QueryPairs,
) -> ApiResult<HttpResponse> {
    let client = query.single("client_id")?.unwrap_or_default();
    if client.is_empty() {
        return Err(ApiError::bad_field(
            "Query parameters have invalid values.",
            "client_id",
            "Missing required parameter: client_id",
        ));
    }
    state.oauth2.revoke_app_for_user(&actor, client).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------
// Browser pages

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn page(kind: PageKind, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · Warden</title><style>\
body{{font-family:system-ui,sans-serif;background:#f5f5f7;margin:0;display:flex;justify-content:center}}\
main{{background:#fff;margin-top:10vh;padding:2rem 2.5rem;border-radius:12px;max-width:28rem;box-shadow:0 2px 12px #0002}}\
img.icon{{width:64px;height:64px;border-radius:12px}} ul{{padding-left:1.2rem}}\
button,a.button{{font-size:1rem;padding:.5rem 1.2rem;border-radius:6px;border:1px solid #888;background:#fff;color:#000;text-decoration:none;cursor:pointer}}\
button.primary{{background:#2563eb;color:#fff;border-color:#2563eb}} .actions{{display:flex;gap:1rem;margin-top:1.5rem}}\
label{{display:block;margin-top:1rem}} input{{width:100%;padding:.4rem;font-size:1rem;box-sizing:border-box}}\
.error{{color:#b91c1c}}</style></head><body><main>{body}</main></body></html>\n",
        title = esc(title),
    );
    HttpResponse::build(page_status(kind))
        .content_type(ContentType::html())
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .body(html)
}

pub(crate) fn error_page(kind: PageKind, message: &str) -> HttpResponse {
    page(
        kind,
        "Authorization error",
        &format!(
            "<h1>Cannot authorize</h1><p class=\"error\" id=\"error\">{}</p>",
            esc(message)
        ),
    )
}

pub(crate) fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, String> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|e| format!("Malformed query string: {e}"))
}

/// Where the login page returns to: a path on this server, never another origin.
pub(crate) fn safe_return(raw: &str) -> Option<&str> {
    let local = raw.starts_with('/') && !raw.starts_with("//") && !raw.starts_with("/\\");
    (local && !raw.chars().any(char::is_control)).then_some(raw)
}

pub(crate) fn redirect(status: actix_web::http::StatusCode, location: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

pub(crate) fn found(location: &str) -> HttpResponse {
    redirect(actix_web::http::StatusCode::FOUND, location)
}

/// The consent page of a validated request for a signed-in user.
fn consent_page(
    oauth2: &OAuth2Provider,
    actor: &Actor,
    session_token: &str,
    request: &AuthorizeRequest,
    query: &str,
) -> HttpResponse {
    let app = &request.app;
    let icon = if app.icon.is_empty() {
        String::new()
    } else {
        format!("<img class=\"icon\" src=\"{}\" alt=\"\">", esc(&app.icon))
    };
    let scopes: String = request
        .scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", esc(s)))
        .collect();
    let resource = request
        .resource
        .as_deref()
        .map(|r| format!("<p>For use with <code>{}</code>.</p>", esc(r)))
        .unwrap_or_default();
    let body = format!(
        "{icon}<h1>Authorize <span id=\"app-name\">{name}</span></h1>\
<p>Signed in as <strong id=\"username\">{user}</strong>.</p>\
<p><strong>{name}</strong> asks for access to your account with these scopes:</p>\
<ul id=\"scopes\">{scopes}</ul>{resource}\
<p>You will be sent to <code>{redirect}</code>.</p>\
<form method=\"post\" action=\"/oauth2/authorize?{query}\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<div class=\"actions\"><button type=\"submit\" class=\"primary\" id=\"allow\">Allow</button>\
<a class=\"button\" id=\"cancel\" href=\"{deny}\">Cancel</a></div></form>",
        name = esc(&app.name),
        user = esc(actor.user.username.as_str()),
        redirect = esc(&request.redirect_uri),
        query = esc(query),
        csrf = OAuth2Provider::csrf_token(session_token),
        deny = esc(&oauth2.deny_location(request)),
    );
    page(PageKind::Ok, &format!("Authorize {}", app.name), &body)
}

/// The consent page (HTML). Unknown client or mismatched redirect URI: an error
/// page; other bad parameters: redirected back to the client; not signed in: sent to
/// the login page and back.
#[utoipa::path(get, path = "/oauth2/authorize", tag = "Enterprise",
    params(("client_id" = String, Query, description = "Client ID"),
           ("response_type" = String, Query, description = "code"),
           ("state" = Option<String>, Query, description = "A random unguessable string"),
           ("redirect_uri" = Option<String>, Query, description = "Redirect here after authorization"),
           ("scope" = Option<String>, Query, description = "Space-separated scopes"),
           ("resource" = Option<String>, Query, description = "RFC 8707 resource"),
           ("code_challenge" = String, Query, description = "PKCE S256 challenge"),
           ("code_challenge_method" = Option<String>, Query, description = "S256")),
    responses((status = 200, description = "Returns HTML authorization page"), (status = 302, description = "Error redirect, or to the login page"), (status = 400, description = "HTML error page")))]
#[get("/oauth2/authorize")]
pub async fn authorize_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let pairs = match query_pairs(&req) {
        Ok(p) => p,
        Err(message) => return error_page(PageKind::BadRequest, &message),
    };
    let request = match state.oauth2.check_authorize(&pairs).await {
        Ok(r) => r,
        Err(AuthorizeFailure::Page(message)) => return error_page(PageKind::BadRequest, &message),
        Err(AuthorizeFailure::Redirect(location)) => return found(&location),
    };
    let login = || {
        let back = format!("/oauth2/authorize?{}", req.query_string());
        let query = serde_urlencoded::to_string([("redirect", back.as_str())]).unwrap_or_default();
        found(&format!("/login?{query}"))
    };
    let Some(token) = presented_token(&req) else {
        return login();
    };
    let actor = match state.services.authenticate(&token).await {
        Ok(actor) => actor,
        Err(warden_domain::DomainError::Unauthorized { .. }) => return login(),
        Err(e) => return error_page(PageKind::Unavailable, &e.to_string()),
    };
    consent_page(&state.oauth2, &actor, &token, &request, req.query_string())
}

/// The user's decision. A browser (cookie session) must send the consent form's CSRF
/// token; an API client with the `Coder-Session-Token` header may post directly.
#[utoipa::path(post, path = "/oauth2/authorize", tag = "Enterprise",
    params(("client_id" = String, Query, description = "Client ID"),
           ("response_type" = String, Query, description = "code"),
           ("state" = Option<String>, Query, description = "A random unguessable string"),
           ("redirect_uri" = Option<String>, Query, description = "Redirect here after authorization"),
           ("scope" = Option<String>, Query, description = "Space-separated scopes"),
           ("resource" = Option<String>, Query, description = "RFC 8707 resource"),
           ("code_challenge" = String, Query, description = "PKCE S256 challenge"),
           ("code_challenge_method" = Option<String>, Query, description = "S256")),
    responses((status = 302, description = "Returns redirect with authorization code"), (status = 400, description = "HTML error page"), (status = 401, body = Response), (status = 403, description = "HTML error page")),
    security(("CoderSessionToken" = [])))]
#[post("/oauth2/authorize")]
pub async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let header_token = req
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let from_cookie = header_token.is_none()
        && req
            .cookie(SESSION_COOKIE)
            .is_some_and(|c| !c.value().trim().is_empty());
    let token = header_token
        .or_else(|| presented_token(&req))
        .ok_or_else(warden_domain::services::auth::missing_token)?;
    let actor = state.services.authenticate(&token).await?;
    let pairs = match query_pairs(&req) {
        Ok(p) => p,
        Err(message) => return Ok(error_page(PageKind::BadRequest, &message)),
    };
    let form = match read_form(&req, payload).await {
        Ok(form) => form,
        Err(e) => return Ok(error_page(PageKind::BadRequest, &e.description)),
    };
    let request = match state.oauth2.check_authorize(&pairs).await {
        Ok(r) => r,
        Err(AuthorizeFailure::Page(message)) => {
            return Ok(error_page(PageKind::BadRequest, &message));
        }
        Err(AuthorizeFailure::Redirect(location)) => return Ok(found(&location)),
    };
    if from_cookie {
        let presented = form
            .iter()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        if !OAuth2Provider::csrf_matches(&token, presented) {
            return Ok(error_page(
                PageKind::Forbidden,
                "The consent form has expired or did not come from this site. Go back and try again.",
            ));
        }
    }
    Ok(match state.oauth2.approve(&actor, &request).await {
        Ok(location) => found(&location),
        Err(e) => found(&state.oauth2.error_location(&request, &e)),
    })
}

fn login_page(state: &AppState, kind: PageKind, back: &str, message: Option<&str>) -> HttpResponse {
    // With OIDC configured, a button that starts its sign-in and returns here.
    let oidc = state
        .services
        .oidc_settings()
        .map(|settings| {
            let text = if settings.sign_in_text.is_empty() {
                "OpenID Connect"
            } else {
                settings.sign_in_text.as_str()
            };
            let icon = if settings.icon_url.is_empty() {
                String::new()
            } else {
                format!("<img src=\"{}\" alt=\"\" width=\"20\" height=\"20\"> ", esc(&settings.icon_url))
            };
            let start = format!(
                "/api/v2/users/oidc/callback?{}",
                serde_urlencoded::to_string([("redirect", back)]).unwrap_or_default()
            );
            format!(
                "<div class=\"actions\"><a class=\"button\" id=\"oidc\" href=\"{}\">{icon}Sign in with {}</a></div>",
                esc(&start),
                esc(text)
            )
        })
        .unwrap_or_default();
    let error = message
        .map(|m| format!("<p class=\"error\" id=\"error\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in to Warden</h1>{error}\
<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"redirect\" value=\"{back}\">\
<label>Email <input type=\"email\" name=\"email\" id=\"email\" autocomplete=\"username\" required></label>\
<label>Password <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" required></label>\
<div class=\"actions\"><button type=\"submit\" class=\"primary\" id=\"sign-in\">Sign in</button></div></form>{oidc}",
        back = esc(back),
    );
    page(kind, "Sign in", &body)
}

/// The sign-in page the consent page sends signed-out users to.
#[utoipa::path(get, path = "/login", tag = "Authorization",
    params(("redirect" = Option<String>, Query, description = "Path on this server to return to")),
    responses((status = 200, description = "HTML sign-in page")))]
#[get("/login")]
pub async fn login_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let back = pairs
        .iter()
        .find(|(k, _)| k == "redirect")
        .and_then(|(_, v)| safe_return(v))
        .unwrap_or("/");
    login_page(&state, PageKind::Ok, back, None)
}

/// Signs in from the page: sets the session cookie and returns to `redirect`.
#[utoipa::path(post, path = "/login", tag = "Authorization",
    request_body(content_type = "application/x-www-form-urlencoded", description = "email, password, redirect"),
    responses((status = 303, description = "Signed in; back to redirect"), (status = 400, description = "HTML sign-in page"), (status = 401, description = "HTML sign-in page")))]
#[post("/login")]
pub async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let form = match read_form(&req, payload).await {
        Ok(form) => form,
        Err(e) => return login_page(&state, PageKind::BadRequest, "/", Some(&e.description)),
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let back = safe_return(field("redirect")).unwrap_or("/");
    let (email, password) = (field("email"), field("password"));
    if email.is_empty() || password.is_empty() {
        return login_page(
            &state,
            PageKind::BadRequest,
            back,
            Some("Enter your email and password."),
        );
    }
    match state.services.login_with_password(email, password).await {
        Ok(token) => {
            let cookie = actix_web::cookie::Cookie::build(SESSION_COOKIE, token)
                .path("/")
                .http_only(true)
                .same_site(actix_web::cookie::SameSite::Lax)
                .secure(state.config.secure_cookies)
                .finish();
            let mut response = redirect(actix_web::http::StatusCode::SEE_OTHER, back);
            if response.add_cookie(&cookie).is_err() {
                return login_page(
                    &state,
                    PageKind::Unavailable,
                    back,
                    Some("Cannot set the session cookie."),
                );
            }
            response
        }
        Err(warden_domain::DomainError::Unavailable(_)) => login_page(
            &state,
            PageKind::Unavailable,
            back,
            Some("The service is temporarily unavailable. Please try again."),
        ),
        Err(e) => {
            let message = ApiError::from(e).to_string();
            let shown = message.split_once(": ").map(|(_, m)| m).unwrap_or(&message);
            login_page(&state, PageKind::Unauthorized, back, Some(shown))
        }
    }
}
