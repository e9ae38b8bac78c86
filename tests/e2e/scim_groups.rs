//! SCIM 2.0 Groups: CRUD mapped to Warden groups, the exact PATCH shapes Okta's Group
//! Push and Entra ID send, filters, ETags, atomic and concurrent member changes, and
//! the audit trail.

use crate::scim_common::{ERROR_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, encode, patch_op};
use reqwest::Method;
use serde_json::{Value, json};
use warden_tests::{StatusCode, TestApp, on_both_backends};

const DEFAULT_ORG: &str = "00000000-0000-0000-0000-000000000000";

/// Provisions a user the way Okta does; returns its SCIM id.
async fn scim_user(app: &TestApp, name: &str) -> anyhow::Result<String> {
    let user_name = format!("{name}@example.org");
    let reply = app
        .scim(
            Method::POST,
            "/scim/v2/Users",
            Some(json!({
                "schemas": [USER_SCHEMA],
                "userName": user_name,
                "name": {"givenName": name, "familyName": "Test"},
                "emails": [{"primary": true, "value": user_name, "type": "work"}],
                "active": true,
            })),
            &[],
        )
        .await?;
    anyhow::ensure!(reply.status == StatusCode::CREATED, "{reply:?}");
    Ok(reply.body["id"].as_str().unwrap_or_default().to_owned())
}

async fn create_group(app: &TestApp, body: Value) -> anyhow::Result<warden_tests::Reply> {
    app.scim(Method::POST, "/scim/v2/Groups", Some(body), &[])
        .await
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn display_names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["displayName"].as_str().map(str::to_owned))
        .collect()
}

fn is_scim_error(reply: &warden_tests::Reply, status: StatusCode, scim_type: Option<&str>) -> bool {
    reply.status == status
        && reply.body["schemas"][0] == ERROR_SCHEMA
        && reply.body["status"].as_str() == Some(status.as_u16().to_string().as_str())
        && scim_type.is_none_or(|t| reply.body["scimType"] == t)
}

