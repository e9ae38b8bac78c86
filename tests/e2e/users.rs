use serde_json::{Value, json};
use warden_tests::{PASSWORD, StatusCode, on_both_backends};

/// Every field of Coder's `User`, with its JSON type.
fn assert_user_shape(user: &Value) {
    let fields = [
        ("id", "string"),
        ("username", "string"),
        ("name", "string"),
        ("avatar_url", "string"),
        ("email", "string"),
        ("created_at", "string"),
        ("updated_at", "string"),
        ("last_seen_at", "string"),
        ("status", "string"),
        ("login_type", "string"),
        ("is_service_account", "bool"),
        ("has_ai_seat", "bool"),
        ("theme_preference", "string"),
        ("organization_ids", "array"),
        ("roles", "array"),
    ];
    let object = user
        .as_object()
        .unwrap_or_else(|| panic!("user is not an object: {user}"));
    for (field, kind) in fields {
        let value = &user[field];
        let ok = match kind {
            "string" => value.is_string(),
            "bool" => value.is_boolean(),
            _ => value.is_array(),
        };
        assert!(ok, "{field} should be a {kind}: {user}");
    }
    assert_eq!(object.len(), fields.len(), "no unexpected fields: {user}");
    let created = user["created_at"].as_str().unwrap_or_default();
    assert!(
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .is_ok()
    );
}

on_both_backends! {
    async fn get_user_by_me_uuid_and_username(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        for param in ["me".to_owned(), bob.id.clone(), "bob".to_owned(), "BOB".to_owned()] {
            let reply = app.get(&format!("/api/v2/users/{param}"), Some(&bob.token)).await?;
            assert_eq!(reply.status, StatusCode::OK, "{param}");
            assert_user_shape(&reply.body);
            assert_eq!(reply.body["id"], json!(bob.id));
        }
        let owner_sees = app.get(&format!("/api/v2/users/{}", bob.id), Some(&owner.token)).await?;
        assert_eq!(owner_sees.body["username"], "bob");
        assert_eq!(owner_sees.body["roles"], json!([]));

        // A member may read only itself; everyone else is indistinguishable from nobody.
        for param in [owner.id.as_str(), "admin", "nobody", "00000000-0000-0000-0000-000000000001"] {
            let reply = app.get(&format!("/api/v2/users/{param}"), Some(&bob.token)).await?;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{param}");
            assert_eq!(reply.message(), "\"user\" must be an existing uuid or username.");
        }
        Ok(())
    }
}

on_both_backends! {
    async fn create_user_success_and_coder_defaults(app: TestApp) {
        let owner = app.owner().await?;
        let default_org = app.get("/api/v2/organizations/default", Some(&owner.token)).await?.body["id"].clone();
        let reply = app
            .post(
                "/api/v2/users",
                Some(&owner.token),
                json!({"email": "Carol@Example.com", "username": "carol", "name": "Carol C", "password": PASSWORD,
                       "organization_ids": [default_org]}),
            )
            .await?;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        assert_user_shape(&reply.body);
        assert_eq!(reply.body["status"], "dormant", "Coder creates users dormant until first sign-in");
        assert_eq!(reply.body["login_type"], "password");
        assert_eq!(reply.body["organization_ids"], json!([default_org]));

        let token = app.login("carol@example.com", PASSWORD).await?;
        let me = app.get("/api/v2/users/me", Some(&token)).await?;
        assert_eq!(me.body["status"], "active", "login reactivates a dormant user");

        // Older clients send one `organization_id`; `login_type: none` needs no password.
        let legacy = app
            .post(
                "/api/v2/users",
                Some(&owner.token),
                json!({"email": "dan@example.com", "username": "dan", "login_type": "none",
                       "organization_id": default_org, "user_status": "active"}),
            )
            .await?;
        assert_eq!(legacy.status, StatusCode::CREATED, "{legacy:?}");
        assert_eq!(legacy.body["login_type"], "none");
        assert_eq!(legacy.body["status"], "active");
        Ok(())
    }
}

