//! Server settings reach the server however an operator gives them: bare `warden`
//! and `warden server` take the same flags and `WARDEN_*` variables. Each test
//! starts the real binary, on SQLite and on PostgreSQL, and proves from the outside
//! that the settings took effect (the address it answers on, the access URL it
//! reports) and that the logged effective configuration hides secrets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{BIN, Running, free_address};
use warden_storage::Backend;
use warden_storage::testing::TestDatabase;

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
