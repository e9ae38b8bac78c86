//! SCIM 2.0 Bulk (RFC 7644 §3.7): operations run in order, each atomic and audited as
//! its single request; `bulkId:` references; `failOnErrors`; the limits
//! `/ServiceProviderConfig` advertises.

use crate::scim_common::{ERROR_SCHEMA, GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA};
use reqwest::Method;
use serde_json::{Value, json};
use warden_tests::{SCIM_KEY, StatusCode, TestApp, on_both_backends};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

fn user(name: &str) -> Value {
    let user_name = format!("{name}@example.org");
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": name, "familyName": "Bulk"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "active": true,
    })
}

fn bulk_request(ops: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": ops})
}

async fn bulk(app: &TestApp, body: Value) -> anyhow::Result<warden_tests::Reply> {
    app.scim(Method::POST, "/scim/v2/Bulk", Some(body), &[])
        .await
}

/// The `Operations` of a BulkResponse.
fn operations(reply: &warden_tests::Reply) -> Vec<Value> {
    reply.body["Operations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn statuses(reply: &warden_tests::Reply) -> Vec<String> {
    operations(reply)
        .iter()
        .map(|o| o["status"].as_str().unwrap_or("<not a string>").to_owned())
        .collect()
}

fn is_scim_error(reply: &warden_tests::Reply, status: StatusCode, scim_type: Option<&str>) -> bool {
    reply.status == status
        && reply.body["schemas"][0] == ERROR_SCHEMA
        && reply.body["status"].as_str() == Some(status.as_u16().to_string().as_str())
        && match scim_type {
            Some(t) => reply.body["scimType"] == t,
            None => reply.body.get("scimType").is_none(),
        }
}

fn id_of(location: &Value) -> String {
    location
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn count(app: &TestApp, endpoint: &str, attribute: &str, value: &str) -> anyhow::Result<i64> {
    let filter = format!("{attribute} eq \"{value}\"");
    let mut encoded = String::new();
    for b in filter.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let list = app
        .scim(
            Method::GET,
            &format!("/scim/v2/{endpoint}?filter={encoded}"),
            None,
            &[],
        )
        .await?;
    anyhow::ensure!(list.status == StatusCode::OK, "{list:?}");
    Ok(list.body["totalResults"].as_i64().unwrap_or(-1))
}

on_both_backends! {
    async fn scim_bulk_creates_users_and_a_group_referencing_them(app: TestApp) {
        let owner = app.owner().await?;
        let old = app.scim(Method::POST, "/scim/v2/Users", Some(user("leaver")), &[]).await?;
        assert_eq!(old.status, StatusCode::CREATED, "{old:?}");
        let old_id = old.body["id"].as_str().unwrap_or_default().to_owned();
        let reply = bulk(&app, bulk_request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user("ann")},
            {"method": "POST", "path": "/Users", "bulkId": "u2", "data": user("ben")},
            {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {
                "schemas": [GROUP_SCHEMA], "displayName": "Bulk Team",
                "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}],
            }},
            {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Ann Renamed"}],
            }},
            {"method": "DELETE", "path": format!("/Users/{old_id}")},
        ]))).await?;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        assert!(reply.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default()
            .starts_with("application/scim+json"));
        assert_eq!(reply.body["schemas"], json!([BULK_RESPONSE]));
        assert_eq!(statuses(&reply), ["201", "201", "201", "200", "204"], "{reply:?}");
        let ops = operations(&reply);
        let methods: Vec<&str> = ops.iter().map(|o| o["method"].as_str().unwrap_or_default()).collect();
        assert_eq!(methods, ["POST", "POST", "POST", "PATCH", "DELETE"]);
        assert_eq!(ops[0]["bulkId"], "u1");
        assert_eq!(ops[2]["bulkId"], "g1");
        assert!(ops.iter().all(|o| o.get("response").is_none()), "{reply:?}");
        let ann = id_of(&ops[0]["location"]);
        let ben = id_of(&ops[1]["location"]);
        let group = id_of(&ops[2]["location"]);
        assert!(ops[0]["location"].as_str().unwrap_or_default().ends_with(&format!("/scim/v2/Users/{ann}")));
        assert!(ops[2]["location"].as_str().unwrap_or_default().ends_with(&format!("/scim/v2/Groups/{group}")));
        // The PATCH through the reference hit the user the first POST created.
        assert_eq!(ops[3]["location"], ops[0]["location"]);
        assert!(ops[4]["location"].as_str().unwrap_or_default().ends_with(&format!("/Users/{old_id}")));
        assert!(ops[4].get("version").is_none());
        // The group holds the two users the references named.
        let got = app.scim(Method::GET, &format!("/scim/v2/Groups/{group}"), None, &[]).await?;
        assert_eq!(got.status, StatusCode::OK, "{got:?}");
        assert_eq!(got.body["displayName"], "Bulk Team");
        let mut members: Vec<String> = got.body["members"].as_array().into_iter().flatten()
            .filter_map(|m| m["value"].as_str().map(str::to_owned)).collect();
        members.sort();
        let mut expected = vec![ann.clone(), ben.clone()];
        expected.sort();
        assert_eq!(members, expected);
        assert_eq!(ops[2]["version"].as_str(), got.headers.get("etag").and_then(|v| v.to_str().ok()));
        // The PATCH applied, and its version is the user's current one.
        let ann_now = app.scim(Method::GET, &format!("/scim/v2/Users/{ann}"), None, &[]).await?;
        assert_eq!(ann_now.body["displayName"], "Ann Renamed", "{ann_now:?}");
        assert_eq!(ops[3]["version"].as_str(), ann_now.headers.get("etag").and_then(|v| v.to_str().ok()));
        // The DELETE deprovisioned the old user.
        let gone = app.scim(Method::GET, &format!("/scim/v2/Users/{old_id}"), None, &[]).await?;
        assert_eq!(gone.status, StatusCode::NOT_FOUND, "{gone:?}");
        // Each operation is audited as its single request, by the SCIM subsystem.
        let audit = app.get("/api/v2/audit?limit=100", Some(&owner.token)).await?;
        assert_eq!(audit.status, StatusCode::OK, "{audit:?}");
        let logs = audit.body["audit_logs"].as_array().cloned().unwrap_or_default();
        let actions_on = |id: &str| -> Vec<String> {
            logs.iter().filter(|e| e["resource_id"] == json!(id))
                .map(|e| e["action"].as_str().unwrap_or_default().to_owned()).collect()
        };
        assert_eq!(actions_on(&group), ["create"], "{audit:?}");
        assert_eq!(actions_on(&ann), ["write", "create"], "{audit:?}");
        assert_eq!(actions_on(&ben), ["create"], "{audit:?}");
        assert_eq!(actions_on(&old_id), ["delete", "create"], "{audit:?}");
        assert!(logs.iter().filter(|e| [&group, &ann, &ben, &old_id].iter().any(|id| e["resource_id"] == json!(id)))
            .all(|e| e["additional_fields"]["automatic_subsystem"] == "scim"), "{audit:?}");
        Ok(())
    }
}

