//! `cargo xtask bench scim`: SCIM provisioning through the release binary. Provisions
//! users by `POST /scim/v2/Users` (Okta's shape), then measures Okta's existence check
//! `filter=userName eq "…"` at that population; then, with `--group-members N`,
//! provisions N more users and times one `PATCH /scim/v2/Groups/{id}` adding all N
//! to an empty group (Okta's Group Push shape), p50 over 5 groups.

use std::time::{Duration, Instant};

use anyhow::ensure;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::bench::{start_warden_scim, warden_token};

const KEY: &str = "bench-scim-key";

async fn send(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = http
        .request(method, format!("{base}{path}"))
        .header("Authorization", format!("Bearer {KEY}"));
    if let Some(body) = body {
        req = req
            .header("Content-Type", "application/scim+json")
            .body(body.to_string());
    }
    let res = req.send().await?;
    let status = res.status().as_u16();
    let bytes = res.bytes().await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx].as_secs_f64() * 1000.0
}

fn user(i: usize) -> Value {
    let name = format!("user{i:06}@bench.test");
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "Bench", "familyName": format!("User {i}")},
        "emails": [{"primary": true, "value": name, "type": "work"}],
        "externalId": format!("ext-{i}"),
        "active": true,
    })
}

/// Provisions `users` and measures; returns Markdown table rows.
pub fn run(
    users: usize,
    group_members: usize,
    label: &str,
    database_url: &str,
) -> anyhow::Result<Vec<String>> {
    warden_token(database_url)?;
    let server = start_warden_scim(database_url, KEY)?;
    let base = format!("http://{}", server.address);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?;
        let mut lines = Vec::new();
        let started = Instant::now();
        let mut results = futures_util::stream::iter((0..users).map(|i| {
            send(
                &http,
                &base,
                reqwest::Method::POST,
                "/scim/v2/Users".into(),
                Some(user(i)),
            )
        }))
        .buffer_unordered(32);
        while let Some(result) = results.next().await {
            let (status, body) = result?;
            ensure!(status == 201, "provisioning failed with {status}: {body}");
        }
        let rate = users as f64 / started.elapsed().as_secs_f64();
        lines.push(format!(
            "| {label} | provision {users} users by `POST /scim/v2/Users`, 32 in flight | {rate:.0} users/s |"
        ));
        let mut samples = Vec::new();
        for n in 0..1000usize {
            let i = (n * 7919) % users;
            let filter = format!("userName%20eq%20%22user{i:06}%40bench.test%22");
            let t = Instant::now();
            let (status, body) = send(
                &http,
                &base,
                reqwest::Method::GET,
                format!("/scim/v2/Users?filter={filter}"),
                None,
            )
            .await?;
            samples.push(t.elapsed());
            ensure!(
                status == 200 && body["totalResults"] == 1,
                "lookup failed: {status} {body}"
            );
        }
        lines.push(format!(
            "| {label} | `GET /scim/v2/Users?filter=userName eq \"…\"` at {users} users, sequential | p50 {:.2} ms, p99 {:.2} ms |",
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.99)
        ));
        if group_members > 0 {
            lines.push(group_patch(&http, &base, group_members, label).await?);
        }
        Ok(lines)
    })
}

/// Provisions `n` members, then times one PATCH adding all of them to a fresh group,
/// five times; returns the Markdown row.
async fn group_patch(
    http: &reqwest::Client,
    base: &str,
    n: usize,
    label: &str,
) -> anyhow::Result<String> {
    let mut ids = Vec::with_capacity(n);
    let mut results = futures_util::stream::iter((0..n).map(|i| {
        let name = format!("member{i:06}@bench.test");
        send(
            http,
            base,
            reqwest::Method::POST,
            "/scim/v2/Users".into(),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name,
                "emails": [{"primary": true, "value": name, "type": "work"}],
                "active": true,
            })),
        )
    }))
    .buffer_unordered(32);
    while let Some(result) = results.next().await {
        let (status, body) = result?;
        ensure!(status == 201, "provisioning failed with {status}: {body}");
        ids.push(body["id"].clone());
    }
    let members: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"value": id, "display": format!("member{i:06}@bench.test")}))
        .collect();
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}],
    });
    let mut samples = Vec::new();
    for rep in 0..5 {
        let (status, group) = send(
            http,
            base,
            reqwest::Method::POST,
            "/scim/v2/Groups".into(),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": format!("Bench group {rep}"),
                "members": [],
            })),
        )
        .await?;
        ensure!(
            status == 201,
            "group creation failed with {status}: {group}"
        );
        let id = group["id"].as_str().unwrap_or_default().to_owned();
        let t = Instant::now();
        let (status, body) = send(
            http,
            base,
            reqwest::Method::PATCH,
            format!("/scim/v2/Groups/{id}"),
            Some(patch.clone()),
        )
        .await?;
        samples.push(t.elapsed());
        ensure!(
            status == 200 && body["members"].as_array().map(Vec::len) == Some(n),
            "group PATCH failed: {status} {body}"
        );
    }
    Ok(format!(
        "| {label} | one `PATCH /scim/v2/Groups/{{id}}` adding {n} members to an empty group | p50 {:.1} ms |",
        percentile(&mut samples, 0.5)
    ))
}
