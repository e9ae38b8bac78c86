//! `cargo xtask schemathesis`: the API fuzzed from its own OpenAPI document.
//!
//! For each engine, a fresh database and a debug `warden` with SCIM on; schemathesis
//! (Python, `pip install schemathesis==4.32.5`) then generates requests from
//! `docs/openapi.json` and runs every check it has (`--checks all`: no server error,
//! status codes, content types, headers and bodies as documented, schema-valid input
//! accepted, schema-violating input refused, 405 with `Allow` for other methods, …),
//! authenticated through `tests/schemathesis/warden_hooks.py` and configured by
//! `tests/schemathesis/schemathesis.toml`. The run passes when schemathesis reports
//! no failure, and Warden's own request counter (its Prometheus listener) shows at
//! least `--min-requests` answered and not one 5xx.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use crate::bench::{Engines, Scratch, create_first_user, free_address, spawn_warden};
use crate::root;

const EMAIL: &str = "schemathesis@example.com";
const PASSWORD: &str = "Schema-Thesis-Password-1!";
const SCIM_KEY: &str = "schemathesis-scim-key-0123456789abcdef";

/// What one engine's run saw.
struct Outcome {
    engine: &'static str,
    requests: u64,
    server_errors: u64,
    passed: bool,
}

pub fn run(
    engines: Engines,
    max_examples: u32,
    seed: u64,
    min_requests: u64,
    postgres: &str,
) -> anyhow::Result<()> {
    let version = Command::new("schemathesis").arg("--version").output();
    let Ok(version) = version.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()) else {
        bail!("schemathesis is not installed: pip install schemathesis==4.32.5");
    };
    println!("{version}");
    // The document fuzzed must be the one the server is built from.
    crate::openapi(true)?;
    crate::cargo(&["build", "-p", "warden", "--bin", "warden"])?;
    let scratch = Scratch::new("schemathesis", postgres)?;
    let mut outcomes = Vec::new();
    if engines.includes_sqlite() {
        outcomes.push(engine("SQLite", &scratch.sqlite_url, max_examples, seed)?);
    }
    if engines.includes_postgres() {
        outcomes.push(engine("PostgreSQL", &scratch.pg_url, max_examples, seed)?);
    }
    println!("\nengine       requests  5xx  schemathesis");
    for o in &outcomes {
        println!(
            "{:<12} {:>8} {:>4}  {}",
            o.engine,
            o.requests,
            o.server_errors,
            if o.passed { "passed" } else { "FAILED" }
        );
    }
    for o in &outcomes {
        ensure!(o.passed, "schemathesis found failures on {}", o.engine);
        ensure!(
            o.server_errors == 0,
            "{} answered {} 5xx",
            o.engine,
            o.server_errors
        );
        ensure!(
            o.requests >= min_requests,
            "{} answered only {} requests (at least {min_requests} wanted)",
            o.engine,
            o.requests
        );
    }
    Ok(())
}

fn engine(
    label: &'static str,
    database_url: &str,
    max_examples: u32,
    seed: u64,
) -> anyhow::Result<Outcome> {
    println!("\n==> schemathesis on {label}");
    let bin = root().join("target/debug/warden");
    create_first_user(&bin, database_url, [EMAIL, "schemathesis", PASSWORD], &[])?;
    let metrics = free_address()?;
    let server = spawn_warden(
        &bin,
        database_url,
        &["--prometheus-address", &metrics.to_string()],
        &[("RUST_LOG", "error"), ("WARDEN_SCIM_API_KEY", SCIM_KEY)],
    )?;
    let address = server.address;

    let base = format!("http://{address}");
    let dir = root().join("tests/schemathesis");
    let report = root().join(format!("target/schemathesis/{}", label.to_lowercase()));
    let status = Command::new("schemathesis")
        .arg("--config-file")
        .arg(dir.join("schemathesis.toml"))
        .arg("run")
        .arg(root().join("docs/openapi.json"))
        .args(["--url", &base, "--checks", "all", "--workers", "2"])
        .args(["--seed", &seed.to_string()])
        .args(["--max-examples", &max_examples.to_string()])
        .args(["--report", "junit", "--report-dir"])
        .arg(&report)
        .current_dir(&dir)
        .env("PYTHONPATH", &dir)
        .env("SCHEMATHESIS_HOOKS", "warden_hooks")
        .env("WARDEN_ST_URL", &base)
        .env("WARDEN_ST_EMAIL", EMAIL)
        .env("WARDEN_ST_PASSWORD", PASSWORD)
        .env("WARDEN_ST_SCIM_KEY", SCIM_KEY)
        .status()
        .context("cannot run schemathesis")?;
    let (requests, server_errors) = answered(metrics)?;
    drop(server);
    Ok(Outcome {
        engine: label,
        requests,
        server_errors,
        passed: status.success(),
    })
}

/// Requests answered and 5xx among them, from `warden_http_requests_total`.
fn answered(metrics: SocketAddr) -> anyhow::Result<(u64, u64)> {
    let mut stream = TcpStream::connect_timeout(&metrics, Duration::from_secs(2))?;
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: xtask\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let (mut total, mut server_errors) = (0, 0);
    for line in text
        .lines()
        .filter(|l| l.starts_with("warden_http_requests_total{"))
    {
        let Some((labels, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let count: u64 = count.parse::<f64>().map(|c| c as u64).unwrap_or(0);
        total += count;
        if labels.contains("status=\"5") {
            server_errors += count;
        }
    }
    ensure!(total > 0, "no request counted by warden's metrics");
    Ok((total, server_errors))
}
