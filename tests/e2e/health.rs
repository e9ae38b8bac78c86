//! `GET /healthz` (liveness) and `GET /readyz` (readiness): unauthenticated, plain
//! `OK`; readiness follows the database through an outage and back.

use std::time::Duration;

use serde_json::Value;
use warden_tests::{Backend, StatusCode, TestApp, on_both_backends};

/// Status, content type and body of an unauthenticated GET.
async fn probe(app: &TestApp, path: &str) -> anyhow::Result<(StatusCode, String, String)> {
    let res = reqwest::get(format!("{}{path}", app.base)).await?;
    let status = res.status();
    let content_type = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, content_type, res.text().await?))
}

on_both_backends! {
    async fn liveness_and_readiness_answer_ok_without_credentials(app: TestApp) {
        for path in ["/healthz", "/readyz"] {
            let (status, content_type, body) = probe(&app, path).await?;
            assert_eq!((status, body.as_str()), (StatusCode::OK, "OK"), "{path}");
            assert!(content_type.starts_with("text/plain"), "{path}: {content_type}");
        }
        let wrong_method = app.post("/healthz", None, serde_json::json!({})).await?;
        assert_ne!(wrong_method.status, StatusCode::OK, "only GET is routed");
        Ok(())
    }
}

/// While PostgreSQL refuses this server, readiness answers 503 in Coder's error shape
/// and liveness stays 200; once it is back, readiness recovers without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_a_database_outage() -> anyhow::Result<()> {
    let app = TestApp::spawn(Backend::Postgres).await?;
    assert_eq!(probe(&app, "/readyz").await?.0, StatusCode::OK);

    app.database().set_reachable(false);
    let (status, content_type, body) = probe(&app, "/readyz").await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let error: Value = serde_json::from_str(&body)?;
    assert_eq!(
        error["message"], "The database is not reachable.",
        "{error}"
    );
    assert!(
        error["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{error}"
    );
    assert_eq!(
        probe(&app, "/healthz").await?.0,
        StatusCode::OK,
        "liveness ignores the database"
    );

    app.database().set_reachable(true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = probe(&app, "/readyz").await?;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "readiness did not recover: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