on_both_backends! {
    async fn scim_groups_crud_map_to_warden_groups(app: TestApp) {
        let owner = app.owner().await?;
        let alice = scim_user(&app, "alice").await?;
        let bob = scim_user(&app, "bob").await?;
        let created = create_group(&app, json!({
            "schemas": [GROUP_SCHEMA], "displayName": "Engineering Team", "externalId": "okta-00g1",
            "members": [{"value": alice, "display": "alice@example.org"}],
        })).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let id = created.body["id"].as_str().unwrap_or_default().to_owned();
        let location = created.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(location.ends_with(&format!("/scim/v2/Groups/{id}")), "{location}");
        assert!(created.headers.get("etag").is_some());
        assert_eq!(created.body["schemas"][0], GROUP_SCHEMA);
        assert_eq!(created.body["displayName"], "Engineering Team");
        assert_eq!(created.body["externalId"], "okta-00g1");
        assert_eq!(created.body["meta"]["resourceType"], "Group");
        assert_eq!(member_ids(&created.body), vec![alice.clone()]);
        assert_eq!(created.body["members"][0]["type"], "User");
        assert!(created.body["members"][0]["$ref"].as_str().unwrap_or_default().ends_with(&format!("/Users/{alice}")));
        // Through Coder's groups API: a valid derived name, the displayName kept, IdP-sourced.
        let coder = app.get(&format!("/api/v2/groups/{id}"), Some(&owner.token)).await?;
        assert_eq!(coder.status, StatusCode::OK, "{coder:?}");
        assert_eq!(coder.body["name"], "Engineering-Team");
        assert_eq!(coder.body["display_name"], "Engineering Team");
        assert_eq!(coder.body["source"], "oidc");
        assert_eq!(coder.body["members"][0]["id"], json!(alice));
        // The same displayName again (any case) is a 409 uniqueness; another displayName
        // deriving the same Warden name gets a suffixed one.
        let dup = create_group(&app, json!({"displayName": "engineering team"})).await?;
        assert!(is_scim_error(&dup, StatusCode::CONFLICT, Some("uniqueness")), "{dup:?}");
        let similar = create_group(&app, json!({"displayName": "Engineering-Team"})).await?;
        assert_eq!(similar.status, StatusCode::CREATED, "{similar:?}");
        let similar_id = similar.body["id"].as_str().unwrap_or_default().to_owned();
        let coder = app.get(&format!("/api/v2/groups/{similar_id}"), Some(&owner.token)).await?;
        assert!(coder.body["name"].as_str().unwrap_or_default().starts_with("Engineering-Team-"), "{coder:?}");
        // Unknown members and malformed bodies are 400s that create nothing.
        let unknown = create_group(&app, json!({"displayName": "Ghosts",
            "members": [{"value": "7b0a3c6e-1d2f-4a5b-8c9d-0e1f2a3b4c5d"}]})).await?;
        assert!(is_scim_error(&unknown, StatusCode::BAD_REQUEST, Some("invalidValue")), "{unknown:?}");
        let nameless = create_group(&app, json!({"members": []})).await?;
        assert!(is_scim_error(&nameless, StatusCode::BAD_REQUEST, Some("invalidValue")), "{nameless:?}");
        let ghosts = app.scim(Method::GET, &format!("/scim/v2/Groups?filter={}", encode("displayName eq \"Ghosts\"")), None, &[]).await?;
        assert_eq!(ghosts.body["totalResults"], 0);
        // GET by id, also under /api/v2.
        let path = format!("/scim/v2/Groups/{id}");
        let got = app.scim(Method::GET, &format!("/api/v2{path}"), None, &[]).await?;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body["displayName"], "Engineering Team");
        // PUT replaces displayName, externalId and members.
        let put = app.scim(Method::PUT, &path, Some(json!({
            "schemas": [GROUP_SCHEMA], "id": id, "displayName": "Platform",
            "members": [{"value": bob}],
        })), &[]).await?;
        assert_eq!(put.status, StatusCode::OK, "{put:?}");
        assert_eq!(put.body["displayName"], "Platform");
        assert!(put.body.get("externalId").is_none(), "{put:?}");
        assert_eq!(member_ids(&put.body), vec![bob.clone()]);
        let coder = app.get(&format!("/api/v2/groups/{id}"), Some(&owner.token)).await?;
        assert_eq!(coder.body["name"], "Engineering-Team", "the Warden name stays");
        assert_eq!(coder.body["display_name"], "Platform");
        // PUT to a displayName another group shows is a 409.
        let clash = app.scim(Method::PUT, &path, Some(json!({"displayName": "ENGINEERING-team"})), &[]).await?;
        assert!(is_scim_error(&clash, StatusCode::CONFLICT, Some("uniqueness")), "{clash:?}");
        // DELETE removes the group, not its members.
        let deleted = app.scim(Method::DELETE, &path, None, &[]).await?;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let gone = app.scim(Method::GET, &path, None, &[]).await?;
        assert!(is_scim_error(&gone, StatusCode::NOT_FOUND, None), "{gone:?}");
        assert_eq!(app.scim(Method::DELETE, &path, None, &[]).await?.status, StatusCode::NOT_FOUND);
        assert_eq!(app.scim(Method::GET, &format!("/scim/v2/Users/{bob}"), None, &[]).await?.status, StatusCode::OK);
        Ok(())
    }
}

