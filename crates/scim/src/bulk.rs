//! Bulk operations (RFC 7644 §3.7): a `BulkRequest` parsed and checked as a whole,
//! `bulkId:` references resolved, and the `BulkResponse` rendered. The operations
//! themselves are run by [`ScimService::bulk`](crate::ScimService::bulk), one use case
//! (one transaction) each.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use warden_domain::model::RequestMeta;

use crate::error::{ScimError, ScimResult, ScimType};
use crate::service::ScimService;

/// The BulkRequest message URN.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The BulkResponse message URN.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// Most operations in one request (advertised as `bulk.maxOperations`).
pub const MAX_OPERATIONS: usize = 1000;
/// Largest request body in bytes (advertised as `bulk.maxPayloadSize`).
pub const MAX_PAYLOAD_SIZE: usize = 1024 * 1024;

const BULK_ID_PREFIX: &str = "bulkId:";

/// The HTTP method of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_uppercase().as_str() {
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            "PATCH" => Some(Self::Patch),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// The resource type an operation's path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkResourceType {
    User,
    Group,
}

/// One operation of a request, as sent (references not yet resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub path: String,
    pub version: Option<String>,
    pub data: Option<Value>,
}

/// A checked BulkRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    pub operations: Vec<BulkOperation>,
    /// Stop after this many failed operations; `None` = run them all.
    pub fail_on_errors: Option<usize>,
}

fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn optional_string(
    map: &Map<String, Value>,
    name: &str,
    index: usize,
) -> ScimResult<Option<String>> {
    match field(map, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::invalid_syntax(format!(
            "Operations[{index}].{name} must be a string."
        ))),
    }
}

/// Parses and checks a BulkRequest as a whole: anything wrong with the message itself
/// rejects the request before any operation runs. Too many operations is a 413
/// (RFC 7644 §3.7.4), a repeated `bulkId` a 400 `invalidValue`, anything else
/// malformed a 400 `invalidSyntax`.
pub fn parse_bulk_request(body: &Value) -> ScimResult<BulkRequest> {
    let Value::Object(map) = body else {
        return Err(ScimError::invalid_syntax(
            "The request body must be a BulkRequest object.",
        ));
    };
    if let Some(schemas) = field(map, "schemas") {
        let listed = schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v == BULK_REQUEST_SCHEMA));
        if !listed {
            return Err(ScimError::invalid_syntax(format!(
                "\"schemas\" must contain {BULK_REQUEST_SCHEMA:?}."
            )));
        }
    }
    let fail_on_errors = match field(map, "failOnErrors") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                return Err(ScimError::invalid_syntax(
                    "\"failOnErrors\" must be a positive integer.",
                ));
            }
        },
    };
    let Some(Value::Array(raw_ops)) = field(map, "Operations") else {
        return Err(ScimError::invalid_syntax(
            "\"Operations\" must be an array of operations.",
        ));
    };
    if raw_ops.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            413,
            format!(
                "The bulk request has {} operations, more than maxOperations ({MAX_OPERATIONS}).",
                raw_ops.len()
            ),
        ));
    }
    let mut operations = Vec::with_capacity(raw_ops.len());
    let mut seen = HashSet::new();
    for (index, raw) in raw_ops.iter().enumerate() {
        let Value::Object(op) = raw else {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{index}] must be an object."
            )));
        };
        let method = optional_string(op, "method", index)?
            .as_deref()
            .and_then(BulkMethod::parse)
            .ok_or_else(|| {
                ScimError::invalid_syntax(format!(
                    "Operations[{index}].method must be POST, PUT, PATCH or DELETE."
                ))
            })?;
        let path = optional_string(op, "path", index)?.ok_or_else(|| {
            ScimError::invalid_syntax(format!("Operations[{index}].path is required."))
        })?;
        let bulk_id = optional_string(op, "bulkId", index)?;
        let version = optional_string(op, "version", index)?;
        let data = field(op, "data").cloned();
        if method == BulkMethod::Post && bulk_id.is_none() {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{index}].bulkId is required for POST."
            )));
        }
        if method != BulkMethod::Delete && !data.as_ref().is_some_and(Value::is_object) {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{index}].data must be an object for {}.",
                method.as_str()
            )));
        }
        if let Some(id) = &bulk_id {
            if id.is_empty() {
                return Err(ScimError::invalid_value(format!(
                    "Operations[{index}].bulkId must not be empty."
                )));
            }
            if !seen.insert(id.clone()) {
                return Err(ScimError::invalid_value(format!(
                    "bulkId {id:?} is used by more than one operation; it must be unique within the request."
                )));
            }
        }
        operations.push(BulkOperation {
            method,
            bulk_id,
            path,
            version,
            data,
        });
    }
    Ok(BulkRequest {
        operations,
        fail_on_errors,
    })
}