on_both_backends! {
    async fn scim_bulk_fail_on_errors_stops_after_that_many_errors(app: TestApp) {
        app.owner().await?; // the organization SCIM provisions into
        let taken = app.scim(Method::POST, "/scim/v2/Users", Some(user("taken")), &[]).await?;
        assert_eq!(taken.status, StatusCode::CREATED, "{taken:?}");
        let reply = bulk(&app, json!({
            "schemas": [BULK_REQUEST], "failOnErrors": 1,
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user("taken")},
                {"method": "POST", "path": "/Users", "bulkId": "never", "data": user("never")},
                {"method": "POST", "path": "/Groups", "bulkId": "nor", "data": {"displayName": "Never Made"}},
            ],
        })).await?;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        // Only the failed operation is reported; the later ones did not run.
        assert_eq!(statuses(&reply), ["409"], "{reply:?}");
        let op = &operations(&reply)[0];
        assert_eq!(op["bulkId"], "dup");
        assert!(op.get("location").is_none(), "{op}");
        assert_eq!(op["response"]["schemas"], json!([ERROR_SCHEMA]));
        assert_eq!(op["response"]["status"], "409");
        assert_eq!(op["response"]["scimType"], "uniqueness");
        assert_eq!(count(&app, "Users", "userName", "never@example.org").await?, 0);
        assert_eq!(count(&app, "Groups", "displayName", "Never Made").await?, 0);
        // failOnErrors=2 runs on past the first error and stops at the second.
        let reply = bulk(&app, json!({
            "schemas": [BULK_REQUEST], "failOnErrors": 2,
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("taken")},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("second")},
                {"method": "DELETE", "path": "/Groups/7b0a3c6e-1d2f-4a5b-8c9d-0e1f2a3b4c5d"},
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": user("third")},
            ],
        })).await?;
        assert_eq!(statuses(&reply), ["409", "201", "404"], "{reply:?}");
        assert_eq!(count(&app, "Users", "userName", "second@example.org").await?, 1);
        assert_eq!(count(&app, "Users", "userName", "third@example.org").await?, 0);
        Ok(())
    }
}

