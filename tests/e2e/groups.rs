use serde_json::{Value, json};
use warden_tests::{StatusCode, on_both_backends};

fn assert_group_shape(group: &Value) {
    let fields = [
        ("id", "string"),
        ("name", "string"),
        ("display_name", "string"),
        ("organization_id", "string"),
        ("organization_name", "string"),
        ("organization_display_name", "string"),
        ("members", "array"),
        ("total_member_count", "number"),
        ("avatar_url", "string"),
        ("quota_allowance", "number"),
        ("source", "string"),
    ];
    for (field, kind) in fields {
        let v = &group[field];
        let ok = match kind {
            "string" => v.is_string(),
            "number" => v.is_number(),
            _ => v.is_array(),
        };
        assert!(ok, "{field} should be a {kind}: {group}");
    }
    assert_eq!(
        group.as_object().map(|o| o.len()),
        Some(fields.len()),
        "{group}"
    );
}

fn usernames(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["username"].as_str().map(str::to_owned))
        .collect()
}

on_both_backends! {
    async fn group_lifecycle(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let carol = app.user(&owner, "carol").await?;
        let created = app
            .post("/api/v2/organizations/coder/groups", Some(&owner.token),
                  json!({"name": "devs", "display_name": "Developers", "avatar_url": "/emojis/1f4bb.png", "quota_allowance": 3}))
            .await?;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        assert_group_shape(&created.body);
        assert_eq!(created.body["source"], "user");
        assert_eq!(created.body["organization_name"], "coder");
        assert_eq!(created.body["total_member_count"], 0);
        let id = created.body["id"].as_str().unwrap_or_default().to_owned();

        let patched = app
            .patch(&format!("/api/v2/groups/{id}"), Some(&owner.token),
                   json!({"add_users": [bob.id, carol.id], "quota_allowance": 5}))
            .await?;
        assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
        assert_eq!(usernames(&patched.body), ["bob", "carol"]);
        assert_eq!(patched.body["total_member_count"], 2);
        assert_eq!(patched.body["quota_allowance"], 5);
        assert_eq!(patched.body["display_name"], "Developers", "omitted fields are unchanged");
        let member = &patched.body["members"][0];
        for field in ["id", "username", "name", "avatar_url", "email", "created_at", "updated_at", "last_seen_at", "status", "login_type", "theme_preference"] {
            assert!(member[field].is_string(), "{field}: {member}");
        }

        let by_name = app.get("/api/v2/organizations/coder/groups/devs", Some(&owner.token)).await?;
        assert_eq!(by_name.body["id"], json!(id));
        let bobs_groups = app.get(&format!("/api/v2/groups?has_member={}", bob.username), Some(&owner.token)).await?;
        let names: Vec<&str> = bobs_groups.body.as_array().into_iter().flatten().filter_map(|g| g["name"].as_str()).collect();
        assert_eq!(names, ["devs", "Everyone"]);

        // Bob reads his own group through its group ACL.
        let bob_view = app.get(&format!("/api/v2/groups/{id}"), Some(&bob.token)).await?;
        assert_eq!(bob_view.status, StatusCode::OK, "{bob_view:?}");

        let removed = app.patch(&format!("/api/v2/groups/{id}"), Some(&owner.token), json!({"remove_users": [carol.id], "name": "developers"})).await?;
        assert_eq!(removed.status, StatusCode::OK);
        assert_eq!(usernames(&removed.body), ["bob"]);
        assert_eq!(removed.body["name"], "developers");

        let deleted = app.delete(&format!("/api/v2/groups/{id}"), Some(&owner.token)).await?;
        assert_eq!(deleted.status, StatusCode::OK);
        assert_eq!(deleted.message(), "Successfully deleted group!");
        let gone = app.get(&format!("/api/v2/groups/{id}"), Some(&owner.token)).await?;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        Ok(())
    }
}

on_both_backends! {
    async fn everyone_group_is_implicit_and_protected(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let org = app.get("/api/v2/organizations/coder", Some(&owner.token)).await?.body["id"].as_str().unwrap_or_default().to_owned();
        let everyone = app.get(&format!("/api/v2/groups/{org}"), Some(&owner.token)).await?;
        assert_eq!(everyone.status, StatusCode::OK);
        assert_eq!(everyone.body["name"], "Everyone");
        assert_eq!(everyone.body["id"], json!(org), "the Everyone group's id is the organization's");
        assert_eq!(usernames(&everyone.body), ["admin", "bob"], "every member is in it");

        let path = format!("/api/v2/groups/{org}");
        let rename = app.patch(&path, Some(&owner.token), json!({"name": "all"})).await?;
        assert_eq!((rename.status, rename.message()), (StatusCode::BAD_REQUEST, "Cannot rename the \"Everyone\" group!"));
        let display = app.patch(&path, Some(&owner.token), json!({"display_name": "All"})).await?;
        assert_eq!(display.status, StatusCode::BAD_REQUEST);
        let add = app.patch(&path, Some(&owner.token), json!({"add_users": [bob.id]})).await?;
        assert_eq!((add.status, add.message()), (StatusCode::FORBIDDEN, "Cannot add or remove users from the \"Everyone\" group!"));
        let quota = app.patch(&path, Some(&owner.token), json!({"quota_allowance": 7})).await?;
        assert_eq!(quota.status, StatusCode::OK, "the quota of Everyone may change");
        let delete = app.delete(&path, Some(&owner.token)).await?;
        assert_eq!((delete.status, delete.message()), (StatusCode::BAD_REQUEST, "\"Everyone\" is a reserved group and cannot be deleted!"));
        let reserved = app.post("/api/v2/organizations/coder/groups", Some(&owner.token), json!({"name": "Everyone"})).await?;
        assert_eq!(reserved.status, StatusCode::BAD_REQUEST);
        assert_eq!(reserved.fields(), ["name"]);
        Ok(())
    }
}