on_both_backends! {
    async fn create_user_refuses_bad_input_duplicates_and_non_admins(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let nil = "00000000-0000-0000-0000-000000000000";
        let base = |username: &str, email: &str| {
            json!({"email": email, "username": username, "password": PASSWORD, "organization_ids": [nil]})
        };

        let forbidden = app.post("/api/v2/users", Some(&bob.token), base("eve", "eve@example.com")).await?;
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
        assert_eq!(forbidden.message(), "You are not authorized to create users.");

        for body in [base("bob", "new@example.com"), base("newbie", "BOB@example.com")] {
            let dup = app.post("/api/v2/users", Some(&owner.token), body).await?;
            assert_eq!(dup.status, StatusCode::CONFLICT);
            assert_eq!(dup.message(), "User already exists.");
        }

        let no_orgs = app
            .post("/api/v2/users", Some(&owner.token), json!({"email": "x@example.com", "username": "x", "password": PASSWORD}))
            .await?;
        assert_eq!(no_orgs.status, StatusCode::BAD_REQUEST);
        assert_eq!(no_orgs.fields(), ["organization_ids"]);

        let missing_org = uuid::Uuid::new_v4();
        let unknown = app
            .post("/api/v2/users", Some(&owner.token),
                  json!({"email": "x@example.com", "username": "x", "password": PASSWORD, "organization_ids": [missing_org]}))
            .await?;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(unknown.message(), format!("Organization does not exist with the provided id \"{missing_org}\"."));

        let bad_uuid = app
            .post("/api/v2/users", Some(&owner.token),
                  json!({"email": "x@example.com", "username": "x", "password": PASSWORD, "organization_ids": ["nope"]}))
            .await?;
        assert_eq!(bad_uuid.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_uuid.fields(), ["organization_ids[0]"]);

        let bad_enum = app
            .post("/api/v2/users", Some(&owner.token),
                  json!({"email": "x@example.com", "username": "x", "login_type": "kerberos", "organization_ids": [nil]}))
            .await?;
        assert_eq!(bad_enum.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_enum.fields(), ["login_type"]);

        let password_for_oidc = app
            .post("/api/v2/users", Some(&owner.token),
                  json!({"email": "x@example.com", "username": "x", "login_type": "oidc", "password": PASSWORD, "organization_ids": [nil]}))
            .await?;
        assert_eq!(password_for_oidc.status, StatusCode::BAD_REQUEST);
        assert_eq!(password_for_oidc.message(), "Password cannot be set for non-password (\"oidc\") authentication.");
        let oidc_off = app
            .post("/api/v2/users", Some(&owner.token),
                  json!({"email": "x@example.com", "username": "x", "login_type": "oidc", "organization_ids": [nil]}))
            .await?;
        assert_eq!((oidc_off.status, oidc_off.message()), (StatusCode::BAD_REQUEST, "You must configure OIDC before creating OIDC users."));
        let github = app
            .post("/api/v2/users", Some(&owner.token),
                  json!({"email": "x@example.com", "username": "x", "login_type": "github", "organization_ids": [nil]}))
            .await?;
        assert_eq!((github.status, github.message()), (StatusCode::BAD_REQUEST, "You must configure Github OAuth2 before creating Github users."));

        let invalid = app
            .post("/api/v2/users", Some(&owner.token), json!({"email": "nope", "username": "-x", "organization_ids": [nil]}))
            .await?;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        assert_eq!(invalid.fields(), ["username", "email"]);

        let all = app.get("/api/v2/users", Some(&owner.token)).await?;
        assert_eq!(all.body["count"], 2, "nothing was half-written: {}", all.body);
        Ok(())
    }
}