/// The target of an operation, from its path: `/Users`, `/Groups` (POST) or
/// `/Users/{id}`, `/Groups/{id}` (the others). The id may still be a `bulkId:` reference.
pub fn parse_path(
    method: BulkMethod,
    path: &str,
) -> ScimResult<(BulkResourceType, Option<String>)> {
    let trimmed = path.trim().trim_start_matches('/');
    let mut parts = trimmed.splitn(2, '/');
    let kind = match parts.next().unwrap_or_default() {
        "Users" => BulkResourceType::User,
        "Groups" => BulkResourceType::Group,
        _ => {
            return Err(ScimError::invalid_path(format!(
                "The path {path:?} names no resource endpoint: use /Users or /Groups."
            )));
        }
    };
    let id = parts.next().map(str::to_owned);
    match (method, &id) {
        (BulkMethod::Post, None) => Ok((kind, None)),
        (BulkMethod::Post, Some(_)) => Err(ScimError::invalid_path(format!(
            "POST must name a resource endpoint (/Users or /Groups), not {path:?}."
        ))),
        (_, Some(id)) if !id.is_empty() && !id.contains('/') => Ok((kind, Some(id.clone()))),
        _ => Err(ScimError::invalid_path(format!(
            "{} must name one resource (/Users/{{id}} or /Groups/{{id}}), not {path:?}.",
            method.as_str()
        ))),
    }
}

/// The error for a `bulkId` no earlier operation created: RFC 7644 §3.7.1 answers an
/// unresolvable reference with 409 (Conflict); the value is what is wrong.
fn unresolved(id: &str) -> ScimError {
    ScimError {
        status: 409,
        scim_type: Some(ScimType::InvalidValue),
        detail: format!(
            "bulkId {id:?} does not name a resource created by an earlier successful operation of this request."
        ),
        internal: None,
    }
}

/// Resolves one value: `bulkId:<id>` becomes the created resource's id.
pub fn resolve_id(value: &str, created: &HashMap<String, String>) -> ScimResult<String> {
    match value.strip_prefix(BULK_ID_PREFIX) {
        Some(id) => created.get(id).cloned().ok_or_else(|| unresolved(id)),
        None => Ok(value.to_owned()),
    }
}

/// Replaces every quoted `"bulkId:<id>"` inside a PATCH path's value filter
/// (`members[value eq "bulkId:u1"]`) with the created resource's quoted id.
fn resolve_in_path(path: &mut String, created: &HashMap<String, String>) -> ScimResult<()> {
    let quoted = format!("\"{BULK_ID_PREFIX}");
    let mut out = String::with_capacity(path.len());
    let mut rest = path.as_str();
    while let Some(at) = rest.find(&quoted) {
        let (before, from) = rest.split_at(at);
        let reference = &from[1..];
        let Some(end) = reference.find('"') else {
            // An unterminated string: the filter parser reports it as it stands.
            break;
        };
        out.push_str(before);
        out.push('"');
        out.push_str(&resolve_id(&reference[..end], created)?);
        out.push('"');
        rest = &reference[end + 1..];
    }
    out.push_str(rest);
    *path = out;
    Ok(())
}

