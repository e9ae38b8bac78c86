//! Request extractors that fail in Coder's error shape, naming the field at fault.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body. Malformed JSON, a wrong type or an unknown enum value is a 400
/// `Request body must be valid JSON.` naming the field; a body over
/// [`MAX_BODY_BYTES`] is a 400 too, before it is read whole. Unknown fields are
/// ignored, as Coder does.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = req
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "Failed to read request body.",
                        e.to_string(),
                    )
                })?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(JsonBody)
        })
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "Request body is too large.",
        format!("The request body must not exceed {MAX_BODY_BYTES} bytes."),
    )
}

/// Parses JSON, naming the path of the first field that failed.
///
/// `null` means "not given", as Go's decoder treats it for Coder's request types: an
/// object member whose value is `null` is dropped before the body is read into `T`,
/// at any depth, so an optional field set to `null` takes its default and a required
/// one is reported missing. A body that is just `null` reads as `{}`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let message = "Request body must be valid JSON.";
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, message, e.to_string()))?;
    if value.is_null() {
        value = serde_json::Value::Object(serde_json::Map::new());
    }
    // Every body is an object: serde would read a struct from an array too, Go's
    // decoder (and so Coder) does not.
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            message,
            "The request body must be a JSON object.",
        ));
    }
    drop_null_members(&mut value);
    if let Some(path) = nul_in_json(&value) {
        return Err(ApiError::bad_field(message, path, NUL_REFUSED));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            ApiError::new(StatusCode::BAD_REQUEST, message, inner.to_string())
        } else {
            ApiError::bad_field(message, path, inner.to_string())
        }
    })
}

/// Why text holding U+0000 is refused wherever Warden reads it: PostgreSQL cannot
/// store it (and SQLite would, so the two backends would disagree).
pub const NUL_REFUSED: &str = "Text must not contain the NUL character (U+0000).";

/// The path (`a.b[2].c`, `.` for the whole body) of the first string or member name in
/// `value` holding U+0000; `None` if there is none.
pub fn nul_in_json(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then(|| ".".to_owned()),
        serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            nul_in_json(item).map(|inner| join_path(&format!("[{i}]"), &inner))
        }),
        serde_json::Value::Object(members) => members.iter().find_map(|(name, member)| {
            if name.contains('\0') {
                return Some(name.replace('\0', "\\u0000"));
            }
            nul_in_json(member).map(|inner| join_path(name, &inner))
        }),
        _ => None,
    }
}

fn join_path(head: &str, rest: &str) -> String {
    match rest {
        "." => head.to_owned(),
        _ if rest.starts_with('[') => format!("{head}{rest}"),
        _ => format!("{head}.{rest}"),
    }
}

fn drop_null_members(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(members) => {
            members.retain(|_, member| !member.is_null());
            members.values_mut().for_each(drop_null_members);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_null_members),
        _ => {}
    }
}

/// The query string as ordered pairs; a malformed one is a 400.
#[derive(Debug, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    /// The single value of `name`, or a 400 if it is given more than once.
    pub fn single(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        let more = values.count();
        if more > 0 {
            return Err(ApiError::bad_field(
                "Query parameters have invalid values.",
                name,
                format!(
                    "Query param {name:?} provided more than once, found {} times. Only provide 1 instance of this query param.",
                    more + 1
                ),
            ));
        }
        Ok(first)
    }

    /// A boolean parameter (`true`/`false`/`1`/`0`); absent = false.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.single(name)? {
            None | Some("") => Ok(false),
            Some("true" | "1" | "True" | "TRUE" | "t") => Ok(true),
            Some("false" | "0" | "False" | "FALSE" | "f") => Ok(false),
            Some(other) => Err(ApiError::bad_field(
                "Query parameters have invalid values.",
                name,
                format!(
                    "Query param {name:?} must be a valid boolean: strconv.ParseBool: parsing {other:?}: invalid syntax"
                ),
            )),
        }
    }
}

impl FromRequest for QueryPairs {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                .map(QueryPairs)
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "Query parameters are malformed.",
                        e.to_string(),
                    )
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::{nul_in_json, parse_json};

    #[test]
    fn text_holding_nul_is_found_with_its_path() {
        assert_eq!(nul_in_json(&json!("a\u{0}b")), Some(".".into()));
        assert_eq!(
            nul_in_json(&json!({"name": "ok", "roles": ["x", "y\u{0}"]})),
            Some("roles[1]".into())
        );
        assert_eq!(
            nul_in_json(&json!({"a": {"b": [{"c": "\u{0}"}]}})),
            Some("a.b[0].c".into())
        );
        assert_eq!(nul_in_json(&json!([["\u{0}"]])), Some("[0][0]".into()));
        assert_eq!(nul_in_json(&json!({"k\u{0}": 1})), Some("k\\u0000".into()));
        assert_eq!(
            nul_in_json(&json!({"name": "fine", "n": 1, "l": [null, true]})),
            None
        );
    }

    #[test]
    fn a_body_holding_nul_is_a_400_naming_the_field() {
        #[derive(Debug, Deserialize)]
        struct Named {
            #[allow(dead_code)]
            name: String,
        }
        let Err(refused) = parse_json::<Named>(br#"{"name": "a\u0000b"}"#) else {
            panic!("a body holding NUL was accepted");
        };
        assert_eq!(refused.status(), actix_web::http::StatusCode::BAD_REQUEST);
        let shown = format!("{refused:?}");
        assert!(
            shown.contains("U+0000") && shown.contains("\"name\""),
            "{shown}"
        );
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Optional {
        name: String,
        lifetime: i64,
        scopes: Vec<String>,
        icon: Option<String>,
        nested: Vec<Required>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Required {
        action: String,
    }

    #[test]
    fn null_members_read_as_absent_at_any_depth() {
        let parsed: Optional = parse_json(
            br#"{"name": null, "lifetime": null, "scopes": null, "icon": null,
                 "nested": [{"action": "read", "extra": null}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let expected = Optional {
            nested: vec![Required {
                action: "read".into(),
            }],
            ..Optional::default()
        };
        assert_eq!(parsed, expected);
    }

    #[test]
    fn a_null_body_reads_as_an_empty_object() {
        let parsed: Optional = parse_json(b"null").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(parsed, Optional::default());
    }

    #[test]
    fn a_required_field_given_as_null_is_reported_missing() {
        let error = parse_json::<Required>(br#"{"action": null}"#)
            .err()
            .map(|e| format!("{e:?}"))
            .unwrap_or_default();
        assert!(error.contains("missing field `action`"), "{error}");
    }

    #[test]
    fn wrong_types_are_still_named_by_path() {
        let error = parse_json::<Optional>(br#"{"nested": [{"action": 7}]}"#)
            .err()
            .map(|e| format!("{e:?}"))
            .unwrap_or_default();
        assert!(error.contains("nested[0].action"), "{error}");
        for not_an_object in [&b"[]"[..], b"[\"x\"]", b"7", b"\"text\"", b"true"] {
            let Err(refused) = parse_json::<Optional>(not_an_object) else {
                panic!("{not_an_object:?} was read as an object");
            };
            let refused = format!("{refused:?}");
            assert!(refused.contains("must be a JSON object"), "{refused}");
        }
        let malformed = parse_json::<Optional>(b"{\"name\": ")
            .err()
            .map(|e| format!("{e:?}"))
            .unwrap_or_default();
        assert!(
            malformed.contains("Request body must be valid JSON."),
            "{malformed}"
        );
    }
}
