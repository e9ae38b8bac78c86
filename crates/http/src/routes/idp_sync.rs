//! IdP sync settings: the deployment's organization sync and each organization's
//! group and role sync, with Coder's whole-document and partial (`config`,
//! `mapping`) PATCHes.

use actix_web::{get, patch, web};
use warden_domain::services::idp_sync::GroupSyncConfig;

use crate::AppState;
use crate::auth::Authenticated;
use crate::dto::{
    GroupSyncSettings, OrganizationSyncSettings, PatchGroupIdpSyncConfigRequest,
    PatchIdpSyncMappingRequest, PatchOrganizationIdpSyncConfigRequest,
    PatchRoleIdpSyncConfigRequest, PatchRoleIdpSyncMappingRequest, RoleSyncSettings,
};
use crate::error::{ApiResult, Response};
use crate::extract::{JsonBody, QueryPairs};

/// The deployment's organization sync settings.
#[utoipa::path(get, path = "/api/v2/settings/idpsync/organization", tag = "Enterprise",
    responses((status = 200, body = OrganizationSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/settings/idpsync/organization")]
pub async fn organization_sync_settings(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> ApiResult<web::Json<OrganizationSyncSettings>> {
    let settings = state.services.organization_sync_settings(&actor).await?;
    Ok(web::Json(settings.into()))
}

/// Replaces the organization sync settings.
#[utoipa::path(patch, path = "/api/v2/settings/idpsync/organization", tag = "Enterprise",
    request_body = OrganizationSyncSettings,
    responses((status = 200, body = OrganizationSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/settings/idpsync/organization")]
pub async fn update_organization_sync_settings(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(req): JsonBody<OrganizationSyncSettings>,
) -> ApiResult<web::Json<OrganizationSyncSettings>> {
    let settings = state
        .services
        .update_organization_sync_settings(&actor, req.into())
        .await?;
    Ok(web::Json(settings.into()))
}

/// Changes the organization sync claim and default assignment; the mapping stays.
#[utoipa::path(patch, path = "/api/v2/settings/idpsync/organization/config", tag = "Enterprise",
    request_body = PatchOrganizationIdpSyncConfigRequest,
    responses((status = 200, body = OrganizationSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/settings/idpsync/organization/config")]
pub async fn patch_organization_sync_config(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(req): JsonBody<PatchOrganizationIdpSyncConfigRequest>,
) -> ApiResult<web::Json<OrganizationSyncSettings>> {
    let settings = state
        .services
        .patch_organization_sync_config(&actor, req.field, req.assign_default)
        .await?;
    Ok(web::Json(settings.into()))
}

/// Adds, then removes, organization mapping pairs; everything else stays.
#[utoipa::path(patch, path = "/api/v2/settings/idpsync/organization/mapping", tag = "Enterprise",
    request_body = PatchIdpSyncMappingRequest,
    responses((status = 200, body = OrganizationSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/settings/idpsync/organization/mapping")]
pub async fn patch_organization_sync_mapping(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(req): JsonBody<PatchIdpSyncMappingRequest>,
) -> ApiResult<web::Json<OrganizationSyncSettings>> {
    let (add, remove) = req.into_changes();
    let settings = state
        .services
        .patch_organization_sync_mapping(&actor, add, remove)
        .await?;
    Ok(web::Json(settings.into()))
}

/// An organization's group sync settings.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/settings/idpsync/groups", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = GroupSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}/settings/idpsync/groups")]
pub async fn group_sync_settings(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<GroupSyncSettings>> {
    let settings = state.services.group_sync_settings(&actor, &path).await?;
    Ok(web::Json(settings.into()))
}

/// Replaces an organization's group sync settings.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/groups", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = GroupSyncSettings,
    responses((status = 200, body = GroupSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/organizations/{organization}/settings/idpsync/groups")]
pub async fn update_group_sync_settings(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<GroupSyncSettings>,
) -> ApiResult<web::Json<GroupSyncSettings>> {
    let settings = state
        .services
        .update_group_sync_settings(&actor, &path, req.into())
        .await?;
    Ok(web::Json(settings.into()))
}

/// Changes an organization's group sync claim, filter and auto-creation; the mapping stays.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/groups/config", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = PatchGroupIdpSyncConfigRequest,
    responses((status = 200, body = GroupSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/organizations/{organization}/settings/idpsync/groups/config")]
pub async fn patch_group_sync_config(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<PatchGroupIdpSyncConfigRequest>,
) -> ApiResult<web::Json<GroupSyncSettings>> {
    let config = GroupSyncConfig {
        field: req.field,
        regex_filter: req.regex_filter,
        auto_create_missing_groups: req.auto_create_missing_groups,
    };
    let settings = state
        .services
        .patch_group_sync_config(&actor, &path, config)
        .await?;
    Ok(web::Json(settings.into()))
}

/// Adds, then removes, group mapping pairs of an organization.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/groups/mapping", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = PatchIdpSyncMappingRequest,
    responses((status = 200, body = GroupSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/organizations/{organization}/settings/idpsync/groups/mapping")]
pub async fn patch_group_sync_mapping(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<PatchIdpSyncMappingRequest>,
) -> ApiResult<web::Json<GroupSyncSettings>> {
    let (add, remove) = req.into_changes();
    let settings = state
        .services
        .patch_group_sync_mapping(&actor, &path, add, remove)
        .await?;
    Ok(web::Json(settings.into()))
}

/// An organization's role sync settings.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/settings/idpsync/roles", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = RoleSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}/settings/idpsync/roles")]
pub async fn role_sync_settings(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<RoleSyncSettings>> {
    let settings = state.services.role_sync_settings(&actor, &path).await?;
    Ok(web::Json(settings.into()))
}

/// Replaces an organization's role sync settings.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/roles", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = RoleSyncSettings,
    responses((status = 200, body = RoleSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/organizations/{organization}/settings/idpsync/roles")]
pub async fn update_role_sync_settings(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<RoleSyncSettings>,
) -> ApiResult<web::Json<RoleSyncSettings>> {
    let settings = state
        .services
        .update_role_sync_settings(&actor, &path, req.into())
        .await?;
    Ok(web::Json(settings.into()))
}

/// Changes an organization's role sync claim; the mapping stays.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/roles/config", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = PatchRoleIdpSyncConfigRequest,
    responses((status = 200, body = RoleSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/organizations/{organization}/settings/idpsync/roles/config")]
pub async fn patch_role_sync_config(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<PatchRoleIdpSyncConfigRequest>,
) -> ApiResult<web::Json<RoleSyncSettings>> {
    let settings = state
        .services
        .patch_role_sync_config(&actor, &path, req.field)
        .await?;
    Ok(web::Json(settings.into()))
}

/// Adds, then removes, role mapping pairs of an organization.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/roles/mapping", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = PatchRoleIdpSyncMappingRequest,
    responses((status = 200, body = RoleSyncSettings), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[patch("/organizations/{organization}/settings/idpsync/roles/mapping")]
pub async fn patch_role_sync_mapping(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    JsonBody(req): JsonBody<PatchRoleIdpSyncMappingRequest>,
) -> ApiResult<web::Json<RoleSyncSettings>> {
    let (add, remove) = req.into_changes();
    let settings = state
        .services
        .patch_role_sync_mapping(&actor, &path, add, remove)
        .await?;
    Ok(web::Json(settings.into()))
}

/// The claim names OIDC users of the deployment signed in with.
#[utoipa::path(get, path = "/api/v2/settings/idpsync/available-fields", tag = "Enterprise",
    responses((status = 200, body = Vec<String>), (status = 401, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/settings/idpsync/available-fields")]
pub async fn available_fields(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> ApiResult<web::Json<Vec<String>>> {
    Ok(web::Json(
        state.services.oidc_claim_fields(&actor, None).await?,
    ))
}

/// The distinct values of one claim among the deployment's OIDC users.
#[utoipa::path(get, path = "/api/v2/settings/idpsync/field-values", tag = "Enterprise",
    params(("claimField" = String, Query, min_length = 1, description = "Claim field name")),
    responses((status = 200, body = Vec<String>), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/settings/idpsync/field-values")]
pub async fn field_values(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: QueryPairs,
) -> ApiResult<web::Json<Vec<String>>> {
    let field = query.single("claimField")?;
    Ok(web::Json(
        state
            .services
            .oidc_claim_values(&actor, None, field)
            .await?,
    ))
}

/// The claim names the organization's OIDC members signed in with.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/settings/idpsync/available-fields", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID or name")),
    responses((status = 200, body = Vec<String>), (status = 401, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}/settings/idpsync/available-fields")]
pub async fn organization_available_fields(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> ApiResult<web::Json<Vec<String>>> {
    Ok(web::Json(
        state
            .services
            .oidc_claim_fields(&actor, Some(&path))
            .await?,
    ))
}

/// The distinct values of one claim among the organization's OIDC members.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/settings/idpsync/field-values", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID or name"),
        ("claimField" = String, Query, min_length = 1, description = "Claim field name")),
    responses((status = 200, body = Vec<String>), (status = 400, body = Response), (status = 401, body = Response), (status = 403, body = Response), (status = 404, body = Response)),
    security(("CoderSessionToken" = [])))]
#[get("/organizations/{organization}/settings/idpsync/field-values")]
pub async fn organization_field_values(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
    query: QueryPairs,
) -> ApiResult<web::Json<Vec<String>>> {
    let field = query.single("claimField")?;
    Ok(web::Json(
        state
            .services
            .oidc_claim_values(&actor, Some(&path), field)
            .await?,
    ))
}
