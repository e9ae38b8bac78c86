use serde_json::{Value, json};
use warden_tests::{StatusCode, on_both_backends};

fn assert_org_shape(org: &Value) {
    let strings = [
        "id",
        "name",
        "display_name",
        "description",
        "icon",
        "created_at",
        "updated_at",
    ];
    for field in strings {
        assert!(org[field].is_string(), "{field}: {org}");
    }
    assert!(org["is_default"].is_boolean());
    assert_eq!(
        org.as_object().map(|o| o.len()),
        Some(strings.len() + 1),
        "{org}"
    );
}

on_both_backends! {
    async fn organization_crud(app: TestApp) {
        let owner = app.owner().await?;
        let created = app
            .post("/api/v2/organizations", Some(&owner.token),
                  json!({"name": "acme", "display_name": "Acme Inc", "description": "Rockets", "icon": "/emojis/1f680.png"}))
            .await?;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        assert_org_shape(&created.body);
        assert_eq!(created.body["is_default"], false);
        let id = created.body["id"].as_str().unwrap_or_default().to_owned();

        for param in [id.as_str(), "acme", "ACME"] {
            let got = app.get(&format!("/api/v2/organizations/{param}"), Some(&owner.token)).await?;
            assert_eq!(got.status, StatusCode::OK, "{param}");
            assert_eq!(got.body["id"], json!(id));
        }
        let nil = app.get("/api/v2/organizations/00000000-0000-0000-0000-000000000000", Some(&owner.token)).await?;
        assert_eq!(nil.body["is_default"], true, "the nil UUID names the default organization");

        let defaulted = app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "plain"})).await?;
        assert_eq!(defaulted.body["display_name"], "plain", "display name defaults to the name");

        let list = app.get("/api/v2/organizations", Some(&owner.token)).await?;
        let names: Vec<&str> = list.body.as_array().into_iter().flatten().filter_map(|o| o["name"].as_str()).collect();
        assert_eq!(names, ["acme", "coder", "plain"]);

        let mine = app.get("/api/v2/users/me/organizations", Some(&owner.token)).await?;
        let names: Vec<&str> = mine.body.as_array().into_iter().flatten().filter_map(|o| o["name"].as_str()).collect();
        assert_eq!(names, ["acme", "coder", "plain"], "the creator joins what it creates");

        let patched = app
            .patch(&format!("/api/v2/organizations/{id}"), Some(&owner.token),
                   json!({"name": "acme-corp", "description": ""}))
            .await?;
        assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
        assert_eq!(patched.body["name"], "acme-corp");
        assert_eq!(patched.body["display_name"], "Acme Inc", "absent fields are unchanged");
        assert_eq!(patched.body["description"], "", "present empty fields are cleared");
        assert_eq!(patched.body["icon"], "/emojis/1f680.png");

        let deleted = app.delete("/api/v2/organizations/acme-corp", Some(&owner.token)).await?;
        assert_eq!(deleted.status, StatusCode::OK);
        assert_eq!(deleted.message(), "Organization has been deleted.");
        let gone = app.get(&format!("/api/v2/organizations/{id}"), Some(&owner.token)).await?;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_eq!(gone.message(), "Resource not found or you do not have access to this resource");
        Ok(())
    }
}

on_both_backends! {
    async fn organization_rules_and_bad_input(app: TestApp) {
        let owner = app.owner().await?;
        app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "acme"})).await?;
        let dup = app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "Acme"})).await?;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        assert_eq!(dup.message(), "Organization already exists with that name.");

        let reserved = app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "default"})).await?;
        assert_eq!(reserved.status, StatusCode::BAD_REQUEST);
        assert_eq!(reserved.message(), "Organization name \"default\" is reserved.");

        for (body, field) in [
            (json!({"name": "not valid"}), "name"),
            (json!({}), "name"),
            (json!({"name": "ok", "display_name": " padded"}), "display_name"),
            (json!({"name": 5}), "name"),
        ] {
            let reply = app.post("/api/v2/organizations", Some(&owner.token), body.clone()).await?;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(reply.fields(), [field], "{body}");
        }

        app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "other"})).await?;
        let taken = app.patch("/api/v2/organizations/other", Some(&owner.token), json!({"name": "acme"})).await?;
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert_eq!(taken.message(), "Organization already exists with the name \"acme\".");
        assert_eq!(taken.fields(), ["name"]);

        let default_delete = app.delete("/api/v2/organizations/default", Some(&owner.token)).await?;
        assert_eq!(default_delete.status, StatusCode::BAD_REQUEST);
        assert_eq!(default_delete.message(), "Default organization cannot be deleted.");

        let missing = app.get("/api/v2/organizations/nope", Some(&owner.token)).await?;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let list = app.get("/api/v2/organizations", Some(&owner.token)).await?;
        assert_eq!(list.body.as_array().map(Vec::len), Some(3), "no rejected change was written");
        Ok(())
    }
}

on_both_backends! {
    async fn members_see_only_their_organizations_and_change_none(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let secret = app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "secret"})).await?;
        let secret_id = secret.body["id"].as_str().unwrap_or_default().to_owned();

        let list = app.get("/api/v2/organizations", Some(&bob.token)).await?;
        let names: Vec<&str> = list.body.as_array().into_iter().flatten().filter_map(|o| o["name"].as_str()).collect();
        assert_eq!(names, ["coder"]);
        for param in ["secret", secret_id.as_str()] {
            let hidden = app.get(&format!("/api/v2/organizations/{param}"), Some(&bob.token)).await?;
            assert_eq!(hidden.status, StatusCode::NOT_FOUND, "non-members cannot tell it exists");
        }
        let hidden_patch = app.patch("/api/v2/organizations/secret", Some(&bob.token), json!({"name": "mine"})).await?;
        assert_eq!(hidden_patch.status, StatusCode::NOT_FOUND);

        let create = app.post("/api/v2/organizations", Some(&bob.token), json!({"name": "bobs"})).await?;
        assert_eq!(create.status, StatusCode::FORBIDDEN);
        let patch = app.patch("/api/v2/organizations/coder", Some(&bob.token), json!({"display_name": "Mine"})).await?;
        assert_eq!(patch.status, StatusCode::FORBIDDEN, "members read but cannot edit their org");
        let delete = app.delete("/api/v2/organizations/coder", Some(&bob.token)).await?;
        assert_eq!(delete.status, StatusCode::FORBIDDEN);

        let bobs_orgs = app.get(&format!("/api/v2/users/{}/organizations", bob.id), Some(&owner.token)).await?;
        let names: Vec<&str> = bobs_orgs.body.as_array().into_iter().flatten().filter_map(|o| o["name"].as_str()).collect();
        assert_eq!(names, ["coder"]);
        Ok(())
    }
}
