//! Walks every API route: none but the public ones answers without credentials, and
//! the admin-only ones refuse a plain member.

use serde_json::json;
use warden_tests::{StatusCode, on_both_backends};

/// Every routed `/api/v2` endpoint as (method, path). Extend with each new route.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/api/v2/buildinfo"),
    ("GET", "/api/v2/openapi.json"),
    ("GET", "/api/v2/users/first"),
    ("POST", "/api/v2/users/first"),
    ("POST", "/api/v2/users/login"),
    ("POST", "/api/v2/users/logout"),
    ("GET", "/api/v2/users"),
    ("POST", "/api/v2/users"),
    ("GET", "/api/v2/users/authmethods"),
    ("GET", "/api/v2/users/oidc/callback"),
    ("GET", "/api/v2/users/{user}"),
    ("DELETE", "/api/v2/users/{user}"),
    ("PUT", "/api/v2/users/{user}/profile"),
    ("PUT", "/api/v2/users/{user}/password"),
    ("GET", "/api/v2/users/{user}/roles"),
    ("PUT", "/api/v2/users/{user}/roles"),
    ("GET", "/api/v2/users/{user}/login-type"),
    ("GET", "/api/v2/users/{user}/appearance"),
    ("GET", "/api/v2/users/{user}/gitsshkey"),
    ("PUT", "/api/v2/users/{user}/gitsshkey"),
    ("PUT", "/api/v2/users/{user}/status/suspend"),
    ("PUT", "/api/v2/users/{user}/status/activate"),
    ("POST", "/api/v2/users/{user}/keys"),
    ("GET", "/api/v2/users/{user}/keys/tokens"),
    ("POST", "/api/v2/users/{user}/keys/tokens"),
    ("GET", "/api/v2/users/{user}/keys/tokens/{keyname}"),
    ("GET", "/api/v2/users/{user}/keys/{keyid}"),
    ("DELETE", "/api/v2/users/{user}/keys/{keyid}"),
    ("GET", "/api/v2/users/{user}/organizations"),
    ("GET", "/api/v2/organizations"),
    ("POST", "/api/v2/organizations"),
    ("GET", "/api/v2/organizations/{organization}"),
    ("PATCH", "/api/v2/organizations/{organization}"),
    ("DELETE", "/api/v2/organizations/{organization}"),
    ("GET", "/api/v2/users/roles"),
    ("GET", "/api/v2/organizations/{organization}/members"),
    (
        "GET",
        "/api/v2/organizations/{organization}/paginated-members",
    ),
    ("GET", "/api/v2/organizations/{organization}/members/roles"),
    ("POST", "/api/v2/organizations/{organization}/members/roles"),
    ("PUT", "/api/v2/organizations/{organization}/members/roles"),
    (
        "DELETE",
        "/api/v2/organizations/{organization}/members/roles/{roleName}",
    ),
    ("GET", "/api/v2/organizations/{organization}/members/{user}"),
    (
        "POST",
        "/api/v2/organizations/{organization}/members/{user}",
    ),
    (
        "DELETE",
        "/api/v2/organizations/{organization}/members/{user}",
    ),
    (
        "PUT",
        "/api/v2/organizations/{organization}/members/{user}/roles",
    ),
    ("GET", "/api/v2/settings/idpsync/organization"),
    ("PATCH", "/api/v2/settings/idpsync/organization"),
    ("PATCH", "/api/v2/settings/idpsync/organization/config"),
    ("PATCH", "/api/v2/settings/idpsync/organization/mapping"),
    (
        "GET",
        "/api/v2/organizations/{organization}/settings/idpsync/groups",
    ),
    (
        "PATCH",
        "/api/v2/organizations/{organization}/settings/idpsync/groups",
    ),
    (
        "PATCH",
        "/api/v2/organizations/{organization}/settings/idpsync/groups/config",
    ),
    (
        "PATCH",
        "/api/v2/organizations/{organization}/settings/idpsync/groups/mapping",
    ),
    (
        "GET",
        "/api/v2/organizations/{organization}/settings/idpsync/roles",
    ),
    (
        "PATCH",
        "/api/v2/organizations/{organization}/settings/idpsync/roles",
    ),
    (
        "PATCH",
        "/api/v2/organizations/{organization}/settings/idpsync/roles/config",
    ),
    (
        "PATCH",
        "/api/v2/organizations/{organization}/settings/idpsync/roles/mapping",
    ),
    ("GET", "/api/v2/settings/idpsync/available-fields"),
    ("GET", "/api/v2/settings/idpsync/field-values"),
    (
        "GET",
        "/api/v2/organizations/{organization}/settings/idpsync/available-fields",
    ),
    (
        "GET",
        "/api/v2/organizations/{organization}/settings/idpsync/field-values",
    ),
    ("GET", "/api/v2/groups"),
    ("GET", "/api/v2/organizations/{organization}/groups"),
    ("POST", "/api/v2/organizations/{organization}/groups"),
    (
        "GET",
        "/api/v2/organizations/{organization}/groups/{groupName}",
    ),
    ("GET", "/api/v2/groups/{group}"),
    ("PATCH", "/api/v2/groups/{group}"),
    ("DELETE", "/api/v2/groups/{group}"),
    ("GET", "/api/v2/audit"),
    ("GET", "/api/v2/replicas"),
    ("GET", "/scim/v2/ServiceProviderConfig"),
    ("GET", "/scim/v2/Schemas"),
    ("GET", "/scim/v2/Schemas/{id}"),
    ("GET", "/scim/v2/ResourceTypes"),
    ("GET", "/scim/v2/ResourceTypes/{id}"),
    ("GET", "/scim/v2/Users"),
    ("POST", "/scim/v2/Users"),
    ("GET", "/scim/v2/Users/{id}"),
    ("PUT", "/scim/v2/Users/{id}"),
    ("PATCH", "/scim/v2/Users/{id}"),
    ("DELETE", "/scim/v2/Users/{id}"),
    ("POST", "/scim/v2/Users/.search"),
    ("POST", "/scim/v2/.search"),
    ("GET", "/scim/v2/Groups"),
    ("POST", "/scim/v2/Groups"),
    ("POST", "/scim/v2/Groups/.search"),
    ("GET", "/scim/v2/Groups/{id}"),
    ("PUT", "/scim/v2/Groups/{id}"),
    ("PATCH", "/scim/v2/Groups/{id}"),
    ("DELETE", "/scim/v2/Groups/{id}"),
    ("POST", "/scim/v2/Bulk"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/api/v2/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/oauth-protected-resource"),
    ("GET", "/api/v2/oauth2-provider/apps"),
    ("POST", "/api/v2/oauth2-provider/apps"),
    ("GET", "/api/v2/oauth2-provider/apps/{app}"),
    ("PUT", "/api/v2/oauth2-provider/apps/{app}"),
    ("DELETE", "/api/v2/oauth2-provider/apps/{app}"),
    ("GET", "/api/v2/oauth2-provider/apps/{app}/secrets"),
    ("POST", "/api/v2/oauth2-provider/apps/{app}/secrets"),
    (
        "DELETE",
        "/api/v2/oauth2-provider/apps/{app}/secrets/{secretID}",
    ),
    ("GET", "/oauth2/authorize"),
    ("POST", "/oauth2/authorize"),
    ("POST", "/oauth2/tokens"),
    ("DELETE", "/oauth2/tokens"),
    ("POST", "/oauth2/revoke"),
    ("POST", "/oauth2/introspect"),
    ("POST", "/oauth2/device"),
    ("GET", "/oauth2/device/verify"),
    ("POST", "/oauth2/device/verify"),
    ("POST", "/oauth2/register"),
    ("GET", "/oauth2/clients/{client_id}"),
    ("PUT", "/oauth2/clients/{client_id}"),
    ("DELETE", "/oauth2/clients/{client_id}"),
    ("GET", "/login"),
    ("POST", "/login"),
];

