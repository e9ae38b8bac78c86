//! SCIM 2.0 provisioning: authentication, discovery, Users with the payload shapes
//! Okta and Entra ID actually send, filters, ETags, deprovisioning and audit.

use crate::scim_common::{ERROR_SCHEMA, USER_SCHEMA, encode, patch_op};
use reqwest::Method;
use serde_json::{Value, json};
use warden_tests::{Backend, SCIM_KEY, StatusCode, TestApp, on_both_backends};

/// The user Okta's provisioning sends on "Push new users".
fn okta_user(user_name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u{given}"),
        "groups": [],
        "password": "ignored-Pa55word",
        "active": true,
    })
}

fn scim_type(reply: &warden_tests::Reply) -> &str {
    reply.body["scimType"].as_str().unwrap_or_default()
}

fn is_scim_error(reply: &warden_tests::Reply, status: StatusCode) -> bool {
    reply.status == status
        && reply.body["schemas"][0] == ERROR_SCHEMA
        && reply.body["status"].as_str() == Some(status.as_u16().to_string().as_str())
}

fn content_type(reply: &warden_tests::Reply) -> &str {
    reply
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn create(app: &TestApp, body: Value) -> anyhow::Result<Value> {
    let reply = app
        .scim(Method::POST, "/scim/v2/Users", Some(body), &[])
        .await?;
    anyhow::ensure!(
        reply.status == StatusCode::CREATED,
        "create failed: {reply:?}"
    );
    Ok(reply.body)
}

async fn list(app: &TestApp, query: &str) -> anyhow::Result<warden_tests::Reply> {
    app.scim(Method::GET, &format!("/scim/v2/Users?{query}"), None, &[])
        .await
}

fn user_names(reply: &warden_tests::Reply) -> Vec<String> {
    reply.body["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["userName"].as_str().map(str::to_owned))
        .collect()
}

async fn disabled_scim_is_coders_404(backend: Backend) -> anyhow::Result<()> {
    let app = TestApp::spawn_with_scim(backend, None).await?;
    for path in [
        "/scim/v2/Users",
        "/scim/v2/ServiceProviderConfig",
        "/api/v2/scim/v2/Users",
    ] {
        let reply = app.scim(Method::GET, path, None, &[]).await?;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            reply.message(),
            "SCIM is disabled, please contact your administrator if you believe this is an error"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_disabled_sqlite() -> anyhow::Result<()> {
    disabled_scim_is_coders_404(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_disabled_postgres() -> anyhow::Result<()> {
    disabled_scim_is_coders_404(Backend::Postgres).await
}

on_both_backends! {
    async fn scim_key_bearer_bare_or_refused(app: TestApp) {
        app.owner().await?;
        let url = format!("{}/scim/v2/Users", app.base);
        let client = reqwest::Client::new();
        for (value, expected) in [
            (format!("Bearer {SCIM_KEY}"), StatusCode::OK),
            (format!("bearer {SCIM_KEY}"), StatusCode::OK),
            (SCIM_KEY.to_owned(), StatusCode::OK),
            ("Bearer wrong-key".to_owned(), StatusCode::UNAUTHORIZED),
            (format!("Bearer {SCIM_KEY}x"), StatusCode::UNAUTHORIZED),
        ] {
            let res = client.get(&url).header("Authorization", &value).send().await?;
            assert_eq!(res.status(), expected, "{value}");
        }
        let res = client.get(&url).send().await?;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: Value = res.json().await?;
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
        assert_eq!(body["status"], "401");
        // A Coder session token is not a SCIM key.
        let owner_token = app.login("admin@example.com", warden_tests::PASSWORD).await?;
        let res = client.get(&url).header("Authorization", format!("Bearer {owner_token}")).send().await?;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        Ok(())
    }
}

on_both_backends! {
    async fn scim_discovery_is_truthful(app: TestApp) {
        for base in ["/scim/v2", "/api/v2/scim/v2"] {
            let spc = app.scim(Method::GET, &format!("{base}/ServiceProviderConfig"), None, &[]).await?;
            assert_eq!(spc.status, StatusCode::OK);
            assert!(content_type(&spc).starts_with("application/scim+json"));
            assert_eq!(spc.body["patch"]["supported"], true);
            assert_eq!(spc.body["filter"]["supported"], true);
            assert_eq!(spc.body["filter"]["maxResults"], 200);
            assert_eq!(spc.body["sort"]["supported"], true);
            assert_eq!(spc.body["etag"]["supported"], true);
            assert_eq!(spc.body["changePassword"]["supported"], false);
            // Bulk is implemented, with the limits /Bulk enforces (see scim_bulk).
            assert_eq!(spc.body["bulk"]["supported"], true);
            assert_eq!(spc.body["bulk"]["maxOperations"], 1000);
            assert_eq!(spc.body["bulk"]["maxPayloadSize"], 1_048_576);
            assert_eq!(spc.body["authenticationSchemes"][0]["type"], "oauthbearertoken");
        }
        let schemas = app.scim(Method::GET, "/scim/v2/Schemas", None, &[]).await?;
        assert_eq!(schemas.body["totalResults"], 2);
        assert_eq!(schemas.body["Resources"][0]["id"], USER_SCHEMA);
        assert_eq!(schemas.body["Resources"][1]["id"], "urn:ietf:params:scim:schemas:core:2.0:Group");
        let one = app.scim(Method::GET, &format!("/scim/v2/Schemas/{USER_SCHEMA}"), None, &[]).await?;
        assert_eq!(one.status, StatusCode::OK);
        let names: Vec<&str> = one.body["attributes"].as_array().into_iter().flatten()
            .filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(names, ["userName", "name", "displayName", "active", "emails"]);
        let types = app.scim(Method::GET, "/scim/v2/ResourceTypes", None, &[]).await?;
        assert_eq!(types.body["Resources"][0]["endpoint"], "/Users");
        let user_type = app.scim(Method::GET, "/scim/v2/ResourceTypes/User", None, &[]).await?;
        assert_eq!(user_type.body["schema"], USER_SCHEMA);
        let group_type = app.scim(Method::GET, "/scim/v2/ResourceTypes/Group", None, &[]).await?;
        assert_eq!(group_type.body["endpoint"], "/Groups", "{group_type:?}");
        let missing_type = app.scim(Method::GET, "/scim/v2/ResourceTypes/Device", None, &[]).await?;
        assert!(is_scim_error(&missing_type, StatusCode::NOT_FOUND), "{missing_type:?}");
        let wrong_method = app.scim(Method::POST, "/scim/v2/ServiceProviderConfig", Some(json!({})), &[]).await?;
        assert!(is_scim_error(&wrong_method, StatusCode::METHOD_NOT_ALLOWED), "{wrong_method:?}");
        let wrong_method = app.scim(Method::DELETE, "/scim/v2/Schemas", None, &[]).await?;
        assert!(is_scim_error(&wrong_method, StatusCode::METHOD_NOT_ALLOWED), "{wrong_method:?}");
        let unknown = app.scim(Method::GET, "/scim/v2/Nothing", None, &[]).await?;
        assert!(is_scim_error(&unknown, StatusCode::NOT_FOUND), "{unknown:?}");
        Ok(())
    }
}

on_both_backends! {
    /// The username derived from a userName may belong to someone else already: the
    /// new user gets it with a suffix from its id, and nobody else is touched.
    async fn scim_user_whose_derived_username_is_taken_gets_a_suffix(app: TestApp) {
        let owner = app.owner().await?;
        let holder = app.user(&owner, "alice-smith").await?;
        let created = create(&app, okta_user("alice.smith@example.com", "Alice", "Smith")).await?;
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        assert_ne!(id, holder.id);
        let warden = app.get(&format!("/api/v2/users/{id}"), Some(&owner.token)).await?;
        let expected = format!("alice-smith-{}", &id[..6]);
        assert_eq!(warden.body["username"], json!(expected), "{warden:?}");
        assert_eq!(created["userName"], "alice.smith@example.com");
        let kept = app.get("/api/v2/users/alice-smith", Some(&owner.token)).await?;
        assert_eq!(kept.body["id"], json!(holder.id));
        assert_eq!(kept.body["email"], "alice-smith@example.com");
        // The same userName again is still the 409 it always was.
        let again = app.scim(Method::POST, "/scim/v2/Users",
            Some(okta_user("alice.smith@example.com", "Alice", "Smith")), &[]).await?;
        assert!(is_scim_error(&again, StatusCode::CONFLICT), "{again:?}");
        assert_eq!(scim_type(&again), "uniqueness");
        Ok(())
    }
}

on_both_backends! {
    async fn scim_okta_provisioning_lifecycle(app: TestApp) {
        let owner = app.owner().await?;
        // Okta's connection test.
        let probe = list(&app, "startIndex=1&count=2").await?;
        assert_eq!(probe.status, StatusCode::OK);
        assert_eq!(probe.body["totalResults"], json!(0));
        assert_eq!(probe.body["startIndex"], json!(1));
        assert_eq!(probe.body["itemsPerPage"], json!(0));
        // Okta's existence check, then the create.
        let lookup = list(&app, &format!("filter={}", encode("userName eq \"alice.smith@example.com\""))).await?;
        assert_eq!(lookup.body["totalResults"], 0);
        let reply = app.scim(Method::POST, "/scim/v2/Users",
            Some(okta_user("alice.smith@example.com", "Alice", "Smith")), &[]).await?;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        assert!(content_type(&reply).starts_with("application/scim+json"));
        let id = reply.body["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(reply.headers.get("location").and_then(|v| v.to_str().ok()),
            Some(format!("{}/scim/v2/Users/{id}", app.base).as_str()));
        assert_eq!(reply.body["userName"], "alice.smith@example.com");
        assert_eq!(reply.body["name"]["givenName"], "Alice");
        // Okta sends no name.formatted: none is shown; its displayName is the Warden name.
        assert!(reply.body["name"].get("formatted").is_none(), "{reply:?}");
        assert_eq!(reply.body["displayName"], "Alice Smith");
        assert_eq!(reply.body["externalId"], "00uAlice");
        assert_eq!(reply.body["active"], true);
        assert_eq!(reply.body["meta"]["resourceType"], "User");
        // The Warden user: an OIDC user of the default organization, dormant until
        // first sign-in, with a username derived from the email-shaped userName.
        let warden = app.get(&format!("/api/v2/users/{id}"), Some(&owner.token)).await?;
        assert_eq!(warden.body["username"], "alice-smith");
        assert_eq!(warden.body["name"], "Alice Smith");
        assert_eq!(warden.body["login_type"], "oidc");
        assert_eq!(warden.body["status"], "dormant");
        assert_eq!(warden.body["organization_ids"].as_array().map(Vec::len), Some(1));
        // Found by Okta's lookup, case-insensitively.
        let lookup = list(&app, &format!("filter={}", encode("userName eq \"ALICE.SMITH@example.com\""))).await?;
        assert_eq!(user_names(&lookup), ["alice.smith@example.com"]);
        // Creating again: 409 uniqueness.
        let again = app.scim(Method::POST, "/scim/v2/Users",
            Some(okta_user("alice.smith@example.com", "Alice", "Smith")), &[]).await?;
        assert!(is_scim_error(&again, StatusCode::CONFLICT), "{again:?}");
        assert_eq!(scim_type(&again), "uniqueness");
        // Okta AIW full-object PUT keeps the user active.
        let mut put = okta_user("alice.smith@example.com", "Alicia", "Smith");
        put["id"] = json!(id);
        let replaced = app.scim(Method::PUT, &format!("/scim/v2/Users/{id}"), Some(put.clone()), &[]).await?;
        assert_eq!(replaced.status, StatusCode::OK, "{replaced:?}");
        assert_eq!(replaced.body["name"]["givenName"], "Alicia");
        assert_eq!(replaced.body["active"], true);
        // userName is immutable.
        let mut renamed = put.clone();
        renamed["userName"] = json!("someone.else@example.com");
        let refused = app.scim(Method::PUT, &format!("/scim/v2/Users/{id}"), Some(renamed), &[]).await?;
        assert!(is_scim_error(&refused, StatusCode::BAD_REQUEST), "{refused:?}");
        assert_eq!(scim_type(&refused), "mutability");
        // Deactivation suspends in Warden.
        put["active"] = json!(false);
        let off = app.scim(Method::PUT, &format!("/scim/v2/Users/{id}"), Some(put), &[]).await?;
        assert_eq!(off.body["active"], false);
        let warden = app.get(&format!("/api/v2/users/{id}"), Some(&owner.token)).await?;
        assert_eq!(warden.body["status"], "suspended");
        // Provisioning the suspended user again reactivates it (dormant), same id.
        let back = create(&app, okta_user("alice.smith@example.com", "Alice", "Smith")).await?;
        assert_eq!(back["id"], json!(id));
        assert_eq!(back["active"], true);
        let warden = app.get(&format!("/api/v2/users/{id}"), Some(&owner.token)).await?;
        assert_eq!(warden.body["status"], "dormant");
        // Bad bodies are 400s in the SCIM shape, and change nothing.
        let bad: Value = reqwest::Client::new().post(format!("{}/scim/v2/Users", app.base))
            .header("Authorization", format!("Bearer {SCIM_KEY}"))
            .body("{not json").send().await?.json().await?;
        assert_eq!(bad["scimType"], "invalidSyntax");
        assert_eq!(bad["status"], "400");
        let bad = app.scim(Method::POST, "/scim/v2/Users", Some(json!({"userName": "x", "emails": [{"value": "not-an-email"}]})), &[]).await?;
        assert_eq!(scim_type(&bad), "invalidValue", "{bad:?}");
        let bad = app.scim(Method::POST, "/scim/v2/Users", Some(json!(["array"])), &[]).await?;
        assert_eq!(scim_type(&bad), "invalidSyntax", "{bad:?}");
        let missing = app.scim(Method::GET, "/scim/v2/Users/00000000-0000-0000-0000-000000000001", None, &[]).await?;
        assert!(is_scim_error(&missing, StatusCode::NOT_FOUND));
        let garbage = app.scim(Method::GET, "/scim/v2/Users/not-a-uuid", None, &[]).await?;
        assert!(is_scim_error(&garbage, StatusCode::NOT_FOUND));
        let all = list(&app, "").await?;
        assert_eq!(all.body["totalResults"], 1, "{all:?}");
        Ok(())
    }
}

on_both_backends! {
    async fn scim_entra_patch_shapes(app: TestApp) {
        app.owner().await?;
        let user = create(&app, okta_user("bob@example.com", "Bob", "Jones")).await?;
        let path = format!("/scim/v2/Users/{}", user["id"].as_str().unwrap_or_default());
        // Entra: capitalised ops, path-less replace with dotted keys, "False" strings.
        let reply = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "Replace", "value": {"name.givenName": "Robert", "name.familyName": "Jones-Smith",
                                         "displayName": "Robert Jones-Smith"}},
            {"op": "Add", "path": "externalId", "value": "entra-42"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "x"},
        ]))), &[]).await?;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        assert_eq!(reply.body["name"]["givenName"], "Robert");
        assert_eq!(reply.body["name"]["familyName"], "Jones-Smith");
        assert_eq!(reply.body["displayName"], "Robert Jones-Smith");
        assert_eq!(reply.body["externalId"], "entra-42");
        // Value-filtered path.
        let reply = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "robert@example.com"},
        ]))), &[]).await?;
        assert_eq!(reply.body["emails"][0]["value"], "robert@example.com", "{reply:?}");
        // Entra's deactivation.
        let reply = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "Replace", "path": "active", "value": "False"},
        ]))), &[]).await?;
        assert_eq!(reply.body["active"], false, "{reply:?}");
        let reply = app.scim(Method::PATCH, &path, Some(patch_op(json!([
            {"op": "replace", "value": {"active": "True"}},
        ]))), &[]).await?;
        assert_eq!(reply.body["active"], true, "{reply:?}");
        // Errors, each with its scimType, and nothing changed by a failed request.
        let before = app.scim(Method::GET, &path, None, &[]).await?;
        for (ops, expected) in [
            (json!([{"op": "remove"}]), "noTarget"),
            (json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x@y.z"}]), "noTarget"),
            (json!([{"op": "replace", "path": "favouriteColour", "value": "red"}]), "invalidPath"),
            (json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]), "invalidPath"),
            (json!([{"op": "jump", "path": "active", "value": true}]), "invalidSyntax"),
            (json!([{"op": "replace", "path": "userName", "value": "other"}]), "mutability"),
            (json!([{"op": "replace", "path": "id", "value": "other"}]), "mutability"),
            (json!([{"op": "replace", "path": "name.givenName", "value": "Changed"},
                    {"op": "replace", "path": "active", "value": "maybe"}]), "invalidValue"),
        ] {
            let reply = app.scim(Method::PATCH, &path, Some(patch_op(ops.clone())), &[]).await?;
            assert!(is_scim_error(&reply, StatusCode::BAD_REQUEST), "{ops}: {reply:?}");
            assert_eq!(scim_type(&reply), expected, "{ops}");
        }
        let not_patch = app.scim(Method::PATCH, &path, Some(json!({"Operations": "nope"})), &[]).await?;
        assert_eq!(scim_type(&not_patch), "invalidSyntax");
        let after = app.scim(Method::GET, &path, None, &[]).await?;
        assert_eq!(before.body, after.body);
        Ok(())
    }
}

