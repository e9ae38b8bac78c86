//! RFC 8628: the device authorization endpoint and the verification page where a
//! signed-in user enters the code shown on the device and allows or denies it.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warden_domain::Actor;
use warden_oauth2_provider::OAuth2Provider;
use warden_oauth2_provider::device::PendingDevice;

use crate::AppState;
use crate::auth::{SESSION_COOKIE, SESSION_HEADER, presented_token};
use crate::error::{ApiError, OAuth2ApiError, OAuth2ErrorBody, PageKind, Response};
use crate::routes::oauth2::{
    error_page, esc, form_request, found, no_store, page, query_pairs, read_form,
};

/// RFC 8628 §3.2 device authorization response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OAuth2DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

const VERIFY_PATH: &str = "/oauth2/device/verify";

/// RFC 8628 device authorization: client authentication as at the token endpoint
/// (public clients send only `client_id`).
#[utoipa::path(post, path = "/oauth2/device", tag = "Enterprise",
    request_body(content_type = "application/x-www-form-urlencoded", description = "client_id, client_secret, scope, resource"),
    responses((status = 200, body = OAuth2DeviceAuthorization), (status = 400, body = OAuth2ErrorBody), (status = 401, body = OAuth2ErrorBody)))]
#[post("/oauth2/device")]
pub async fn device_authorization(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OAuth2ApiError> {
    let form = form_request(&req, payload).await?;
    let response = state.oauth2.device_authorization(&form).await?;
    Ok(no_store(HttpResponse::Ok()).json(response))
}

/// The form asking for the code shown on the device.
fn entry_page(kind: PageKind, actor: &Actor, error: Option<&str>, typed: &str) -> HttpResponse {
    let error = error
        .map(|m| format!("<p class=\"error\" id=\"error\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Connect a device</h1>\
<p>Signed in as <strong id=\"username\">{user}</strong>.</p>{error}\
<form method=\"get\" action=\"{VERIFY_PATH}\">\
<label>Code shown on your device <input name=\"user_code\" id=\"user_code\" value=\"{typed}\" \
autocomplete=\"off\" autocapitalize=\"characters\" placeholder=\"XXXX-XXXX\" required></label>\
<div class=\"actions\"><button type=\"submit\" class=\"primary\" id=\"continue\">Continue</button></div></form>",
        user = esc(actor.user.username.as_str()),
        typed = esc(typed),
    );
    page(kind, "Connect a device", &body)
}

/// A refused code is named on the entry page; a server-side failure is not detailed.
fn failure_page(
    actor: &Actor,
    e: &warden_oauth2_provider::OAuth2Error,
    typed: &str,
) -> HttpResponse {
    use warden_oauth2_provider::ErrorCode;
    match e.code {
        ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => {
            tracing::error!(detail = %e.description, "device verification failed");
            error_page(
                PageKind::Unavailable,
                "The service is temporarily unavailable. Please try again.",
            )
        }
        _ => entry_page(PageKind::BadRequest, actor, Some(&e.description), typed),
    }
}

/// Whether a refusal of a typed user code means the code was wrong (unknown, expired
/// or used): those count toward the guessing limit; failures of ours do not.
fn wrong_code(e: &warden_oauth2_provider::OAuth2Error) -> bool {
    use warden_oauth2_provider::ErrorCode;
    matches!(e.code, ErrorCode::InvalidRequest | ErrorCode::ExpiredToken)
}

/// RFC 8628 §5.1: the user entered too many wrong codes; nothing is checked until
/// `wait` has passed.
fn limited_page(wait: std::time::Duration) -> HttpResponse {
    let seconds = crate::ratelimit::retry_after_seconds(wait);
    let mut response = page(
        PageKind::TooManyRequests,
        "Too many attempts",
        &format!(
            "<h1>Too many attempts</h1><p class=\"error\" id=\"error\">Too many wrong codes \
were entered. Wait {seconds} seconds, then try again with the code shown on your device.</p>"
        ),
    );
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(seconds),
    );
    response
}

/// Checks a typed user code under the per-user guessing limit: `check` runs only
/// when the user is not limited, and only its wrong-code refusals count.
async fn limited<T, F>(
    state: &AppState,
    actor: &Actor,
    check: F,
) -> Result<Result<T, warden_oauth2_provider::OAuth2Error>, HttpResponse>
where
    F: std::future::Future<Output = Result<T, warden_oauth2_provider::OAuth2Error>>,
{
    let limiter = &state.device_verify_limiter;
    let attempt = match limiter.attempt(&actor.user.id.to_string()).await {
        Ok(Ok(attempt)) => attempt,
        Ok(Err(wait)) => return Err(limited_page(wait)),
        Err(e) => return Ok(Err(e.into())),
    };
    let outcome = check.await;
    if !outcome.as_ref().is_err_and(wrong_code)
        && let Err(e) = limiter.forgive(attempt).await
    {
        return Ok(Err(e.into()));
    }
    Ok(outcome)
}

/// The confirmation: which application, which scopes, Allow or Deny.
fn confirm_page(actor: &Actor, session_token: &str, pending: &PendingDevice) -> HttpResponse {
    let app = &pending.app;
    let icon = if app.icon.is_empty() {
        String::new()
    } else {
        format!("<img class=\"icon\" src=\"{}\" alt=\"\">", esc(&app.icon))
    };
    let scopes: String = pending
        .device
        .scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", esc(s)))
        .collect();
    let body = format!(
        "{icon}<h1>Connect <span id=\"app-name\">{name}</span></h1>\
<p>Signed in as <strong id=\"username\">{user}</strong>.</p>\
<p>A device showing the code <strong id=\"user-code\">{code}</strong> asks for access to your \
account as <strong>{name}</strong> with these scopes:</p><ul id=\"scopes\">{scopes}</ul>\
<p>Only allow it if you started this on a device you trust.</p>\
<form method=\"post\" action=\"{VERIFY_PATH}\">\
<input type=\"hidden\" name=\"user_code\" value=\"{code}\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<div class=\"actions\"><button type=\"submit\" class=\"primary\" name=\"action\" value=\"allow\" id=\"allow\">Allow</button>\
<button type=\"submit\" name=\"action\" value=\"deny\" id=\"deny\">Deny</button></div></form>",
        name = esc(&app.name),
        user = esc(actor.user.username.as_str()),
        code = esc(&pending.user_code),
        csrf = OAuth2Provider::csrf_token(session_token),
    );
    page(PageKind::Ok, &format!("Connect {}", app.name), &body)
}

/// The verification page (HTML). Signed-out users are sent to log in and back.
#[utoipa::path(get, path = "/oauth2/device/verify", tag = "Enterprise",
    params(("user_code" = Option<String>, Query, description = "The code shown on the device")),
    responses((status = 200, description = "HTML page: enter or confirm the code"), (status = 302, description = "To the login page"), (status = 400, description = "HTML page naming the problem"),
              (status = 429, description = "HTML page: too many wrong codes (`Retry-After`)")))]
