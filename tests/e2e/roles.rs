use serde_json::{Value, json};
use warden_tests::{StatusCode, on_both_backends};

fn role<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("{name} not listed in {list}"))
}

fn assert_role_shape(role: &Value, with_assignable: bool) {
    for field in [
        "site_permissions",
        "organization_permissions",
        "organization_member_permissions",
        "user_permissions",
    ] {
        assert!(role[field].is_array(), "{field}: {role}");
    }
    assert!(role["name"].is_string() && role["display_name"].is_string());
    if with_assignable {
        assert!(
            role["assignable"].is_boolean() && role["built_in"].is_boolean(),
            "{role}"
        );
    }
}

on_both_backends! {
    async fn role_listings_say_what_the_caller_may_assign(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let site = app.get("/api/v2/users/roles", Some(&owner.token)).await?;
        assert_eq!(site.status, StatusCode::OK);
        let listed: Vec<&str> = site.body.as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(listed, ["owner", "auditor", "template-admin", "user-admin"], "member is implied, never listed");
        for r in site.body.as_array().into_iter().flatten() {
            assert_role_shape(r, true);
            assert!(r.get("organization_id").is_none(), "site roles omit organization_id: {r}");
        }
        assert_eq!(role(&site.body, "owner")["assignable"], true);
        assert_eq!(role(&site.body, "owner")["built_in"], true);
        let as_member = app.get("/api/v2/users/roles", Some(&bob.token)).await?;
        assert_eq!(as_member.status, StatusCode::OK);
        assert_eq!(role(&as_member.body, "owner")["assignable"], false);

        let org = app.get("/api/v2/organizations/coder/members/roles", Some(&owner.token)).await?;
        assert_eq!(org.status, StatusCode::OK);
        let admin = role(&org.body, "organization-admin");
        assert_role_shape(admin, true);
        assert_eq!(admin["display_name"], "Organization Admin");
        assert!(admin["organization_id"].is_string());
        assert!(org.body.as_array().into_iter().flatten().all(|r| r["name"] != "organization-member"));
        let bobs_view = app.get("/api/v2/organizations/coder/members/roles", Some(&bob.token)).await?;
        assert_eq!(role(&bobs_view.body, "organization-admin")["assignable"], false);
        Ok(())
    }
}

on_both_backends! {
    async fn custom_role_lifecycle_applies_on_the_next_request(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let carol = app.user(&owner, "carol").await?;
        let body = json!({
            "name": "group-maker", "display_name": "Group Maker",
            "organization_permissions": [{"negate": false, "resource_type": "group", "action": "create"}],
        });
        let created = app.post("/api/v2/organizations/coder/members/roles", Some(&owner.token), body).await?;
        assert_eq!(created.status, StatusCode::OK, "{created:?}");
        assert_role_shape(&created.body, false);
        assert_eq!(created.body["organization_permissions"], json!([{"negate": false, "resource_type": "group", "action": "create"}]));

        let listed = app.get("/api/v2/organizations/coder/members/roles", Some(&owner.token)).await?;
        assert_eq!(role(&listed.body, "group-maker")["built_in"], false);

        let groups = "/api/v2/organizations/coder/groups";
        let before = app.post(groups, Some(&bob.token), json!({"name": "bobs"})).await?;
        assert_eq!(before.status, StatusCode::FORBIDDEN);
        let assigned = app
            .request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/bob/roles", Some(&owner.token), Some(json!({"roles": ["group-maker"]})))
            .await?;
        assert_eq!(assigned.status, StatusCode::OK, "{assigned:?}");
        let org = assigned.body["organization_id"].clone();
        let slim = |display: &str| json!([{"name": "group-maker", "display_name": display, "organization_id": org}]);
        assert_eq!(assigned.body["roles"], slim("Group Maker"), "custom roles carry their display name");
        let one = app.get("/api/v2/organizations/coder/members/bob", Some(&owner.token)).await?;
        assert_eq!(one.body["roles"], slim("Group Maker"));
        let page = app.get("/api/v2/organizations/coder/paginated-members?q=username:bob", Some(&owner.token)).await?;
        assert_eq!(page.body["members"][0]["roles"], slim("Group Maker"));
        let after = app.post(groups, Some(&bob.token), json!({"name": "bobs"})).await?;
        assert_eq!(after.status, StatusCode::CREATED, "the grant applies on bob's very next request");

        // Narrowing the role takes effect at once too; unknown permissions are dropped on update.
        let narrowed = app
            .request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/roles", Some(&owner.token), Some(json!({
                "name": "group-maker", "display_name": "Nothing Maker",
                "organization_permissions": [{"negate": false, "resource_type": "teleporter", "action": "read"}],
            })))
            .await?;
        assert_eq!(narrowed.status, StatusCode::OK, "{narrowed:?}");
        assert_eq!(narrowed.body["organization_permissions"], json!([]));
        assert_eq!(narrowed.body["display_name"], "Nothing Maker");
        let all = app.get("/api/v2/organizations/coder/members", Some(&owner.token)).await?;
        let bob_roles = all.body.as_array().and_then(|members| members.iter().find(|m| m["username"] == "bob")).map(|m| m["roles"].clone());
        assert_eq!(bob_roles, Some(slim("Nothing Maker")), "a renamed role shows its new name");
        let narrowed_view = app.post(groups, Some(&bob.token), json!({"name": "bobs2"})).await?;
        assert_eq!(narrowed_view.status, StatusCode::FORBIDDEN, "narrowing applies on the next request");

        let deleted = app.delete("/api/v2/organizations/coder/members/roles/group-maker", Some(&owner.token)).await?;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let member = app.get("/api/v2/organizations/coder/members/bob", Some(&owner.token)).await?;
        assert_eq!(member.body["roles"], json!([]), "members lose a deleted role");
        let again = app.delete("/api/v2/organizations/coder/members/roles/group-maker", Some(&owner.token)).await?;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        assert_eq!(again.message(), "No custom role with the name group-maker found");
        let _ = carol;
        Ok(())
    }
}