on_both_backends! {
    async fn scim_groups_hide_everyone_and_filter_sort_page_in_sql(app: TestApp) {
        app.owner().await?;
        let alice = scim_user(&app, "alice").await?;
        for (name, ext) in [("Beta", "e-b"), ("alpha", "e-a"), ("Gamma", "e-g")] {
            let members = if name == "Gamma" { json!([{"value": alice}]) } else { json!([]) };
            let r = create_group(&app, json!({"displayName": name, "externalId": ext, "members": members})).await?;
            assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        }
        // The Everyone group (id = the organization's) is neither listed nor readable.
        let all = app.scim(Method::GET, "/scim/v2/Groups", None, &[]).await?;
        assert_eq!(all.body["totalResults"], 3, "{all:?}");
        assert!(!display_names(&all.body).contains(&"Everyone".to_owned()));
        let everyone = app.scim(Method::GET, &format!("/scim/v2/Groups/{DEFAULT_ORG}"), None, &[]).await?;
        assert_eq!(everyone.status, StatusCode::NOT_FOUND);
        let org = app.scim(Method::GET, "/scim/v2/Groups?count=1", None, &[]).await?;
        assert_eq!(org.body["itemsPerPage"], 1);
        let get = |q: String| {
            let app = &app;
            async move { app.scim(Method::GET, &format!("/scim/v2/Groups?{q}"), None, &[]).await }
        };
        let by_name = get(format!("filter={}", encode("displayName eq \"ALPHA\""))).await?;
        assert_eq!(display_names(&by_name.body), ["alpha"]);
        let by_ext = get(format!("filter={}", encode("externalId eq \"e-b\""))).await?;
        assert_eq!(display_names(&by_ext.body), ["Beta"]);
        let gamma_id = get(format!("filter={}", encode("externalId eq \"e-g\""))).await?.body["Resources"][0]["id"].as_str().unwrap_or_default().to_owned();
        let by_id = get(format!("filter={}", encode(&format!("id eq \"{gamma_id}\"")))).await?;
        assert_eq!(display_names(&by_id.body), ["Gamma"]);
        let by_member = get(format!("filter={}", encode(&format!("members[value eq \"{alice}\"]")))).await?;
        assert_eq!(display_names(&by_member.body), ["Gamma"]);
        let by_member = get(format!("filter={}", encode(&format!("members.value eq \"{alice}\"")))).await?;
        assert_eq!(display_names(&by_member.body), ["Gamma"]);
        let combined = get(format!("filter={}", encode("displayName sw \"a\" or not (externalId ne \"e-b\")"))).await?;
        assert_eq!(combined.body["totalResults"], 2, "{combined:?}");
        let bad = get(format!("filter={}", encode("members.display eq \"x\""))).await?;
        assert!(is_scim_error(&bad, StatusCode::BAD_REQUEST, Some("invalidFilter")), "{bad:?}");
        let bad = get(format!("filter={}", encode("owner eq \"x\""))).await?;
        assert!(is_scim_error(&bad, StatusCode::BAD_REQUEST, Some("invalidFilter")), "{bad:?}");
        // Sorting by displayName (case-insensitive) and paging.
        let asc = get("sortBy=displayName".into()).await?;
        assert_eq!(display_names(&asc.body), ["alpha", "Beta", "Gamma"]);
        let desc = get("sortBy=displayName&sortOrder=descending&startIndex=2&count=1".into()).await?;
        assert_eq!(display_names(&desc.body), ["Beta"]);
        assert_eq!(desc.body["totalResults"], 3);
        assert_eq!(desc.body["startIndex"], 2);
        // Entra ID's listing without members, and attribute selection.
        let slim = get(format!("excludedAttributes=members&filter={}", encode("displayName eq \"Gamma\""))).await?;
        assert!(slim.body["Resources"][0].get("members").is_none(), "{slim:?}");
        assert_eq!(slim.body["Resources"][0]["displayName"], "Gamma");
        let one = app.scim(Method::GET, &format!("/scim/v2/Groups/{gamma_id}?excludedAttributes=members"), None, &[]).await?;
        assert!(one.body.get("members").is_none(), "{one:?}");
        let full = app.scim(Method::GET, &format!("/scim/v2/Groups/{gamma_id}"), None, &[]).await?;
        assert_eq!(member_ids(&full.body), vec![alice.clone()]);
        let only = get("attributes=members".into()).await?;
        assert!(only.body["Resources"][0].get("externalId").is_none());
        // .search takes the same parameters in a body.
        let searched = app.scim(Method::POST, "/scim/v2/Groups/.search", Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "displayName eq \"Beta\"", "startIndex": 1, "count": 10,
        })), &[]).await?;
        assert_eq!(display_names(&searched.body), ["Beta"]);
        Ok(())
    }
}

