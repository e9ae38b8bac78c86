use serde_json::json;
use warden_tests::{PASSWORD, StatusCode, on_both_backends};

const SIGNED_OUT: &str =
    "You are signed out or your session has expired. Please sign in again to continue.";

on_both_backends! {
    async fn login_sets_cookie_and_token_works_from_every_source(app: TestApp) {
        let owner = app.owner().await?;
        let client = reqwest::Client::new();
        let login = client
            .post(format!("{}/api/v2/users/login", app.base))
            .json(&json!({"email": "ADMIN@example.com", "password": PASSWORD}))
            .send()
            .await?;
        assert_eq!(login.status(), StatusCode::CREATED, "email matching ignores case");
        let cookie = login
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(cookie.starts_with("coder_session_token="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/"), "{cookie}");
        let token = login.json::<serde_json::Value>().await?["session_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(token.len(), 33);
        assert_eq!(token.as_bytes()[10], b'-');

        let me = format!("{}/api/v2/users/me", app.base);
        let by_cookie = client.get(&me).header("Cookie", format!("coder_session_token={token}")).send().await?;
        let by_query = client.get(format!("{me}?coder_session_token={token}")).send().await?;
        let by_header = client.get(&me).header("Coder-Session-Token", &token).send().await?;
        let by_bearer = client.get(&me).header("Authorization", format!("bearer {token}")).send().await?;
        for res in [by_cookie, by_query, by_header, by_bearer] {
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.json::<serde_json::Value>().await?["id"], json!(owner.id));
        }
        Ok(())
    }
}

on_both_backends! {
    async fn bad_credentials_are_401_with_coder_messages(app: TestApp) {
        let owner = app.owner().await?;
        for (email, password) in [("admin@example.com", "wrong-Password1"), ("nobody@example.com", PASSWORD)] {
            let reply = app.post("/api/v2/users/login", None, json!({"email": email, "password": password})).await?;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            assert_eq!(reply.message(), "Incorrect email or password.");
        }
        let missing = app.post("/api/v2/users/login", None, json!({"email": "admin@example.com"})).await?;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert_eq!(missing.fields(), ["password"]);

        let none = app.get("/api/v2/users/me", None).await?;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED);
        assert_eq!(none.message(), SIGNED_OUT);
        assert_eq!(none.body["detail"], "Cookie \"coder_session_token\" or query parameter must be provided.");

        let cases = [
            ("garbage", "Invalid API key format: incorrect amount of API key parts, expected 2 got 1"),
            ("abc-defghijklmnopqrstuvwxyz", "Invalid API key format: invalid API key ID length, expected 10 got 3"),
            ("abcdefghij-short", "Invalid API key format: invalid API key secret length, expected 22 got 5"),
            ("abcdefghij-abcdefghijabcdefghijab", "API key is invalid."),
        ];
        for (token, detail) in cases {
            let reply = app.get("/api/v2/users/me", Some(token)).await?;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token}");
            assert_eq!(reply.body["detail"], detail, "{token}");
        }
        let (id, _) = owner.token.split_once('-').unwrap_or_default();
        let wrong_secret = format!("{id}-{}", "x".repeat(22));
        let reply = app.get("/api/v2/users/me", Some(&wrong_secret)).await?;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.body["detail"], "API key secret is invalid.");
        Ok(())
    }
}

on_both_backends! {
    async fn logout_revokes_the_presented_key(app: TestApp) {
        let owner = app.owner().await?;
        let other_session = app.login(&owner.email, PASSWORD).await?;
        let out = app.post("/api/v2/users/logout", Some(&owner.token), json!({})).await?;
        assert_eq!(out.status, StatusCode::OK);
        assert_eq!(out.message(), "Logged out!");
        let cookie = out.headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(cookie.contains("coder_session_token=;") && cookie.contains("Max-Age=0"), "{cookie}");

        let after = app.get("/api/v2/users/me", Some(&owner.token)).await?;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED);
        assert_eq!(after.body["detail"], "API key is invalid.");
        let other = app.get("/api/v2/users/me", Some(&other_session)).await?;
        assert_eq!(other.status, StatusCode::OK, "other sessions survive");

        let unauthenticated = app.post("/api/v2/users/logout", None, json!({})).await?;
        assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
        Ok(())
    }
}

on_both_backends! {
    async fn suspension_locks_out_at_once_and_activation_restores_login(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let suspended = app.put(&format!("/api/v2/users/{}/status/suspend", bob.username), Some(&owner.token)).await?;
        assert_eq!(suspended.status, StatusCode::OK);
        assert_eq!(suspended.body["status"], "suspended");

        let locked = app.get("/api/v2/users/me", Some(&bob.token)).await?;
        assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
        let login = app.post("/api/v2/users/login", None, json!({"email": bob.email, "password": PASSWORD})).await?;
        assert_eq!(login.status, StatusCode::UNAUTHORIZED);
        assert_eq!(login.message(), "Your account is suspended. Contact an admin to reactivate your account.");

        let activated = app.put(&format!("/api/v2/users/{}/status/activate", bob.id), Some(&owner.token)).await?;
        assert_eq!(activated.status, StatusCode::OK);
        assert_eq!(activated.body["status"], "active");
        let token = app.login(&bob.email, PASSWORD).await?;
        assert_eq!(app.get("/api/v2/users/me", Some(&token)).await?.status, StatusCode::OK);
        Ok(())
    }
}