/// Routes anyone may call.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/api/v2/buildinfo"),
    ("GET", "/api/v2/openapi.json"),
    ("GET", "/api/v2/users/first"),
    ("POST", "/api/v2/users/first"),
    ("POST", "/api/v2/users/login"),
    ("GET", "/api/v2/users/authmethods"),
    // Starts or finishes a sign-in through the OpenID provider.
    ("GET", "/api/v2/users/oidc/callback"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/api/v2/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/oauth-protected-resource"),
    // Browser pages (a signed-out user is sent to log in) and client-authenticated
    // OAuth2 endpoints (they answer 401 invalid_client in OAuth2's shape).
    ("GET", "/oauth2/authorize"),
    ("POST", "/oauth2/tokens"),
    ("POST", "/oauth2/revoke"),
    ("POST", "/oauth2/introspect"),
    ("POST", "/oauth2/device"),
    ("GET", "/oauth2/device/verify"),
    // Dynamic registration: open to anyone (rate-limited), or authenticated by the
    // registration access token; 404 while switched off.
    ("POST", "/oauth2/register"),
    ("GET", "/oauth2/clients/{client_id}"),
    ("PUT", "/oauth2/clients/{client_id}"),
    ("DELETE", "/oauth2/clients/{client_id}"),
    ("GET", "/login"),
    ("POST", "/login"),
];