on_both_backends! {
    async fn scim_filters_sort_page_and_project(app: TestApp) {
        app.owner().await?;
        create(&app, okta_user("ann@a.io", "Ann", "Archer")).await?;
        create(&app, okta_user("ben@b.io", "Ben", "Baker")).await?;
        let cid = create(&app, okta_user("cat@a.io", "Cat", "Archer")).await?["id"].clone();
        app.scim(Method::PATCH, &format!("/scim/v2/Users/{}", cid.as_str().unwrap_or_default()),
            Some(patch_op(json!([{"op": "replace", "path": "active", "value": false}]))), &[]).await?;
        let cases: &[(&str, &[&str])] = &[
            ("userName sw \"a\"", &["ann@a.io"]),
            ("USERNAME EQ \"BEN@B.IO\"", &["ben@b.io"]),
            ("name.familyName eq \"archer\" and active eq true", &["ann@a.io"]),
            ("not (active eq true)", &["cat@a.io"]),
            ("emails[type eq \"work\" and value ew \"@a.io\"]", &["ann@a.io", "cat@a.io"]),
            ("emails.value co \"@b.\" or externalId eq \"00uCat\"", &["ben@b.io", "cat@a.io"]),
            ("(name.givenName eq \"Ann\" or name.givenName eq \"Ben\") and not (userName ew \".io\")", &[]),
            ("meta.created gt \"2000-01-01T00:00:00Z\" and displayName pr", &["ann@a.io", "ben@b.io", "cat@a.io"]),
            ("urn:ietf:params:scim:schemas:core:2.0:User:userName ne \"ann@a.io\"", &["ben@b.io", "cat@a.io"]),
            ("emails[type eq \"home\"]", &[]),
            ("userName gt \"b\"", &["ben@b.io", "cat@a.io"]),
        ];
        for (filter, expected) in cases {
            let reply = list(&app, &format!("filter={}&sortBy=userName", encode(filter))).await?;
            assert_eq!(reply.status, StatusCode::OK, "{filter}: {reply:?}");
            assert_eq!(user_names(&reply), *expected, "{filter}");
            assert_eq!(reply.body["totalResults"], json!(expected.len()), "{filter}");
        }
        for bad in ["title eq \"x\"", "userName eq", "userName eq \"a\" junk", "active gt 1",
                    "meta.created eq \"not a date\"", "members[value eq \"x\"]"] {
            let reply = list(&app, &format!("filter={}", encode(bad))).await?;
            assert!(is_scim_error(&reply, StatusCode::BAD_REQUEST), "{bad}: {reply:?}");
            assert_eq!(scim_type(&reply), "invalidFilter", "{bad}");
        }
        let searched = app.scim(Method::POST, "/scim/v2/Users/.search", Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "emails.value ew \"@a.io\"", "sortBy": "userName", "startIndex": 1, "count": 10,
            "attributes": ["userName"],
        })), &[]).await?;
        assert_eq!(searched.status, StatusCode::OK, "{searched:?}");
        assert_eq!(user_names(&searched), ["ann@a.io", "cat@a.io"]);
        assert!(searched.body["Resources"][0].get("emails").is_none());
        let root = app.scim(Method::POST, "/scim/v2/.search", Some(json!({"filter": "userName eq \"ben@b.io\""})), &[]).await?;
        assert_eq!(user_names(&root), ["ben@b.io"]);
        let sorted = list(&app, "sortBy=name.givenName&sortOrder=descending").await?;
        assert_eq!(user_names(&sorted), ["cat@a.io", "ben@b.io", "ann@a.io"]);
        let page = list(&app, "sortBy=userName&startIndex=2&count=1").await?;
        assert_eq!(user_names(&page), ["ben@b.io"]);
        assert_eq!(page.body["totalResults"], 3);
        assert_eq!(page.body["startIndex"], 2);
        assert_eq!(page.body["itemsPerPage"], 1);
        let capped = list(&app, "count=100000&startIndex=-4").await?;
        assert_eq!(capped.body["startIndex"], 1);
        assert_eq!(capped.body["itemsPerPage"], 3);
        let none = list(&app, "count=0").await?;
        assert_eq!(none.body["totalResults"], 3);
        assert_eq!(none.body["Resources"], json!([]));
        let bad = list(&app, "count=many").await?;
        assert_eq!(scim_type(&bad), "invalidValue");
        for empty in ["count=", "startIndex="] {
            let bad = list(&app, empty).await?;
            assert_eq!(scim_type(&bad), "invalidValue", "{empty}");
        }
        let bad = list(&app, "sortBy=title").await?;
        assert_eq!(scim_type(&bad), "invalidValue");
        let only = list(&app, "attributes=name.givenName&sortBy=userName&count=1").await?;
        let first = &only.body["Resources"][0];
        assert_eq!(first["name"], json!({"givenName": "Ann"}));
        assert!(first.get("emails").is_none() && first.get("id").is_some() && first.get("userName").is_some());
        let without = list(&app, "excludedAttributes=emails,meta&count=1").await?;
        let first = &without.body["Resources"][0];
        assert!(first.get("emails").is_none() && first.get("meta").is_none() && first.get("name").is_some());
        Ok(())
    }
}