on_both_backends! {
    async fn scim_groups_okta_group_push_shapes(app: TestApp) {
        let owner = app.owner().await?;
        let a = scim_user(&app, "okta-a").await?;
        let b = scim_user(&app, "okta-b").await?;
        // Okta's "Push group": the group, then its members in PATCHes.
        let created = create_group(&app, json!({
            "schemas": [GROUP_SCHEMA], "displayName": "Okta Sales", "members": [],
        })).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let id = created.body["id"].as_str().unwrap_or_default().to_owned();
        let path = format!("/scim/v2/Groups/{id}");
        let added = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "add", "path": "members", "value": [
                {"value": a, "display": "okta-a@example.org"},
                {"value": b, "display": "okta-b@example.org"}]}
        ]))), &[]).await?;
        assert_eq!(added.status, StatusCode::OK, "{added:?}");
        assert_eq!(member_ids(&added.body), sorted(vec![a.clone(), b.clone()]));
        // Adding a present member again is not an error.
        let again = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "add", "path": "members", "value": [{"value": a, "display": "okta-a@example.org"}]}
        ]))), &[]).await?;
        assert_eq!(again.status, StatusCode::OK, "{again:?}");
        assert_eq!(member_ids(&again.body), sorted(vec![a.clone(), b.clone()]));
        // Okta's filtered remove.
        let removed = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "remove", "path": format!("members[value eq \"{a}\"]")}
        ]))), &[]).await?;
        assert_eq!(removed.status, StatusCode::OK, "{removed:?}");
        assert_eq!(member_ids(&removed.body), vec![b.clone()]);
        // Removing a non-member is not an error either.
        let absent = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "remove", "path": format!("members[value eq \"{a}\"]")}
        ]))), &[]).await?;
        assert_eq!(absent.status, StatusCode::OK, "{absent:?}");
        assert_eq!(member_ids(&absent.body), vec![b.clone()]);
        // Okta renames with a path-less replace carrying the id.
        let renamed = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "replace", "value": {"id": id, "displayName": "Okta Sales EMEA"}}
        ]))), &[]).await?;
        assert_eq!(renamed.status, StatusCode::OK, "{renamed:?}");
        assert_eq!(renamed.body["displayName"], "Okta Sales EMEA");
        assert_eq!(member_ids(&renamed.body), vec![b.clone()], "renaming leaves the members");
        // Coder's groups API sees the same members.
        let coder = app.get(&format!("/api/v2/groups/{id}"), Some(&owner.token)).await?;
        assert_eq!(coder.body["members"].as_array().map(Vec::len), Some(1), "{coder:?}");
        assert_eq!(coder.body["members"][0]["id"], json!(b));
        Ok(())
    }
}

