//! `cargo xtask bench …`: load tests of the release `warden` binary with `wrk`, against
//! a bare actix-web handler measured in the same run (the ceiling).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Subcommand;

use crate::root;

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Subcommand)]
pub enum BenchTask {
    /// Authenticated `GET /api/v2/users/me` vs. a bare handler; idle RSS; startup time.
    Http {
        /// Seconds per load run.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: u32,
        /// PostgreSQL admin URL (a scratch database is created and dropped).
        #[arg(long, env = "WARDEN_TEST_POSTGRES_URL", default_value = DEFAULT_POSTGRES)]
        postgres: String,
    },
    /// Warden's RBAC engine against a Rego transcription of the same rules (regorus),
    /// on Coder's benchmark cases; the last line is the geomean summary.
    Rbac,
    /// IdP sync at sign-in: 200 group claims across 20 organizations, on both engines
    /// (the `idp_sync` example of the `warden` crate, release build).
    IdpSync,
    /// The members API at scale (100 000 users, 1 000 groups) on SQLite and PostgreSQL.
    Members {
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        #[arg(long, default_value_t = 1_000)]
        groups: usize,
        /// Seconds per wrk run.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        #[arg(long, env = "WARDEN_TEST_POSTGRES_URL", default_value = DEFAULT_POSTGRES)]
        postgres: String,
        /// Which engines to measure.
        #[arg(long, value_enum, default_value_t = Engines::Both)]
        backend: Engines,
    },
    /// SCIM provisioning (`POST /scim/v2/Users`) and `userName eq` lookups at scale.
    Scim {
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Also provision this many more users and time one group PATCH adding them
        /// all (p50 over 5 groups); 0 skips it.
        #[arg(long, default_value_t = 1_000)]
        group_members: usize,
        #[arg(long, env = "WARDEN_TEST_POSTGRES_URL", default_value = DEFAULT_POSTGRES)]
        postgres: String,
        /// Which engines to measure.
        #[arg(long, value_enum, default_value_t = Engines::Both)]
        backend: Engines,
    },
    /// OAuth2 refresh grants/s and introspections/s on SQLite and PostgreSQL.
    Oauth2 {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Refresh-token chains refreshed concurrently.
        #[arg(long, default_value_t = 32)]
        families: usize,
        #[arg(long, env = "WARDEN_TEST_POSTGRES_URL", default_value = DEFAULT_POSTGRES)]
        postgres: String,
    },
}

/// The storage engines a benchmark runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engines {
    Sqlite,
    Postgres,
    Both,
}

impl Engines {
    pub fn includes_sqlite(self) -> bool {
        self != Self::Postgres
    }

    pub fn includes_postgres(self) -> bool {
        self != Self::Sqlite
    }
}

pub fn run(task: BenchTask) -> anyhow::Result<()> {
    match task {
        BenchTask::Rbac => crate::cargo(&["bench", "-p", "warden-rbac", "--bench", "rbac"]),
        BenchTask::IdpSync => {
            crate::cargo(&["run", "--release", "-p", "warden", "--example", "idp_sync"])
        }
        BenchTask::Http {
            duration,
            connections,
            postgres,
        } => http(duration, connections, &postgres),
        BenchTask::Members {
            users,
            groups,
            duration,
            postgres,
            backend,
        } => members(users, groups, duration, &postgres, backend),
        BenchTask::Scim {
            users,
            group_members,
            postgres,
            backend,
        } => scim(users, group_members, &postgres, backend),
        BenchTask::Oauth2 {
            duration,
            families,
            postgres,
        } => oauth2(duration, families, &postgres),
    }
}