on_both_backends! {
    async fn scim_etags(app: TestApp) {
        app.owner().await?;
        let user = create(&app, okta_user("eve@example.com", "Eve", "E")).await?;
        let path = format!("/scim/v2/Users/{}", user["id"].as_str().unwrap_or_default());
        let got = app.scim(Method::GET, &path, None, &[]).await?;
        let etag = got.headers.get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(etag.starts_with("W/\""), "{etag}");
        assert_eq!(got.body["meta"]["version"], json!(etag));
        let same = app.scim(Method::GET, &path, None, &[("If-None-Match", &etag)]).await?;
        assert_eq!(same.status, StatusCode::NOT_MODIFIED);
        let change = patch_op(json!([{"op": "replace", "path": "name.givenName", "value": "Evelyn"}]));
        let changed = app.scim(Method::PATCH, &path, Some(change.clone()), &[("If-Match", &etag)]).await?;
        assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
        let new_etag = changed.headers.get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_ne!(new_etag, etag);
        let stale = app.scim(Method::PATCH, &path, Some(change), &[("If-Match", &etag)]).await?;
        assert!(is_scim_error(&stale, StatusCode::PRECONDITION_FAILED), "{stale:?}");
        let stale_delete = app.scim(Method::DELETE, &path, None, &[("If-Match", &etag)]).await?;
        assert_eq!(stale_delete.status, StatusCode::PRECONDITION_FAILED);
        let modified = app.scim(Method::GET, &path, None, &[("If-None-Match", &etag)]).await?;
        assert_eq!(modified.status, StatusCode::OK);
        assert_eq!(modified.body["name"]["givenName"], "Evelyn");
        Ok(())
    }
}

