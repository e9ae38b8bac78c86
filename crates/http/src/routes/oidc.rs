//! Signing in through the deployment's OpenID provider: Coder's
//! `GET /api/v2/users/oidc/callback`, which starts the flow when it has no `code`
//! and finishes it when the provider sends the browser back with one.
//!
//! The flow's secrets (`state`, the ID token `nonce`, the PKCE verifier) and the
//! page to return to travel in short-lived HttpOnly cookies, as in Coder; the
//! callback compares `state` with its cookie in constant time and clears all four.
//! Browsers get an HTML page for every refusal, other clients Coder's JSON error, with
//! the same status and message.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::auth::SESSION_COOKIE;
use crate::error::{ApiError, PageKind};
use crate::extract::QueryPairs;
use crate::routes::oauth2::{esc, page, safe_return};

/// Coder's cookie names (`codersdk.OAuth2StateCookie`, `OAuth2RedirectCookie`), and
/// Warden's for the nonce and PKCE verifier.
pub const STATE_COOKIE: &str = "oauth_state";
pub const REDIRECT_COOKIE: &str = "oauth_redirect";
pub const NONCE_COOKIE: &str = "oidc_nonce";
pub const PKCE_COOKIE: &str = "oauth_pkce_verifier";

/// How long a started sign-in may take at the provider.
const FLOW_LIFETIME: CookieDuration = CookieDuration::hours(1);

/// Starts or finishes an OIDC sign-in.
#[utoipa::path(get, path = "/api/v2/users/oidc/callback", tag = "Users",
    params(
        ("code" = Option<String>, Query, description = "Authorization code from the provider; without it the sign-in starts"),
        ("state" = Option<String>, Query, description = "The state this server sent to the provider"),
        ("redirect" = Option<String>, Query, description = "Path on this server to land on after signing in"),
        ("error" = Option<String>, Query, description = "An error the provider reports"),
    ),
    responses(
        (status = 307, description = "To the provider (start), or to the redirect with the session cookie set (finish)"),
        (status = 400, body = crate::error::Response), (status = 401, body = crate::error::Response),
        (status = 403, body = crate::error::Response), (status = 502, body = crate::error::Response),
    ))]
#[get("/users/oidc/callback")]
pub async fn oidc_callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match callback(&req, &state).await {
        Ok(response) => response,
        Err(error) => {
            let body = error.body();
            tracing::warn!(status = %error.status_code(), message = %body.message, detail = %body.detail, "OIDC sign-in refused");
            if wants_html(&req) {
                failure_page(error.status_code(), &body.message, &body.detail)
            } else {
                error.error_response()
            }
        }
    }
}

async fn callback(req: &HttpRequest, state: &AppState) -> Result<HttpResponse, ApiError> {
    if state.services.oidc_settings().is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "The oauth2 method requested is not configured!",
            "",
        ));
    }
    let query = QueryPairs(serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "Malformed query string.",
            e.to_string(),
        )
    })?);
    // The provider reports a refusal (the user declined, a bad scope) this way.
    if let Some(error) = query.single("error")?.filter(|e| !e.is_empty()) {
        let description = query.single("error_description")?.unwrap_or_default();
        let uri = query.single("error_uri")?.unwrap_or_default();
        let detail = match (description.is_empty(), uri.is_empty()) {
            (_, true) => description.to_owned(),
            (true, false) => format!("error_uri: {uri}"),
            (false, false) => format!("{description}, error_uri: {uri}"),
        };
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Encountered error in oidc process: {error}"),
            detail,
        ));
    }
    let code = query.single("code")?.unwrap_or_default();
    if code.is_empty() {
        return start(&query, state).await;
    }
    let sent_state = query.single("state")?.unwrap_or_default();
    if sent_state.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "State must be provided.",
            "",
        ));
    }
    let expected = cookie(req, STATE_COOKIE)?;
    if !bool::from(expected.as_bytes().ct_eq(sent_state.as_bytes())) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "State mismatched.",
            "",
        ));
    }
    let verifier = cookie(req, PKCE_COOKIE)?;
    let nonce = cookie(req, NONCE_COOKIE)?;
    let back = req
        .cookie(REDIRECT_COOKIE)
        .and_then(|c| safe_return(c.value()).map(str::to_owned))
        .unwrap_or_else(|| "/".to_owned());

    let signed_in = state.services.oidc_sign_in(code, &verifier, &nonce).await?;
    for skipped in &signed_in.sync.skipped {
        tracing::warn!(user = %signed_in.user.username.as_str(), organization = ?skipped.organization, reason = %skipped.reason, "IdP sync skipped a part");
    }
    tracing::info!(user = %signed_in.user.username.as_str(), changes = signed_in.sync.changes, "OIDC sign-in");

    let mut response = HttpResponse::TemporaryRedirect();
    response
        .insert_header((header::LOCATION, back))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(
            Cookie::build(SESSION_COOKIE, signed_in.token)
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(state.config.secure_cookies)
                .finish(),
        );
    for name in [STATE_COOKIE, REDIRECT_COOKIE, NONCE_COOKIE, PKCE_COOKIE] {
        let mut removal = flow_cookie(name, String::new(), state.config.secure_cookies);
        removal.make_removal();
        response.cookie(removal);
    }
    Ok(response.finish())
}

/// Sends the browser to the provider with a fresh `state`, `nonce` and PKCE challenge.
async fn start(query: &QueryPairs, state: &AppState) -> Result<HttpResponse, ApiError> {
    // Only a path on this server: anything else would make the callback an open
    // redirect. The cookie is always set so that an old one cannot apply.
    let back = query
        .single("redirect")?
        .and_then(safe_return)
        .unwrap_or("/")
        .to_owned();
    let started = state.services.oidc_start().await?;
    let secure = state.config.secure_cookies;
    Ok(HttpResponse::TemporaryRedirect()
        .insert_header((header::LOCATION, started.url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(flow_cookie(STATE_COOKIE, started.state, secure))
        .cookie(flow_cookie(NONCE_COOKIE, started.nonce, secure))
        .cookie(flow_cookie(PKCE_COOKIE, started.pkce_verifier, secure))
        .cookie(flow_cookie(REDIRECT_COOKIE, back, secure))
        .finish())
}

fn flow_cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        // Lax: the provider's redirect back is a top-level GET, which carries them.
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(FLOW_LIFETIME)
        .finish()
}

/// A cookie the callback needs; Coder's 401 when it is missing.
fn cookie(req: &HttpRequest, name: &str) -> Result<String, ApiError> {
    req.cookie(name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!("Cookie {name:?} must be provided."),
                "",
            )
        })
}

/// Whether the caller is a browser navigating, rather than an API client.
fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

fn failure_page(status: StatusCode, message: &str, detail: &str) -> HttpResponse {
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!("<p id=\"detail\">{}</p>", esc(detail))
    };
    let mut response = page(
        PageKind::BadRequest,
        "Sign-in failed",
        &format!(
            "<h1>Cannot sign you in</h1><p class=\"error\" id=\"error\">{}</p>{detail}\
<div class=\"actions\"><a class=\"button\" href=\"/login\">Back to sign-in</a></div>",
            esc(message)
        ),
    );
    *response.status_mut() = status;
    response
}
