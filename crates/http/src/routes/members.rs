//! `/organizations/{organization}/members…` and the role listings.

use actix_web::{HttpResponse, delete, get, post, put, web};
use warden_domain::services::pagination::Pagination;

use crate::AppState;
use crate::auth::Authenticated;
use crate::dto::{
    AssignableRoles, OrganizationMember, OrganizationMemberWithUserData, PaginatedMembersResponse,
    UpdateRoles,
};
use crate::error::{ApiResult, Response};
use crate::extract::{JsonBody, QueryPairs};

/// Every member of the organization the caller may read.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/members", tag = "Members",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("q" = Option<String>, Query, description = "Member search query")),
    responses((status = 200, body = [OrganizationMemberWithUserData]), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    query: QueryPairs,
) -> ApiResult<web::Json<Vec<OrganizationMemberWithUserData>>> {
    let members = state
        .services
        .list_members(&actor, &path, query.single("q")?)
        .await?;
    Ok(web::Json(members.into_iter().map(Into::into).collect()))
}

/// A page of members, ordered by username, with the total count.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/paginated-members", tag = "Members",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("q" = Option<String>, Query, description = "Member search query"),
           ("after_id" = Option<String>, Query, pattern = r"^$|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "A UUID; empty is absent"), ("limit" = Option<i32>, Query, minimum = 0, description = "0 = all"), ("offset" = Option<i32>, Query, minimum = 0)),
    responses((status = 200, body = PaginatedMembersResponse), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}/paginated-members")]
pub async fn paginated_members(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    query: QueryPairs,
) -> ApiResult<web::Json<PaginatedMembersResponse>> {
    let page = Pagination::parse(
        query.single("limit")?,
        query.single("offset")?,
        query.single("after_id")?,
    )?;
    let page = state
        .services
        .paginated_members(&actor, &path, query.single("q")?, page)
        .await?;
    Ok(web::Json(PaginatedMembersResponse {
        count: page.count,
        members: page.members.into_iter().map(Into::into).collect(),
    }))
}

/// Roles that can be assigned in the organization: built-in, then custom.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/members/roles", tag = "Members",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = [AssignableRoles]), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}/members/roles")]
pub async fn organization_roles(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<Vec<AssignableRoles>>> {
    let roles = state.services.organization_roles(&actor, &path).await?;
    Ok(web::Json(roles.into_iter().map(Into::into).collect()))
}

/// One member with user data.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/members/{user}", tag = "Members",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = OrganizationMemberWithUserData), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}/members/{user}")]
pub async fn get_member(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<OrganizationMemberWithUserData>> {
    let (org, user) = path.into_inner();
    Ok(web::Json(
        state.services.get_member(&actor, &org, &user).await?.into(),
    ))
}

/// Adds a user to the organization.
#[utoipa::path(post, path = "/api/v2/organizations/{organization}/members/{user}", tag = "Members",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = OrganizationMember), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[post("/organizations/{organization}/members/{user}")]
pub async fn add_member(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<OrganizationMember>> {
    let (org, user) = path.into_inner();
    Ok(web::Json(
        state.services.add_member(&actor, &org, &user).await?.into(),
    ))
}

/// Removes a user from the organization.
#[utoipa::path(delete, path = "/api/v2/organizations/{organization}/members/{user}", tag = "Members",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 204), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[delete("/organizations/{organization}/members/{user}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (org, user) = path.into_inner();
    state.services.remove_member(&actor, &org, &user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces a member's organization roles.
#[utoipa::path(put, path = "/api/v2/organizations/{organization}/members/{user}/roles", tag = "Members", request_body = UpdateRoles,
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = OrganizationMember), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[put("/organizations/{organization}/members/{user}/roles")]
pub async fn update_member_roles(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<(String, String)>,
    JsonBody(req): JsonBody<UpdateRoles>,
) -> ApiResult<web::Json<OrganizationMember>> {
    let (org, user) = path.into_inner();
    let member = state
        .services
        .update_member_roles(&actor, &org, &user, req.roles)
        .await?;
    Ok(web::Json(member.into()))
}

/// Site roles, with whether the caller may assign each.
#[utoipa::path(get, path = "/api/v2/users/roles", tag = "Members",
    responses((status = 200, body = [AssignableRoles]), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/users/roles")]
pub async fn site_roles(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> ApiResult<web::Json<Vec<AssignableRoles>>> {
    let roles = state.services.site_roles(&actor).await?;
    Ok(web::Json(roles.into_iter().map(Into::into).collect()))
}