fn concrete(path: &str, user: &str) -> String {
    path.replace("{user}", user)
        .replace("{keyname}", "some-token")
        .replace("{keyid}", "abcdefghij")
        .replace("{organization}", "default")
        .replace("{roleName}", "some-role")
        .replace("{groupName}", "some-group")
        .replace("{group}", "00000000-0000-0000-0000-000000000000")
        .replace("{id}", "00000000-0000-0000-0000-000000000000")
        .replace("{app}", "00000000-0000-0000-0000-000000000000")
        .replace("{secretID}", "00000000-0000-0000-0000-000000000000")
        .replace("{client_id}", "00000000-0000-0000-0000-000000000000")
}

fn method(name: &str) -> reqwest::Method {
    name.parse().unwrap_or(reqwest::Method::GET)
}

#[test]
fn the_route_table_matches_the_openapi_document() {
    let doc: serde_json::Value = serde_json::from_str(&warden_http_openapi()).unwrap_or_default();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for m in item
            .as_object()
            .into_iter()
            .flatten()
            .map(|(m, _)| m.to_uppercase())
        {
            documented.push((m, path.clone()));
        }
    }
    documented.sort();
    let mut walked: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    walked.sort();
    assert_eq!(
        documented, walked,
        "every documented route is walked, and only those"
    );
}

fn warden_http_openapi() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
        .unwrap_or_default()
}

on_both_backends! {
    async fn every_route_demands_credentials(app: TestApp) {
        for &(m, path) in ROUTES {
            if PUBLIC.contains(&(m, path)) {
                continue;
            }
            let reply = app.request(method(m), &concrete(path, "me"), None, Some(json!({}))).await?;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{m} {path}");
            if path.starts_with("/scim/") {
                assert_eq!(reply.body["status"], "401", "{m} {path} answers in SCIM's error shape");
            } else {
                assert!(!reply.message().is_empty(), "{m} {path} answers in Coder's error shape");
            }
        }
        Ok(())
    }
}

on_both_backends! {
    /// A method no route takes on a served path is 405 with `Allow` naming the
    /// documented methods (RFC 9110 §15.5.6), in the error shape of the API; an
    /// unserved path stays 404.
    async fn a_wrong_method_is_405_with_allow(app: TestApp) {
        let owner = app.owner().await?;
        let mut paths: Vec<&str> = ROUTES.iter().map(|&(_, path)| path).collect();
        paths.dedup();
        for path in paths {
            let documented: Vec<&str> =
                ROUTES.iter().filter(|&&(_, p)| p == path).map(|&(m, _)| m).collect();
            let unused = ["PATCH", "PUT", "DELETE", "POST", "GET"]
                .into_iter()
                .find(|m| !documented.contains(m));
            let Some(unused) = unused else { continue };
            let reply = if path.starts_with("/scim/") {
                app.scim(method(unused), &concrete(path, "me"), None, &[]).await?
            } else {
                app.request(method(unused), &concrete(path, "me"), Some(&owner.token), None).await?
            };
            let allow = reply.headers.get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default();
            // Literal paths are also matched by parameter templates
            // (`/users/first` by `/users/{user}`), so Allow may list more.
            if reply.status == StatusCode::METHOD_NOT_ALLOWED {
                for m in &documented {
                    assert!(allow.split(", ").any(|a| a == *m), "{unused} {path}: Allow {allow:?} lacks {m}");
                }
                assert!(!allow.split(", ").any(|a| a == unused), "{unused} {path}: Allow {allow:?}");
            } else {
                panic!("{unused} {path}: {reply:?}");
            }
            if path.starts_with("/scim/") {
                assert_eq!(reply.body["status"], "405", "{unused} {path}");
            } else {
                assert!(reply.message().contains(unused), "{unused} {path}: {reply:?}");
            }
        }
        let put = app.request(method("PUT"), "/api/v2/organizations", Some(&owner.token), None).await?;
        assert_eq!(put.headers.get("allow").and_then(|v| v.to_str().ok()), Some("GET, POST"));
        let group = "/api/v2/groups/00000000-0000-0000-0000-000000000000";
        let post = app.request(method("POST"), group, Some(&owner.token), None).await?;
        assert_eq!(post.headers.get("allow").and_then(|v| v.to_str().ok()), Some("DELETE, GET, PATCH"));
        let nowhere = app.request(method("PUT"), "/api/v2/nothing/here", Some(&owner.token), None).await?;
        assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
        assert_eq!(nowhere.message(), "Route not found.");
        Ok(())
    }
}

