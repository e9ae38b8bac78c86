//! SCIM 2.0 (RFC 7644), mounted at `/scim/v2` as Coder does and also at
//! `/api/v2/scim/v2`. Handlers authenticate with the SCIM key, parse, call one
//! [`ScimService`] use case and render `application/scim+json`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{
    FromRequest, HttpRequest, HttpResponse, ResponseError, delete, get, patch, post, put, web,
};
use futures_util::StreamExt;
use serde_json::Value;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use warden_domain::model::RequestMeta;
use warden_scim::bulk::{MAX_PAYLOAD_SIZE, bulk_response};
use warden_scim::service::attribute_list;
use warden_scim::{Access, ListParams, Resource, ScimError, ScimService};

use crate::error::{ApiError, SCIM_CONTENT_TYPE, ScimApiError};
use crate::extract::MAX_BODY_BYTES;

type ScimResult<T> = Result<T, ScimApiError>;

/// A request that presented the SCIM key.
pub struct ScimCaller {
    pub service: ScimService,
    pub meta: RequestMeta,
}

fn disabled() -> ScimApiError {
    ScimApiError::Coder(ApiError::new(
        StatusCode::NOT_FOUND,
        "SCIM is disabled, please contact your administrator if you believe this is an error",
        "SCIM endpoints are disabled if no SCIM is configured. Configure 'WARDEN_SCIM_API_KEY' (--scim-api-key) to enable.",
    ))
}

impl FromRequest for ScimCaller {
    type Error = ScimApiError;
    type Future = std::future::Ready<Result<Self, ScimApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(service) = req.app_data::<web::Data<ScimService>>() else {
            return std::future::ready(Err(disabled()));
        };
        let header = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let outcome = match service.authenticate(header) {
            Access::Disabled => Err(disabled()),
            Access::Denied => Err(ScimError::unauthorized().into()),
            Access::Granted => Ok(ScimCaller {
                service: service.get_ref().clone(),
                meta: crate::auth::request_meta(req),
            }),
        };
        std::future::ready(outcome)
    }
}

/// Reads a JSON body of at most `limit` bytes: larger is `too_large`, anything that
/// is not JSON a 400 `invalidSyntax`.
async fn read_json(
    req: &HttpRequest,
    mut payload: Payload,
    limit: usize,
    too_large: fn() -> ScimError,
) -> ScimResult<Value> {
    let declared = header(req, "content-length").and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large().into());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ScimApiError::Scim(ScimError::invalid_syntax(format!(
                "Failed to read the request body: {e}"
            )))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large().into());
        }
        body.extend_from_slice(&chunk);
    }
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ScimApiError::Scim(ScimError::invalid_syntax(format!(
            "The request body is not valid JSON: {e}"
        )))
    })?;
    if let Some(path) = crate::extract::nul_in_json(&value) {
        return Err(
            ScimError::invalid_value(format!("{path}: {}", crate::extract::NUL_REFUSED)).into(),
        );
    }
    Ok(value)
}

/// A JSON body; anything else is 400 `invalidSyntax`.
pub struct ScimBody(pub Value);

impl FromRequest for ScimBody {
    type Error = ScimApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ScimApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let too_large = || {
                ScimError::new(
                    413,
                    format!("The request body must not exceed {MAX_BODY_BYTES} bytes."),
                )
            };
            read_json(&req, payload, MAX_BODY_BYTES, too_large)
                .await
                .map(ScimBody)
        })
    }
}

/// A BulkRequest body, limited to the advertised `maxPayloadSize` (RFC 7644 §3.7.4:
/// larger is a 413 naming the limit).
pub struct BulkBody(pub Value);

impl FromRequest for BulkBody {
    type Error = ScimApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ScimApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let too_large = || {
                ScimError::new(
                    413,
                    format!(
                        "The size of the bulk request exceeds maxPayloadSize ({MAX_PAYLOAD_SIZE} bytes)."
                    ),
                )
            };
            read_json(&req, payload, MAX_PAYLOAD_SIZE, too_large)
                .await
                .map(BulkBody)
        })
    }
}

fn scim_json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_CONTENT_TYPE)
        .body(body.to_string())
}