/// Replaces every string `bulkId:<id>` anywhere in `data` with the created resource's
/// id (a `$ref` ending in `/bulkId:<id>` gets the id in its last segment), and every
/// quoted `"bulkId:<id>"` in a PATCH operation's `path` filter.
pub fn resolve_data(data: &mut Value, created: &HashMap<String, String>) -> ScimResult<()> {
    match data {
        Value::Object(map) => map.iter_mut().try_for_each(|(key, value)| match value {
            Value::String(path) if key.eq_ignore_ascii_case("path") => {
                resolve_in_path(path, created)
            }
            other => resolve_data(other, created),
        }),
        Value::String(s) => {
            if s.starts_with(BULK_ID_PREFIX) {
                *s = resolve_id(s, created)?;
            } else if let Some(at) = s.rfind(&format!("/{BULK_ID_PREFIX}")) {
                let id = resolve_id(&s[at + 1..], created)?;
                s.replace_range(at + 1.., &id);
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| resolve_data(v, created)),
        _ => Ok(()),
    }
}

/// The outcome of one operation, for the response.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOutcome {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub location: Option<String>,
    pub version: Option<String>,
    /// The HTTP status the single request would have had.
    pub status: u16,
    pub error: Option<ScimError>,
}

impl BulkOutcome {
    fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("method".into(), self.method.as_str().into());
        if let Some(id) = &self.bulk_id {
            map.insert("bulkId".into(), id.clone().into());
        }
        if let Some(location) = &self.location {
            map.insert("location".into(), location.clone().into());
        }
        if let Some(version) = &self.version {
            map.insert("version".into(), version.clone().into());
        }
        map.insert("status".into(), self.status.to_string().into());
        if let Some(error) = &self.error {
            map.insert("response".into(), error.to_json());
        }
        Value::Object(map)
    }
}

/// Renders the BulkResponse.
pub fn bulk_response(outcomes: &[BulkOutcome]) -> Value {
    json!({
        "schemas": [BULK_RESPONSE_SCHEMA],
        "Operations": outcomes.iter().map(BulkOutcome::to_json).collect::<Vec<_>>(),
    })
}