on_both_backends! {
    async fn custom_roles_reject_escalation_and_bad_input(app: TestApp) {
        let owner = app.owner().await?;
        let alice = app.user(&owner, "alice").await?;
        app.request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/alice/roles", Some(&owner.token),
                    Some(json!({"roles": ["organization-admin"]}))).await?;
        let path = "/api/v2/organizations/coder/members/roles";
        let perm = |t: &str, a: &str, negate: bool| json!({"negate": negate, "resource_type": t, "action": a});
        let cases = [
            (json!({"name": "owner"}), "Reserved role name"),
            (json!({"name": "organization-admin"}), "Reserved role name"),
            (json!({"name": "Bad Name"}), "Validation failed."),
            (json!({"name": ""}), "Validation failed."),
            (json!({"name": "r", "site_permissions": [perm("user", "read", false)]}),
             "Invalid request, not allowed to assign site wide permissions for an organization role."),
            (json!({"name": "r", "user_permissions": [perm("user", "read", false)]}),
             "Invalid request, not allowed to assign user permissions for an organization role."),
            (json!({"name": "r", "organization_permissions": [perm("template", "read", true)]}), "Failed to update role permissions"),
            (json!({"name": "r", "organization_permissions": [perm("*", "read", false)]}), "Failed to update role permissions"),
            (json!({"name": "r", "organization_permissions": [perm("template", "teleport", false)]}), "Validation failed."),
            (json!({"name": "r", "organization_permissions": "all"}), "Request body must be valid JSON."),
        ];
        for (body, message) in cases {
            let reply = app.post(path, Some(&owner.token), body.clone()).await?;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {reply:?}");
            assert_eq!(reply.message(), message, "{body}");
        }
        // An org admin cannot grant what it does not hold (assigning site roles).
        let escalate = app
            .post(path, Some(&alice.token), json!({"name": "sneaky", "organization_permissions": [perm("assign_role", "assign", false)]}))
            .await?;
        assert_eq!(escalate.status, StatusCode::BAD_REQUEST, "{escalate:?}");
        assert!(escalate.body["detail"].as_str().unwrap_or_default().contains("not allowed to grant this permission"));
        let fine = app
            .post(path, Some(&alice.token), json!({"name": "template-reader", "organization_permissions": [perm("template", "read", false)]}))
            .await?;
        assert_eq!(fine.status, StatusCode::OK, "{fine:?}");
        let dup = app.post(path, Some(&owner.token), json!({"name": "TEMPLATE-reader"})).await?;
        assert_eq!(dup.status, StatusCode::CONFLICT);

        let bob = app.user(&owner, "bob").await?;
        let by_member = app.post(path, Some(&bob.token), json!({"name": "mine"})).await?;
        assert_eq!(by_member.status, StatusCode::NOT_FOUND, "members cannot create roles");
        let missing = app
            .request(reqwest::Method::PUT, path, Some(&owner.token), Some(json!({"name": "ghost"})))
            .await?;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let listed = app.get(path, Some(&owner.token)).await?;
        let custom: Vec<&str> = listed.body.as_array().into_iter().flatten()
            .filter(|r| r["built_in"] == false).filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(custom, ["template-reader"], "only the valid role was stored");
        Ok(())
    }
}