fn resource_response(status: StatusCode, resource: &Resource) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type(SCIM_CONTENT_TYPE)
        .insert_header((ETAG, resource.version.clone()));
    if status == StatusCode::CREATED {
        response.insert_header((LOCATION, resource.location.clone()));
    }
    response.body(resource.body.to_string())
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Query parameters by case-insensitive name.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(req: &HttpRequest) -> ScimResult<Self> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .map(Params)
            .map_err(|e| {
                ScimError::invalid_syntax(format!("The query string is malformed: {e}")).into()
            })
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| attribute_list(&v))
            .unwrap_or_default()
    }
}

/// Describes the SCIM bearer key in the OpenAPI document.
pub struct ScimBearerScheme;

impl utoipa::Modify for ScimBearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "ScimBearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The SCIM features Warden supports (RFC 7644 §5).
#[utoipa::path(get, path = "/scim/v2/ServiceProviderConfig", tag = "SCIM",
    responses((status = 200, description = "ServiceProviderConfig", content_type = "application/scim+json"),
              (status = 401, description = "Missing or wrong SCIM key"),
              (status = 404, description = "SCIM is disabled")),
    security(("ScimBearer" = [])))]
#[get("/ServiceProviderConfig")]
pub async fn service_provider_config(caller: ScimCaller) -> ScimResult<HttpResponse> {
    Ok(scim_json(
        StatusCode::OK,
        &caller.service.service_provider_config(),
    ))
}

/// The resource schemas (RFC 7643 §7).
#[utoipa::path(get, path = "/scim/v2/Schemas", tag = "SCIM",
    responses((status = 200, description = "ListResponse of schemas", content_type = "application/scim+json"),
              (status = 401, description = "Missing or wrong SCIM key")),
    security(("ScimBearer" = [])))]
#[get("/Schemas")]
pub async fn list_schemas(caller: ScimCaller) -> ScimResult<HttpResponse> {
    Ok(scim_json(StatusCode::OK, &caller.service.schemas()))
}

/// One schema by URN.
#[utoipa::path(get, path = "/scim/v2/Schemas/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "Schema URN")),
    responses((status = 200, description = "Schema", content_type = "application/scim+json"),
              (status = 404, description = "No such schema")),
    security(("ScimBearer" = [])))]
#[get("/Schemas/{id}")]
pub async fn get_schema(caller: ScimCaller, id: web::Path<String>) -> ScimResult<HttpResponse> {
    Ok(scim_json(StatusCode::OK, &caller.service.schema(&id)?))
}

/// The resource types.
#[utoipa::path(get, path = "/scim/v2/ResourceTypes", tag = "SCIM",
    responses((status = 200, description = "ListResponse of resource types", content_type = "application/scim+json"),
              (status = 401, description = "Missing or wrong SCIM key")),
    security(("ScimBearer" = [])))]
#[get("/ResourceTypes")]
pub async fn list_resource_types(caller: ScimCaller) -> ScimResult<HttpResponse> {
    Ok(scim_json(StatusCode::OK, &caller.service.resource_types()))
}

/// One resource type by id.
#[utoipa::path(get, path = "/scim/v2/ResourceTypes/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "Resource type id (User)")),
    responses((status = 200, description = "ResourceType", content_type = "application/scim+json"),
              (status = 404, description = "No such resource type")),
    security(("ScimBearer" = [])))]
#[get("/ResourceTypes/{id}")]
pub async fn get_resource_type(
    caller: ScimCaller,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    Ok(scim_json(
        StatusCode::OK,
        &caller.service.resource_type(&id)?,
    ))
}

/// Users provisioned into the SCIM organization: filtered, sorted and paged in SQL.
#[utoipa::path(get, path = "/scim/v2/Users", tag = "SCIM",
    params(("filter" = Option<String>, Query, description = "RFC 7644 §3.4.2.2 filter"),
           ("startIndex" = Option<i64>, Query, description = "1-based index of the first result"),
           ("count" = Option<i64>, Query, description = "Page size (at most 200)"),
           ("sortBy" = Option<String>, Query, description = "Attribute to sort by"),
           ("sortOrder" = Option<String>, Query, description = "ascending or descending"),
           ("attributes" = Option<String>, Query, description = "Attributes to return"),
           ("excludedAttributes" = Option<String>, Query, description = "Attributes to leave out")),
    responses((status = 200, description = "ListResponse of users", content_type = "application/scim+json"),
              (status = 400, description = "invalidFilter or invalidValue"),
              (status = 401, description = "Missing or wrong SCIM key")),
    security(("ScimBearer" = [])))]
