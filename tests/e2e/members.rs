use serde_json::{Value, json};
use warden_tests::{StatusCode, on_both_backends};

/// Every field of `OrganizationMemberWithUserData` (members-2026.md), with its type.
fn assert_member_shape(member: &Value) {
    let fields = [
        ("username", "string"),
        ("name", "string"),
        ("avatar_url", "string"),
        ("email", "string"),
        ("global_roles", "array"),
        ("has_ai_seat", "bool"),
        ("is_service_account", "bool"),
        ("last_seen_at", "string"),
        ("login_type", "string"),
        ("status", "string"),
        ("user_created_at", "string"),
        ("user_updated_at", "string"),
        ("user_id", "string"),
        ("organization_id", "string"),
        ("created_at", "string"),
        ("updated_at", "string"),
        ("roles", "array"),
    ];
    for (field, kind) in fields {
        let v = &member[field];
        let ok = match kind {
            "string" => v.is_string(),
            "bool" => v.is_boolean(),
            _ => v.is_array(),
        };
        assert!(ok, "{field} should be a {kind}: {member}");
    }
    assert_eq!(
        member.as_object().map(|o| o.len()),
        Some(fields.len()),
        "{member}"
    );
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m[field].as_str().map(str::to_owned))
        .collect()
}

on_both_backends! {
    async fn add_list_get_and_remove_members(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let acme = app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "acme"})).await?;
        let acme_id = acme.body["id"].as_str().unwrap_or_default().to_owned();

        let added = app.post(&format!("/api/v2/organizations/acme/members/{}", bob.username), Some(&owner.token), json!({})).await?;
        assert_eq!(added.status, StatusCode::OK, "{added:?}");
        assert_eq!(added.body["user_id"], json!(bob.id));
        assert_eq!(added.body["organization_id"], json!(acme_id));
        assert_eq!(added.body["roles"], json!([]), "organization-member is implied, never listed");
        assert_eq!(added.body.as_object().map(|o| o.len()), Some(5), "{}", added.body);

        let again = app.post("/api/v2/organizations/acme/members/bob", Some(&owner.token), json!({})).await?;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);
        assert_eq!(again.message(), "Organization member already exists in this organization");

        let list = app.get("/api/v2/organizations/acme/members", Some(&owner.token)).await?;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(names(&list.body, "username"), ["admin", "bob"]);
        for member in list.body.as_array().into_iter().flatten() {
            assert_member_shape(member);
        }
        let admin = &list.body[0];
        assert_eq!(admin["global_roles"], json!([{"name": "owner", "display_name": "Owner"}]));

        let one = app.get(&format!("/api/v2/organizations/{acme_id}/members/{}", bob.id), Some(&owner.token)).await?;
        assert_eq!(one.status, StatusCode::OK);
        assert_member_shape(&one.body);
        assert_eq!(one.body["username"], "bob");

        let bobs_orgs = app.get("/api/v2/users/me/organizations", Some(&bob.token)).await?;
        let orgs: Vec<String> = names(&bobs_orgs.body, "name");
        assert_eq!(orgs, ["acme", "coder"], "membership applies on bob's very next request");

        let counted = app.get("/api/v2/organizations/acme/paginated-members", Some(&owner.token)).await?;
        assert_eq!(counted.body["count"], 2);
        let removed = app.delete("/api/v2/organizations/acme/members/bob", Some(&owner.token)).await?;
        assert_eq!(removed.status, StatusCode::NO_CONTENT);
        let recounted = app.get("/api/v2/organizations/acme/paginated-members", Some(&owner.token)).await?;
        assert_eq!(recounted.body["count"], 1, "the maintained count follows removals");
        let gone = app.get("/api/v2/organizations/acme/members/bob", Some(&owner.token)).await?;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        let hidden = app.get("/api/v2/organizations/acme", Some(&bob.token)).await?;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "bob no longer sees acme");

        let self_remove = app.delete("/api/v2/organizations/acme/members/me", Some(&owner.token)).await?;
        assert_eq!(self_remove.status, StatusCode::BAD_REQUEST);
        assert_eq!(self_remove.message(), "cannot remove self from an organization");
        Ok(())
    }
}

on_both_backends! {
    async fn paginated_members_pages_filters_and_guards(app: TestApp) {
        let owner = app.owner().await?;
        for name in ["dave", "bob", "carol", "erin"] {
            app.user(&owner, name).await?;
        }
        let page = app.get("/api/v2/organizations/coder/paginated-members?limit=2&offset=1", Some(&owner.token)).await?;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.body["count"], 5);
        assert_eq!(names(&page.body["members"], "username"), ["bob", "carol"]);

        let bob_id = page.body["members"][0]["user_id"].as_str().unwrap_or_default().to_owned();
        let after = app.get(&format!("/api/v2/organizations/coder/paginated-members?after_id={bob_id}&limit=2"), Some(&owner.token)).await?;
        assert_eq!(names(&after.body["members"], "username"), ["carol", "dave"]);

        let all = app.get("/api/v2/organizations/coder/paginated-members?limit=0", Some(&owner.token)).await?;
        assert_eq!(all.body["members"].as_array().map(Vec::len), Some(5), "limit=0 means all");
        let empty = app.get("/api/v2/organizations/coder/paginated-members?offset=50", Some(&owner.token)).await?;
        assert_eq!(empty.status, StatusCode::OK, "an empty page is not an error");
        assert_eq!(empty.body, json!({"members": [], "count": 5}));

        let search = app.get("/api/v2/organizations/coder/paginated-members?q=car", Some(&owner.token)).await?;
        assert_eq!(names(&search.body["members"], "username"), ["carol"]);

        for (query, field) in [("limit=-1", "limit"), ("after_id=x", "after_id"), ("q=colour:blue", "colour"), ("q=user_id:nope", "user_id")] {
            let bad = app.get(&format!("/api/v2/organizations/coder/paginated-members?{query}"), Some(&owner.token)).await?;
            assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(bad.fields(), [field], "{query}");
        }

        // With Coder's default sharing setting, members read their organization's members...
        let bob = app.login("bob@example.com", warden_tests::PASSWORD).await?;
        let member_view = app.get("/api/v2/organizations/coder/paginated-members", Some(&bob)).await?;
        assert_eq!(member_view.status, StatusCode::OK);
        assert_eq!(member_view.body["count"], 5);
        // ...but not those of organizations they do not belong to.
        app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "acme"})).await?;
        let foreign = app.get("/api/v2/organizations/acme/paginated-members", Some(&bob)).await?;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);
        Ok(())
    }
}

