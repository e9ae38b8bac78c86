//! `cargo xtask bench members`: the members API at scale. Seeds 100 000 users (one
//! organization) and 1 000 groups through the real API of the release binary, then
//! measures paginated-members latency by page position, member reads against the bare
//! handler, and the rate of adding members.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::bench::{Server, start_baseline, start_warden_with, warden_token, wrk, wrk_with_script};

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn send(
        &self,
        method: reqwest::Method,
        path: impl Into<String>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path.into()))
            .header("Coder-Session-Token", &self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let bytes = res.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

/// Runs `count` requests made by `make`, `concurrency` at a time; returns requests/s.
async fn drive<F, Fut>(count: usize, concurrency: usize, make: F) -> anyhow::Result<f64>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(u16, Value)>>,
{
    let started = Instant::now();
    let mut results =
        futures_util::stream::iter((0..count).map(make)).buffer_unordered(concurrency);
    while let Some(result) = results.next().await {
        let (status, body) = result?;
        ensure!(
            (200..300).contains(&status),
            "request failed with {status}: {body}"
        );
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx].as_secs_f64() * 1000.0
}

pub fn run(
    users: usize,
    groups: usize,
    label: &str,
    database_url: &str,
    duration: u64,
) -> anyhow::Result<Vec<String>> {
    let token = warden_token(database_url)?;
    let server = start_warden_with(database_url, &["--database-max-connections", "8"])?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client = Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?,
        base: format!("http://{}", server.address),
        token,
    };
    runtime.block_on(measure(&client, &server, users, groups, label, duration))
}

async fn measure(
    client: &Client,
    server: &Server,
    users: usize,
    groups: usize,
    label: &str,
    duration: u64,
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let nil = "00000000-0000-0000-0000-000000000000";
    let seeded = Instant::now();
    let create_rate = drive(users, 32, |i| {
        client.send(
            reqwest::Method::POST,
            "/api/v2/users",
            Some(
                json!({"email": format!("u{i:06}@bench.test"), "username": format!("u{i:06}"),
                        "login_type": "none", "user_status": "active", "organization_ids": [nil]}),
            ),
        )
    })
    .await?;
    let group_rate = drive(groups, 16, |i| {
        client.send(
            reqwest::Method::POST,
            "/api/v2/organizations/coder/groups",
            Some(json!({"name": format!("g{i:04}")})),
        )
    })
    .await?;
    lines.push(format!(
        "- {label}: seeded {users} users through `POST /users` at {create_rate:.0}/s and {groups} groups at {group_rate:.0}/s ({:.0} s)",
        seeded.elapsed().as_secs_f64()
    ));

    // paginated-members, a page of 50 by after_id at three positions.
    let (_, first) = client
        .send(
            reqwest::Method::GET,
            "/api/v2/organizations/coder/paginated-members?limit=1",
            None,
        )
        .await?;
    ensure!(
        first["count"].as_i64() == Some(users as i64 + 1),
        "unexpected member count: {}",
        first["count"]
    );
    let mut row = format!("| {label} | paginated-members, 50 by `after_id` |");
    for position in [0usize, users / 2, users - 100] {
        let (_, anchor) = client
            .send(
                reqwest::Method::GET,
                &format!("/api/v2/organizations/coder/paginated-members?limit=1&offset={position}"),
                None,
            )
            .await?;
        let after = anchor["members"][0]["user_id"]
            .as_str()
            .context("no anchor")?
            .to_owned();
        let path =
            format!("/api/v2/organizations/coder/paginated-members?limit=50&after_id={after}");
        let mut samples = Vec::new();
        for _ in 0..200 {
            let started = Instant::now();
            let (status, page) = client
                .send(reqwest::Method::GET, path.as_str(), None)
                .await?;
            samples.push(started.elapsed());
            ensure!(
                status == 200 && page["members"].as_array().map(Vec::len) == Some(50),
                "bad page: {status}"
            );
        }
        row.push_str(&format!(
            " {:.2} / {:.2} |",
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.99)
        ));
    }
    lines.push(row);

    // Member reads against the bare handler, with wrk.
    let (_, member) = client
        .send(
            reqwest::Method::GET,
            &format!(
                "/api/v2/organizations/coder/paginated-members?limit=1&offset={}",
                users / 2
            ),
            None,
        )
        .await?;
    let user_id = member["members"][0]["user_id"]
        .as_str()
        .context("no member")?
        .to_owned();
    let read = wrk(
        server.address,
        Some(&client.token),
        &format!("/api/v2/organizations/coder/members/{user_id}"),
        duration,
        64,
    )?;
    let baseline = start_baseline()?;
    let bare = wrk(baseline.address, None, "/api/v2/users/me", duration, 64)?;
    drop(baseline);
    lines.push(format!(
        "| {label} | `GET /organizations/{{org}}/members/{{user}}` | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms; bare handler {:.0} req/s → {:.0} % |",
        read.rps, read.p50_ms, read.p99_ms, bare.rps, 100.0 * read.rps / bare.rps
    ));

    // Adding members: every seeded user joins a second organization.
    let (status, _) = client
        .send(
            reqwest::Method::POST,
            "/api/v2/organizations",
            Some(json!({"name": "bench"})),
        )
        .await?;
    ensure!(status == 201, "cannot create the bench organization");
    // wrk drives the adds (a lighter client than reqwest on the same cores): each
    // of its two threads walks its own half of the seeded usernames, one add each.
    let add_seconds = duration.min(5);
    let script = format!(
        r#"local threads = 0
function setup(thread)
  thread:set("next_user", threads)
  threads = threads + 1
end
function request()
  local path = string.format("/api/v2/organizations/bench/members/u%06d", next_user)
  next_user = next_user + 2
  if next_user > {users} then error("ran out of seeded users") end
  return wrk.format("POST", path)
end
"#
    );
    let adds = wrk_with_script(
        server.address,
        Some(&client.token),
        "/",
        Some(&script),
        add_seconds,
        32,
    )?;
    let (_, bench_members) = client
        .send(
            reqwest::Method::GET,
            "/api/v2/organizations/bench/paginated-members?limit=1",
            None,
        )
        .await?;
    lines.push(format!(
        "| {label} | `POST /organizations/{{org}}/members/{{user}}` (wrk, 32 connections, {add_seconds} s; {} members added) | {:.0} members/s, p50 {:.2} ms, p99 {:.2} ms |",
        bench_members["count"], adds.rps, adds.p50_ms, adds.p99_ms
    ));
    Ok(lines)
}
