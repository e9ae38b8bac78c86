//! Request metrics, recorded through the `metrics` facade (a no-op unless the binary
//! installs a recorder): every request by method, route template and status, and
//! the protocol operations an operator watches on their own — SCIM by resource and
//! operation, OAuth2 by endpoint and, for tokens, by grant and outcome.

use std::time::Duration;

/// Records one answered request. `route` is the matched route template
/// (`/api/v2/users/{user}`), never the concrete path, so that label values stay few.
pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("warden_http_requests_total", &labels).increment(1);
    metrics::histogram!("warden_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    if let Some((resource, operation)) = scim_operation(method, route) {
        metrics::counter!(
            "warden_scim_operations_total",
            "resource" => resource,
            "operation" => operation,
            "status" => status.to_string(),
        )
        .increment(1);
    } else if let Some(endpoint) = route.strip_prefix("/oauth2/") {
        metrics::counter!(
            "warden_oauth2_requests_total",
            "method" => method.to_owned(),
            "endpoint" => endpoint.to_owned(),
            "status" => status.to_string(),
        )
        .increment(1);
    }
}

/// Records one token request: its grant type (`unsupported` for anything else) and
/// `success` or the OAuth2 error code.
pub fn record_token_grant(grant_type: Option<&str>, outcome: Result<(), &'static str>) {
    let grant = match grant_type {
        Some(g) if warden_domain::oauth2::ALL_GRANTS.contains(&g) => g.to_owned(),
        _ => "unsupported".to_owned(),
    };
    metrics::counter!(
        "warden_oauth2_token_requests_total",
        "grant_type" => grant,
        "result" => outcome.err().unwrap_or("success"),
    )
    .increment(1);
}

/// A SCIM route template's resource and operation: `("Users", "create")` for
/// `POST /scim/v2/Users`. `None` outside SCIM.
pub fn scim_operation(method: &str, route: &str) -> Option<(&'static str, &'static str)> {
    let rest = route.strip_prefix("/scim/v2/")?;
    let mut segments = rest.split('/');
    let resource = match segments.next()? {
        "Users" => "Users",
        "Groups" => "Groups",
        "Bulk" => "Bulk",
        ".search" => "all",
        "ServiceProviderConfig" | "Schemas" | "ResourceTypes" => "discovery",
        _ => "unknown",
    };
    let item = segments.next();
    let operation = match (method, item) {
        _ if resource == "all" || item == Some(".search") => "search",
        ("POST", None) if resource == "Bulk" => "bulk",
        ("POST", None) => "create",
        ("GET", None) => "list",
        ("GET", Some(_)) => "get",
        ("PUT", _) => "replace",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        _ => "other",
    };
    Some((resource, operation))
}

#[cfg(test)]
mod tests {
    use super::scim_operation;

    #[test]
    fn scim_routes_name_their_resource_and_operation() {
        let cases = [
            ("POST", "/scim/v2/Users", Some(("Users", "create"))),
            ("GET", "/scim/v2/Users", Some(("Users", "list"))),
            ("GET", "/scim/v2/Users/{id}", Some(("Users", "get"))),
            ("PUT", "/scim/v2/Groups/{id}", Some(("Groups", "replace"))),
            ("PATCH", "/scim/v2/Groups/{id}", Some(("Groups", "patch"))),
            ("DELETE", "/scim/v2/Users/{id}", Some(("Users", "delete"))),
            ("POST", "/scim/v2/Users/.search", Some(("Users", "search"))),
            ("POST", "/scim/v2/.search", Some(("all", "search"))),
            ("POST", "/scim/v2/Bulk", Some(("Bulk", "bulk"))),
            ("GET", "/scim/v2/Schemas/{id}", Some(("discovery", "get"))),
            ("GET", "/api/v2/users", None),
        ];
        for (method, route, expected) in cases {
            assert_eq!(scim_operation(method, route), expected, "{method} {route}");
        }
    }
}