on_both_backends! {
    async fn scim_deprovisioning_revokes_at_once_and_is_audited(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        // An active Warden user with this name: 409, SCIM does not take it over.
        let taken = app.scim(Method::POST, "/scim/v2/Users", Some(json!({
            "userName": "bob", "emails": [{"value": "bob@example.com", "primary": true}], "active": true,
        })), &[]).await?;
        assert_eq!(scim_type(&taken), "uniqueness", "{taken:?}");
        // Once suspended, SCIM provisioning adopts and reactivates it.
        let suspended = app.put(&format!("/api/v2/users/{}/status/suspend", bob.id), Some(&owner.token)).await?;
        assert_eq!(suspended.status, StatusCode::OK);
        let adopted = create(&app, json!({
            "userName": "bob", "emails": [{"value": "bob@example.com", "primary": true}],
            "name": {"formatted": "Bob B"}, "active": true,
        })).await?;
        assert_eq!(adopted["id"], json!(bob.id));
        let token = app.login("bob@example.com", warden_tests::PASSWORD).await?;
        assert_eq!(app.get("/api/v2/users/me", Some(&token)).await?.status, StatusCode::OK);
        // Deactivation revokes every session at once.
        let path = format!("/scim/v2/Users/{}", bob.id);
        let off = app.scim(Method::PATCH, &path, Some(patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}]))), &[]).await?;
        assert_eq!(off.body["active"], false, "{off:?}");
        assert_eq!(app.get("/api/v2/users/me", Some(&token)).await?.status, StatusCode::UNAUTHORIZED);
        // Reactivate, sign in again, then DELETE: revoked, hidden from SCIM, kept in Warden.
        app.scim(Method::PATCH, &path, Some(patch_op(json!([{"op": "replace", "path": "active", "value": true}]))), &[]).await?;
        let token = app.login("bob@example.com", warden_tests::PASSWORD).await?;
        let deleted = app.scim(Method::DELETE, &path, None, &[]).await?;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get("/api/v2/users/me", Some(&token)).await?.status, StatusCode::UNAUTHORIZED);
        let gone = app.scim(Method::GET, &path, None, &[]).await?;
        assert!(is_scim_error(&gone, StatusCode::NOT_FOUND));
        assert_eq!(app.scim(Method::DELETE, &path, None, &[]).await?.status, StatusCode::NOT_FOUND);
        let listed = list(&app, "filter=userName%20eq%20%22bob%22").await?;
        assert_eq!(listed.body["totalResults"], 0);
        let warden = app.get(&format!("/api/v2/users/{}", bob.id), Some(&owner.token)).await?;
        assert_eq!(warden.body["status"], "suspended");
        // Every SCIM change is in the audit trail, made by no user (the SCIM subsystem).
        let audit = app.get("/api/v2/audit?q=resource_type:user&limit=50", Some(&owner.token)).await?;
        let scim_entries: Vec<(String, String)> = audit.body["audit_logs"].as_array().into_iter().flatten()
            .filter(|e| e["resource_id"] == json!(bob.id) && e["user"].is_null()
                && e["additional_fields"]["automatic_subsystem"] == "scim")
            .map(|e| (e["action"].as_str().unwrap_or_default().to_owned(),
                      e["diff"]["status"]["new"].as_str().unwrap_or_default().to_owned()))
            .collect();
        assert_eq!(scim_entries, [
            ("delete".to_owned(), "suspended".to_owned()),
            ("write".to_owned(), "dormant".to_owned()),
            ("write".to_owned(), "suspended".to_owned()),
            ("write".to_owned(), "dormant".to_owned()),
        ], "{audit:?}");
        Ok(())
    }
}