on_both_backends! {
    async fn scim_bulk_failed_operation_changes_nothing_and_the_others_apply(app: TestApp) {
        app.owner().await?; // the organization SCIM provisions into
        let kept = app.scim(Method::POST, "/scim/v2/Users", Some(user("kept")), &[]).await?;
        let kept_id = kept.body["id"].as_str().unwrap_or_default().to_owned();
        let reply = bulk(&app, bulk_request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("first")},
            // One unknown member: the whole group create fails, nothing is written.
            {"method": "POST", "path": "/Groups", "bulkId": "broken", "data": {
                "displayName": "Broken",
                "members": [{"value": "bulkId:a"}, {"value": "7b0a3c6e-1d2f-4a5b-8c9d-0e1f2a3b4c5d"}],
            }},
            // A stale version is If-Match: 412, and the user keeps its name.
            {"method": "PATCH", "path": format!("/Users/{kept_id}"), "version": "W/\"stale\"", "data": {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Changed"}],
            }},
            {"method": "POST", "path": "/Groups", "bulkId": "fine", "data": {
                "displayName": "Fine", "members": [{"value": "bulkId:a"}],
            }},
        ]))).await?;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        assert_eq!(statuses(&reply), ["201", "400", "412", "201"], "{reply:?}");
        let ops = operations(&reply);
        assert_eq!(ops[1]["response"]["scimType"], "invalidValue", "{reply:?}");
        assert!(ops[1].get("location").is_none());
        assert!(ops[2]["location"].as_str().unwrap_or_default().ends_with(&format!("/Users/{kept_id}")));
        assert!(ops[2].get("version").is_none());
        assert_eq!(ops[2]["response"]["status"], "412");
        assert_eq!(count(&app, "Groups", "displayName", "Broken").await?, 0);
        assert_eq!(count(&app, "Groups", "displayName", "Fine").await?, 1);
        assert_eq!(count(&app, "Users", "userName", "first@example.org").await?, 1);
        let now = app.scim(Method::GET, &format!("/scim/v2/Users/{kept_id}"), None, &[]).await?;
        assert_ne!(now.body["displayName"], "Changed", "{now:?}");
        // The right version passes the same check.
        let etag = now.headers.get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let reply = bulk(&app, bulk_request(json!([
            {"method": "PATCH", "path": format!("/Users/{kept_id}"), "version": etag, "data": {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Changed"}],
            }},
        ]))).await?;
        assert_eq!(statuses(&reply), ["200"], "{reply:?}");
        let now = app.scim(Method::GET, &format!("/scim/v2/Users/{kept_id}"), None, &[]).await?;
        assert_eq!(now.body["displayName"], "Changed", "{now:?}");
        Ok(())
    }
}

on_both_backends! {
    async fn scim_bulk_rejects_a_repeated_bulk_id_and_runs_nothing(app: TestApp) {
        app.owner().await?; // the organization SCIM provisions into
        let reply = bulk(&app, bulk_request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "same", "data": user("one")},
            {"method": "POST", "path": "/Users", "bulkId": "same", "data": user("two")},
        ]))).await?;
        assert!(is_scim_error(&reply, StatusCode::BAD_REQUEST, Some("invalidValue")), "{reply:?}");
        assert!(reply.body["detail"].as_str().unwrap_or_default().contains("same"), "{reply:?}");
        assert_eq!(count(&app, "Users", "userName", "one@example.org").await?, 0);
        assert_eq!(count(&app, "Users", "userName", "two@example.org").await?, 0);
        Ok(())
    }
}