#[get("/Users")]
pub async fn list_users(caller: ScimCaller, req: HttpRequest) -> ScimResult<HttpResponse> {
    let q = Params::parse(&req)?;
    let params = ListParams {
        filter: q.get("filter"),
        start_index: q.get("startIndex"),
        count: q.get("count"),
        sort_by: q.get("sortBy"),
        sort_order: q.get("sortOrder"),
        attributes: q.list("attributes"),
        excluded_attributes: q.list("excludedAttributes"),
    };
    let list = caller.service.list_users(params).await?;
    Ok(scim_json(StatusCode::OK, &list))
}

/// Provisions a user (201), or reactivates a suspended one with this userName or email.
#[utoipa::path(post, path = "/scim/v2/Users", tag = "SCIM",
    request_body(content = Object, content_type = "application/scim+json", description = "A User resource (RFC 7643 §4.1, attributes as /scim/v2/Schemas describes them)"),
    responses((status = 201, description = "The user", content_type = "application/scim+json"),
              (status = 400, description = "invalidValue or invalidSyntax"),
              (status = 409, description = "uniqueness: an active user has this userName or email")),
    security(("ScimBearer" = [])))]
#[post("/Users")]
pub async fn create_user(caller: ScimCaller, body: ScimBody) -> ScimResult<HttpResponse> {
    let resource = caller.service.create_user(&body.0, &caller.meta).await?;
    Ok(resource_response(StatusCode::CREATED, &resource))
}

/// One user; `If-None-Match` with the current version answers 304.
#[utoipa::path(get, path = "/scim/v2/Users/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The user", content_type = "application/scim+json"),
              (status = 304, description = "Not modified since the If-None-Match version"),
              (status = 404, description = "No such user")),
    security(("ScimBearer" = [])))]
#[get("/Users/{id}", guard = "not_a_search")]
pub async fn get_user(
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    let q = Params::parse(&req)?;
    let mut resource = caller.service.get_user(&id).await?;
    if let Some(tags) = header(&req, "if-none-match")
        && tags
            .split(',')
            .any(|t| t.trim() == "*" || t.trim() == resource.version)
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, resource.version))
            .finish());
    }
    resource.body = warden_scim::user::project(
        resource.body,
        &q.list("attributes"),
        &q.list("excludedAttributes"),
    );
    Ok(resource_response(StatusCode::OK, &resource))
}

/// Replaces a user (`userName` is immutable); `If-Match` guards against lost updates.
#[utoipa::path(put, path = "/scim/v2/Users/{id}", tag = "SCIM",
    request_body(content = Object, content_type = "application/scim+json", description = "The whole User resource (RFC 7644 §3.5.1)"),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The user", content_type = "application/scim+json"),
              (status = 400, description = "mutability, invalidValue or invalidSyntax"),
              (status = 404, description = "No such user"),
              (status = 412, description = "If-Match names another version")),
    security(("ScimBearer" = [])))]
#[put("/Users/{id}", guard = "not_a_search")]
pub async fn replace_user(
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
    body: ScimBody,
) -> ScimResult<HttpResponse> {
    let resource = caller
        .service
        .replace_user(&id, &body.0, header(&req, "if-match"), &caller.meta)
        .await?;
    Ok(resource_response(StatusCode::OK, &resource))
}

/// Applies an RFC 7644 PatchOp to a user.
#[utoipa::path(patch, path = "/scim/v2/Users/{id}", tag = "SCIM",
    request_body(content = Object, content_type = "application/scim+json", description = "A PatchOp message (RFC 7644 §3.5.2)"),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The user", content_type = "application/scim+json"),
              (status = 400, description = "invalidPath, noTarget, mutability, invalidValue or invalidSyntax"),
              (status = 404, description = "No such user"),
              (status = 412, description = "If-Match names another version")),
    security(("ScimBearer" = [])))]
