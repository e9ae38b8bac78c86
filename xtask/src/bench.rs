//! `cargo xtask bench http`: load-tests the release `warden` binary with `wrk`
//! against a bare actix-web handler in the same run, on SQLite and PostgreSQL, and
//! measures idle RSS and time to first served request.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Subcommand;

use crate::root;

#[derive(Subcommand)]
pub enum BenchTask {
    /// Authenticated `GET /api/v2/users/me` vs. a bare handler; RSS; startup time.
    Http {
        /// Seconds per load run.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: u32,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(
            long,
            env = "WARDEN_TEST_POSTGRES_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        postgres: String,
    },
}

pub fn run(task: BenchTask) -> anyhow::Result<()> {
    match task {
        BenchTask::Http {
            duration,
            connections,
            postgres,
        } => http(duration, connections, &postgres),
    }
}

/// A child process killed on drop.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS")
    }
}

fn free_address() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn get_status(address: SocketAddr, path: &str, token: Option<&str>) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(200)).ok()?;
    let auth = token
        .map(|t| format!("Coder-Session-Token: {t}\r\n"))
        .unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: bench\r\n{auth}\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

fn wait_ready(address: SocketAddr, path: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if get_status(address, path, None).is_some() {
            return Ok(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    bail!("server at {address} did not answer")
}

fn warden_bin() -> PathBuf {
    root().join("target/release/warden")
}

fn start_warden(database_url: &str) -> anyhow::Result<(Server, Duration)> {
    let address = free_address()?;
    let started = Instant::now();
    let child = Command::new(warden_bin())
        .args([
            "--database-url",
            database_url,
            "server",
            "--http-address",
            &address.to_string(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start warden")?;
    let server = Server { child, address };
    wait_ready(address, "/api/v2/buildinfo")?;
    Ok((server, started.elapsed()))
}

fn first_user_token(database_url: &str) -> anyhow::Result<String> {
    let out = Command::new(warden_bin())
        .args([
            "--database-url",
            database_url,
            "create-first-user",
            "--email",
            "bench@example.com",
            "--username",
            "bench",
            "--password",
            "Bench-Password-1!",
            "--print-token",
        ])
        .env("RUST_LOG", "warn")
        .output()?;
    ensure!(
        out.status.success(),
        "create-first-user failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)?
        .lines()
        .last()
        .map(str::to_owned)
        .context("no token printed")
}

struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn wrk(
    address: SocketAddr,
    token: Option<&str>,
    duration: u64,
    connections: u32,
) -> anyhow::Result<Load> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{duration}s"),
        "--latency",
    ]);
    if let Some(token) = token {
        cmd.args(["-H", &format!("Coder-Session-Token: {token}")]);
    }
    let out = cmd
        .arg(format!("http://{address}/api/v2/users/me"))
        .output()
        .context("cannot run wrk (apt-get install wrk)")?;
    let text = String::from_utf8(out.stdout)?;
    ensure!(!text.contains("Non-2xx"), "wrk saw errors:\n{text}");
    let field = |prefix: &str| -> anyhow::Result<String> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .with_context(|| format!("no {prefix:?} in wrk output:\n{text}"))
    };
    Ok(Load {
        rps: field("Requests/sec:")?.parse()?,
        p50_ms: millis(&field("50%")?)?,
        p99_ms: millis(&field("99%")?)?,
    })
}

fn millis(v: &str) -> anyhow::Result<f64> {
    let (num, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        bail!("unknown latency {v}")
    };
    Ok(num.parse::<f64>()? * factor)
}

fn psql(admin: &str, sql: &str) -> anyhow::Result<()> {
    let status = Command::new("psql")
        .args([admin, "-q", "-c", sql])
        .status()?;
    ensure!(status.success(), "psql {sql} failed");
    Ok(())
}

fn http(duration: u64, connections: u32, postgres: &str) -> anyhow::Result<()> {
    crate::cargo(&[
        "build",
        "--release",
        "-p",
        "warden",
        "--example",
        "baseline",
        "--bin",
        "warden",
    ])?;
    let scratch = std::env::temp_dir().join(format!("warden-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let sqlite_url = format!("sqlite://{}/bench.db", scratch.display());
    let pg_name = format!("warden_bench_{}", std::process::id());
    psql(postgres, &format!("DROP DATABASE IF EXISTS {pg_name}"))?;
    psql(postgres, &format!("CREATE DATABASE {pg_name}"))?;
    let pg_url = format!(
        "{}/{pg_name}",
        postgres.rsplit_once('/').map_or(postgres, |(b, _)| b)
    );

    let baseline_address = free_address()?;
    let baseline = Server {
        child: Command::new(root().join("target/release/examples/baseline"))
            .arg(baseline_address.to_string())
            .spawn()?,
        address: baseline_address,
    };
    wait_ready(baseline.address, "/api/v2/users/me")?;
    let bare = wrk(baseline.address, None, duration, connections)?;
    drop(baseline);

    let mut rows = vec![format!(
        "| bare actix-web handler (ceiling) | {:.0} | {:.2} | {:.2} | 100 % |",
        bare.rps, bare.p50_ms, bare.p99_ms
    )];
    let mut extra = Vec::new();
    for (label, url) in [
        ("SQLite", sqlite_url.as_str()),
        ("PostgreSQL", pg_url.as_str()),
    ] {
        let token = first_user_token(url)?;
        // Migrations are applied now; measure a warm start (median of 5).
        let mut starts = Vec::new();
        for _ in 0..5 {
            let (_server, startup) = start_warden(url)?;
            starts.push(startup);
        }
        starts.sort();
        let (server, _) = start_warden(url)?;
        ensure!(
            get_status(server.address, "/api/v2/users/me", Some(&token)) == Some(200),
            "token rejected"
        );
        std::thread::sleep(Duration::from_secs(1));
        let idle_rss = server.rss_kib()?;
        let load = wrk(server.address, Some(&token), duration, connections)?;
        rows.push(format!(
            "| authenticated `GET /users/me`, {label} | {:.0} | {:.2} | {:.2} | {:.0} % |",
            load.rps,
            load.p50_ms,
            load.p99_ms,
            100.0 * load.rps / bare.rps
        ));
        extra.push(format!(
            "- {label}: idle RSS {:.1} MB; start to first served request {:.0} ms (median of 5, migrations applied)",
            idle_rss as f64 / 1024.0,
            starts[2].as_secs_f64() * 1000.0
        ));
    }
    psql(
        postgres,
        &format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"),
    )?;
    let _ = std::fs::remove_dir_all(&scratch);

    println!(
        "wrk -t2 -c{connections} -d{duration}s, server and load generator on the same 2 cores\n"
    );
    println!("| endpoint | requests/s | p50 ms | p99 ms | of ceiling |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    println!();
    for line in extra {
        println!("{line}");
    }
    Ok(())
}
