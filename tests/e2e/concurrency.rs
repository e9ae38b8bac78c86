//! Many writers at once: every one is answered as if it had been alone, never with a
//! 500 or the storage engine's own complaint (SQLite's "database is locked").

use futures_util::future::join_all;
use serde_json::json;
use warden_tests::{Reply, StatusCode, TestApp, on_both_backends};

/// How many clients write at the same time.
const WRITERS: usize = 100;

/// One client's writes: a user, that user into the shared group, a token for the
/// user, a SCIM identity, and a role change on the shared organization.
async fn one_writer(
    app: &TestApp,
    owner: &str,
    group: &str,
    n: usize,
) -> anyhow::Result<Vec<(String, Reply)>> {
    let mut replies = Vec::new();
    let created = app
        .post(
            "/api/v2/users",
            Some(owner),
            json!({
                "email": format!("w{n}@example.com"), "username": format!("w{n}"),
                "password": warden_tests::PASSWORD, "login_type": "password",
                "organization_ids": ["00000000-0000-0000-0000-000000000000"],
            }),
        )
        .await?;
    let id = created.body["id"].as_str().unwrap_or_default().to_owned();
    replies.push(("create user".to_owned(), created));
    replies.push((
        "join group".to_owned(),
        app.patch(
            &format!("/api/v2/groups/{group}"),
            Some(owner),
            json!({"add_users": [id]}),
        )
        .await?,
    ));
    replies.push((
        "create token".to_owned(),
        app.post(
            &format!("/api/v2/users/{id}/keys/tokens"),
            Some(owner),
            json!({"token_name": format!("t{n}")}),
        )
        .await?,
    ));
    replies.push((
        "org roles".to_owned(),
        app.put_json(
            &format!("/api/v2/organizations/coder/members/{id}/roles"),
            Some(owner),
            json!({"roles": ["organization-auditor"]}),
        )
        .await?,
    ));
    let scim = app
        .scim(
            reqwest::Method::POST,
            "/scim/v2/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("s{n}"), "active": true,
                "emails": [{"value": format!("s{n}@example.com"), "primary": true}],
            })),
            &[],
        )
        .await?;
    replies.push(("scim create".to_owned(), scim));
    Ok(replies)
}

on_both_backends! {
    async fn a_hundred_concurrent_writers_are_all_answered_without_a_server_error(app: TestApp) {
        let owner = app.owner().await?;
        let group = app.post("/api/v2/organizations/coder/groups", Some(&owner.token), json!({"name": "crowd"})).await?;
        let group = group.body["id"].as_str().unwrap_or_default().to_owned();

        let writers = (0..WRITERS).map(|n| one_writer(&app, &owner.token, &group, n));
        let mut replies = Vec::new();
        for outcome in join_all(writers).await {
            replies.extend(outcome?);
        }
        for (what, reply) in &replies {
            assert!(reply.status.is_success(), "{what}: {reply:?}");
            assert!(!reply.body.to_string().contains("locked"), "{what}: {reply:?}");
        }

        // And every write took effect.
        let crowd = app.get(&format!("/api/v2/groups/{group}"), Some(&owner.token)).await?;
        assert_eq!(crowd.body["total_member_count"], WRITERS, "{}", crowd.body);
        let users = app.get("/api/v2/users?limit=1", Some(&owner.token)).await?;
        assert_eq!(users.body["count"], 2 * WRITERS + 1, "{}", users.body);
        let auditors = app.get("/api/v2/organizations/coder/members", Some(&owner.token)).await?;
        let auditors = auditors.body.as_array().into_iter().flatten()
            .filter(|m| m["roles"].as_array().is_some_and(|r| r.iter().any(|r| r["name"] == "organization-auditor")))
            .count();
        assert_eq!(auditors, WRITERS);
        assert_eq!(StatusCode::OK, crowd.status);
        Ok(())
    }
}
