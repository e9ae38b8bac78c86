use serde_json::json;
use warden_tests::{PASSWORD, StatusCode, on_both_backends};

on_both_backends! {
    async fn first_user_lifecycle(app: TestApp) {
        let before = app.get("/api/v2/users/first", None).await?;
        assert_eq!(before.status, StatusCode::NOT_FOUND);
        assert_eq!(before.message(), "The initial user has not been created!");
        assert!(
            before.headers.contains_key("x-coder-build-version"),
            "Coder's SDK needs the build version header on this 404"
        );

        let created = app
            .post(
                "/api/v2/users/first",
                None,
                json!({"email": "admin@example.com", "username": "admin", "name": "Ada Admin", "password": PASSWORD, "trial": false}),
            )
            .await?;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let user_id = created.body["user_id"].as_str().unwrap_or_default().to_owned();
        let org_id = created.body["organization_id"].as_str().unwrap_or_default().to_owned();
        assert!(uuid::Uuid::parse_str(&user_id).is_ok());
        assert!(uuid::Uuid::parse_str(&org_id).is_ok());

        let after = app.get("/api/v2/users/first", None).await?;
        assert_eq!(after.status, StatusCode::OK);
        assert_eq!(after.message(), "The initial user has already been created!");

        let token = app.login("admin@example.com", PASSWORD).await?;
        let me = app.get("/api/v2/users/me", Some(&token)).await?;
        assert_eq!(me.body["id"], json!(user_id));
        assert_eq!(me.body["name"], "Ada Admin");
        assert_eq!(me.body["roles"], json!([{"name": "owner", "display_name": "Owner"}]));
        assert_eq!(me.body["organization_ids"], json!([org_id]));

        let default_org = app.get("/api/v2/organizations/default", Some(&token)).await?;
        assert_eq!(default_org.body["id"], json!(org_id));
        assert_eq!(default_org.body["is_default"], true);
        assert_eq!(default_org.body["name"], "coder");

        let again = app
            .post(
                "/api/v2/users/first",
                None,
                json!({"email": "other@example.com", "username": "other", "password": PASSWORD}),
            )
            .await?;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(again.message(), "The initial user has already been created.");
        Ok(())
    }
}

on_both_backends! {
    async fn first_user_rejects_bad_input_and_writes_nothing(app: TestApp) {
        let cases = [
            (json!({"email": "admin@example.com", "username": "bad name", "password": PASSWORD}), "username"),
            (json!({"email": "not-an-email", "username": "admin", "password": PASSWORD}), "email"),
            (json!({"email": "admin@example.com", "username": "admin"}), "password"),
            (json!({"username": "admin", "password": PASSWORD}), "email"),
            (json!({"email": "admin@example.com", "username": "admin", "password": "password"}), "password"),
            (json!({"email": "admin@example.com", "username": "admin", "name": " padded ", "password": PASSWORD}), "name"),
        ];
        for (body, field) in cases {
            let reply = app.post("/api/v2/users/first", None, body.clone()).await?;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {reply:?}");
            assert_eq!(reply.fields(), [field], "{body}");
        }
        let weak = app
            .post("/api/v2/users/first", None, json!({"email": "a@b.co", "username": "admin", "password": "mypass"}))
            .await?;
        assert_eq!(weak.message(), "Password not strong enough!");

        let wrong_type = app.post("/api/v2/users/first", None, json!({"email": 7})).await?;
        assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
        assert_eq!(wrong_type.message(), "Request body must be valid JSON.");
        assert_eq!(wrong_type.fields(), ["email"]);

        let garbage = app.raw(reqwest::Method::POST, "/api/v2/users/first", None, b"{not json".to_vec()).await?;
        assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
        assert_eq!(garbage.message(), "Request body must be valid JSON.");

        let huge = app
            .raw(reqwest::Method::POST, "/api/v2/users/first", None, vec![b' '; 2 * 1024 * 1024])
            .await?;
        assert_eq!(huge.status, StatusCode::BAD_REQUEST);
        assert_eq!(huge.message(), "Request body is too large.");

        let still_none = app.get("/api/v2/users/first", None).await?;
        assert_eq!(still_none.status, StatusCode::NOT_FOUND, "a rejected request wrote nothing");
        Ok(())
    }
}

on_both_backends! {
    async fn concurrent_first_users_make_exactly_one_owner(app: TestApp) {
        let attempts = (0..6).map(|i| {
            let body = json!({"email": format!("u{i}@example.com"), "username": format!("u{i}"), "password": PASSWORD});
            app.post("/api/v2/users/first", None, body)
        });
        let replies = futures_util::future::join_all(attempts).await;
        let created = replies
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|r| r.status == StatusCode::CREATED))
            .count();
        let conflicts = replies
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|r| r.status == StatusCode::CONFLICT))
            .count();
        assert_eq!((created, conflicts), (1, 5));
        Ok(())
    }
}
