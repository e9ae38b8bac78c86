//! Rewrites of the generated document, each stating one rule that holds for every
//! operation instead of repeating it in each handler's annotation.

use utoipa::Modify;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

/// The operations of a path.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// Describes Coder's session token header (`Coder-Session-Token`).
pub struct SessionToken;

impl Modify for SessionToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "CoderSessionToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("Coder-Session-Token"))),
        );
    }
}

/// States the 401 every credentialed operation answers to a missing, expired or wrong
/// credential, in the error shape of the API the path belongs to (SCIM's under
/// `/scim`, Coder's elsewhere), where the handler's annotation does not already.
pub struct Unauthenticated;

impl Modify for Unauthenticated {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, ResponseBuilder, Type};
        for (path, item) in &mut openapi.paths.paths {
            let (media, schema, description) = if path.starts_with("/scim/") {
                let scim_error = ObjectBuilder::new()
                    .property("schemas", ObjectBuilder::new().schema_type(Type::Array))
                    .property("status", ObjectBuilder::new().schema_type(Type::String))
                    .property("detail", ObjectBuilder::new().schema_type(Type::String))
                    .required("schemas")
                    .required("status");
                (
                    "application/scim+json",
                    scim_error.into(),
                    "Missing or wrong SCIM bearer key",
                )
            } else {
                (
                    "application/json",
                    Ref::from_schema_name("Response").into(),
                    "Missing, expired or unknown session token",
                )
            };
            let unauthorized = ResponseBuilder::new()
                .description(description)
                .content(
                    media,
                    ContentBuilder::new()
                        .schema(Some::<utoipa::openapi::RefOr<_>>(schema))
                        .build(),
                )
                .build();
            for operation in operations(item) {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                if secured {
                    operation
                        .responses
                        .responses
                        .entry("401".to_owned())
                        .or_insert_with(|| unauthorized.clone().into());
                }
            }
        }
    }
}

/// States how Coder's API reads JSON (as Go's decoder does, see
/// [`crate::extract::parse_json`]): a `null` body is an empty object and a member
/// whose value is `null` is absent. So every optional member of a request body, at
/// any depth, and every map value, may be `null`; a required member may not (it is
/// then missing, and refused).
pub struct NullMeansAbsent;

impl Modify for NullMeansAbsent {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use std::collections::BTreeSet;
        // Components with required members: a `null` body lacks them.
        let demanding: BTreeSet<String> = openapi
            .components
            .iter()
            .flat_map(|c| c.schemas.iter())
            .filter(|(_, schema)| {
                matches!(schema, utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(o)) if !o.required.is_empty())
            })
            .map(|(name, _)| format!("#/components/schemas/{name}"))
            .collect();
        let mut names = BTreeSet::new();
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                let Some(body) = operation.request_body.as_mut() else {
                    continue;
                };
                let Some(content) = body.content.get_mut("application/json") else {
                    continue;
                };
                if let Some(schema) = content.schema.take() {
                    nulls::references(&schema, &mut names);
                    let required = matches!(&schema, utoipa::openapi::RefOr::Ref(r) if demanding.contains(&r.ref_location));
                    content.schema = Some(if required {
                        schema
                    } else {
                        nulls::or_null(schema)
                    });
                }
            }
        }
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let mut pending: Vec<String> = names.iter().cloned().collect();
        while let Some(name) = pending.pop() {
            let mut found = BTreeSet::new();
            if let Some(schema) = components.schemas.get(&name) {
                nulls::references(schema, &mut found);
            }
            pending.extend(found.into_iter().filter(|n| names.insert(n.clone())));
        }
        for name in names {
            if let Some(utoipa::openapi::RefOr::T(schema)) = components.schemas.get_mut(&name) {
                nulls::optional_members_nullable(schema);
            }
        }
    }
}

mod nulls {
    use std::collections::BTreeSet;

