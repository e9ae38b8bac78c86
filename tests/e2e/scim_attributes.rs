//! SCIM Users keep what a client sent, attribute by attribute (issue 6, the
//! `scim2-tester` findings): `name.formatted` and `displayName` apart, the email's
//! `type` and `primary`, and `active` unassigned after a `remove`. Each test sends the
//! exact payload shapes the checker, Okta and Entra ID send, and proves the Coder
//! view (`/api/v2/users`) keeps showing one name.

use crate::scim_common::{USER_SCHEMA, encode, patch_op};
use reqwest::Method;
use serde_json::{Value, json};
use warden_tests::{StatusCode, TestApp, on_both_backends};

async fn create(app: &TestApp, body: Value) -> anyhow::Result<Value> {
    let reply = app
        .scim(Method::POST, "/scim/v2/Users", Some(body), &[])
        .await?;
    anyhow::ensure!(reply.status == StatusCode::CREATED, "{reply:?}");
    Ok(reply.body)
}

async fn patch(app: &TestApp, id: &str, ops: Value) -> anyhow::Result<Value> {
    let reply = app
        .scim(
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            Some(patch_op(ops)),
            &[],
        )
        .await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{reply:?}");
    Ok(reply.body)
}

async fn get(app: &TestApp, id: &str) -> anyhow::Result<Value> {
    let reply = app
        .scim(Method::GET, &format!("/scim/v2/Users/{id}"), None, &[])
        .await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{reply:?}");
    Ok(reply.body)
}