#[get("/oauth2/device/verify")]
pub async fn verify_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let login = || {
        let back = if req.query_string().is_empty() {
            VERIFY_PATH.to_owned()
        } else {
            format!("{VERIFY_PATH}?{}", req.query_string())
        };
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
    let pairs = match query_pairs(&req) {
        Ok(p) => p,
        Err(message) => return entry_page(PageKind::BadRequest, &actor, Some(&message), ""),
    };
    let typed = pairs
        .iter()
        .find(|(k, _)| k == "user_code")
        .map(|(_, v)| v.trim())
        .unwrap_or_default();
    if typed.is_empty() {
        return entry_page(PageKind::Ok, &actor, None, "");
    }
    match limited(&state, &actor, state.oauth2.pending_device(typed)).await {
        Err(limited) => limited,
        Ok(Ok(pending)) => confirm_page(&actor, &token, &pending),
        Ok(Err(e)) => failure_page(&actor, &e, typed),
    }
}

/// The user's decision (`action=allow|deny`). A browser (cookie session) must send
/// the page's CSRF token; an API client with `Coder-Session-Token` may post directly.
#[utoipa::path(post, path = "/oauth2/device/verify", tag = "Enterprise",
    request_body(content_type = "application/x-www-form-urlencoded", description = "user_code, action (allow or deny), csrf_token"),
    responses((status = 200, description = "HTML page: the outcome"), (status = 400, description = "HTML page naming the problem"),
              (status = 401, body = Response), (status = 403, description = "HTML error page"),
              (status = 429, description = "HTML page: too many wrong codes (`Retry-After`)")),
    security(("CoderSessionToken" = [])))]
#[post("/oauth2/device/verify")]
pub async fn verify(
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
    let form = match read_form(&req, payload).await {
        Ok(form) => form,
        Err(e) => {
            return Ok(entry_page(
                PageKind::BadRequest,
                &actor,
                Some(&e.description),
                "",
            ));
        }
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    if from_cookie && !OAuth2Provider::csrf_matches(&token, field("csrf_token")) {
        return Ok(error_page(
            PageKind::Forbidden,
            "The form has expired or did not come from this site. Go back and try again.",
        ));
    }
    let approve = match field("action") {
        "allow" => true,
        "deny" => false,
        _ => {
            return Ok(entry_page(
                PageKind::BadRequest,
                &actor,
                Some("Choose Allow or Deny."),
                field("user_code"),
            ));
        }
    };
    let decided = limited(
        &state,
        &actor,
        state
            .oauth2
            .decide_device(&actor, field("user_code"), approve),
    )
    .await;
    Ok(match decided {
        Err(limited) => limited,
        Ok(decided) => match decided {
            Ok(pending) if approve => page(
                PageKind::Ok,
                "Device connected",
                &format!(
                    "<h1 id=\"outcome\">Device connected</h1><p><strong>{}</strong> can now \
access your account. You may close this page and return to your device.</p>",
                    esc(&pending.app.name)
                ),
            ),
            Ok(pending) => page(
                PageKind::Ok,
                "Request denied",
                &format!(
                    "<h1 id=\"outcome\">Request denied</h1><p><strong>{}</strong> was not \
given access.</p>",
                    esc(&pending.app.name)
                ),
            ),
            Err(e) => failure_page(&actor, &e, field("user_code")),
        },
    })
}
