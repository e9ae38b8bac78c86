//! Requests no route takes: 405 Method Not Allowed with an `Allow` header when the
//! path is served under other methods (RFC 9110 §15.5.6), else Coder's 404
//! "Route not found.". Which methods a path takes is read from the OpenAPI document
//! the handlers are annotated with, so the answer cannot drift from the routes.

use std::sync::OnceLock;

use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use utoipa::OpenApi;

use crate::error::Response;
use crate::openapi::ApiDoc;

/// One documented path: its segments (`None` for a `{parameter}`) and methods.
struct Template {
    segments: Vec<Option<String>>,
    methods: Vec<&'static str>,
}

impl Template {
    fn literals(&self) -> usize {
        self.segments.iter().filter(|s| s.is_some()).count()
    }

    fn matches(&self, path: &[&str]) -> bool {
        self.segments.len() == path.len()
            && self
                .segments
                .iter()
                .zip(path)
                .all(|(template, actual)| template.as_deref().is_none_or(|t| t == *actual))
    }
}

fn templates() -> &'static [Template] {
    static TEMPLATES: OnceLock<Vec<Template>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(path, item)| Template {
                segments: path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                    .collect(),
                methods: [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, served)| served.then_some(method))
                .collect(),
            })
            .collect()
    })
}

/// The `Allow` header for `path` when some route serves it under another method.
/// Where templates overlap, the most literal ones name the resource
/// (`/scim/v2/Users/.search`, not `/scim/v2/Users/{id}`). SCIM, also mounted under
/// `/api/v2`, is documented once at `/scim/v2`.
pub fn allowed_methods(path: &str) -> Option<HeaderValue> {
    let path = path
        .strip_prefix("/api/v2")
        .filter(|p| p.starts_with("/scim/v2/"))
        .unwrap_or(path);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let matching: Vec<&Template> = templates()
        .iter()
        .filter(|t| t.matches(&segments))
        .collect();
    let most_literal = matching.iter().map(|t| t.literals()).max()?;
    let mut methods: Vec<&str> = matching
        .into_iter()
        .filter(|t| t.literals() == most_literal)
        .flat_map(|t| t.methods.iter().copied())
        .collect();
    if methods.is_empty() {
        return None;
    }
    methods.sort_unstable();
    methods.dedup();
    HeaderValue::from_str(&methods.join(", ")).ok()
}

/// The default service: 405 with `Allow`, or 404.
pub async fn route_not_found(req: HttpRequest) -> HttpResponse {
    match allowed_methods(req.path()) {
        Some(allow) => HttpResponse::MethodNotAllowed()
            .insert_header((ALLOW, allow))
            .json(Response::message(format!(
                "Method {} is not allowed on this route.",
                req.method()
            ))),
        None => HttpResponse::NotFound().json(Response::message("Route not found.")),
    }
}

#[cfg(test)]
mod tests {
    use super::allowed_methods;

    fn allow(path: &str) -> Option<String> {
        allowed_methods(path).and_then(|v| v.to_str().ok().map(str::to_owned))
    }

    #[test]
    fn a_served_path_lists_its_methods_in_order() {
        assert_eq!(allow("/api/v2/organizations").as_deref(), Some("GET, POST"));
        assert_eq!(
            allow("/api/v2/groups/6b2ad0d5-8f3a-4a3c-9c1b-0f5e8f3d2a11").as_deref(),
            Some("DELETE, GET, PATCH")
        );
    }

    #[test]
    fn a_literal_template_outranks_a_parameter_one() {
        // `/users/{user}` also matches `/users/first`, but names another resource.
        assert_eq!(allow("/api/v2/users/first").as_deref(), Some("GET, POST"));
        assert_eq!(allow("/scim/v2/Users/.search").as_deref(), Some("POST"));
        assert_eq!(
            allow("/scim/v2/Users/2f7d3c1e-0000-4000-8000-000000000000").as_deref(),
            Some("DELETE, GET, PATCH, PUT")
        );
    }

    #[test]
    fn scim_under_the_api_prefix_is_the_same_resource() {
        assert_eq!(allow("/api/v2/scim/v2/Bulk"), allow("/scim/v2/Bulk"));
        assert_eq!(allow("/scim/v2/Bulk").as_deref(), Some("POST"));
    }

    #[test]
    fn an_unknown_path_has_no_methods() {
        assert_eq!(allow("/api/v2/nope"), None);
        assert_eq!(allow("/api/v2/organizations/x/y/z/w"), None);
        assert_eq!(allow("/"), None);
    }
}