#[patch("/Users/{id}", guard = "not_a_search")]
pub async fn patch_user(
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
    body: ScimBody,
) -> ScimResult<HttpResponse> {
    let resource = caller
        .service
        .patch_user(&id, &body.0, header(&req, "if-match"), &caller.meta)
        .await?;
    Ok(resource_response(StatusCode::OK, &resource))
}

/// Deprovisions a user: suspended at once (sessions and tokens revoked), hidden from
/// SCIM, kept in Warden for the audit trail.
#[utoipa::path(delete, path = "/scim/v2/Users/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Deprovisioned"),
              (status = 404, description = "No such user"),
              (status = 412, description = "If-Match names another version")),
    security(("ScimBearer" = [])))]
#[delete("/Users/{id}", guard = "not_a_search")]
pub async fn delete_user(
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    caller
        .service
        .delete_user(&id, header(&req, "if-match"), &caller.meta)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Searches users with a `SearchRequest` body (RFC 7644 §3.4.3), as `GET /Users`.
#[utoipa::path(post, path = "/scim/v2/Users/.search", tag = "SCIM",
    request_body(content = Object, content_type = "application/scim+json", description = "A SearchRequest (RFC 7644 §3.4.3)"),
    responses((status = 200, description = "ListResponse of users", content_type = "application/scim+json"),
              (status = 400, description = "invalidFilter, invalidValue or invalidSyntax"),
              (status = 401, description = "Missing or wrong SCIM key")),
    security(("ScimBearer" = [])))]
#[post("/Users/.search")]
pub async fn search_users(caller: ScimCaller, body: ScimBody) -> ScimResult<HttpResponse> {
    let list = caller.service.search_users(&body.0).await?;
    Ok(scim_json(StatusCode::OK, &list))
}

/// Searches every resource type (RFC 7644 §3.4.3): Users, then Groups.
#[utoipa::path(post, path = "/scim/v2/.search", tag = "SCIM",
    request_body(content = Object, content_type = "application/scim+json", description = "A SearchRequest (RFC 7644 §3.4.3)"),
    responses((status = 200, description = "ListResponse of users and groups", content_type = "application/scim+json"),
              (status = 400, description = "invalidFilter, invalidValue or invalidSyntax"),
              (status = 401, description = "Missing or wrong SCIM key")),
    security(("ScimBearer" = [])))]
#[post("/.search")]
pub async fn search_all(caller: ScimCaller, body: ScimBody) -> ScimResult<HttpResponse> {
    let list = caller.service.search_all(&body.0).await?;
    Ok(scim_json(StatusCode::OK, &list))
}

/// Groups of the SCIM organization (never its Everyone group): filtered, sorted and
/// paged in SQL.
#[utoipa::path(get, path = "/scim/v2/Groups", tag = "SCIM",
    params(("filter" = Option<String>, Query, description = "RFC 7644 §3.4.2.2 filter (displayName, externalId, id, members.value, meta dates)"),
           ("startIndex" = Option<i64>, Query, description = "1-based index of the first result"),
           ("count" = Option<i64>, Query, description = "Page size (at most 200)"),
           ("sortBy" = Option<String>, Query, description = "displayName, id, meta.created or meta.lastModified"),
           ("sortOrder" = Option<String>, Query, description = "ascending or descending"),
           ("attributes" = Option<String>, Query, description = "Attributes to return"),
           ("excludedAttributes" = Option<String>, Query, description = "Attributes to leave out (members: not loaded)")),
    responses((status = 200, description = "ListResponse of groups", content_type = "application/scim+json"),
              (status = 400, description = "invalidFilter or invalidValue"),
              (status = 401, description = "Missing or wrong SCIM key")),
    security(("ScimBearer" = [])))]
#[get("/Groups")]
pub async fn list_groups(caller: ScimCaller, req: HttpRequest) -> ScimResult<HttpResponse> {
    let q = Params::parse(&req)?;
    let params = ListParams {
        filter: q.get("filter"),
        start_index: q.get("startIndex"),
        count: q.get("count"),
        sort_by: q.get("sortBy"),
        sort_order: q.get("sortOrder"),
        attributes: q.list("attributes"),
        excluded_attributes: q.list("excludedAttributes"),
    };
    let list = caller.service.list_groups(params).await?;
    Ok(scim_json(StatusCode::OK, &list))
}

