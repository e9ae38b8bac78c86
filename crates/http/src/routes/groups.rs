//! Groups.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use warden_domain::services::groups::{CreateGroup, GroupFilter, UpdateGroup};

use crate::AppState;
use crate::auth::Authenticated;
use crate::dto::{CreateGroupRequest, Group, PatchGroupRequest};
use crate::error::{ApiError, ApiResult, Response};
use crate::extract::{JsonBody, QueryPairs};

/// Refuses query parameters a listing does not know, as Coder does.
fn only_params(query: &QueryPairs, allowed: &[&str]) -> Result<(), ApiError> {
    let unknown: Vec<_> = query
        .0
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !allowed.contains(k))
        .collect();
    match unknown.first() {
        None => Ok(()),
        Some(k) => Err(ApiError::bad_field(
            "Query parameters have invalid values.",
            *k,
            format!("{k:?} is not a valid query param"),
        )),
    }
}

/// Groups the caller may read, optionally by organization, member or ids.
#[utoipa::path(get, path = "/api/v2/groups", tag = "Enterprise",
    params(("organization" = Option<String>, Query, description = "Organization ID or name"),
           ("has_member" = Option<String>, Query, description = "User ID or username"),
           ("group_ids" = Option<String>, Query, description = "Comma-separated group IDs")),
    responses((status = 200, body = [Group]), (status = 400, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/groups")]
pub async fn list_groups(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: QueryPairs,
) -> ApiResult<web::Json<Vec<Group>>> {
    only_params(&query, &["organization", "has_member", "group_ids"])?;
    let filter = GroupFilter {
        organization: query.single("organization")?.map(str::to_owned),
        has_member: query.single("has_member")?.map(str::to_owned),
        group_ids: query.single("group_ids")?.map(str::to_owned),
    };
    let groups = state.services.list_groups(&actor, filter).await?;
    Ok(web::Json(groups.into_iter().map(Into::into).collect()))
}

/// The organization's groups.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/groups", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = [Group]), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}/groups")]
pub async fn organization_groups(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<Vec<Group>>> {
    let org = state.services.resolve_organization(&actor, &path).await?;
    let groups = state
        .services
        .list_groups(&actor, warden_domain::services::groups::org_filter(org.id))
        .await?;
    Ok(web::Json(groups.into_iter().map(Into::into).collect()))
}

/// A group by organization and name.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/groups/{groupName}", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default"), ("groupName" = String, Path)),
    responses((status = 200, body = Group), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}/groups/{groupName}")]
pub async fn get_group_by_name(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<Group>> {
    let (org, name) = path.into_inner();
    Ok(web::Json(
        state
            .services
            .get_group_by_name(&actor, &org, &name)
            .await?
            .into(),
    ))
}

/// Creates a group.
#[utoipa::path(post, path = "/api/v2/organizations/{organization}/groups", tag = "Enterprise", request_body = CreateGroupRequest,
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 201, body = Group), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response), (status = 409, body = Response)),
    security(("CoderSessionToken" = [])))]
#[post("/organizations/{organization}/groups")]
pub async fn create_group(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<CreateGroupRequest>,
) -> ApiResult<HttpResponse> {
    let group = state
        .services
        .create_group(
            &actor,
            &path,
            CreateGroup {
                name: req.name,
                display_name: req.display_name,
                avatar_url: req.avatar_url,
                quota_allowance: req.quota_allowance,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(Group::from(group)))
}

/// A group by id.
#[utoipa::path(get, path = "/api/v2/groups/{group}", tag = "Enterprise",
    params(("group" = Uuid, Path, description = "Group ID")),
    responses((status = 200, body = Group), (status = 400, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/groups/{group}")]
pub async fn get_group(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<Group>> {
    Ok(web::Json(
        state.services.get_group(&actor, &path).await?.into(),
    ))
}

/// Updates a group's fields and members in one transaction.
#[utoipa::path(patch, path = "/api/v2/groups/{group}", tag = "Enterprise", request_body = PatchGroupRequest,
    params(("group" = Uuid, Path, description = "Group ID")),
    responses((status = 200, body = Group), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response), (status = 409, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/groups/{group}")]
pub async fn update_group(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<PatchGroupRequest>,
) -> ApiResult<web::Json<Group>> {
    let group = state
        .services
        .update_group(
            &actor,
            &path,
            UpdateGroup {
                name: (!req.name.is_empty()).then_some(req.name),
                display_name: req.display_name,
                avatar_url: req.avatar_url,
                quota_allowance: req.quota_allowance,
                add_users: req.add_users,
                remove_users: req.remove_users,
            },
        )
        .await?;
    Ok(web::Json(group.into()))
}

/// Deletes a group.
#[utoipa::path(delete, path = "/api/v2/groups/{group}", tag = "Enterprise",
    params(("group" = Uuid, Path, description = "Group ID")),
    responses((status = 200, body = Response), (status = 400, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[delete("/groups/{group}")]
pub async fn delete_group(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<Response>> {
    state.services.delete_group(&actor, &path).await?;
    Ok(web::Json(Response::message("Successfully deleted group!")))
}
