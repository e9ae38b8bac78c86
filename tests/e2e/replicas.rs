//! `GET /api/v2/replicas`: every server process on the database reports itself, and
//! owners can see which are alive.

use serde_json::{Value, json};
use warden_tests::{Backend, StatusCode, TestApp, on_both_backends};

/// The ids of the replicas `token` sees from the server at `base`.
async fn replica_ids(base: &str, token: &str) -> anyhow::Result<Vec<String>> {
    let res = reqwest::Client::new()
        .get(format!("{base}/api/v2/replicas"))
        .header("Coder-Session-Token", token)
        .send()
        .await?;
    anyhow::ensure!(res.status() == StatusCode::OK, "{}", res.status());
    let body: Value = res.json().await?;
    Ok(body
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect())
}

on_both_backends! {
    async fn the_server_lists_itself_to_owners_only(app: TestApp) {
        let owner = app.owner().await?;
        let reply = app.get("/api/v2/replicas", Some(&owner.token)).await?;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        let replicas = reply.body.as_array().cloned().unwrap_or_default();
        assert_eq!(replicas.len(), 1, "{}", reply.body);
        let me = &replicas[0];
        let mut keys: Vec<_> = me.as_object().into_iter().flatten().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["created_at", "database_latency", "error", "hostname", "id", "region_id", "relay_address"]);
        assert!(uuid::Uuid::parse_str(me["id"].as_str().unwrap_or_default()).is_ok(), "{me}");
        assert!(!me["hostname"].as_str().unwrap_or_default().is_empty(), "{me}");
        let created = time::OffsetDateTime::parse(me["created_at"].as_str().unwrap_or_default(), &time::format_description::well_known::Rfc3339)?;
        assert!((time::OffsetDateTime::now_utc() - created).abs() < time::Duration::minutes(1), "{me}");
        assert_eq!((me["relay_address"].as_str(), me["region_id"].as_i64(), me["error"].as_str()), (Some(""), Some(0), Some("")));
        assert!(me["database_latency"].as_i64().is_some_and(|l| l >= 0), "{me}");

        let member = app.user(&owner, "member").await?;
        let refused = app.get("/api/v2/replicas", Some(&member.token)).await?;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        assert!(!refused.message().is_empty(), "Coder's error shape: {refused:?}");
        Ok(())
    }
}

/// Two servers on one PostgreSQL database list each other; one that stops is gone
/// from the list at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_database_see_each_other() -> anyhow::Result<()> {
    let app = TestApp::spawn(Backend::Postgres).await?;
    let owner = app.owner().await?;
    let first = replica_ids(&app.base, &owner.token).await?;
    assert_eq!(first.len(), 1);

    let second = app.spawn_replica().await?;
    let both = replica_ids(&second.base, &owner.token).await?;
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[0], first[0], "oldest first");
    assert_eq!(replica_ids(&app.base, &owner.token).await?, both);

    second.stop().await?;
    assert_eq!(replica_ids(&app.base, &owner.token).await?, first);
    Ok(())
}

/// What a user may do, asked of the server `ask` sends to: read the audit log
/// (auditors see entries) and the default organization's group sync settings
/// (organization admins, or a custom role allowing it).
async fn powers<F, Fut>(ask: F) -> anyhow::Result<(bool, bool)>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<warden_tests::Reply>>,
{
    let audit = ask("/api/v2/audit".into()).await?;
    anyhow::ensure!(audit.status == StatusCode::OK, "{audit:?}");
    let sync = ask("/api/v2/organizations/coder/settings/idpsync/groups".into()).await?;
    Ok((
        audit.body["count"].as_i64().unwrap_or_default() > 0,
        sync.status == StatusCode::OK,
    ))
}