on_both_backends! {
    async fn scim_groups_entra_id_shapes(app: TestApp) {
        app.owner().await?;
        let a = scim_user(&app, "entra-a").await?;
        let b = scim_user(&app, "entra-b").await?;
        let c = scim_user(&app, "entra-c").await?;
        let created = create_group(&app, json!({
            "schemas": [GROUP_SCHEMA], "externalId": "8d7c9a1e-entra", "displayName": "Entra Ops", "members": [],
        })).await?;
        let id = created.body["id"].as_str().unwrap_or_default().to_owned();
        let path = format!("/scim/v2/Groups/{id}");
        // Entra ID's existence check: a filter with members excluded.
        let probe = app.scim(Method::GET, &format!("/scim/v2/Groups?excludedAttributes=members&filter={}",
            encode("displayName eq \"Entra Ops\"")), None, &[]).await?;
        assert_eq!(probe.body["totalResults"], 1);
        assert!(probe.body["Resources"][0].get("members").is_none());
        // Capitalised ops, one member per operation as Entra sends them.
        let added = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "Add", "path": "members", "value": [{"value": a}]},
            {"op": "Add", "path": "members", "value": [{"value": b}]},
            {"op": "Add", "path": "members", "value": [{"value": c}]},
        ]))), &[]).await?;
        assert_eq!(added.status, StatusCode::OK, "{added:?}");
        assert_eq!(member_ids(&added.body), sorted(vec![a.clone(), b.clone(), c.clone()]));
        // Entra's "Remove members" with a value list instead of a filter.
        let removed = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "Remove", "path": "members", "value": [{"value": b}]},
        ]))), &[]).await?;
        assert_eq!(member_ids(&removed.body), sorted(vec![a.clone(), c.clone()]), "{removed:?}");
        // Path-less Replace of displayName and externalId; Replace of the whole list.
        let replaced = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "Replace", "value": {"displayName": "Entra Ops 2", "externalId": "new-ext"}},
            {"op": "Replace", "path": "members", "value": [{"value": b}]},
        ]))), &[]).await?;
        assert_eq!(replaced.status, StatusCode::OK, "{replaced:?}");
        assert_eq!(replaced.body["displayName"], "Entra Ops 2");
        assert_eq!(replaced.body["externalId"], "new-ext");
        assert_eq!(member_ids(&replaced.body), vec![b.clone()]);
        // Remove with a path and no value empties the list.
        let emptied = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "Remove", "path": "members"},
        ]))), &[]).await?;
        assert_eq!(emptied.body["members"], json!([]), "{emptied:?}");
        Ok(())
    }
}

on_both_backends! {
    async fn scim_groups_etags_and_atomic_patches(app: TestApp) {
        let owner = app.owner().await?;
        let a = scim_user(&app, "etag-a").await?;
        let b = scim_user(&app, "etag-b").await?;
        let created = create_group(&app, json!({"displayName": "Versioned", "members": [{"value": a}]})).await?;
        let id = created.body["id"].as_str().unwrap_or_default().to_owned();
        let path = format!("/scim/v2/Groups/{id}");
        let v1 = created.body["meta"]["version"].as_str().unwrap_or_default().to_owned();
        assert_eq!(created.headers.get("etag").and_then(|v| v.to_str().ok()), Some(v1.as_str()));
        let cached = app.scim(Method::GET, &path, None, &[("If-None-Match", &v1)]).await?;
        assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
        // One bad operation among good ones: 400 and nothing changes.
        let bad = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "add", "path": "members", "value": [{"value": b}]},
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "frobnicate", "path": "members"},
        ]))), &[]).await?;
        assert!(is_scim_error(&bad, StatusCode::BAD_REQUEST, Some("invalidSyntax")), "{bad:?}");
        let unknown = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "add", "path": "members", "value": [{"value": b}]},
            {"op": "add", "path": "members", "value": [{"value": "7b0a3c6e-1d2f-4a5b-8c9d-0e1f2a3b4c5d"}]},
        ]))), &[]).await?;
        assert!(is_scim_error(&unknown, StatusCode::BAD_REQUEST, Some("invalidValue")), "{unknown:?}");
        let not_uuid = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "add", "path": "members", "value": [{"value": "alice"}]},
        ]))), &[]).await?;
        assert!(is_scim_error(&not_uuid, StatusCode::BAD_REQUEST, Some("invalidValue")), "{not_uuid:?}");
        let unchanged = app.scim(Method::GET, &path, None, &[]).await?;
        assert_eq!(member_ids(&unchanged.body), vec![a.clone()]);
        assert_eq!(unchanged.body["displayName"], "Versioned");
        assert_eq!(unchanged.body["meta"]["version"], json!(v1), "a refused PATCH moves no version");
        // If-Match: the current version applies, a stale one is a 412 changing nothing.
        let ok = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "add", "path": "members", "value": [{"value": b}]},
        ]))), &[("If-Match", &v1)]).await?;
        assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
        let v2 = ok.body["meta"]["version"].as_str().unwrap_or_default().to_owned();
        assert_ne!(v1, v2);
        let stale = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "remove", "path": "members"},
        ]))), &[("If-Match", &v1)]).await?;
        assert!(is_scim_error(&stale, StatusCode::PRECONDITION_FAILED, None), "{stale:?}");
        let stale_put = app.scim(Method::PUT, &path, Some(json!({"displayName": "X"})), &[("If-Match", &v1)]).await?;
        assert_eq!(stale_put.status, StatusCode::PRECONDITION_FAILED);
        let stale_delete = app.scim(Method::DELETE, &path, None, &[("If-Match", &v1)]).await?;
        assert_eq!(stale_delete.status, StatusCode::PRECONDITION_FAILED);
        let current = app.scim(Method::GET, &path, None, &[]).await?;
        assert_eq!(member_ids(&current.body), sorted(vec![a.clone(), b.clone()]));
        // A user who exists but is not in the SCIM organization joins it when added.
        let org = app.post("/api/v2/organizations", Some(&owner.token), json!({"name": "other"})).await?;
        assert_eq!(org.status, StatusCode::CREATED, "{org:?}");
        let outsider = app.post("/api/v2/users", Some(&owner.token), json!({
            "email": "outsider@example.com", "username": "outsider", "password": warden_tests::PASSWORD,
            "organization_ids": [org.body["id"]],
        })).await?;
        assert_eq!(outsider.status, StatusCode::CREATED, "{outsider:?}");
        let outsider_id = outsider.body["id"].as_str().unwrap_or_default().to_owned();
        let joined = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "add", "path": "members", "value": [{"value": outsider_id}]},
        ]))), &[]).await?;
        assert_eq!(joined.status, StatusCode::OK, "{joined:?}");
        let member = app.get(&format!("/api/v2/organizations/default/members/{outsider_id}"), Some(&owner.token)).await?;
        assert_eq!(member.status, StatusCode::OK, "{member:?}");
        let deleted = app.scim(Method::DELETE, &path, None, &[("If-Match", joined.body["meta"]["version"].as_str().unwrap_or_default())]).await?;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        Ok(())
    }
}

