//! Warden's HTTP adapter: the only crate that knows actix-web.
//!
//! Routes mirror Coder's REST API under `/api/v2`; handlers parse, call exactly one
//! use case of `warden-domain`, and render. Authorization is never decided here.
//! [`ApiError`](error::ApiError) is the only place a status code is chosen.

pub mod auth;
pub mod dto;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod unmatched;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use warden_domain::Services;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The public URL of this deployment (links, metadata).
    pub access_url: String,
    /// Whether session cookies carry `Secure` (the access URL is https).
    pub secure_cookies: bool,
    /// Reported in `X-Coder-Build-Version` and `/buildinfo`.
    pub version: String,
}

/// What every handler can reach.
pub struct AppState {
    pub services: Services,
    pub config: HttpConfig,
    /// The OAuth2 authorization server.
    pub oauth2: warden_oauth2_provider::OAuth2Provider,
    /// Per-address limit of RFC 7591 dynamic client registrations, shared by every
    /// replica.
    pub registration_limiter: ratelimit::SharedLimit,
    /// Per-user limit of wrong user codes on the device verification page (RFC 8628
    /// §5.1), shared by every replica.
    pub device_verify_limiter: ratelimit::SharedLimit,
}

/// Registers every route. `/api/v2` routes are ordered so literal segments win over
/// parameters (`/users/first` before `/users/{user}`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    use routes::{audit, groups, keys, members, meta, organizations, roles, users};
    cfg.service(
        web::scope("/api/v2")
            .service(meta::build_info)
            .service(meta::openapi)
            .service(users::get_first_user)
            .service(users::post_first_user)
            .service(users::auth_methods)
            .service(routes::oidc::oidc_callback)
            .service(users::login)
            .service(users::logout)
            .service(members::site_roles)
            .service(users::list_users)
            .service(users::create_user)
            .service(keys::create_session_key)
            .service(keys::list_tokens)
            .service(keys::create_token)
            .service(keys::get_token_by_name)
            .service(keys::get_key)
            .service(keys::delete_key)
            .service(organizations::user_organizations)
            .service(users::suspend_user)
            .service(users::activate_user)
            .service(users::update_profile)
            .service(users::update_password)
            .service(users::user_roles)
            .service(users::update_user_roles)
            .service(users::get_login_type)
            .service(users::appearance)
            .service(users::git_ssh_key)
            .service(users::regenerate_git_ssh_key)
            .service(users::get_user)
            .service(users::delete_user)
            .service(organizations::list_organizations)
            .service(organizations::create_organization)
            .service(organizations::get_organization)
            .service(organizations::update_organization)
            .service(organizations::delete_organization)
            .service(members::list_members)
            .service(members::paginated_members)
            .service(members::organization_roles)
            .service(roles::create_role)
            .service(roles::update_role)
            .service(roles::delete_role)
            .service(members::get_member)
            .service(members::add_member)
            .service(members::remove_member)
            .service(members::update_member_roles)
            .service(groups::organization_groups)
            .service(groups::create_group)
            .service(groups::get_group_by_name)
            .service(groups::list_groups)
            .service(groups::get_group)
            .service(groups::update_group)
            .service(groups::delete_group)
            .service(routes::idp_sync::organization_sync_settings)
            .service(routes::idp_sync::update_organization_sync_settings)
            .service(routes::idp_sync::patch_organization_sync_config)
            .service(routes::idp_sync::patch_organization_sync_mapping)
            .service(routes::idp_sync::group_sync_settings)
            .service(routes::idp_sync::update_group_sync_settings)
            .service(routes::idp_sync::patch_group_sync_config)
            .service(routes::idp_sync::patch_group_sync_mapping)
            .service(routes::idp_sync::role_sync_settings)
            .service(routes::idp_sync::update_role_sync_settings)
            .service(routes::idp_sync::patch_role_sync_config)
            .service(routes::idp_sync::patch_role_sync_mapping)
            .service(routes::idp_sync::available_fields)
            .service(routes::idp_sync::field_values)
            .service(routes::idp_sync::organization_available_fields)
            .service(routes::idp_sync::organization_field_values)
            .service(audit::audit_logs)
            .service(routes::replicas::replicas)
            .service(routes::scim::scope("/scim/v2"))
            .service(routes::oauth2::server_metadata_api)
            .service(routes::oauth2_apps::list_apps)
            .service(routes::oauth2_apps::create_app)
            .service(routes::oauth2_apps::list_secrets)
            .service(routes::oauth2_apps::create_secret)
            .service(routes::oauth2_apps::delete_secret)
            .service(routes::oauth2_apps::get_app)
            .service(routes::oauth2_apps::update_app)
            .service(routes::oauth2_apps::delete_app),
    )
    .service(routes::scim::scope("/scim/v2"))
    // Liveness and readiness, unauthenticated, outside the API as in Coder.
    .service(meta::healthz)
    .service(meta::readyz)
    // OAuth2 lives at the root, where Coder mounts it and the metadata points.
    .service(routes::oauth2::server_metadata_root)
    .service(routes::oauth2::resource_metadata)
    .service(routes::oauth2::authorize_page)
    .service(routes::oauth2::authorize)
    .service(routes::oauth2::token_endpoint)
    .service(routes::oauth2::revoke_app)
    .service(routes::oauth2::revoke)
    .service(routes::oauth2::introspect)
    .service(routes::oauth2_device::device_authorization)
    .service(routes::oauth2_device::verify_page)
    .service(routes::oauth2_device::verify)
    .service(routes::oauth2_register::register)
    .service(routes::oauth2_register::get_client)
    .service(routes::oauth2_register::update_client)
    .service(routes::oauth2_register::delete_client)
    .service(routes::oauth2::login_form)
    .service(routes::oauth2::login_submit)
    .default_service(web::to(unmatched::route_not_found));
}

/// Refuses a request whose path or query string holds the NUL character (`%00`; a
/// raw one cannot be in a request line) with a 400 in the error shape of the API it
/// addressed: no handler, and no database, ever sees it (see [`extract::NUL_REFUSED`]).
pub async fn refuse_nul_in_url(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    use actix_web::ResponseError;
    let raw = req.uri().path_and_query().map_or("", |p| p.as_str());
    if !raw.contains("%00") {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let detail = format!("The request URL: {}", extract::NUL_REFUSED);
    let path = req.path();
    let refused = if path.starts_with("/scim/") {
        error::ScimApiError::Scim(warden_scim::ScimError::invalid_value(detail)).error_response()
    } else if path.starts_with("/oauth2/") {
        error::OAuth2ApiError(warden_oauth2_provider::OAuth2Error::invalid_request(detail))
            .error_response()
    } else {
        error::ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "The request URL is invalid.",
            detail,
        )
        .error_response()
    };
    Ok(req.into_response(refused).map_into_right_body())
}

/// One log line and the request metrics per request (method, route pattern, status,
/// latency), and the
/// `X-Coder-Build-Version` header Coder's SDK checks for.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let version = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| HeaderValue::from_str(&s.config.version).ok());
    let method = req.method().clone();
    let mut res = next.call(req).await?;
    if let Some(version) = version {
        res.headers_mut()
            .insert(HeaderName::from_static("x-coder-build-version"), version);
    }
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "<unmatched>".to_owned());
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    metrics::record_request(method.as_str(), &route, status, elapsed);
    tracing::info!(
        method = %method,
        route = %route,
        status,
        latency_us = elapsed.as_micros() as u64,
        "request"
    );
    Ok(res)
}
