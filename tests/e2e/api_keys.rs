use serde_json::json;
use warden_tests::{StatusCode, on_both_backends};

const HOUR_NS: i64 = 3_600_000_000_000;

on_both_backends! {
    async fn tokens_lifecycle(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let created = app
            .post("/api/v2/users/me/keys/tokens", Some(&bob.token),
                  json!({"token_name": "ci", "lifetime": 24 * HOUR_NS, "scope": "all"}))
            .await?;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let token = created.body["key"].as_str().unwrap_or_default().to_owned();
        let me = app.get("/api/v2/users/me", Some(&token)).await?;
        assert_eq!(me.body["username"], "bob", "the token authenticates as its owner");

        let list = app.get("/api/v2/users/me/keys/tokens", Some(&bob.token)).await?;
        assert_eq!(list.status, StatusCode::OK);
        let tokens = list.body.as_array().cloned().unwrap_or_default();
        assert_eq!(tokens.len(), 1, "sessions are not tokens: {}", list.body);
        let listed = &tokens[0];
        assert_eq!(listed["token_name"], "ci");
        assert_eq!(listed["username"], "bob");
        assert_eq!(listed["login_type"], "token");
        assert_eq!(listed["lifetime_seconds"], 86_400);
        assert_eq!(listed["scopes"], json!(["coder:all"]));
        assert_eq!(listed["scope"], "all");
        assert_eq!(listed["allow_list"], json!([{"type": "*", "id": "*"}]));
        for field in ["id", "user_id", "last_used", "expires_at", "created_at", "updated_at"] {
            assert!(listed[field].is_string(), "{field}: {listed}");
        }
        let key_id = listed["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(key_id, token[..10]);

        let by_name = app.get("/api/v2/users/me/keys/tokens/ci", Some(&bob.token)).await?;
        assert_eq!(by_name.body["id"], json!(key_id));
        let by_id = app.get(&format!("/api/v2/users/me/keys/{key_id}"), Some(&bob.token)).await?;
        assert_eq!(by_id.body["token_name"], "ci");

        let owner_view = app.get("/api/v2/users/admin/keys/tokens?include_all=true", Some(&owner.token)).await?;
        assert_eq!(owner_view.body.as_array().map(Vec::len), Some(1), "owners see every token");
        let bob_cannot_peek = app.get(&format!("/api/v2/users/{}/keys/{key_id}", owner.id), Some(&bob.token)).await?;
        assert_eq!(bob_cannot_peek.status, StatusCode::BAD_REQUEST);

        let deleted = app.delete(&format!("/api/v2/users/me/keys/{key_id}"), Some(&bob.token)).await?;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let revoked = app.get("/api/v2/users/me", Some(&token)).await?;
        assert_eq!(revoked.status, StatusCode::UNAUTHORIZED, "a deleted key stops working at once");
        let again = app.delete(&format!("/api/v2/users/me/keys/{key_id}"), Some(&bob.token)).await?;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        Ok(())
    }
}

on_both_backends! {
    async fn session_keys_for_the_cli(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let key = app.post("/api/v2/users/me/keys", Some(&bob.token), json!({})).await?;
        assert_eq!(key.status, StatusCode::CREATED);
        let token = key.body["key"].as_str().unwrap_or_default().to_owned();
        assert_eq!(app.get("/api/v2/users/me", Some(&token)).await?.body["username"], "bob");

        let for_bob_by_owner = app.post(&format!("/api/v2/users/{}/keys", bob.id), Some(&owner.token), json!({})).await?;
        assert_eq!(for_bob_by_owner.status, StatusCode::CREATED, "owners may mint keys for users");
        let for_owner_by_bob = app.post(&format!("/api/v2/users/{}/keys", owner.id), Some(&bob.token), json!({})).await?;
        assert_eq!(for_owner_by_bob.status, StatusCode::BAD_REQUEST, "bob cannot see the owner");
        Ok(())
    }
}

on_both_backends! {
    async fn token_requests_are_validated(app: TestApp) {
        let owner = app.owner().await?;
        let path = "/api/v2/users/me/keys/tokens";
        let first = app.post(path, Some(&owner.token), json!({"token_name": "dup"})).await?;
        assert_eq!(first.status, StatusCode::CREATED);
        let dup = app.post(path, Some(&owner.token), json!({"token_name": "dup"})).await?;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        assert_eq!(dup.message(), "A token with name \"dup\" already exists.");
        assert_eq!(dup.fields(), ["name"]);

        let negative = app.post(path, Some(&owner.token), json!({"lifetime": -1})).await?;
        assert_eq!(negative.status, StatusCode::BAD_REQUEST);
        assert_eq!(negative.message(), "Failed to validate create API key request.");
        assert_eq!(negative.body["detail"], "lifetime must be positive number greater than 0");

        let too_long = app.post(path, Some(&owner.token), json!({"lifetime": 400 * 24 * HOUR_NS})).await?;
        assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
        assert_eq!(too_long.body["detail"], "lifetime must be less than 8760h0m0s");

        let bad_scope = app.post(path, Some(&owner.token), json!({"scopes": ["coder:everything"]})).await?;
        assert_eq!(bad_scope.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_scope.body["detail"], "invalid or unsupported API key scope: \"coder:everything\"");

        let bad_type = app.post(path, Some(&owner.token), json!({"lifetime": "1h"})).await?;
        assert_eq!(bad_type.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_type.fields(), ["lifetime"]);

        let unnamed = app.post(path, Some(&owner.token), json!({})).await?;
        assert_eq!(unnamed.status, StatusCode::CREATED, "a name is generated");
        let list = app.get(path, Some(&owner.token)).await?;
        assert_eq!(list.body.as_array().map(Vec::len), Some(2), "only the two valid tokens exist");

        let bad_flag = app.get(&format!("{path}?include_all=maybe"), Some(&owner.token)).await?;
        assert_eq!(bad_flag.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_flag.fields(), ["include_all"]);
        Ok(())
    }
}

on_both_backends! {
    async fn scoped_tokens_are_limited_by_their_scope(app: TestApp) {
        let owner = app.owner().await?;
        let created = app
            .post("/api/v2/users/me/keys/tokens", Some(&owner.token), json!({"scope": "application_connect"}))
            .await?;
        assert_eq!(created.status, StatusCode::CREATED);
        let token = created.body["key"].as_str().unwrap_or_default().to_owned();
        let orgs = app.post("/api/v2/organizations", Some(&token), json!({"name": "scoped"})).await?;
        assert_eq!(orgs.status, StatusCode::FORBIDDEN, "an application_connect token cannot create orgs");
        let full = app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "scoped"})).await?;
        assert_eq!(full.status, StatusCode::CREATED);
        Ok(())
    }
}