on_both_backends! {
    async fn scim_group_concurrent_patches_lose_no_member(app: TestApp) {
        app.owner().await?;
        let mut users = Vec::new();
        for i in 0..20 {
            users.push(scim_user(&app, &format!("conc{i:02}")).await?);
        }
        let created = create_group(&app, json!({"displayName": "Busy", "members": []})).await?;
        let id = created.body["id"].as_str().unwrap_or_default().to_owned();
        let path = format!("/scim/v2/Groups/{id}");
        let patches = users.iter().map(|user| {
            let app = &app;
            let path = path.clone();
            let body = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": user}]}]));
            async move { app.scim(Method::PATCH, &path, Some(body), &[]).await }
        });
        let replies = futures_util::future::join_all(patches).await;
        for reply in replies {
            let reply = reply?;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        }
        let group = app.scim(Method::GET, &path, None, &[]).await?;
        assert_eq!(member_ids(&group.body), sorted(users.clone()), "every concurrent add is kept");
        // Concurrent removals of different members lose nothing either.
        let removals = users.iter().take(10).map(|user| {
            let app = &app;
            let path = path.clone();
            let body = patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]));
            async move { app.scim(Method::PATCH, &path, Some(body), &[]).await }
        });
        for reply in futures_util::future::join_all(removals).await {
            assert_eq!(reply?.status, StatusCode::OK);
        }
        let group = app.scim(Method::GET, &path, None, &[]).await?;
        assert_eq!(member_ids(&group.body), sorted(users[10..].to_vec()));
        Ok(())
    }
}

