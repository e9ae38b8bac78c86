//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`.
//! Each states only what Warden actually does.

use serde_json::{Value, json};

use crate::bulk::{MAX_OPERATIONS, MAX_PAYLOAD_SIZE};
use crate::error::{ScimError, ScimResult};
use crate::filter::MAX_FILTER_LEN;

/// The core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The ListResponse message URN.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The PatchOp message URN.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Most resources in one list response; a larger `count` is lowered to it.
pub const MAX_RESULTS: i64 = 200;

/// `/ServiceProviderConfig`.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": MAX_OPERATIONS,
            "maxPayloadSize": MAX_PAYLOAD_SIZE,
        },
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": format!(
                "The SCIM API key configured on the server, as \"Authorization: Bearer <key>\" \
                 (the bare key is accepted too). Filters are limited to {MAX_FILTER_LEN} bytes."
            ),
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

fn attribute(
    name: &str,
    kind: &str,
    description: &str,
    mutability: &str,
    uniqueness: &str,
    case_exact: bool,
    required: bool,
) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    })
}

/// An attribute returned only when named in `attributes` (RFC 7643 §7).
fn returned_on_request(mut attr: Value) -> Value {
    if let Value::Object(map) = &mut attr {
        map.insert("returned".into(), Value::String("request".into()));
    }
    attr
}

fn sub_attributes(mut parent: Value, subs: Vec<Value>, multi: bool) -> Value {
    if let Value::Object(map) = &mut parent {
        map.insert("subAttributes".into(), Value::Array(subs));
        map.insert("multiValued".into(), Value::Bool(multi));
    }
    parent
}

/// The User schema, listing exactly the attributes Warden stores.
pub fn user_schema(base: &str) -> Value {
    let rw = "readWrite";
    let mut user_name = attribute(
        "userName",
        "string",
        "Unique identifier for the user, used to sign in. Immutable once provisioned.",
        "immutable",
        "server",
        false,
        true,
    );
    if let Value::Object(map) = &mut user_name {
        map.insert("returned".into(), Value::String("always".into()));
    }
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "User Account",
        "attributes": [
            user_name,
            sub_attributes(
                attribute("name", "complex", "The components of the user's real name.", rw, "none", false, false),
                vec![
                    attribute("formatted", "string", "The full name; the Warden name when set.", rw, "none", false, false),
                    attribute("familyName", "string", "The family name.", rw, "none", false, false),
                    attribute("givenName", "string", "The given name.", rw, "none", false, false),
                ],
                false,
            ),
            attribute("displayName", "string", "The name displayed for the user; the Warden name when name.formatted is not set.", rw, "none", false, false),
            attribute("active", "boolean", "Whether the user may sign in: false = suspended; unassigned (never sent, or removed) reads as true and is not returned.", rw, "none", false, false),
            sub_attributes(
                attribute("emails", "complex", "Email addresses. Warden keeps one: the primary (or first) one, with its type and primary as sent.", rw, "none", false, true),
                vec![
                    attribute("value", "string", "The email address.", rw, "server", false, true),
                    attribute("type", "string", "A label such as \"work\", as sent.", rw, "none", false, false),
                    attribute("primary", "boolean", "Whether the email is the primary one, as sent (returned when true).", rw, "none", false, false),
                ],
                true,
            ),
        ],
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base}/Schemas/{USER_SCHEMA}"),
        },
    })
}

/// The Group schema, listing exactly the attributes Warden stores.
pub fn group_schema(base: &str) -> Value {
    let rw = "readWrite";
    let mut members = sub_attributes(
        attribute(
            "members",
            "complex",
            "The group's members: users (nested groups are not supported).",
            rw,
            "none",
            false,
            false,
        ),
        vec![
            attribute(
                "value",
                "string",
                "The member's User id.",
                "immutable",
                "none",
                false,
                false,
            ),
            returned_on_request(attribute(
                "display",
                "string",
                "The member's name (read-only; returned only when asked for with \
                 attributes=members.display).",
                "readOnly",
                "none",
                false,
                false,
            )),
            attribute(
                "type",
                "string",
                "Always \"User\".",
                "immutable",
                "none",
                false,
                false,
            ),
            attribute(
                "$ref",
                "reference",
                "The member's User URI.",
                "immutable",
                "none",
                false,
                false,
            ),
        ],
        true,
    );
    if let Value::Object(map) = &mut members
        && let Some(Value::Array(subs)) = map.get_mut("subAttributes")
    {
        if let Some(Value::Object(kind)) = subs.get_mut(2) {
            kind.insert("canonicalValues".into(), json!(["User"]));
        }
        if let Some(Value::Object(reference)) = subs.get_mut(3) {
            reference.insert("referenceTypes".into(), json!(["User"]));
        }
    }
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "Group",
        "attributes": [
            attribute("displayName", "string", "The group's name as people read it (Warden's display_name).", rw, "none", false, true),
            members,
        ],
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base}/Schemas/{GROUP_SCHEMA}"),
        },
    })
}

/// Every schema, by id.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![user_schema(base), group_schema(base)]
}

/// One schema by id.
pub fn schema(base: &str, id: &str) -> ScimResult<Value> {
    schemas(base)
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(id)))
        .ok_or_else(|| ScimError::not_found("Schema", id))
}

/// Every resource type.
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        "schemaExtensions": [],
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/User"),
        },
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base}/ResourceTypes/Group"),
            },
        }),
    ]
}

/// One resource type by id.
pub fn resource_type(base: &str, id: &str) -> ScimResult<Value> {
    resource_types(base)
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(id)))
        .ok_or_else(|| ScimError::not_found("ResourceType", id))
}

/// A ListResponse of `resources` that is the whole result.
pub fn list_of(resources: Vec<Value>) -> Value {
    let n = resources.len();
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": n,
        "itemsPerPage": n,
        "startIndex": 1,
        "Resources": resources,
    })
}
