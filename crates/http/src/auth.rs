//! Authentication: finding the presented token and turning it into an [`Actor`].

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use warden_domain::Actor;
use warden_domain::services::auth::missing_token;

use crate::AppState;
use crate::error::ApiError;

/// Cookie, query parameter and (case-insensitive) header names Coder clients use.
pub const SESSION_COOKIE: &str = "coder_session_token";
pub const SESSION_HEADER: &str = "Coder-Session-Token";

/// The session token of a request, looked for in Coder's order: the
/// `coder_session_token` cookie, the `coder_session_token` query parameter, the
/// `Coder-Session-Token` header, `Authorization: Bearer`, then `access_token`.
pub fn presented_token(req: &HttpRequest) -> Option<String> {
    let non_empty = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    };
    if let Some(cookie) = req
        .cookie(SESSION_COOKIE)
        .and_then(|c| non_empty(c.value()))
    {
        return Some(cookie);
    }
    // Parsed at most once, and only if the cookie did not carry the token.
    let query = std::cell::OnceCell::new();
    let from_query = |name: &str| {
        query
            .get_or_init(|| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                    .unwrap_or_default()
            })
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| non_empty(v))
    };
    if let Some(token) = from_query(SESSION_COOKIE) {
        return Some(token);
    }
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(token) = header(SESSION_HEADER).and_then(non_empty) {
        return Some(token);
    }
    let bearer = header("authorization").and_then(|value| {
        let (scheme, rest) = (value.get(..7)?, value.get(7..)?);
        scheme.eq_ignore_ascii_case("bearer ").then_some(rest)
    });
    if let Some(token) = bearer.and_then(non_empty) {
        return Some(token);
    }
    from_query("access_token")
}

/// An authenticated caller. Extracting it fails with 401 when no valid token is
/// presented, before any body is read.
#[derive(Debug)]
pub struct Authenticated(pub Actor);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = presented_token(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let meta = request_meta(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ApiError::from(warden_domain::DomainError::Internal(
                    "application state missing".into(),
                ))
            })?;
            let token = token.ok_or_else(missing_token)?;
            let mut actor = state.services.authenticate(&token).await?;
            actor.request = meta;
            Ok(Authenticated(actor))
        })
    }
}

/// Who sent a request, for the audit trail: a fresh request id, the peer address and
/// the user agent.
pub(crate) fn request_meta(req: &HttpRequest) -> warden_domain::model::RequestMeta {
    warden_domain::model::RequestMeta {
        request_id: Some(uuid::Uuid::new_v4()),
        ip: req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default(),
        user_agent: req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    }
}