/// Searches groups with a `SearchRequest` body (RFC 7644 §3.4.3), as `GET /Groups`.
#[utoipa::path(post, path = "/scim/v2/Groups/.search", tag = "SCIM",
    request_body(content = Object, content_type = "application/scim+json", description = "A SearchRequest (RFC 7644 §3.4.3)"),
    responses((status = 200, description = "ListResponse of groups", content_type = "application/scim+json"),
              (status = 400, description = "invalidFilter, invalidValue or invalidSyntax"),
              (status = 401, description = "Missing or wrong SCIM key")),
    security(("ScimBearer" = [])))]
#[post("/Groups/.search")]
pub async fn search_groups(caller: ScimCaller, body: ScimBody) -> ScimResult<HttpResponse> {
    let list = caller.service.search_groups(&body.0).await?;
    Ok(scim_json(StatusCode::OK, &list))
}

/// Creates a group (source `oidc`) with its members.
#[utoipa::path(post, path = "/scim/v2/Groups", tag = "SCIM",
    request_body(content = Object, content_type = "application/scim+json", description = "A Group resource (RFC 7643 §4.2)"),
    responses((status = 201, description = "The group", content_type = "application/scim+json"),
              (status = 400, description = "invalidValue or invalidSyntax (an unknown member, a bad displayName)"),
              (status = 409, description = "uniqueness: another group has this displayName")),
    security(("ScimBearer" = [])))]
#[post("/Groups")]
pub async fn create_group(caller: ScimCaller, body: ScimBody) -> ScimResult<HttpResponse> {
    let resource = caller.service.create_group(&body.0, &caller.meta).await?;
    Ok(resource_response(StatusCode::CREATED, &resource))
}

/// One group; `If-None-Match` with the current version answers 304.
#[utoipa::path(get, path = "/scim/v2/Groups/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "Group id")),
    responses((status = 200, description = "The group", content_type = "application/scim+json"),
              (status = 304, description = "Not modified since the If-None-Match version"),
              (status = 404, description = "No such group (the Everyone group is never exposed)")),
    security(("ScimBearer" = [])))]
#[get("/Groups/{id}", guard = "not_a_search")]
pub async fn get_group(
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    let q = Params::parse(&req)?;
    let resource = caller
        .service
        .get_group(&id, &q.list("attributes"), &q.list("excludedAttributes"))
        .await?;
    if let Some(tags) = header(&req, "if-none-match")
        && tags
            .split(',')
            .any(|t| t.trim() == "*" || t.trim() == resource.version)
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, resource.version))
            .finish());
    }
    Ok(resource_response(StatusCode::OK, &resource))
}

/// Replaces a group's displayName, externalId and members.
#[utoipa::path(put, path = "/scim/v2/Groups/{id}", tag = "SCIM",
    request_body(content = Object, content_type = "application/scim+json", description = "The whole Group resource (RFC 7644 §3.5.1)"),
    params(("id" = String, Path, description = "Group id")),
    responses((status = 200, description = "The group", content_type = "application/scim+json"),
              (status = 400, description = "invalidValue or invalidSyntax"),
              (status = 404, description = "No such group"),
              (status = 409, description = "uniqueness: another group has this displayName"),
              (status = 412, description = "If-Match names another version")),
    security(("ScimBearer" = [])))]
#[put("/Groups/{id}", guard = "not_a_search")]
pub async fn replace_group(
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
    body: ScimBody,
) -> ScimResult<HttpResponse> {
    let resource = caller
        .service
        .replace_group(&id, &body.0, header(&req, "if-match"), &caller.meta)
        .await?;
    Ok(resource_response(StatusCode::OK, &resource))
}

/// Applies an RFC 7644 PatchOp to a group, atomically and serialized per group.
#[utoipa::path(patch, path = "/scim/v2/Groups/{id}", tag = "SCIM",
    request_body(content = Object, content_type = "application/scim+json", description = "A PatchOp message (RFC 7644 §3.5.2)"),
    params(("id" = String, Path, description = "Group id")),
    responses((status = 200, description = "The group", content_type = "application/scim+json"),
              (status = 400, description = "invalidPath, noTarget, mutability, invalidValue or invalidSyntax"),
              (status = 404, description = "No such group"),
              (status = 409, description = "uniqueness: another group has this displayName"),
              (status = 412, description = "If-Match names another version")),
    security(("ScimBearer" = [])))]
