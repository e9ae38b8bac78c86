//! Build information and the OpenAPI document.

use actix_web::{HttpResponse, get, web};
use utoipa::OpenApi;

use crate::AppState;
use crate::dto::BuildInfoResponse;

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

/// This API's OpenAPI 3.1 document.
#[get("/openapi.json")]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::ApiDoc::openapi())
}