/// A grant or revocation answered by one replica is enforced by the other on the
/// very next request, although that one has the user's session cached: site roles,
/// organization roles, a custom role's definition, API keys, suspension.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_replica_revokes_the_other_enforces_on_the_next_request() -> anyhow::Result<()> {
    let app = TestApp::spawn(Backend::Postgres).await?;
    let other = app.spawn_replica().await?;
    let owner = app.owner().await?;
    let bob = app.user(&owner, "bob").await?;
    let as_bob_on_other = || |path: String| other.get_owned(path, Some(bob.token.clone()));
    assert_eq!(powers(as_bob_on_other()).await?, (false, false));
    let users_roles = format!("/api/v2/users/{}/roles", bob.id);
    let org_roles = "/api/v2/organizations/coder/members/bob/roles";

    // Several rounds: a single lucky ordering proves nothing.
    for round in 0..5 {
        let granted = app
            .put_json(
                &users_roles,
                Some(&owner.token),
                json!({"roles": ["auditor"]}),
            )
            .await?;
        assert_eq!(granted.status, StatusCode::OK, "{granted:?}");
        assert_eq!(
            powers(as_bob_on_other()).await?,
            (true, false),
            "round {round}: site role granted"
        );
        let granted = app
            .put_json(
                org_roles,
                Some(&owner.token),
                json!({"roles": ["organization-admin"]}),
            )
            .await?;
        assert_eq!(granted.status, StatusCode::OK, "{granted:?}");
        assert_eq!(
            powers(as_bob_on_other()).await?,
            (true, true),
            "round {round}: organization role granted"
        );

        // (An organization admin reads the organization's audit log too.)
        let revoked = app
            .put_json(org_roles, Some(&owner.token), json!({"roles": []}))
            .await?;
        assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
        assert_eq!(
            powers(as_bob_on_other()).await?,
            (true, false),
            "round {round}: organization role revoked"
        );
        let revoked = app
            .put_json(&users_roles, Some(&owner.token), json!({"roles": []}))
            .await?;
        assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
        assert_eq!(
            powers(as_bob_on_other()).await?,
            (false, false),
            "round {round}: site role revoked"
        );
    }

    // A custom role: narrowing its definition revokes what it allowed.
    let role = |permissions: Value| {
        json!({
            "name": "sync-reader", "display_name": "Sync Reader",
            "organization_permissions": permissions,
        })
    };
    let reads_sync =
        json!([{"negate": false, "resource_type": "idpsync_settings", "action": "read"}]);
    let created = app
        .post(
            "/api/v2/organizations/coder/members/roles",
            Some(&owner.token),
            role(reads_sync.clone()),
        )
        .await?;
    assert_eq!(created.status, StatusCode::OK, "{created:?}");
    let assigned = app
        .put_json(
            org_roles,
            Some(&owner.token),
            json!({"roles": ["sync-reader"]}),
        )
        .await?;
    assert_eq!(assigned.status, StatusCode::OK, "{assigned:?}");
    for round in 0..5 {
        assert_eq!(
            powers(as_bob_on_other()).await?,
            (false, true),
            "round {round}: custom role allows"
        );
        let narrowed = app
            .put_json(
                "/api/v2/organizations/coder/members/roles",
                Some(&owner.token),
                role(json!([])),
            )
            .await?;
        assert_eq!(narrowed.status, StatusCode::OK, "{narrowed:?}");
        assert_eq!(
            powers(as_bob_on_other()).await?,
            (false, false),
            "round {round}: custom role narrowed"
        );
        let widened = app
            .put_json(
                "/api/v2/organizations/coder/members/roles",
                Some(&owner.token),
                role(reads_sync.clone()),
            )
            .await?;
        assert_eq!(widened.status, StatusCode::OK, "{widened:?}");
    }

    // An API key deleted on one replica stops working on the other at once.
    for round in 0..5 {
        let token = app.login(&bob.email, warden_tests::PASSWORD).await?;
        assert_eq!(
            other.get("/api/v2/users/me", Some(&token)).await?.status,
            StatusCode::OK
        );
        let key_id = token.split('-').next().unwrap_or_default();
        let deleted = app
            .delete(
                &format!("/api/v2/users/bob/keys/{key_id}"),
                Some(&owner.token),
            )
            .await?;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
        let refused = other.get("/api/v2/users/me", Some(&token)).await?;
        assert_eq!(
            refused.status,
            StatusCode::UNAUTHORIZED,
            "round {round}: {refused:?}"
        );
    }

    // And so does a suspended user's session.
    assert_eq!(
        other
            .get("/api/v2/users/me", Some(&bob.token))
            .await?
            .status,
        StatusCode::OK
    );
    let suspended = app
        .put("/api/v2/users/bob/status/suspend", Some(&owner.token))
        .await?;
    assert_eq!(suspended.status, StatusCode::OK);
    let refused = other.get("/api/v2/users/me", Some(&bob.token)).await?;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{refused:?}");
    other.stop().await
}