on_both_backends! {
    async fn admin_routes_refuse_members(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        // What a member must not do, with the status Coder gives for it: 403 where the
        // target is visible, 400/404 where it is hidden.
        let refused: &[(&str, String, serde_json::Value, StatusCode)] = &[
            ("POST", "/api/v2/users".into(),
             json!({"email": "x@example.com", "username": "x", "password": warden_tests::PASSWORD, "organization_ids": ["00000000-0000-0000-0000-000000000000"]}),
             StatusCode::FORBIDDEN),
            ("PUT", format!("/api/v2/users/{}/status/suspend", owner.id), json!({}), StatusCode::BAD_REQUEST),
            ("PUT", "/api/v2/users/me/status/activate".into(), json!({}), StatusCode::FORBIDDEN),
            ("POST", format!("/api/v2/users/{}/keys", owner.id), json!({}), StatusCode::BAD_REQUEST),
            ("POST", format!("/api/v2/users/{}/keys/tokens", owner.id), json!({}), StatusCode::BAD_REQUEST),
            ("GET", format!("/api/v2/users/{}/keys/tokens", owner.id), json!({}), StatusCode::BAD_REQUEST),
            ("GET", format!("/api/v2/users/{}/organizations", owner.id), json!({}), StatusCode::BAD_REQUEST),
            ("DELETE", format!("/api/v2/users/{}", owner.id), json!({}), StatusCode::BAD_REQUEST),
            ("PUT", format!("/api/v2/users/{}/roles", owner.id), json!({"roles": []}), StatusCode::BAD_REQUEST),
            ("PUT", format!("/api/v2/users/{}/password", owner.id), json!({"password": "x"}), StatusCode::BAD_REQUEST),
            ("PUT", format!("/api/v2/users/{}/profile", owner.id), json!({"username": "x"}), StatusCode::BAD_REQUEST),
            ("PUT", "/api/v2/users/me/roles".into(), json!({"roles": ["owner"]}), StatusCode::BAD_REQUEST),
            ("GET", format!("/api/v2/users/{}/gitsshkey", owner.id), json!({}), StatusCode::BAD_REQUEST),
            ("PUT", format!("/api/v2/users/{}/gitsshkey", owner.id), json!({}), StatusCode::BAD_REQUEST),
            ("POST", "/api/v2/organizations".into(), json!({"name": "x"}), StatusCode::FORBIDDEN),
            ("PATCH", "/api/v2/organizations/default".into(), json!({"name": "x"}), StatusCode::FORBIDDEN),
            ("DELETE", "/api/v2/organizations/default".into(), json!({}), StatusCode::FORBIDDEN),
            ("POST", "/api/v2/organizations/default/members/roles".into(), json!({"name": "x"}), StatusCode::NOT_FOUND),
            ("PUT", "/api/v2/organizations/default/members/roles".into(), json!({"name": "x"}), StatusCode::NOT_FOUND),
            ("DELETE", "/api/v2/organizations/default/members/roles/x".into(), json!({}), StatusCode::NOT_FOUND),
            ("POST", format!("/api/v2/organizations/default/members/{}", owner.id), json!({}), StatusCode::BAD_REQUEST),
            ("DELETE", "/api/v2/organizations/default/members/admin".into(), json!({}), StatusCode::NOT_FOUND),
            ("PUT", "/api/v2/organizations/default/members/admin/roles".into(), json!({"roles": ["organization-admin"]}), StatusCode::FORBIDDEN),
            ("PATCH", "/api/v2/groups/00000000-0000-0000-0000-000000000000".into(), json!({"name": "x"}), StatusCode::NOT_FOUND),
            ("POST", "/api/v2/organizations/default/groups".into(), json!({"name": "x"}), StatusCode::FORBIDDEN),
            ("GET", "/api/v2/replicas".into(), json!({}), StatusCode::NOT_FOUND),
        ];
        for (m, path, body, status) in refused {
            let reply = app.request(method(m), path, Some(&bob.token), Some(body.clone())).await?;
            assert_eq!(reply.status, *status, "{m} {path}: {reply:?}");
        }
        let unknown = app.get("/api/v2/nothing-here", Some(&bob.token)).await?;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(unknown.message(), "Route not found.");
        Ok(())
    }
}