on_both_backends! {
    async fn scim_bulk_unresolved_bulk_id_is_a_409_for_that_operation(app: TestApp) {
        app.owner().await?; // the organization SCIM provisions into
        let reply = bulk(&app, bulk_request(json!([
            // Never defined.
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {
                "displayName": "Orphans", "members": [{"value": "bulkId:nobody"}],
            }},
            // Defined only by a later operation.
            {"method": "PATCH", "path": "/Users/bulkId:later", "data": {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "replace", "path": "active", "value": false}],
            }},
            // Defined by a POST that failed.
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": [USER_SCHEMA]}},
            {"method": "DELETE", "path": "/Users/bulkId:bad"},
            {"method": "POST", "path": "/Users", "bulkId": "later", "data": user("later")},
        ]))).await?;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        assert_eq!(statuses(&reply), ["409", "409", "400", "409", "201"], "{reply:?}");
        let ops = operations(&reply);
        for i in [0, 1, 3] {
            assert_eq!(ops[i]["response"]["scimType"], "invalidValue", "{reply:?}");
            assert_eq!(ops[i]["response"]["status"], "409", "{reply:?}");
        }
        assert!(ops[1]["response"]["detail"].as_str().unwrap_or_default().contains("later"));
        assert_eq!(count(&app, "Groups", "displayName", "Orphans").await?, 0);
        // The user the forward reference named is active: the PATCH did not run.
        let later = app.scim(Method::GET, &format!("/scim/v2/Users/{}", id_of(&ops[4]["location"])), None, &[]).await?;
        assert_eq!(later.body["active"], true, "{later:?}");
        Ok(())
    }
}