on_both_backends! {
    async fn group_changes_refuse_bad_input_and_change_nothing(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let acme = app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "acme"})).await?;
        let _ = acme;
        let outsider = app.user(&owner, "outsider").await?;
        app.delete("/api/v2/organizations/coder/members/outsider", Some(&owner.token)).await?;
        let devs = app.post("/api/v2/organizations/coder/groups", Some(&owner.token), json!({"name": "devs"})).await?;
        let id = devs.body["id"].as_str().unwrap_or_default().to_owned();
        let path = format!("/api/v2/groups/{id}");

        let dup_create = app.post("/api/v2/organizations/coder/groups", Some(&owner.token), json!({"name": "DEVS"})).await?;
        assert_eq!(dup_create.status, StatusCode::CONFLICT);
        assert_eq!(dup_create.message(), "A group named \"DEVS\" already exists.");
        for (body, field) in [(json!({"name": "bad name"}), "name"), (json!({}), "name"), (json!({"name": "x".repeat(37)}), "name"), (json!({"name": "ok", "quota_allowance": "many"}), "quota_allowance")] {
            let reply = app.post("/api/v2/organizations/coder/groups", Some(&owner.token), body.clone()).await?;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(reply.fields(), [field], "{body}");
        }

        let cases = [
            (json!({"add_users": [bob.id, bob.id]}), "Cannot add the same user to a group twice!"),
            (json!({"add_users": ["not-a-uuid"]}), "ID \"not-a-uuid\" must be a valid user UUID."),
            (json!({"add_users": [outsider.id]}), "User must be a member of organization \"coder\""),
            (json!({"remove_users": [bob.id]}), "Failed to add or remove non-existent group member"),
            (json!({"name": "Everyone"}), "\"Everyone\" is a reserved group name!"),
        ];
        for (body, message) in cases {
            let reply = app.patch(&path, Some(&owner.token), body.clone()).await?;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {reply:?}");
            assert_eq!(reply.message(), message, "{body}");
        }
        // A valid add together with an invalid one: the whole request is refused.
        let partial = app.patch(&path, Some(&owner.token), json!({"name": "renamed", "add_users": [bob.id, outsider.id]})).await?;
        assert_eq!(partial.status, StatusCode::BAD_REQUEST);
        let unchanged = app.get(&path, Some(&owner.token)).await?;
        assert_eq!(unchanged.body["name"], "devs");
        assert_eq!(unchanged.body["total_member_count"], 0, "nothing was half-written");

        app.post("/api/v2/organizations/coder/groups", Some(&owner.token), json!({"name": "ops"})).await?;
        let taken = app.patch(&path, Some(&owner.token), json!({"name": "ops"})).await?;
        assert_eq!(taken.status, StatusCode::CONFLICT);

        let bad_id = app.get("/api/v2/groups/devs", Some(&owner.token)).await?;
        assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_id.message(), "Invalid UUID \"devs\".");
        let bad_filter = app.get("/api/v2/groups?organization=nope&has_member=nobody&group_ids=x", Some(&owner.token)).await?;
        assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_filter.fields(), ["organization", "has_member", "group_ids"]);
        let unknown_param = app.get("/api/v2/groups?colour=blue", Some(&owner.token)).await?;
        assert_eq!(unknown_param.fields(), ["colour"]);

        let by_member = app.post("/api/v2/organizations/coder/groups", Some(&bob.token), json!({"name": "bobs"})).await?;
        assert_eq!(by_member.status, StatusCode::FORBIDDEN);
        let visible = app.get(&path, Some(&bob.token)).await?;
        assert_eq!(visible.status, StatusCode::OK, "members read their organization's groups");
        let edit = app.patch(&path, Some(&bob.token), json!({"name": "mine"})).await?;
        assert_eq!(edit.status, StatusCode::FORBIDDEN, "but may not change them");
        let acme_group = app.post("/api/v2/organizations/acme/groups", Some(&owner.token), json!({"name": "secret"})).await?;
        let secret = format!("/api/v2/groups/{}", acme_group.body["id"].as_str().unwrap_or_default());
        let hidden = app.patch(&secret, Some(&bob.token), json!({"name": "mine"})).await?;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "groups of other organizations stay hidden");
        Ok(())
    }
}

on_both_backends! {
    async fn concurrent_group_edits_lose_nothing(app: TestApp) {
        let owner = app.owner().await?;
        let devs = app.post("/api/v2/organizations/coder/groups", Some(&owner.token), json!({"name": "devs"})).await?;
        let path = format!("/api/v2/groups/{}", devs.body["id"].as_str().unwrap_or_default());
        let mut ids = Vec::new();
        for i in 0..8 {
            ids.push(app.user(&owner, &format!("u{i}")).await?.id);
        }
        let adds = ids.iter().map(|id| app.patch(&path, Some(&owner.token), json!({"add_users": [id]})));
        for reply in futures_util::future::join_all(adds).await {
            assert_eq!(reply?.status, StatusCode::OK);
        }
        let group = app.get(&path, Some(&owner.token)).await?;
        assert_eq!(group.body["total_member_count"], 8, "every concurrent add survived");
        Ok(())
    }
}
