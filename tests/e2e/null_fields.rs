//! JSON `null` in a request body means "not given", as Go's decoder treats it for
//! Coder's request types: one request per DTO family, each with its optional fields
//! set to `null`, succeeds and leaves those fields at their default or unchanged.

use serde_json::{Value, json};
use warden_tests::{PASSWORD, StatusCode, TestApp, on_both_backends};

async fn default_org_id(app: &TestApp, token: &str) -> anyhow::Result<String> {
    let org = app.get("/api/v2/organizations/coder", Some(token)).await?;
    Ok(org.body["id"].as_str().unwrap_or_default().to_owned())
}

on_both_backends! {
    async fn null_optional_fields_are_absent_in_every_request_family(app: TestApp) {
        let owner = app.owner().await?;
        let token = Some(owner.token.as_str());

        // API keys: the request from the issue, and a body that is only `null`.
        let created = app.post("/api/v2/users/me/keys/tokens", token, json!({
            "token_name": "nulls", "scope": null, "scopes": null, "lifetime": null,
            "lifetime_seconds": null, "allow_list": null,
        })).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let key = app.get("/api/v2/users/me/keys/tokens/nulls", token).await?;
        assert_eq!(key.status, StatusCode::OK, "{key:?}");
        let bare = app.post("/api/v2/users/me/keys/tokens", token, Value::Null).await?;
        assert_eq!(bare.status, StatusCode::CREATED, "a null body is an empty request: {bare:?}");

        // Users.
        let org = default_org_id(&app, &owner.token).await?;
        let user = app.post("/api/v2/users", token, json!({
            "email": "nulls@example.com", "username": "nulls", "password": PASSWORD,
            "name": null, "login_type": null, "user_status": null, "organization_ids": [org],
        })).await?;
        assert_eq!(user.status, StatusCode::CREATED, "{user:?}");
        assert_eq!((user.body["name"].as_str(), user.body["login_type"].as_str()), (Some(""), Some("password")));

        // Organizations: null leaves the field unchanged.
        let patched = app.patch("/api/v2/organizations/coder", token, json!({
            "name": null, "display_name": "Renamed", "description": null, "icon": null,
        })).await?;
        assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
        assert_eq!((patched.body["name"].as_str(), patched.body["display_name"].as_str()), (Some("coder"), Some("Renamed")));

        // Groups.
        let group = app.post("/api/v2/organizations/coder/groups", token, json!({
            "name": "nulls", "display_name": null, "avatar_url": null, "quota_allowance": 3,
        })).await?;
        assert_eq!(group.status, StatusCode::CREATED, "{group:?}");
        let id = group.body["id"].as_str().unwrap_or_default();
        let patched = app.patch(&format!("/api/v2/groups/{id}"), token, json!({
            "name": null, "display_name": null, "avatar_url": null, "quota_allowance": null,
            "add_users": null, "remove_users": null,
        })).await?;
        assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
        assert_eq!((patched.body["name"].as_str(), patched.body["quota_allowance"].as_i64()), (Some("nulls"), Some(3)));

        // Custom roles: null permission lists are empty lists; a null inside a
        // permission is absent too, so a required member is reported missing.
        let role = app.post("/api/v2/organizations/coder/members/roles", token, json!({
            "name": "nulls", "display_name": null, "site_permissions": null,
            "organization_permissions": [{"negate": null, "resource_type": "group", "action": "read"}],
            "organization_member_permissions": null, "user_permissions": null,
        })).await?;
        assert_eq!(role.status, StatusCode::OK, "Coder answers 200: {role:?}");
        let missing = app.post("/api/v2/organizations/coder/members/roles", token, json!({
            "name": "nulls-2", "organization_permissions": [{"resource_type": null, "action": "read"}],
        })).await?;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{missing:?}");
        assert!(missing.fields().iter().any(|f| f.contains("organization_permissions")), "{missing:?}");

        // Member roles: a null list removes every assigned role, as `[]` does.
        let member = app.user(&owner, "member").await?;
        let roles = app.request(reqwest::Method::PUT, &format!("/api/v2/organizations/coder/members/{}/roles", member.id), token, Some(json!({"roles": null}))).await?;
        assert_eq!(roles.status, StatusCode::OK, "{roles:?}");
        assert_eq!(roles.body["roles"], json!([]), "{roles:?}");

        // OAuth2 applications.
        let app_created = app.post("/api/v2/oauth2-provider/apps", token, json!({
            "name": "nulls", "callback_url": "http://127.0.0.1:9/cb", "icon": null,
        })).await?;
        assert_eq!(app_created.status, StatusCode::CREATED, "{app_created:?}");
        assert_eq!(app_created.body["icon"], "", "{app_created:?}");
        Ok(())
    }
}
