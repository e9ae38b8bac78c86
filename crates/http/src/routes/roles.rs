//! Custom organization roles.

use actix_web::{HttpResponse, delete, post, put, web};
use warden_domain::services::roles::{CustomRoleRequest as DomainRequest, RawPermission};

use crate::AppState;
use crate::auth::Authenticated;
use crate::dto::{CustomRoleRequest, Permission, Role};
use crate::error::{ApiResult, Response};
use crate::extract::JsonBody;

fn raw(list: Vec<Permission>) -> Vec<RawPermission> {
    list.into_iter()
        .map(|p| RawPermission {
            negate: p.negate,
            resource_type: p.resource_type,
            action: p.action,
        })
        .collect()
}

fn to_domain(req: CustomRoleRequest) -> DomainRequest {
    DomainRequest {
        name: req.name,
        display_name: req.display_name,
        site_permissions: raw(req.site_permissions),
        organization_permissions: raw(req.organization_permissions),
        organization_member_permissions: raw(req.organization_member_permissions),
        user_permissions: raw(req.user_permissions),
    }
}

/// Creates a custom organization role.
#[utoipa::path(post, path = "/api/v2/organizations/{organization}/members/roles", tag = "Members", request_body = CustomRoleRequest,
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Role), (status = 400, body = Response), (status = 404, body = Response), (status = 409, body = Response)),
    security(("CoderSessionToken" = [])))]
#[post("/organizations/{organization}/members/roles")]
pub async fn create_role(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<CustomRoleRequest>,
) -> ApiResult<web::Json<Role>> {
    let role = state
        .services
        .create_custom_role(&actor, &path, to_domain(req))
        .await?;
    Ok(web::Json(role.into()))
}

/// Updates a custom organization role (permissions it cannot parse are dropped).
#[utoipa::path(put, path = "/api/v2/organizations/{organization}/members/roles", tag = "Members", request_body = CustomRoleRequest,
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Role), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[put("/organizations/{organization}/members/roles")]
pub async fn update_role(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<CustomRoleRequest>,
) -> ApiResult<web::Json<Role>> {
    let role = state
        .services
        .update_custom_role(&actor, &path, to_domain(req))
        .await?;
    Ok(web::Json(role.into()))
}

/// Deletes a custom organization role; members holding it lose it.
#[utoipa::path(delete, path = "/api/v2/organizations/{organization}/members/roles/{roleName}", tag = "Members",
    params(("organization" = String, Path, description = "Organization ID, name, or default"), ("roleName" = String, Path)),
    responses((status = 204), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[delete("/organizations/{organization}/members/roles/{roleName}")]
pub async fn delete_role(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (org, name) = path.into_inner();
    state
        .services
        .delete_custom_role(&actor, &org, &name)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
