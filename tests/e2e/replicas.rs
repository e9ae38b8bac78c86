//! `GET /api/v2/replicas`: every server process on the database reports itself, and
//! owners can see which are alive.

use serde_json::Value;
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
