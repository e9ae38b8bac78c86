//! Server settings reach the server however an operator gives them: bare `warden`
//! and `warden server` take the same flags and `WARDEN_*` variables. Each test
//! starts the real binary, on SQLite and on PostgreSQL, and proves from the outside
//! that the settings took effect (the address it answers on, the access URL it
//! reports) and that the logged effective configuration hides secrets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warden_storage::Backend;
use warden_storage::testing::TestDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_warden");

fn free_address() -> String {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

fn get(address: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split("\r\n\r\n").nth(1)?.to_owned();
    Some((status, body))
}

/// A running `warden`; killed when dropped, its log read on [`Self::stop`].
struct Running {
    child: Child,
    address: String,
}

impl Running {
    fn start(address: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in std::env::vars().filter(|(k, _)| k.starts_with("WARDEN_")) {
            command.env_remove(var.0);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut running = Self {
            child: command.spawn().unwrap(),
            address: address.to_owned(),
        };
        let started = Instant::now();
        while get(address, "/api/v2/buildinfo").is_none() {
            if let Some(exit) = running.child.try_wait().unwrap() {
                panic!("warden exited with {exit}: {}", running.logs());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "warden never answered on {address}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        running
    }

    fn build_info(&self) -> serde_json::Value {
        let (status, body) = get(&self.address, "/api/v2/buildinfo").unwrap();
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    fn logs(&mut self) -> String {
        let mut logs = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        logs
    }

    /// SIGTERM, a clean exit, and the log it wrote.
    fn stop(mut self) -> String {
        let term = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        let logs = self.logs();
        assert!(exit.success(), "SIGTERM is a clean stop: {exit:?}\n{logs}");
        logs
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn effective_config_line(logs: &str) -> &str {
    logs.lines()
        .find(|l| l.contains("http_address="))
        .unwrap_or_else(|| panic!("the effective configuration is logged at start: {logs}"))
}

fn bare_warden_reads_the_environment(backend: Backend) {
    let db = TestDatabase::create(backend);
    let address = free_address();
    let access_url = "https://warden.example.com";
    let running = Running::start(
        &address,
        &[],
        &[
            ("WARDEN_DATABASE_URL", db.url()),
            ("WARDEN_HTTP_ADDRESS", &address),
            ("WARDEN_ACCESS_URL", access_url),
            ("WARDEN_SCIM_API_KEY", "scim-secret-from-env"),
        ],
    );
    assert_eq!(running.build_info()["dashboard_url"], access_url);
    let logs = running.stop();
    let line = effective_config_line(&logs);
    assert!(line.contains(&format!("http_address={address}")), "{line}");
    assert!(line.contains("scim_api_key=***"), "{line}");
    assert!(
        !logs.contains("scim-secret-from-env"),
        "secret leaked: {logs}"
    );
}

fn bare_warden_takes_server_flags(backend: Backend) {
    let db = TestDatabase::create(backend);
    let address = free_address();
    let access_url = "https://flags.example.com";
    let running = Running::start(
        &address,
        &[
            "--database-url",
            db.url(),
            "--http-address",
            &address,
            "--access-url",
            access_url,
            "--scim-api-key",
            "scim-secret-from-flag",
        ],
        &[],
    );
    assert_eq!(running.build_info()["dashboard_url"], access_url);
    let logs = running.stop();
    assert!(effective_config_line(&logs).contains(&format!("http_address={address}")));
    assert!(
        !logs.contains("scim-secret-from-flag"),
        "secret leaked: {logs}"
    );
}

fn server_subcommand_takes_flags_and_environment(backend: Backend) {
    let db = TestDatabase::create(backend);
    let address = free_address();
    let running = Running::start(
        &address,
        &["server", "--http-address", &address],
        &[
            ("WARDEN_DATABASE_URL", db.url()),
            ("WARDEN_ACCESS_URL", "https://sub.example.com"),
        ],
    );
    assert_eq!(
        running.build_info()["dashboard_url"],
        "https://sub.example.com"
    );
    running.stop();
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(warden_storage::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(warden_storage::Backend::Postgres) })*
        }
    };
}

on_both_backends!(
    bare_warden_reads_the_environment,
    bare_warden_takes_server_flags,
    server_subcommand_takes_flags_and_environment,
);

#[test]
fn server_flags_before_another_subcommand_are_refused() {
    let out = Command::new(BIN)
        .args(["--http-address", "127.0.0.1:1", "migrate"])
        .env_remove("WARDEN_HTTP_ADDRESS")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a usage error, as clap reports them"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--http-address is a server setting"),
        "the error names the flag: {stderr}"
    );
}

#[test]
fn server_settings_from_the_environment_do_not_disturb_other_subcommands() {
    let out = Command::new(BIN)
        .arg("openapi")
        .env("WARDEN_HTTP_ADDRESS", "127.0.0.1:1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"openapi\""));
}