    use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, OneOfBuilder, SchemaType};
    use utoipa::openapi::{Object, RefOr, Schema, Type};

    /// The component names `schema` refers to.
    pub fn references(schema: &RefOr<Schema>, names: &mut BTreeSet<String>) {
        let schema = match schema {
            RefOr::Ref(r) => {
                if let Some(name) = r.ref_location.strip_prefix("#/components/schemas/") {
                    names.insert(name.to_owned());
                }
                return;
            }
            RefOr::T(schema) => schema,
        };
        match schema {
            Schema::Object(object) => {
                object
                    .properties
                    .values()
                    .for_each(|p| references(p, names));
                if let Some(extra) = object.additional_properties.as_deref()
                    && let AdditionalProperties::RefOr(extra) = extra
                {
                    references(extra, names);
                }
            }
            Schema::Array(array) => {
                if let ArrayItems::RefOrSchema(items) = &array.items {
                    references(items, names);
                }
            }
            Schema::OneOf(one) => one.items.iter().for_each(|i| references(i, names)),
            Schema::AllOf(all) => all.items.iter().for_each(|i| references(i, names)),
            Schema::AnyOf(any) => any.items.iter().for_each(|i| references(i, names)),
            _ => {}
        }
    }

    /// `schema`, also accepting `null`.
    pub fn or_null(schema: RefOr<Schema>) -> RefOr<Schema> {
        fn with_null(schema_type: &mut SchemaType) {
            match schema_type {
                SchemaType::Type(Type::Null) | SchemaType::AnyValue => {}
                SchemaType::Type(t) => {
                    *schema_type = SchemaType::Array(vec![t.clone(), Type::Null])
                }
                SchemaType::Array(types) if !types.contains(&Type::Null) => types.push(Type::Null),
                SchemaType::Array(_) => {}
            }
        }
        match schema {
            // An enumeration would still refuse null: wrap it instead.
            RefOr::T(Schema::Object(mut object)) if object.enum_values.is_none() => {
                with_null(&mut object.schema_type);
                RefOr::T(Schema::Object(object))
            }
            RefOr::T(Schema::Array(mut array)) => {
                with_null(&mut array.schema_type);
                RefOr::T(Schema::Array(array))
            }
            other => OneOfBuilder::new()
                .item(other)
                .item(Object::with_type(Type::Null))
                .into(),
        }
    }

    /// Every optional member (and map value) of `schema`, at any depth, may be null.
    pub fn optional_members_nullable(schema: &mut Schema) {
        match schema {
            Schema::Object(object) => {
                for (name, member) in object.properties.iter_mut() {
                    if let RefOr::T(inner) = member {
                        optional_members_nullable(inner);
                    }
                    if !object.required.contains(name) {
                        let taken = std::mem::replace(member, RefOr::T(Schema::default()));
                        *member = or_null(taken);
                    }
                }
                if let Some(extra) = object.additional_properties.as_deref_mut()
                    && let AdditionalProperties::RefOr(value) = extra
                {
                    if let RefOr::T(inner) = value {
                        optional_members_nullable(inner);
                    }
                    let taken = std::mem::replace(value, RefOr::T(Schema::default()));
                    *value = or_null(taken);
                }
            }
            Schema::Array(array) => {
                if let ArrayItems::RefOrSchema(items) = &mut array.items
                    && let RefOr::T(inner) = items.as_mut()
                {
                    optional_members_nullable(inner);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use utoipa::OpenApi;

    fn document() -> Value {
        serde_json::to_value(super::super::ApiDoc::openapi()).unwrap_or_default()
    }

    #[test]
    fn every_credentialed_operation_states_its_401() {
        let doc = document();
        let mut secured = 0;
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if operation["security"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty())
                {
                    secured += 1;
                    let media = if path.starts_with("/scim/") {
                        "application/scim+json"
                    } else {
                        "application/json"
                    };
                    let unauthorized = &operation["responses"]["401"];
                    assert!(unauthorized.is_object(), "{method} {path}");
                    if !unauthorized["content"].is_null() {
                        assert!(
                            unauthorized["content"][media].is_object(),
                            "{method} {path}"
                        );
                    }
                }
            }
        }
        assert!(secured > 50, "only {secured} secured operations");
    }

    #[test]
    fn optional_request_members_take_null_and_required_ones_do_not() {
        let doc = document();
        let create = &doc["components"]["schemas"]["CreateOrganizationRequest"];
        assert_eq!(create["properties"]["name"]["type"], "string");
        assert_eq!(
            create["properties"]["icon"]["type"],
            serde_json::json!(["string", "null"])
        );
        // A body with a required member is not nullable; one without is.
        let body = |path: &str, method: &str| {
            doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
                .clone()
        };
        assert!(body("/api/v2/organizations", "post")["$ref"].is_string());
        let patch = body("/api/v2/groups/{group}", "patch");
        assert_eq!(patch["oneOf"][1]["type"], "null", "{patch}");
    }
}
