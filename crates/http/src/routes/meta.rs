//! Build information, health and readiness, and the OpenAPI document.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use utoipa::OpenApi;

use crate::AppState;
use crate::dto::BuildInfoResponse;
use crate::error::{ApiError, Response};

/// How long readiness waits for the database before it calls this replica unready.
const READINESS_DEADLINE: Duration = Duration::from_secs(2);

/// Liveness, at Coder's path: the process serves HTTP. It touches nothing else, so a
/// database outage does not get a healthy process restarted.
#[utoipa::path(get, path = "/healthz", tag = "General",
    responses((status = 200, description = "`OK`", body = String, content_type = "text/plain")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("OK")
}

/// Readiness: the database answers one query within two seconds. A load balancer
/// sends traffic only to replicas that answer 200; during an outage it gets 503 in
/// Coder's error shape, and 200 again once the database is back.
#[utoipa::path(get, path = "/readyz", tag = "General",
    responses((status = 200, description = "`OK`", body = String, content_type = "text/plain"),
        (status = 503, body = Response)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let unready = |detail: String| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is not reachable.",
            detail,
        )
    };
    match tokio::time::timeout(READINESS_DEADLINE, state.services.database_ready()).await {
        Ok(Ok(_latency)) => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("OK")),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            Err(unready(
                "The database did not answer the readiness query.".into(),
            ))
        }
        Err(_) => Err(unready(format!(
            "The database did not answer within {} s.",
            READINESS_DEADLINE.as_secs()
        ))),
    }
}

/// Version and URLs of this deployment; Coder clients read it first.
#[utoipa::path(get, path = "/api/v2/buildinfo", tag = "General",
    responses((status = 200, body = BuildInfoResponse)))]
#[get("/buildinfo")]
pub async fn build_info(state: web::Data<AppState>) -> web::Json<BuildInfoResponse> {
    web::Json(BuildInfoResponse {
        external_url: "https://github.com/warden-iam/warden".into(),
        version: state.config.version.clone(),
        dashboard_url: state.config.access_url.clone(),
        workspace_proxy: false,
        agent_api_version: String::new(),
        provisioner_api_version: String::new(),
        upgrade_message: String::new(),
        deployment_id: String::new(),
        telemetry: false,
    })
}

/// This API's OpenAPI 3.1 document (the one committed at `docs/openapi.json`).
#[utoipa::path(get, path = "/api/v2/openapi.json", tag = "General",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::ApiDoc::openapi())
}