impl ScimService {
    /// `POST /Bulk`: runs the operations in order, each as the single request would
    /// run (its own transaction and audit entry), so a failed operation changes
    /// nothing and the ones before it stay. Stops once `failOnErrors` operations have
    /// failed; the operations not run are left out of the response.
    pub async fn bulk(&self, body: &Value, meta: &RequestMeta) -> ScimResult<Vec<BulkOutcome>> {
        let request = parse_bulk_request(body)?;
        let mut created: HashMap<String, String> = HashMap::new();
        let mut outcomes = Vec::with_capacity(request.operations.len());
        let mut errors = 0;
        for op in request.operations {
            let mut outcome = BulkOutcome {
                method: op.method,
                bulk_id: op.bulk_id.clone(),
                location: None,
                version: None,
                status: 0,
                error: None,
            };
            match self.bulk_operation(&op, &created, &mut outcome, meta).await {
                Ok(status) => {
                    outcome.status = status;
                    if let (BulkMethod::Post, Some(bulk_id), Some(location)) =
                        (op.method, &op.bulk_id, &outcome.location)
                    {
                        let id = location.rsplit('/').next().unwrap_or_default().to_owned();
                        created.insert(bulk_id.clone(), id);
                    }
                }
                Err(error) => {
                    outcome.status = error.status;
                    outcome.version = None;
                    if op.method == BulkMethod::Post {
                        outcome.location = None;
                    }
                    outcome.error = Some(error);
                    errors += 1;
                }
            }
            outcomes.push(outcome);
            if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
                break;
            }
        }
        Ok(outcomes)
    }

    /// Runs one operation; fills in `location` and `version` and answers the status
    /// the single request would have had.
    async fn bulk_operation(
        &self,
        op: &BulkOperation,
        created: &HashMap<String, String>,
        outcome: &mut BulkOutcome,
        meta: &RequestMeta,
    ) -> ScimResult<u16> {
        let (kind, id) = parse_path(op.method, &op.path)?;
        let id = id.map(|id| resolve_id(&id, created)).transpose()?;
        let endpoint = match kind {
            BulkResourceType::User => "Users",
            BulkResourceType::Group => "Groups",
        };
        if let Some(id) = &id {
            outcome.location = Some(format!("{}/{endpoint}/{id}", self.base_url()));
        }
        let mut data = op.data.clone().unwrap_or(Value::Null);
        resolve_data(&mut data, created)?;
        let id = id.as_deref().unwrap_or_default();
        let if_match = op.version.as_deref();
        let (resource, status) = match (op.method, kind) {
            (BulkMethod::Post, BulkResourceType::User) => {
                (self.create_user(&data, meta).await?, 201)
            }
            (BulkMethod::Post, BulkResourceType::Group) => {
                (self.create_group(&data, meta).await?, 201)
            }
            (BulkMethod::Put, BulkResourceType::User) => {
                (self.replace_user(id, &data, if_match, meta).await?, 200)
            }
            (BulkMethod::Put, BulkResourceType::Group) => {
                (self.replace_group(id, &data, if_match, meta).await?, 200)
            }
            (BulkMethod::Patch, BulkResourceType::User) => {
                (self.patch_user(id, &data, if_match, meta).await?, 200)
            }
            (BulkMethod::Patch, BulkResourceType::Group) => {
                (self.patch_group(id, &data, if_match, meta).await?, 200)
            }
            (BulkMethod::Delete, BulkResourceType::User) => {
                self.delete_user(id, if_match, meta).await?;
                return Ok(204);
            }
            (BulkMethod::Delete, BulkResourceType::Group) => {
                self.delete_group(id, if_match, meta).await?;
                return Ok(204);
            }
        };
        outcome.location = Some(resource.location);
        outcome.version = Some(resource.version);
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, path: &str, bulk_id: Option<&str>) -> Value {
        let mut v = json!({"method": method, "path": path, "data": {"userName": "a"}});
        if let (Some(id), Value::Object(m)) = (bulk_id, &mut v) {
            m.insert("bulkId".into(), id.into());
        }
        v
    }

    fn request(ops: Vec<Value>) -> Value {
        json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": ops})
    }

    #[test]
    fn parses_a_request() {
        let parsed = parse_bulk_request(&json!({
            "schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 2,
            "Operations": [
                op("post", "/Users", Some("u1")),
                {"method": "DELETE", "path": "/Users/x", "version": "W/\"1\""},
            ],
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.fail_on_errors, Some(2));
        assert_eq!(parsed.operations.len(), 2);
        assert_eq!(parsed.operations[0].method, BulkMethod::Post);
        assert_eq!(parsed.operations[0].bulk_id.as_deref(), Some("u1"));
        assert_eq!(parsed.operations[1].version.as_deref(), Some("W/\"1\""));
        assert_eq!(parsed.operations[1].data, None);
    }

    #[test]
    fn rejects_malformed_requests_as_a_whole() {
        let syntax = |body: Value| parse_bulk_request(&body).map_err(|e| (e.status, e.scim_type));
        let invalid_syntax = Err((400, Some(ScimType::InvalidSyntax)));
        assert_eq!(syntax(json!([])), invalid_syntax);
        assert_eq!(syntax(json!({"Operations": {}})), invalid_syntax);
        assert_eq!(
            syntax(json!({"schemas": ["x"], "Operations": []})),
            invalid_syntax
        );
        assert_eq!(
            syntax(request(vec![op("GET", "/Users", Some("a"))])),
            invalid_syntax
        );
        assert_eq!(
            syntax(request(vec![op("POST", "/Users", None)])),
            invalid_syntax
        );
        assert_eq!(
            syntax(request(vec![json!({"method": "PUT", "path": "/Users/x"})])),
            invalid_syntax
        );
        assert_eq!(
            syntax(json!({"failOnErrors": 0, "Operations": []})),
            invalid_syntax
        );
        assert_eq!(
            syntax(request(vec![
                op("POST", "/Users", Some("a")),
                op("POST", "/Groups", Some("a"))
            ])),
            Err((400, Some(ScimType::InvalidValue)))
        );
        let many = vec![json!({"method": "DELETE", "path": "/Users/x"}); MAX_OPERATIONS + 1];
        assert_eq!(syntax(request(many)), Err((413, None)));
        let most = vec![json!({"method": "DELETE", "path": "/Users/x"}); MAX_OPERATIONS];
        assert!(syntax(request(most)).is_ok());
    }

    #[test]
    fn paths() {
        assert_eq!(
            parse_path(BulkMethod::Post, "/Users").ok(),
            Some((BulkResourceType::User, None))
        );
        assert_eq!(
            parse_path(BulkMethod::Patch, "/Groups/bulkId:g").ok(),
            Some((BulkResourceType::Group, Some("bulkId:g".into())))
        );
        for (method, path) in [
            (BulkMethod::Post, "/Users/1"),
            (BulkMethod::Put, "/Users"),
            (BulkMethod::Delete, "/Users/"),
            (BulkMethod::Delete, "/Schemas/x"),
            (BulkMethod::Patch, "/Users/1/x"),
        ] {
            assert_eq!(
                parse_path(method, path).map_err(|e| e.scim_type),
                Err(Some(ScimType::InvalidPath)),
                "{path}"
            );
        }
    }

    #[test]
    fn resolves_references_anywhere_in_data() {
        let created: HashMap<String, String> = [("u1".to_owned(), "id-1".to_owned())].into();
        let mut data = json!({"members": [
            {"value": "bulkId:u1", "$ref": "https://x/scim/v2/Users/bulkId:u1"},
            {"value": "plain"},
        ], "n": 1});
        assert!(resolve_data(&mut data, &created).is_ok());
        assert_eq!(data["members"][0]["value"], "id-1");
        assert_eq!(data["members"][0]["$ref"], "https://x/scim/v2/Users/id-1");
        assert_eq!(data["members"][1]["value"], "plain");
        let mut missing = json!({"members": [{"value": "bulkId:nope"}]});
        let err = resolve_data(&mut missing, &created).err();
        assert_eq!(
            err.map(|e| (e.status, e.scim_type)),
            Some((409, Some(ScimType::InvalidValue)))
        );
        assert_eq!(
            resolve_id("bulkId:u1", &created).ok().as_deref(),
            Some("id-1")
        );
    }

    #[test]
    fn resolves_references_in_patch_path_filters() {
        let created: HashMap<String, String> = [("u1".to_owned(), "id-1".to_owned())].into();
        let mut data = json!({"Operations": [
            {"op": "remove", "path": "members[value eq \"bulkId:u1\" or value eq \"bulkId:u1\"]"},
            {"op": "remove", "path": "members[value eq \"plain\"]"},
            {"op": "add", "path": "members", "value": [{"value": "bulkId:u1"}]},
        ]});
        assert!(resolve_data(&mut data, &created).is_ok());
        assert_eq!(
            data["Operations"][0]["path"],
            "members[value eq \"id-1\" or value eq \"id-1\"]"
        );
        assert_eq!(data["Operations"][1]["path"], "members[value eq \"plain\"]");
        assert_eq!(data["Operations"][2]["value"][0]["value"], "id-1");
        let mut missing = json!({"Operations": [
            {"op": "remove", "path": "members[value eq \"bulkId:nope\"]"}]});
        let err = resolve_data(&mut missing, &created).err();
        assert_eq!(err.map(|e| e.status), Some(409));
        // An unterminated string is left for the filter parser to refuse.
        let mut broken = json!({"path": "members[value eq \"bulkId:u1]"});
        assert!(resolve_data(&mut broken, &created).is_ok());
        assert_eq!(broken["path"], "members[value eq \"bulkId:u1]");
    }

    #[test]
    fn renders_status_as_a_string() {
        let body = bulk_response(&[BulkOutcome {
            method: BulkMethod::Post,
            bulk_id: Some("u1".into()),
            location: None,
            version: None,
            status: 409,
            error: Some(ScimError::uniqueness("taken")),
        }]);
        assert_eq!(body["schemas"][0], BULK_RESPONSE_SCHEMA);
        assert_eq!(body["Operations"][0]["status"], "409");
        assert_eq!(body["Operations"][0]["bulkId"], "u1");
        assert_eq!(body["Operations"][0]["response"]["scimType"], "uniqueness");
        assert!(body["Operations"][0].get("location").is_none());
    }
}
