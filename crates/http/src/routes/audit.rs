//! The audit trail.

use actix_web::{get, web};
use warden_domain::services::pagination::Pagination;

use crate::AppState;
use crate::auth::Authenticated;
use crate::dto::AuditLogResponse;
use crate::error::{ApiResult, Response};
use crate::extract::QueryPairs;

/// Audit logs, newest first (100 unless `limit` says otherwise).
#[utoipa::path(get, path = "/api/v2/audit", tag = "Audit",
    params(("q" = Option<String>, Query, description = "Search: resource_type:, resource_id:, resource_target:, action:, username:, email:, organization:, request_id:, date_from:, date_to:"),
           ("limit" = Option<i32>, Query, minimum = 0, description = "0 = all"), ("offset" = Option<i32>, Query, minimum = 0)),
    responses((status = 200, body = AuditLogResponse), (status = 400, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/audit")]
pub async fn audit_logs(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: QueryPairs,
) -> ApiResult<web::Json<AuditLogResponse>> {
    let page = Pagination::parse(query.single("limit")?, query.single("offset")?, None)?;
    let page = state
        .services
        .audit_logs(&actor, query.single("q")?, page)
        .await?;
    Ok(web::Json(AuditLogResponse {
        audit_logs: page.logs.into_iter().map(Into::into).collect(),
        count: page.count,
        count_cap: page.count_cap,
    }))
}
