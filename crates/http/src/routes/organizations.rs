//! `/organizations` and `/users/{user}/organizations`.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use warden_domain::services::organizations::{CreateOrganization, UpdateOrganization};

use crate::AppState;
use crate::auth::Authenticated;
use crate::dto::{CreateOrganizationRequest, Organization, UpdateOrganizationRequest};
use crate::error::{ApiResult, Response};
use crate::extract::JsonBody;

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Organizations the caller may read.
#[utoipa::path(get, path = "/api/v2/organizations", tag = "Organizations",
    responses((status = 200, body = [Organization]), (status = 401, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations")]
pub async fn list_organizations(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> ApiResult<web::Json<Vec<Organization>>> {
    let orgs = state.services.list_organizations(&actor).await?;
    Ok(web::Json(orgs.into_iter().map(Into::into).collect()))
}

/// Creates an organization.
#[utoipa::path(post, path = "/api/v2/organizations", tag = "Organizations", request_body = CreateOrganizationRequest,
    responses((status = 201, body = Organization), (status = 400, body = Response), (status = 403, body = Response), (status = 409, body = Response)),
    security(("CoderSessionToken" = [])))]
#[post("/organizations")]
pub async fn create_organization(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(req): JsonBody<CreateOrganizationRequest>,
) -> ApiResult<HttpResponse> {
    let org = state
        .services
        .create_organization(
            &actor,
            CreateOrganization {
                name: req.name,
                display_name: non_empty(req.display_name),
                description: non_empty(req.description),
                icon: non_empty(req.icon),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(Organization::from(org)))
}

/// An organization by UUID, name or `default`.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}", tag = "Organizations",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Organization), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}")]
pub async fn get_organization(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<Organization>> {
    Ok(web::Json(
        state
            .services
            .resolve_organization(&actor, &path)
            .await?
            .into(),
    ))
}

/// Updates an organization's name, display name, description or icon.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}", tag = "Organizations", request_body = UpdateOrganizationRequest,
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Organization), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response), (status = 409, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/organizations/{organization}")]
pub async fn update_organization(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<UpdateOrganizationRequest>,
) -> ApiResult<web::Json<Organization>> {
    let org = state
        .services
        .update_organization(
            &actor,
            &path,
            UpdateOrganization {
                name: non_empty(req.name),
                display_name: non_empty(req.display_name),
                description: req.description,
                icon: req.icon,
            },
        )
        .await?;
    Ok(web::Json(org.into()))
}

/// Deletes an organization (not the default one).
#[utoipa::path(delete, path = "/api/v2/organizations/{organization}", tag = "Organizations",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Response), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[delete("/organizations/{organization}")]
pub async fn delete_organization(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<Response>> {
    state.services.delete_organization(&actor, &path).await?;
    Ok(web::Json(Response::message(
        "Organization has been deleted.",
    )))
}

/// Organizations the user belongs to.
#[utoipa::path(get, path = "/api/v2/users/{user}/organizations", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = [Organization]), (status = 400, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users/{user}/organizations")]
pub async fn user_organizations(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<Vec<Organization>>> {
    let orgs = state.services.user_organizations(&actor, &path).await?;
    Ok(web::Json(orgs.into_iter().map(Into::into).collect()))
}
