//! The `warden` binary as an operator runs it: migrate, bootstrap an owner, serve,
//! and stop gracefully on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_warden");

fn get(address: &str, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    let auth = token
        .map(|t| format!("Coder-Session-Token: {t}\r\n"))
        .unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n{auth}\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    Some((status, body))
}

#[test]
fn migrate_bootstrap_serve_and_stop_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("warden-bin-{}", std::process::id()));
    let url = format!("sqlite://{}/nested/warden.db", dir.display());

    let migrate = Command::new(BIN)
        .args(["--database-url", &url, "migrate"])
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(
        dir.join("nested/warden.db").exists(),
        "the SQLite file and its folder are created"
    );

    let bootstrap = Command::new(BIN)
        .args([
            "--database-url",
            &url,
            "create-first-user",
            "--email",
            "ops@example.com",
            "--username",
            "ops",
            "--password",
            "Operator-Password-1",
            "--print-token",
        ])
        .output()
        .unwrap();
    assert!(
        bootstrap.status.success(),
        "{}",
        String::from_utf8_lossy(&bootstrap.stderr)
    );
    let stdout = String::from_utf8(bootstrap.stdout).unwrap();
    assert!(stdout.starts_with("user_id="), "{stdout}");
    let token = stdout.lines().last().unwrap().to_owned();
    assert_eq!(token.len(), 33);

    let again = Command::new(BIN)
        .args([
            "--database-url",
            &url,
            "create-first-user",
            "--email",
            "x@example.com",
            "--username",
            "x",
            "--password",
            "Operator-Password-1",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success(), "a second first user is refused");

    let address = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut server = Command::new(BIN)
        .args([
            "--database-url",
            &url,
            "--log-format",
            "json",
            "server",
            "--http-address",
            &address,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let (status, body) = loop {
        if let Some(reply) = get(&address, "/api/v2/users/me", Some(&token)) {
            break reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server never answered"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"username\":\"ops\""), "{body}");

    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = server.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "no graceful exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "SIGTERM is a clean stop: {exit:?}");
    let mut logs = String::new();
    server
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let request_line = logs
        .lines()
        .find(|l| l.contains("\"route\":\"/api/v2/users/{user}\""))
        .unwrap_or_else(|| panic!("one JSON log line per request: {logs}"));
    for field in ["\"method\":\"GET\"", "\"status\":200", "\"latency_us\":"] {
        assert!(request_line.contains(field), "{field} in {request_line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_database_schemes_are_refused() {
    let out = Command::new(BIN)
        .args(["--database-url", "mysql://x", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}