/// The userNames a filter selects, sorted by userName.
async fn selected(app: &TestApp, filter: &str) -> anyhow::Result<Vec<String>> {
    let reply = app
        .scim(
            Method::GET,
            &format!("/scim/v2/Users?sortBy=userName&filter={}", encode(filter)),
            None,
            &[],
        )
        .await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{filter}: {reply:?}");
    Ok(reply.body["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["userName"].as_str().map(str::to_owned))
        .collect())
}

fn id_of(user: &Value) -> String {
    user["id"].as_str().unwrap_or_default().to_owned()
}

on_both_backends! {
    async fn scim_name_formatted_and_display_name_are_kept_apart(app: TestApp) {
        let owner = app.owner().await?;
        let warden_name = |id: String| {
            let app = &app;
            let token = owner.token.clone();
            async move {
                let u = app.get(&format!("/api/v2/users/{id}"), Some(&token)).await?;
                anyhow::Ok(u.body["name"].as_str().unwrap_or_default().to_owned())
            }
        };
        // A fully filled user, as the checker creates it.
        let full = create(&app, json!({
            "schemas": [USER_SCHEMA],
            "userName": "ann@example.com",
            "name": {"formatted": "Ann Formal", "givenName": "Ann", "familyName": "Archer"},
            "displayName": "Annie",
            "emails": [{"value": "ann@example.com", "type": "work", "primary": true}],
            "active": true,
        })).await?;
        let id = id_of(&full);
        assert_eq!(full["name"], json!({"formatted": "Ann Formal", "givenName": "Ann", "familyName": "Archer"}));
        assert_eq!(full["displayName"], "Annie");
        // Coder shows one name: name.formatted when there is one.
        assert_eq!(warden_name(id.clone()).await?, "Ann Formal");
        // Filters and sort read the attribute named, not the other one.
        assert_eq!(selected(&app, "displayName eq \"annie\"").await?, ["ann@example.com"]);
        assert!(selected(&app, "displayName eq \"Ann Formal\"").await?.is_empty());
        assert_eq!(selected(&app, "name.formatted sw \"ann f\"").await?, ["ann@example.com"]);
        assert!(selected(&app, "name.formatted eq \"Annie\"").await?.is_empty());

        // The checker's `remove name`: the whole complex attribute goes.
        let removed = patch(&app, &id, json!([{"op": "remove", "path": "name"}])).await?;
        assert!(removed.get("name").is_none(), "{removed}");
        assert_eq!(removed["displayName"], "Annie");
        assert!(get(&app, &id).await?.get("name").is_none());
        assert_eq!(warden_name(id.clone()).await?, "Annie");
        assert!(selected(&app, "name pr").await?.is_empty());
        assert!(selected(&app, "name.formatted pr").await?.is_empty());
        assert_eq!(selected(&app, "displayName pr").await?, ["ann@example.com"]);

        // The checker's `remove displayName`, on a user that has both.
        patch(&app, &id, json!([{"op": "add", "path": "name",
            "value": {"formatted": "Ann Formal", "givenName": "Ann"}}])).await?;
        assert_eq!(warden_name(id.clone()).await?, "Ann Formal");
        let removed = patch(&app, &id, json!([{"op": "remove", "path": "displayName"}])).await?;
        assert!(removed.get("displayName").is_none(), "{removed}");
        assert_eq!(removed["name"], json!({"formatted": "Ann Formal", "givenName": "Ann"}));
        assert!(get(&app, &id).await?.get("displayName").is_none());
        assert_eq!(warden_name(id.clone()).await?, "Ann Formal");
        assert!(selected(&app, "displayName pr").await?.is_empty());

        // Removing name.formatted too leaves the given name for Coder.
        let removed = patch(&app, &id, json!([{"op": "remove", "path": "name.formatted"}])).await?;
        assert_eq!(removed["name"], json!({"givenName": "Ann"}));
        assert_eq!(warden_name(id.clone()).await?, "Ann");

        // Entra ID's path-less Replace of displayName alone changes displayName alone;
        // with no name.formatted it is the Coder name.
        let entra = patch(&app, &id, json!([{"op": "Replace", "value": {"displayName": "Ann E"}}])).await?;
        assert_eq!(entra["displayName"], "Ann E");
        assert_eq!(entra["name"], json!({"givenName": "Ann"}));
        assert_eq!(warden_name(id.clone()).await?, "Ann E");
        // A second user sorts against it by displayName.
        create(&app, json!({"userName": "bob@example.com", "displayName": "Aaron B",
            "emails": [{"value": "bob@example.com"}]})).await?;
        let sorted = app.scim(Method::GET, "/scim/v2/Users?sortBy=displayName", None, &[]).await?;
        let names: Vec<&str> = sorted.body["Resources"].as_array().into_iter().flatten()
            .filter_map(|r| r["displayName"].as_str()).collect();
        assert_eq!(names, ["Aaron B", "Ann E"]);
        // A user without one sorts last ascending, first descending (RFC 7644 §3.4.2.3).
        create(&app, json!({"userName": "carl@example.com", "emails": [{"value": "carl@example.com"}]})).await?;
        for (order, expected) in [
            ("ascending", ["bob@example.com", "ann@example.com", "carl@example.com"]),
            ("descending", ["carl@example.com", "ann@example.com", "bob@example.com"]),
        ] {
            let sorted = app.scim(Method::GET, &format!("/scim/v2/Users?sortBy=displayName&sortOrder={order}"), None, &[]).await?;
            let users: Vec<&str> = sorted.body["Resources"].as_array().into_iter().flatten()
                .filter_map(|r| r["userName"].as_str()).collect();
            assert_eq!(users, expected, "{order}");
        }
        Ok(())
    }
}

on_both_backends! {
    async fn scim_email_type_and_primary_are_stored(app: TestApp) {
        app.owner().await?;
        // Two emails: Warden keeps the primary one, with its type and primary as sent.
        let two = create(&app, json!({
            "schemas": [USER_SCHEMA], "userName": "cat",
            "emails": [{"value": "cat@home.example", "type": "home"},
                       {"value": "cat@work.example", "type": "work", "primary": true}],
        })).await?;
        assert_eq!(two["emails"], json!([{"value": "cat@work.example", "type": "work", "primary": true}]));
        // No type, no primary: none shown.
        let bare = create(&app, json!({"userName": "dan", "emails": [{"value": "dan@example.com"}]})).await?;
        assert_eq!(bare["emails"], json!([{"value": "dan@example.com"}]));
        // The checker's add and replace with a type of its own.
        let did = id_of(&bare);
        let added = patch(&app, &did, json!([{"op": "add", "path": "emails",
            "value": [{"value": "dan@other.example", "type": "9f1c-other", "primary": true}]}])).await?;
        assert_eq!(added["emails"], json!([{"value": "dan@other.example", "type": "9f1c-other", "primary": true}]));
        assert_eq!(get(&app, &did).await?["emails"], added["emails"]);
        let replaced = patch(&app, &did, json!([{"op": "replace", "path": "emails",
            "value": [{"value": "dan@example.com", "type": "home", "primary": false}]}])).await?;
        assert_eq!(replaced["emails"], json!([{"value": "dan@example.com", "type": "home", "primary": false}]));
        // Okta's value-filtered path selects by the stored type.
        let moved = patch(&app, &did, json!([{"op": "replace",
            "path": "emails[type eq \"home\"].value", "value": "dan@new.example"}])).await?;
        assert_eq!(moved["emails"], json!([{"value": "dan@new.example", "type": "home", "primary": false}]));
        let miss = app.scim(Method::PATCH, &format!("/scim/v2/Users/{did}"), Some(patch_op(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@y.z"}]))), &[]).await?;
        assert_eq!(miss.status, StatusCode::BAD_REQUEST);
        assert_eq!(miss.body["scimType"], "noTarget");
        // Filters on type and primary are answered in SQL from what was stored.
        assert_eq!(selected(&app, "emails[type eq \"work\"]").await?, ["cat"]);
        assert_eq!(selected(&app, "emails.type eq \"HOME\"").await?, ["dan"]);
        assert_eq!(selected(&app, "emails[primary eq true]").await?, ["cat"]);
        assert_eq!(selected(&app, "emails.primary ne true").await?, ["dan"]);
        assert_eq!(selected(&app, "emails[primary eq false]").await?, ["dan"]);
        // Sent without `primary`: unassigned, equal to neither value.
        create(&app, json!({"userName": "eli", "emails": [{"value": "eli@example.com", "type": "other"}]})).await?;
        assert_eq!(selected(&app, "emails[primary eq true]").await?, ["cat"]);
        assert_eq!(selected(&app, "emails[primary eq false]").await?, ["dan"]);
        assert_eq!(selected(&app, "not (emails.primary eq true)").await?, ["dan", "eli"]);
        assert_eq!(selected(&app, "emails.primary pr").await?, ["cat", "dan"]);
        let by_primary = app.scim(Method::GET, "/scim/v2/Users?sortBy=emails.primary", None, &[]).await?;
        let names: Vec<&str> = by_primary.body["Resources"].as_array().into_iter().flatten()
            .filter_map(|r| r["userName"].as_str()).collect();
        assert_eq!(names, ["dan", "cat", "eli"]);
        let by_primary = app.scim(Method::GET, "/scim/v2/Users?sortBy=emails.primary&sortOrder=descending", None, &[]).await?;
        let names: Vec<&str> = by_primary.body["Resources"].as_array().into_iter().flatten()
            .filter_map(|r| r["userName"].as_str()).collect();
        assert_eq!(names, ["eli", "cat", "dan"]);
        assert_eq!(selected(&app, "emails[type eq \"home\" and value ew \"new.example\"]").await?, ["dan"]);
        assert_eq!(selected(&app, "emails.type pr").await?, ["cat", "dan", "eli"]);
        let bad = app.scim(Method::GET, &format!("/scim/v2/Users?filter={}",
            encode("emails.primary eq \"yes\"")), None, &[]).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.body["scimType"], "invalidFilter");
        let sorted = app.scim(Method::GET, "/scim/v2/Users?sortBy=emails.type&sortOrder=descending", None, &[]).await?;
        let names: Vec<&str> = sorted.body["Resources"].as_array().into_iter().flatten()
            .filter_map(|r| r["userName"].as_str()).collect();
        assert_eq!(names, ["cat", "eli", "dan"]);
        Ok(())
    }
}

on_both_backends! {
    /// RFC 7644 §3.5.2.2: a removed single-valued attribute is unassigned. Warden reads
    /// an unassigned `active` as a POST or PUT without `active` is read: the default,
    /// not suspended. So `remove active` never suspends (Okta deactivates with
    /// `replace active false`, Entra ID with `Replace active "False"`, both tested in
    /// `scim.rs`), and it lifts a suspension that SCIM set, as a PUT without `active`
    /// does. An unassigned `active` is not returned, unless Warden has the user
    /// suspended (by an administrator), which is always shown as `false`.
    async fn scim_removed_active_is_unassigned(app: TestApp) {
        let owner = app.owner().await?;
        let status = |id: String| {
            let app = &app;
            let token = owner.token.clone();
            async move {
                let u = app.get(&format!("/api/v2/users/{id}"), Some(&token)).await?;
                anyhow::Ok(u.body["status"].as_str().unwrap_or_default().to_owned())
            }
        };
        let eve = create(&app, json!({"userName": "eve", "emails": [{"value": "eve@example.com"}],
            "active": true})).await?;
        let id = id_of(&eve);
        assert_eq!(eve["active"], true);
        // The checker's payload.
        let removed = patch(&app, &id, json!([{"op": "remove", "path": "active"}])).await?;
        assert!(removed.get("active").is_none(), "{removed}");
        assert!(get(&app, &id).await?.get("active").is_none());
        assert_eq!(status(id.clone()).await?, "dormant");
        assert!(selected(&app, "active pr").await?.is_empty());
        assert!(selected(&app, "active eq true").await?.is_empty());
        assert!(selected(&app, "active eq false").await?.is_empty());
        assert_eq!(selected(&app, "active ne true").await?, ["eve"]);
        // A POST without `active` is the same state.
        let fay = create(&app, json!({"userName": "fay", "emails": [{"value": "fay@example.com"}]})).await?;
        assert!(fay.get("active").is_none(), "{fay}");
        assert_eq!(status(id_of(&fay)).await?, "dormant");
        // Asserting it again shows it again.
        let on = patch(&app, &id, json!([{"op": "add", "path": "active", "value": true}])).await?;
        assert_eq!(on["active"], true);
        assert_eq!(selected(&app, "active eq true").await?, ["eve"]);
        // Deactivated by SCIM, then `active` removed: back to the default, active.
        let off = patch(&app, &id, json!([{"op": "replace", "path": "active", "value": false}])).await?;
        assert_eq!(off["active"], false);
        assert_eq!(status(id.clone()).await?, "suspended");
        let removed = patch(&app, &id, json!([{"op": "remove", "path": "active"}])).await?;
        assert!(removed.get("active").is_none(), "{removed}");
        assert_eq!(status(id.clone()).await?, "dormant");
        // Suspended by an administrator: shown as false whatever SCIM asserted.
        let fid = id_of(&fay);
        let suspended = app.put(&format!("/api/v2/users/{fid}/status/suspend"), Some(&owner.token)).await?;
        assert_eq!(suspended.status, StatusCode::OK, "{suspended:?}");
        assert_eq!(get(&app, &fid).await?["active"], false);
        assert_eq!(selected(&app, "active eq false").await?, ["fay"]);
        Ok(())
    }
}

on_both_backends! {
    /// `members.display` is read-only and `returned: request` in /Schemas: a group
    /// reads back with exactly the member sub-attributes a client writes (the checker
    /// compares them), and the member's name is there for whoever asks for it.
    async fn scim_group_members_read_back_as_written(app: TestApp) {
        app.owner().await?;
        let gus = create(&app, json!({"userName": "gus", "displayName": "Gus G",
            "emails": [{"value": "gus@example.com"}]})).await?;
        let hal = create(&app, json!({"userName": "hal", "displayName": "Hal H",
            "emails": [{"value": "hal@example.com"}]})).await?;
        let (gus, hal) = (id_of(&gus), id_of(&hal));
        let member = |id: &str| json!({"value": id, "type": "User",
            "$ref": format!("{}/scim/v2/Users/{id}", app.base)});
        let group = app.scim(Method::POST, "/scim/v2/Groups", Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Readers",
        })), &[]).await?;
        assert_eq!(group.status, StatusCode::CREATED, "{group:?}");
        let path = format!("/scim/v2/Groups/{}", group.body["id"].as_str().unwrap_or_default());
        // The checker's `add members` and `replace members`.
        let added = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "add", "path": "members", "value": [member(&gus)]}]))), &[]).await?;
        assert_eq!(added.status, StatusCode::OK, "{added:?}");
        assert_eq!(added.body["members"], json!([member(&gus)]));
        let replaced = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "replace", "path": "members", "value": [member(&hal)]}]))), &[]).await?;
        assert_eq!(replaced.status, StatusCode::OK, "{replaced:?}");
        assert_eq!(replaced.body["members"], json!([member(&hal)]));
        let got = app.scim(Method::GET, &path, None, &[]).await?;
        assert_eq!(got.body["members"], json!([member(&hal)]));
        // On request, the member's name.
        let asked = app.scim(Method::GET, &format!("{path}?attributes=members.display"), None, &[]).await?;
        assert_eq!(asked.body["members"], json!([{"display": "Hal H"}]), "{asked:?}");
        let listed = app.scim(Method::GET, "/scim/v2/Groups?attributes=members.value,members.display", None, &[]).await?;
        assert_eq!(listed.body["Resources"][0]["members"], json!([{"value": hal, "display": "Hal H"}]));
        // What /Schemas says about it.
        let schema = app.scim(Method::GET, "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", None, &[]).await?;
        let members = schema.body["attributes"].as_array().into_iter().flatten()
            .find(|a| a["name"] == "members").cloned().unwrap_or_default();
        let display = members["subAttributes"].as_array().into_iter().flatten()
            .find(|a| a["name"] == "display").cloned().unwrap_or_default();
        assert_eq!(display["mutability"], "readOnly");
        assert_eq!(display["returned"], "request");
        Ok(())
    }
}