on_both_backends! {
    async fn scim_group_changes_are_audited_as_the_scim_subsystem(app: TestApp) {
        let owner = app.owner().await?;
        let a = scim_user(&app, "audit-a").await?;
        let created = create_group(&app, json!({"displayName": "Audited"})).await?;
        let id = created.body["id"].as_str().unwrap_or_default().to_owned();
        let path = format!("/scim/v2/Groups/{id}");
        app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "add", "path": "members", "value": [{"value": a}]},
        ]))), &[]).await?;
        app.scim(Method::DELETE, &path, None, &[]).await?;
        let audit = app.get("/api/v2/audit?q=resource_type:group&limit=50", Some(&owner.token)).await?;
        assert_eq!(audit.status, StatusCode::OK, "{audit:?}");
        let entries: Vec<&Value> = audit.body["audit_logs"].as_array().into_iter().flatten()
            .filter(|e| e["resource_id"] == json!(id))
            .collect();
        let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap_or_default()).collect();
        assert_eq!(actions, ["delete", "write", "create"], "{audit:?}");
        assert!(entries.iter().all(|e| e["user"].is_null()), "made by no user: {entries:?}");
        assert!(entries.iter().all(|e| e["additional_fields"]
            == json!({"automatic_actor": "coder", "automatic_subsystem": "scim"})), "{entries:?}");
        assert_eq!(entries[1]["diff"]["members"]["new"], json!([a]), "{entries:?}");
        Ok(())
    }
}

on_both_backends! {
    async fn scim_discovery_lists_groups(app: TestApp) {
        app.owner().await?;
        let types = app.scim(Method::GET, "/scim/v2/ResourceTypes", None, &[]).await?;
        let ids: Vec<&str> = types.body["Resources"].as_array().into_iter().flatten()
            .filter_map(|r| r["id"].as_str()).collect();
        assert_eq!(ids, ["User", "Group"]);
        let group = app.scim(Method::GET, "/scim/v2/ResourceTypes/Group", None, &[]).await?;
        assert_eq!(group.body["endpoint"], "/Groups");
        assert_eq!(group.body["schema"], GROUP_SCHEMA);
        let schema = app.scim(Method::GET, &format!("/scim/v2/Schemas/{GROUP_SCHEMA}"), None, &[]).await?;
        assert_eq!(schema.status, StatusCode::OK);
        let attrs: Vec<&str> = schema.body["attributes"].as_array().into_iter().flatten()
            .filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(attrs, ["displayName", "members"]);
        let schemas = app.scim(Method::GET, "/scim/v2/Schemas", None, &[]).await?;
        assert_eq!(schemas.body["totalResults"], 2);
        // The root .search covers Users and Groups, Users first, windowed together.
        let user = scim_user(&app, "searched").await?;
        let group = create_group(&app, json!({"displayName": "Searched"})).await?;
        let search = |body: Value| {
            let app = &app;
            async move { app.scim(Method::POST, "/scim/v2/.search", Some(body), &[]).await }
        };
        let found = search(json!({"filter": format!("id eq \"{}\"", group.body["id"].as_str().unwrap_or_default())})).await?;
        assert_eq!(found.body["totalResults"], 1, "{found:?}");
        assert_eq!(found.body["Resources"][0]["schemas"][0], GROUP_SCHEMA);
        let only_users = search(json!({"filter": "userName eq \"searched@example.org\""})).await?;
        assert_eq!(only_users.body["totalResults"], 1, "{only_users:?}");
        assert_eq!(only_users.body["Resources"][0]["id"], json!(user));
        let everything = search(json!({"startIndex": 1, "count": 1})).await?;
        assert_eq!(everything.body["totalResults"], 2, "{everything:?}");
        assert_eq!(everything.body["Resources"][0]["id"], json!(user));
        let second = search(json!({"startIndex": 2, "count": 5})).await?;
        assert_eq!(second.body["itemsPerPage"], 1, "{second:?}");
        assert_eq!(second.body["Resources"][0]["id"], group.body["id"]);
        let bad = search(json!({"filter": "nothing eq \"x\""})).await?;
        assert!(is_scim_error(&bad, StatusCode::BAD_REQUEST, Some("invalidFilter")), "{bad:?}");
        // Unknown methods on Groups are 405, unknown paths 404.
        let wrong = app.scim(Method::PATCH, "/scim/v2/Groups", Some(json!({})), &[]).await?;
        assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
        Ok(())
    }
}