/// A child process killed on drop.
pub struct Server {
    pub child: Child,
    pub address: SocketAddr,
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

pub fn free_address() -> anyhow::Result<SocketAddr> {
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

pub fn wait_ready(address: SocketAddr, path: &str) -> anyhow::Result<Duration> {
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
    // Where `cargo build --release` put it: CARGO_TARGET_DIR when set.
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("release/warden")
}

/// Starts the release server with extra global flags; waits until it answers and
/// returns how long that took.
fn start_warden_timed(database_url: &str, extra: &[&str]) -> anyhow::Result<(Server, Duration)> {
    let address = free_address()?;
    let started = Instant::now();
    let child = Command::new(warden_bin())
        .args(["--database-url", database_url])
        .args(["server", "--http-address", &address.to_string()])
        // After `server`: common flags are accepted anywhere, server flags only there.
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start warden")?;
    let server = Server { child, address };
    wait_ready(address, "/api/v2/buildinfo")?;
    Ok((server, started.elapsed()))
}

/// Starts the release server with extra flags (common or server ones).
pub fn start_warden_with(database_url: &str, extra: &[&str]) -> anyhow::Result<Server> {
    Ok(start_warden_timed(database_url, extra)?.0)
}

/// Bootstraps the first user of a fresh database and returns a session token.
pub fn warden_token(database_url: &str) -> anyhow::Result<String> {
    let printed = create_first_user(
        &warden_bin(),
        database_url,
        ["bench@example.com", "bench", "Bench-Password-1!"],
        &["--print-token"],
    )?;
    printed
        .lines()
        .last()
        .map(str::to_owned)
        .context("no token printed")
}

/// Runs `bin create-first-user` with `[email, username, password]` (and `extra` flags)
/// on a fresh database; returns what it printed.
pub fn create_first_user(
    bin: &std::path::Path,
    database_url: &str,
    [email, username, password]: [&str; 3],
    extra: &[&str],
) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .args(["--database-url", database_url, "create-first-user"])
        .args([
            "--email",
            email,
            "--username",
            username,
            "--password",
            password,
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()?;
    ensure!(
        out.status.success(),
        "create-first-user failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// Starts the bare actix-web handler (the ceiling).
pub fn start_baseline() -> anyhow::Result<Server> {
    let address = free_address()?;
    let child = Command::new(root().join("target/release/examples/baseline"))
        .arg(address.to_string())
        .spawn()?;
    let server = Server { child, address };
    wait_ready(address, "/api/v2/users/me")?;
    Ok(server)
}

/// What a wrk run reported.
pub struct Load {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Runs wrk (2 threads) for `duration` seconds against `path` and reads its summary.
pub fn wrk(
    address: SocketAddr,
    token: Option<&str>,
    path: &str,
    duration: u64,
    connections: u32,
) -> anyhow::Result<Load> {
    wrk_with_script(address, token, path, None, duration, connections)
}

/// [`wrk`] with a Lua script deciding each request (method, path, body).
pub fn wrk_with_script(
    address: SocketAddr,
    token: Option<&str>,
    path: &str,
    script: Option<&str>,
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
    let script_file = match script {
        Some(lua) => {
            let file = std::env::temp_dir().join(format!(
                "warden-wrk-{}-{}.lua",
                std::process::id(),
                address.port()
            ));
            std::fs::write(&file, lua)?;
            cmd.arg("-s").arg(&file);
            Some(file)
        }
        None => None,
    };
    let out = cmd
        .arg(format!("http://{address}{path}"))
        .output()
        .context("cannot run wrk (apt-get install wrk)");
    if let Some(file) = script_file {
        let _ = std::fs::remove_file(file);
    }
    let text = String::from_utf8(out?.stdout)?;
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

/// A scratch SQLite file and a scratch PostgreSQL database, removed on drop.
pub struct Scratch {
    dir: PathBuf,
    postgres_admin: String,
    pg_name: String,
    pub sqlite_url: String,
    pub pg_url: String,
}

impl Scratch {
    pub fn new(tag: &str, postgres: &str) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("warden-bench-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let pg_name = format!("warden_bench_{tag}_{}", std::process::id());
        psql(postgres, &format!("DROP DATABASE IF EXISTS {pg_name}"))?;
        psql(postgres, &format!("CREATE DATABASE {pg_name}"))?;
        Ok(Self {
            sqlite_url: format!("sqlite://{}/bench.db", dir.display()),
            pg_url: format!(
                "{}/{pg_name}",
                postgres.rsplit_once('/').map_or(postgres, |(b, _)| b)
            ),
            dir,
            postgres_admin: postgres.to_owned(),
            pg_name,
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = psql(
            &self.postgres_admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.pg_name),
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn build_release() -> anyhow::Result<()> {
    crate::cargo(&[
        "build",
        "--release",
        "-p",
        "warden",
        "--example",
        "baseline",
        "--bin",
        "warden",
    ])
}

fn http(duration: u64, connections: u32, postgres: &str) -> anyhow::Result<()> {
    build_release()?;
    let scratch = Scratch::new("http", postgres)?;
    let baseline = start_baseline()?;
    let bare = wrk(
        baseline.address,
        None,
        "/api/v2/users/me",
        duration,
        connections,
    )?;
    drop(baseline);

    let mut rows = vec![format!(
        "| bare actix-web handler (ceiling) | {:.0} | {:.2} | {:.2} | 100 % |",
        bare.rps, bare.p50_ms, bare.p99_ms
    )];
    let mut extra = Vec::new();
    for (label, url) in [
        ("SQLite", scratch.sqlite_url.as_str()),
        ("PostgreSQL", scratch.pg_url.as_str()),
    ] {
        let token = warden_token(url)?;
        // Migrations are applied now: a warm start, median of 5.
        let mut starts = Vec::new();
        for _ in 0..5 {
            starts.push(start_warden_timed(url, &[])?.1);
        }
        starts.sort();
        let server = start_warden_with(url, &[])?;
        ensure!(
            get_status(server.address, "/api/v2/users/me", Some(&token)) == Some(200),
            "token rejected"
        );
        std::thread::sleep(Duration::from_secs(1));
        let idle_rss = server.rss_kib()?;
        let load = wrk(
            server.address,
            Some(&token),
            "/api/v2/users/me",
            duration,
            connections,
        )?;
        rows.push(format!(
            "| authenticated `GET /users/me`, {label} | {:.0} | {:.2} | {:.2} | {:.0} % |",
            load.rps,
            load.p50_ms,
            load.p99_ms,
            100.0 * load.rps / bare.rps
        ));
        drop(server);
        // The same load with the Prometheus listener on: what recording costs.
        let server = start_warden_with(url, &["--prometheus-address", "127.0.0.1:0"])?;
        let metered = wrk(
            server.address,
            Some(&token),
            "/api/v2/users/me",
            duration,
            connections,
        )?;
        rows.push(format!(
            "| the same, {label}, metrics on | {:.0} | {:.2} | {:.2} | {:.0} % |",
            metered.rps,
            metered.p50_ms,
            metered.p99_ms,
            100.0 * metered.rps / bare.rps
        ));
        extra.push(format!(
            "- {label}: idle RSS {:.1} MB; start to first served request {:.0} ms (median of 5, migrations applied)",
            idle_rss as f64 / 1024.0,
            starts[2].as_secs_f64() * 1000.0
        ));
    }
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

fn members(
    users: usize,
    groups: usize,
    duration: u64,
    postgres: &str,
    engines: Engines,
) -> anyhow::Result<()> {
    build_release()?;
    let scratch = Scratch::new("members", postgres)?;
    let mut lines = Vec::new();
    let runs = [
        (
            "SQLite",
            scratch.sqlite_url.as_str(),
            engines.includes_sqlite(),
        ),
        (
            "PostgreSQL",
            scratch.pg_url.as_str(),
            engines.includes_postgres(),
        ),
    ];
    for (label, url, _) in runs.into_iter().filter(|(_, _, wanted)| *wanted) {
        lines.extend(crate::bench_members::run(
            users, groups, label, url, duration,
        )?);
    }
    println!("paginated-members cells: p50 / p99 ms for a page at the start, middle and end\n");
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// Starts the release server with SCIM enabled under `key`.
pub fn start_warden_scim(database_url: &str, key: &str) -> anyhow::Result<Server> {
    spawn_warden(
        &warden_bin(),
        database_url,
        &[],
        &[("RUST_LOG", "warn"), ("WARDEN_SCIM_API_KEY", key)],
    )
}

/// Starts `bin` as a server on a free port with extra server flags and environment;
/// returns once it answers.
pub fn spawn_warden(
    bin: &std::path::Path,
    database_url: &str,
    flags: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<Server> {
    let address = free_address()?;
    let child = Command::new(bin)
        .args(["--database-url", database_url])
        .args(["server", "--http-address", &address.to_string()])
        .args(flags)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start warden")?;
    let server = Server { child, address };
    wait_ready(address, "/api/v2/buildinfo")?;
    Ok(server)
}

fn scim(
    users: usize,
    group_members: usize,
    postgres: &str,
    engines: Engines,
) -> anyhow::Result<()> {
    build_release()?;
    let scratch = Scratch::new("scim", postgres)?;
    let mut lines = Vec::new();
    let runs = [
        (
            "SQLite",
            scratch.sqlite_url.as_str(),
            engines.includes_sqlite(),
        ),
        (
            "PostgreSQL",
            scratch.pg_url.as_str(),
            engines.includes_postgres(),
        ),
    ];
    for (label, url, _) in runs.into_iter().filter(|(_, _, wanted)| *wanted) {
        lines.extend(crate::bench_scim::run(users, group_members, label, url)?);
    }
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

fn oauth2(duration: u64, families: usize, postgres: &str) -> anyhow::Result<()> {
    build_release()?;
    let scratch = Scratch::new("oauth2", postgres)?;
    let mut lines = vec![
        "| backend | refresh_token grant | introspection |".to_owned(),
        "|---|---|---|".to_owned(),
    ];
    for (label, url) in [
        ("SQLite", scratch.sqlite_url.as_str()),
        ("PostgreSQL", scratch.pg_url.as_str()),
    ] {
        lines.extend(crate::bench_oauth2::run(label, url, duration, families)?);
    }
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
