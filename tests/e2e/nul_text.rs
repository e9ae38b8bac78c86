//! Text holding the NUL character (U+0000) is refused wherever Warden reads text —
//! JSON bodies, form bodies, paths, query strings and SCIM filters — with a 400 in the
//! shape of the API addressed, on both backends alike (PostgreSQL cannot store it;
//! SQLite could, and the two would disagree).

use serde_json::json;
use warden_tests::{StatusCode, on_both_backends};

on_both_backends! {
    async fn text_holding_nul_is_a_400_everywhere_and_changes_nothing(app: TestApp) {
        let owner = app.owner().await?;

        // Coder's API: a JSON body names the field; nothing was created.
        let login = app.post("/api/v2/users/login", None, json!({"email": "a\u{0}@example.com", "password": "x"})).await?;
        assert_eq!(login.status, StatusCode::BAD_REQUEST, "{login:?}");
        assert_eq!(login.fields(), ["email"]);
        let org = app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "nul", "display_name": "a\u{0}b"})).await?;
        assert_eq!(org.status, StatusCode::BAD_REQUEST, "{org:?}");
        assert_eq!(org.fields(), ["display_name"]);
        assert!(org.body["detail"].as_str().is_some_and(|d| d.contains("U+0000")), "{org:?}");
        let roles = app.put_json("/api/v2/users/me/roles", Some(&owner.token), json!({"roles": ["owner", "x\u{0}"]})).await?;
        assert_eq!((roles.status, roles.fields()), (StatusCode::BAD_REQUEST, vec!["roles[1]".to_owned()]), "{roles:?}");
        assert_eq!(app.get("/api/v2/organizations/nul", Some(&owner.token)).await?.status, StatusCode::NOT_FOUND);

        // In the URL: the path or the query.
        for path in ["/api/v2/users/ad%00min", "/api/v2/users?q=name%3Aa%00", "/api/v2/organizations/coder/groups?x=%00"] {
            let refused = app.get(path, Some(&owner.token)).await?;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{path}: {refused:?}");
            assert!(!refused.message().is_empty() && refused.body["detail"].as_str().is_some_and(|d| d.contains("U+0000")), "{path}: {refused:?}");
        }

        // SCIM answers in its own error shape.
        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "nul",
            "name": {"givenName": "a\u{0}b"}, "emails": [{"value": "nul@example.com", "primary": true}],
        });
        let created = app.scim(reqwest::Method::POST, "/scim/v2/Users", Some(user), &[]).await?;
        assert_eq!(created.status, StatusCode::BAD_REQUEST, "{created:?}");
        assert_eq!((created.body["scimType"].as_str(), created.body["status"].as_str()), (Some("invalidValue"), Some("400")), "{created:?}");
        assert!(created.body["detail"].as_str().is_some_and(|d| d.contains("name.givenName")), "{created:?}");
        let escaped = app.scim(reqwest::Method::GET, "/scim/v2/Groups?filter=displayName%20eq%20%22a%5Cu0000%22", None, &[]).await?;
        assert_eq!((escaped.status, escaped.body["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidFilter")), "{escaped:?}");
        let raw = app.scim(reqwest::Method::GET, "/scim/v2/Users?filter=userName%20eq%20%22a%00%22", None, &[]).await?;
        assert_eq!((raw.status, raw.body["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidValue")), "{raw:?}");
        let listed = app.scim(reqwest::Method::GET, "/scim/v2/Users", None, &[]).await?;
        assert_eq!(listed.body["totalResults"], 0, "nothing was provisioned");

        // OAuth2 answers in RFC 6749's.
        let token = reqwest::Client::new()
            .post(format!("{}/oauth2/tokens", app.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=authorization_code&code=a%00b&client_id=x")
            .send()
            .await?;
        assert_eq!(token.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = token.json().await?;
        assert_eq!(body["error"], "invalid_request", "{body}");
        assert!(body["error_description"].as_str().is_some_and(|d| d.contains("code")), "{body}");
        Ok(())
    }
}