on_both_backends! {
    /// RFC 7644 §3.4.2.3: `sortBy=externalId` on Groups, groups without one last when
    /// ascending and first when descending.
    async fn scim_groups_sort_by_external_id(app: TestApp) {
        app.owner().await?;
        for (name, ext) in [("One", Some("b-2")), ("Two", None), ("Three", Some("c-1")), ("Four", Some("a-3"))] {
            let mut body = json!({"displayName": name});
            if let Some(ext) = ext {
                body["externalId"] = json!(ext);
            }
            let r = create_group(&app, body).await?;
            assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        }
        let asc = app.scim(Method::GET, "/scim/v2/Groups?sortBy=externalId", None, &[]).await?;
        assert_eq!(asc.status, StatusCode::OK, "{asc:?}");
        assert_eq!(display_names(&asc.body), ["Four", "One", "Three", "Two"]);
        let desc = app.scim(Method::GET, "/scim/v2/Groups?sortBy=externalId&sortOrder=descending&count=3", None, &[]).await?;
        assert_eq!(display_names(&desc.body), ["Two", "Three", "One"]);
        assert_eq!(desc.body["totalResults"], 4);
        let searched = app.scim(Method::POST, "/scim/v2/Groups/.search", Some(json!({
            "sortBy": "urn:ietf:params:scim:schemas:core:2.0:Group:externalId", "startIndex": 2, "count": 1,
        })), &[]).await?;
        assert_eq!(display_names(&searched.body), ["One"]);
        let bad = app.scim(Method::GET, "/scim/v2/Groups?sortBy=members.value", None, &[]).await?;
        assert!(is_scim_error(&bad, StatusCode::BAD_REQUEST, Some("invalidValue")), "{bad:?}");
        Ok(())
    }
}

on_both_backends! {
    /// A member leaving the organization (through Coder's API) leaves its groups too:
    /// each such group's `meta.version` moves, so an `If-Match` with the old ETag is a
    /// 412 and a conditional GET sees the change.
    async fn scim_group_version_moves_when_a_member_leaves_the_organization(app: TestApp) {
        let owner = app.owner().await?;
        let alice = scim_user(&app, "alice").await?;
        let bob = scim_user(&app, "bob").await?;
        let with = create_group(&app, json!({"displayName": "With Alice",
            "members": [{"value": alice}, {"value": bob}]})).await?;
        let without = create_group(&app, json!({"displayName": "Without Alice",
            "members": [{"value": bob}]})).await?;
        assert_eq!(with.status, StatusCode::CREATED, "{with:?}");
        let path = |g: &warden_tests::Reply| format!("/scim/v2/Groups/{}", g.body["id"].as_str().unwrap_or_default());
        let etag = |g: &warden_tests::Reply| g.headers.get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let (with_etag, without_etag) = (etag(&with), etag(&without));
        let left = app.delete(&format!("/api/v2/organizations/{DEFAULT_ORG}/members/{alice}"), Some(&owner.token)).await?;
        assert!(left.status.is_success(), "{left:?}");
        let now = app.scim(Method::GET, &path(&with), None, &[("If-None-Match", &with_etag)]).await?;
        assert_eq!(now.status, StatusCode::OK, "{now:?}");
        assert_eq!(member_ids(&now.body), vec![bob.clone()]);
        assert_ne!(now.body["meta"]["version"], json!(with_etag));
        let stale = app.scim(Method::PATCH, &path(&with), Some(patch_op(json!([
            {"op": "replace", "path": "displayName", "value": "Renamed"}]))), &[("If-Match", &with_etag)]).await?;
        assert!(is_scim_error(&stale, StatusCode::PRECONDITION_FAILED, None), "{stale:?}");
        // A group the leaver was not in keeps its version.
        let same = app.scim(Method::GET, &path(&without), None, &[("If-None-Match", &without_etag)]).await?;
        assert_eq!(same.status, StatusCode::NOT_MODIFIED, "{same:?}");
        Ok(())
    }
}