#[patch("/Groups/{id}", guard = "not_a_search")]
pub async fn patch_group(
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
    body: ScimBody,
) -> ScimResult<HttpResponse> {
    let resource = caller
        .service
        .patch_group(&id, &body.0, header(&req, "if-match"), &caller.meta)
        .await?;
    Ok(resource_response(StatusCode::OK, &resource))
}

/// Deletes a group.
#[utoipa::path(delete, path = "/scim/v2/Groups/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "Group id")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such group"),
              (status = 412, description = "If-Match names another version")),
    security(("ScimBearer" = [])))]
#[delete("/Groups/{id}", guard = "not_a_search")]
pub async fn delete_group(
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    caller
        .service
        .delete_group(&id, header(&req, "if-match"), &caller.meta)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Runs many operations in one request (RFC 7644 §3.7): each as its single request
/// would (atomic, audited), in order, with `bulkId:` references to resources created
/// earlier in the request; stops after `failOnErrors` failures.
#[utoipa::path(post, path = "/scim/v2/Bulk", tag = "SCIM",
    request_body(content = Object, content_type = "application/scim+json", description = "A BulkRequest (RFC 7644 §3.7)"),
    responses((status = 200, description = "BulkResponse with each operation's status", content_type = "application/scim+json"),
              (status = 400, description = "invalidSyntax (a malformed BulkRequest) or invalidValue (a repeated bulkId); nothing is run"),
              (status = 401, description = "Missing or wrong SCIM key"),
              (status = 413, description = "More than maxOperations operations or maxPayloadSize bytes; nothing is run")),
    security(("ScimBearer" = [])))]
#[post("/Bulk")]
pub async fn bulk(caller: ScimCaller, body: BulkBody) -> ScimResult<HttpResponse> {
    let outcomes = caller.service.bulk(&body.0, &caller.meta).await?;
    for (index, outcome) in outcomes.iter().enumerate() {
        if let Some(internal) = outcome.error.as_ref().and_then(|e| e.internal.as_ref()) {
            tracing::error!(
                operation = index,
                status = outcome.status,
                %internal,
                "SCIM bulk operation failed"
            );
        }
    }
    Ok(scim_json(StatusCode::OK, &bulk_response(&outcomes)))
}

/// A path no SCIM route takes: 405 with `Allow` when another method serves it
/// (RFC 7644 §3.12 uses HTTP's statuses), else 404; either in SCIM's error shape.
async fn unknown_endpoint(caller: ScimCaller, req: HttpRequest) -> HttpResponse {
    let _ = caller;
    match crate::unmatched::allowed_methods(req.path()) {
        Some(allow) => {
            let detail = format!("{} is not allowed on {}.", req.method(), req.path());
            let mut reply = ScimApiError::from(ScimError::new(405, detail)).error_response();
            reply
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, allow);
            reply
        }
        None => ScimApiError::from(ScimError::new(404, "No such SCIM endpoint.")).error_response(),
    }
}

/// `/Users/.search` and `/Groups/.search` are only ever the search endpoints (RFC 7644
/// §3.4.3): another method there is a 405, not a lookup of the id ".search".
fn not_a_search(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    !ctx.head().uri.path().ends_with("/.search")
}

/// Every SCIM route under `path`.
pub fn scope(path: &str) -> actix_web::Scope {
    web::scope(path)
        .service(service_provider_config)
        .service(list_schemas)
        .service(get_schema)
        .service(list_resource_types)
        .service(get_resource_type)
        .service(list_users)
        .service(search_users)
        .service(search_all)
        .service(create_user)
        .service(get_user)
        .service(replace_user)
        .service(patch_user)
        .service(delete_user)
        .service(list_groups)
        .service(search_groups)
        .service(create_group)
        .service(get_group)
        .service(replace_group)
        .service(patch_group)
        .service(delete_group)
        .service(bulk)
        .default_service(web::to(unknown_endpoint))
}