on_both_backends! {
    async fn member_roles_follow_coder_rules(app: TestApp) {
        let owner = app.owner().await?;
        let alice = app.user(&owner, "alice").await?;
        let bob = app.user(&owner, "bob").await?;
        let org = app.get("/api/v2/organizations/default", Some(&owner.token)).await?.body["id"].as_str().unwrap_or_default().to_owned();

        let set = app
            .request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/alice/roles", Some(&owner.token),
                     Some(json!({"roles": ["organization-admin", "organization-member"]})))
            .await?;
        assert_eq!(set.status, StatusCode::OK, "{set:?}");
        assert_eq!(set.body["roles"], json!([{"name": "organization-admin", "display_name": "Organization Admin", "organization_id": org}]));

        // Alice is now an org admin: on her very next request she may manage bob.
        let by_alice = app
            .request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/bob/roles", Some(&alice.token),
                     Some(json!({"roles": [format!("organization-auditor:{org}")]})))
            .await?;
        assert_eq!(by_alice.status, StatusCode::OK, "2023 clients' suffixed names are accepted: {by_alice:?}");
        assert_eq!(by_alice.body["roles"][0]["name"], "organization-auditor");

        let own = app
            .request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/me/roles", Some(&alice.token), Some(json!({"roles": []})))
            .await?;
        assert_eq!(own.status, StatusCode::BAD_REQUEST);
        assert_eq!(own.message(), "You cannot change your own organization roles.");

        let unknown = app
            .request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/bob/roles", Some(&owner.token), Some(json!({"roles": ["wizard"]})))
            .await?;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert_eq!(unknown.message(), format!("\"wizard:{org}\" is not a supported role"));

        let other_org = app
            .request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/bob/roles", Some(&owner.token),
                     Some(json!({"roles": ["organization-admin:00000000-0000-0000-0000-000000000001"]})))
            .await?;
        assert_eq!(other_org.status, StatusCode::BAD_REQUEST);

        let by_bob = app
            .request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/alice/roles", Some(&bob.token), Some(json!({"roles": []})))
            .await?;
        assert_eq!(by_bob.status, StatusCode::FORBIDDEN, "an auditor may not assign roles");

        let bad_body = app
            .request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/bob/roles", Some(&owner.token), Some(json!({"roles": "admin"})))
            .await?;
        assert_eq!(bad_body.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_body.fields(), ["roles"]);

        let check = app.get("/api/v2/organizations/coder/members/bob", Some(&owner.token)).await?;
        assert_eq!(check.body["roles"][0]["name"], "organization-auditor", "rejected requests changed nothing");
        Ok(())
    }
}

on_both_backends! {
    async fn concurrent_role_updates_lose_nothing(app: TestApp) {
        let owner = app.owner().await?;
        let mut users = Vec::new();
        for i in 0..6 {
            users.push(app.user(&owner, &format!("user{i}")).await?);
        }
        let paths: Vec<String> = users.iter().map(|u| format!("/api/v2/organizations/coder/members/{}/roles", u.id)).collect();
        let updates = paths.iter().enumerate().map(|(i, path)| {
            let role = if i % 2 == 0 { "organization-admin" } else { "organization-auditor" };
            app.request(reqwest::Method::PUT, path, Some(&owner.token), Some(json!({"roles": [role, "organization-user-admin"]})))
        });
        for reply in futures_util::future::join_all(updates).await {
            assert_eq!(reply?.status, StatusCode::OK);
        }
        let list = app.get("/api/v2/organizations/coder/members", Some(&owner.token)).await?;
        for member in list.body.as_array().into_iter().flatten().filter(|m| m["username"] != "admin") {
            assert_eq!(member["roles"].as_array().map(Vec::len), Some(2), "{member}");
        }
        Ok(())
    }
}

on_both_backends! {
    async fn who_may_add_members(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let carol = app.user(&owner, "carol").await?;
        app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "acme"})).await?;
        let by_member = app.post(&format!("/api/v2/organizations/coder/members/{}", carol.id), Some(&bob.token), json!({})).await?;
        assert_eq!(by_member.status, StatusCode::BAD_REQUEST, "bob cannot see carol");
        let into_hidden = app.post("/api/v2/organizations/acme/members/me", Some(&bob.token), json!({})).await?;
        assert_eq!(into_hidden.status, StatusCode::NOT_FOUND, "bob cannot see acme");
        let bad_user = app.post("/api/v2/organizations/acme/members/nobody", Some(&owner.token), json!({})).await?;
        assert_eq!(bad_user.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_user.message(), "\"user\" must be an existing uuid or username.");
        let bad_org = app.post("/api/v2/organizations/nope/members/bob", Some(&owner.token), json!({})).await?;
        assert_eq!(bad_org.status, StatusCode::NOT_FOUND);
        Ok(())
    }
}