on_both_backends! {
    async fn list_users_filters_paginates_and_hides(app: TestApp) {
        let owner = app.owner().await?;
        let mut ids = vec![owner.id.clone()];
        for name in ["carol", "bob", "dave", "erin"] {
            ids.push(app.user(&owner, name).await?.id);
        }
        let list = app.get("/api/v2/users", Some(&owner.token)).await?;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(list.body["count"], 5);
        let names: Vec<&str> = list.body["users"].as_array().into_iter().flatten().filter_map(|u| u["username"].as_str()).collect();
        assert_eq!(names, ["admin", "bob", "carol", "dave", "erin"], "ordered by username");

        let page = app.get("/api/v2/users?limit=2&offset=1", Some(&owner.token)).await?;
        assert_eq!(page.body["count"], 5, "count ignores the window");
        let names: Vec<&str> = page.body["users"].as_array().into_iter().flatten().filter_map(|u| u["username"].as_str()).collect();
        assert_eq!(names, ["bob", "carol"]);

        let bob_id = page.body["users"][0]["id"].as_str().unwrap_or_default().to_owned();
        let after = app.get(&format!("/api/v2/users?after_id={bob_id}&limit=2"), Some(&owner.token)).await?;
        let names: Vec<&str> = after.body["users"].as_array().into_iter().flatten().filter_map(|u| u["username"].as_str()).collect();
        assert_eq!(names, ["carol", "dave"]);

        let search = app.get("/api/v2/users?q=AR", Some(&owner.token)).await?;
        assert_eq!(search.body["count"], 1, "{}", search.body);
        assert_eq!(search.body["users"][0]["username"], "carol");
        let owners = app.get("/api/v2/users?q=role:owner", Some(&owner.token)).await?;
        assert_eq!(owners.body["count"], 1);
        let active = app.get("/api/v2/users?q=status:active%20login_type:password", Some(&owner.token)).await?;
        assert_eq!(active.body["count"], 5);
        let by_email = app.get("/api/v2/users?q=email:dave@example.com", Some(&owner.token)).await?;
        assert_eq!(by_email.body["users"][0]["username"], "dave");

        let bob = app.login("bob@example.com", PASSWORD).await?;
        let member_view = app.get("/api/v2/users", Some(&bob)).await?;
        assert_eq!(member_view.body["count"], 1, "a member sees only itself");
        assert_eq!(member_view.body["users"][0]["username"], "bob");
        Ok(())
    }
}

on_both_backends! {
    async fn list_users_rejects_bad_queries(app: TestApp) {
        let owner = app.owner().await?;
        let cases = [
            ("q=status:sleeping", "Invalid user search query.", "status"),
            ("q=colour:blue", "Invalid user search query.", "colour"),
            ("q=a:b:c", "Invalid user search query.", "q"),
            ("q=alice%20bob", "Invalid user search query.", "search"),
            ("limit=-1", "Query parameters have invalid values.", "limit"),
            ("limit=abc", "Query parameters have invalid values.", "limit"),
            ("limit=", "Query parameters have invalid values.", "limit"),
            ("offset=99999999999", "Query parameters have invalid values.", "offset"),
            ("after_id=not-a-uuid", "Query parameters have invalid values.", "after_id"),
            ("limit=1&limit=2", "Query parameters have invalid values.", "limit"),
        ];
        for (query, message, field) in cases {
            let reply = app.get(&format!("/api/v2/users?{query}"), Some(&owner.token)).await?;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(reply.message(), message, "{query}");
            assert_eq!(reply.fields(), [field], "{query}");
        }
        Ok(())
    }
}

on_both_backends! {
    async fn status_changes_follow_coder_rules(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let carol = app.user(&owner, "carol").await?;

        let by_member = app.put(&format!("/api/v2/users/{}/status/suspend", carol.id), Some(&bob.token)).await?;
        assert_eq!(by_member.status, StatusCode::BAD_REQUEST, "a member cannot even see carol");
        let self_suspend = app.put("/api/v2/users/me/status/suspend", Some(&bob.token)).await?;
        assert_eq!(self_suspend.status, StatusCode::FORBIDDEN, "members may not update users");
        let owner_self = app.put("/api/v2/users/me/status/suspend", Some(&owner.token)).await?;
        assert_eq!(owner_self.status, StatusCode::BAD_REQUEST);
        assert_eq!(owner_self.message(), "You cannot suspend yourself.");

        let bad = app.put("/api/v2/users/not-a-user/status/activate", Some(&owner.token)).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);

        let ok = app.put(&format!("/api/v2/users/{}/status/suspend", carol.username), Some(&owner.token)).await?;
        assert_eq!(ok.status, StatusCode::OK);
        let suspended = app.get("/api/v2/users?q=status:suspended", Some(&owner.token)).await?;
        assert_eq!(suspended.body["count"], 1);
        Ok(())
    }
}