on_both_backends! {
    async fn scim_bulk_enforces_the_advertised_limits_and_syntax(app: TestApp) {
        app.owner().await?; // the organization SCIM provisions into
        for base in ["/scim/v2", "/api/v2/scim/v2"] {
            let spc = app.scim(Method::GET, &format!("{base}/ServiceProviderConfig"), None, &[]).await?;
            assert_eq!(spc.body["bulk"]["supported"], true);
            let max_ops = spc.body["bulk"]["maxOperations"].as_u64().unwrap_or_default() as usize;
            let max_bytes = spc.body["bulk"]["maxPayloadSize"].as_u64().unwrap_or_default() as usize;
            assert!(max_ops >= 1 && max_bytes >= 1024, "{spc:?}");
            let path = format!("{base}/Bulk");
            // maxOperations is accepted (and, with no failOnErrors, all are processed);
            // one more is a 413 that runs nothing.
            let unresolved = json!({"method": "DELETE", "path": "/Users/bulkId:none"});
            let at_limit = bulk_request(Value::Array(vec![unresolved.clone(); max_ops]));
            let reply = app.scim(Method::POST, &path, Some(at_limit), &[]).await?;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.status);
            assert_eq!(operations(&reply).len(), max_ops);
            let mut over: Vec<Value> = vec![unresolved.clone(); max_ops];
            over.insert(0, json!({"method": "POST", "path": "/Users", "bulkId": "x", "data": user("overflow")}));
            let reply = app.scim(Method::POST, &path, Some(bulk_request(Value::Array(over))), &[]).await?;
            assert!(is_scim_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, None), "{reply:?}");
            assert!(reply.body["detail"].as_str().unwrap_or_default().contains("maxOperations"), "{reply:?}");
            assert_eq!(count(&app, "Users", "userName", "overflow@example.org").await?, 0);
            // A body near maxPayloadSize is read; one over it is a 413.
            let padding = "p".repeat(max_bytes - 4096);
            let near = bulk_request(json!([{"method": "PATCH", "path": "/Users/bulkId:none",
                "data": {"schemas": [PATCH_SCHEMA], "padding": padding}}]));
            let reply = app.scim(Method::POST, &path, Some(near), &[]).await?;
            assert_eq!(statuses(&reply), ["409"], "{:?}", reply.status);
            let padding = "p".repeat(max_bytes);
            let big = bulk_request(json!([{"method": "PATCH", "path": "/Users/bulkId:none",
                "data": {"schemas": [PATCH_SCHEMA], "padding": padding}}]));
            let reply = app.scim(Method::POST, &path, Some(big), &[]).await?;
            assert!(is_scim_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, None), "{reply:?}");
            assert!(reply.body["detail"].as_str().unwrap_or_default().contains("maxPayloadSize"), "{reply:?}");
            // Malformed requests are 400 invalidSyntax.
            let not_json = reqwest::Client::new().post(format!("{}{path}", app.base))
                .header("Authorization", format!("Bearer {SCIM_KEY}"))
                .header("Content-Type", "application/scim+json")
                .body("{\"Operations\": [").send().await?;
            assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
            let body: Value = not_json.json().await?;
            assert_eq!(body["scimType"], "invalidSyntax", "{body}");
            assert_eq!(body["status"], "400");
            for malformed in [
                json!({"schemas": [BULK_REQUEST]}),
                json!({"schemas": [BULK_REQUEST], "Operations": [{"method": "GET", "path": "/Users"}]}),
                json!({"schemas": [BULK_REQUEST], "Operations": [{"method": "POST", "path": "/Users", "data": user("nobulkid")}]}),
                json!({"schemas": [BULK_REQUEST], "failOnErrors": "one", "Operations": []}),
            ] {
                let reply = app.scim(Method::POST, &path, Some(malformed.clone()), &[]).await?;
                assert!(is_scim_error(&reply, StatusCode::BAD_REQUEST, Some("invalidSyntax")), "{malformed} {reply:?}");
            }
            assert_eq!(count(&app, "Users", "userName", "nobulkid@example.org").await?, 0);
            // A path that names no resource is that operation's 400 invalidPath.
            let reply = app.scim(Method::POST, &path, Some(bulk_request(json!([
                {"method": "DELETE", "path": "/Schemas/x"},
            ]))), &[]).await?;
            assert_eq!(operations(&reply)[0]["response"]["scimType"], "invalidPath", "{reply:?}");
            // Other methods are 405; the key is required.
            let get = app.scim(Method::GET, &path, None, &[]).await?;
            assert!(is_scim_error(&get, StatusCode::METHOD_NOT_ALLOWED, None), "{get:?}");
            let anonymous = app.post(&path, None, bulk_request(json!([]))).await?;
            assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{anonymous:?}");
        }
        Ok(())
    }
}

on_both_backends! {
    /// A `bulkId:` reference inside a PATCH path's value filter is resolved like one
    /// in `data`: Okta-style `remove members[value eq "bulkId:u1"]` removes the user the
    /// earlier POST created; an unknown reference fails that operation with 409.
    async fn scim_bulk_resolves_references_in_patch_path_filters(app: TestApp) {
        app.owner().await?;
        let reply = bulk(&app, bulk_request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user("cal")},
            {"method": "POST", "path": "/Users", "bulkId": "u2", "data": user("dee")},
            {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {
                "schemas": [GROUP_SCHEMA], "displayName": "Filtered",
                "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}],
            }},
            {"method": "PATCH", "path": "/Groups/bulkId:g1", "data": {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "remove", "path": "members[value eq \"bulkId:u1\"]"}],
            }},
            {"method": "PATCH", "path": "/Groups/bulkId:g1", "data": {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "remove", "path": "members[value eq \"bulkId:nobody\"]"}],
            }},
        ]))).await?;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        assert_eq!(statuses(&reply), ["201", "201", "201", "200", "409"], "{reply:?}");
        let ops = operations(&reply);
        let dee = id_of(&ops[1]["location"]);
        let group = id_of(&ops[2]["location"]);
        let got = app.scim(Method::GET, &format!("/scim/v2/Groups/{group}"), None, &[]).await?;
        let members: Vec<&str> = got.body["members"].as_array().into_iter().flatten()
            .filter_map(|m| m["value"].as_str()).collect();
        assert_eq!(members, [dee.as_str()], "{got:?}");
        assert_eq!(ops[4]["response"]["scimType"], "invalidValue", "{reply:?}");
        Ok(())
    }
}
