//! Operability, tried on the binary as an operator runs it, on both backends: the
//! Prometheus metrics listener (off by default; scraped and parsed here) and
//! graceful shutdown (a request in flight at SIGTERM finishes and its write is
//! kept; the listener closes at once; the exit is clean).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Running, free_address, get, send, two_free_addresses};
use warden_storage::Backend;
use warden_storage::testing::TestDatabase;

/// One sample of the text exposition format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parses Prometheus' text exposition format strictly: every line is a `# HELP`,
/// `# TYPE` or a sample `name{label="value",...} number`; anything else fails.
fn parse_exposition(text: &str) -> (Vec<Sample>, HashMap<String, String>) {
    let mut samples = Vec::new();
    let mut types = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let labels = body
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, HashMap::new()),
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name: {line}"
        );
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    (samples, types)
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    samples.iter().find(|s| {
        s.name == name
            && labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

fn metrics_are_served_on_their_own_listener(backend: Backend) {
    let db = TestDatabase::create(backend);
    let (address, metrics) = two_free_addresses();
    let running = Running::start(
        &address,
        &[
            "--database-url",
            db.url(),
            "--http-address",
            &address,
            "--prometheus-address",
            &metrics,
            "--scim-api-key",
            "scim-key",
        ],
        &[],
    );
    assert_eq!(get(&address, "/api/v2/buildinfo").unwrap().0, 200);
    let first = r#"{"email":"admin@example.com","username":"admin","password":"A-long-Passw0rd!"}"#;
    assert_eq!(
        send(
            &address,
            "POST",
            "/api/v2/users/first",
            &["Content-Type: application/json"],
            first
        )
        .unwrap()
        .0,
        201
    );
    let wrong = r#"{"email":"admin@example.com","password":"not-the-Passw0rd"}"#;
    assert_eq!(
        send(
            &address,
            "POST",
            "/api/v2/users/login",
            &["Content-Type: application/json"],
            wrong
        )
        .unwrap()
        .0,
        401
    );
    let right = r#"{"email":"admin@example.com","password":"A-long-Passw0rd!"}"#;
    let (status, body) = send(
        &address,
        "POST",
        "/api/v2/users/login",
        &["Content-Type: application/json"],
        right,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let session = format!(
        "Coder-Session-Token: {}",
        token["session_token"].as_str().unwrap()
    );
    assert_eq!(
        send(
            &address,
            "GET",
            "/api/v2/organizations/coder",
            &[&session],
            ""
        )
        .unwrap()
        .0,
        200
    );
    assert_eq!(
        send(
            &address,
            "GET",
            "/scim/v2/Users",
            &["Authorization: Bearer scim-key"],
            ""
        )
        .unwrap()
        .0,
        200
    );
    assert_eq!(
        send(
            &address,
            "POST",
            "/oauth2/tokens",
            &["Content-Type: application/x-www-form-urlencoded"],
            "grant_type=password"
        )
        .unwrap()
        .0,
        400
    );

    // The API listener does not serve metrics; the metrics listener serves nothing else.
    assert_eq!(get(&address, "/metrics").unwrap().0, 404);
    assert_eq!(send(&metrics, "POST", "/metrics", &[], "").unwrap().0, 405);
    let (status, text) = get(&metrics, "/metrics").unwrap();
    assert_eq!(status, 200);
    let (samples, types) = parse_exposition(&text);

    let requests = find(
        &samples,
        "warden_http_requests_total",
        &[
            ("method", "GET"),
            ("route", "/api/v2/buildinfo"),
            ("status", "200"),
        ],
    )
    .unwrap_or_else(|| panic!("requests by route template and status:\n{text}"));
    assert!(requests.value >= 1.0);
    assert_eq!(types["warden_http_requests_total"], "counter");
    assert_eq!(types["warden_http_request_duration_seconds"], "histogram");
    assert!(
        find(
            &samples,
            "warden_http_request_duration_seconds_bucket",
            &[
                ("route", "/api/v2/organizations/{organization}"),
                ("le", "+Inf"),
            ]
        )
        .is_some(),
        "latency by route template, not by concrete path:\n{text}"
    );
    assert!(
        find(
            &samples,
            "warden_http_requests_total",
            &[("route", "/api/v2/organizations/coder")]
        )
        .is_none()
    );

    assert_eq!(types["warden_db_query_duration_seconds"], "histogram");
    assert!(
        find(&samples, "warden_db_query_duration_seconds_count", &[])
            .unwrap()
            .value
            >= 1.0
    );
    let max = find(&samples, "warden_db_pool_connections", &[("state", "max")])
        .unwrap()
        .value;
    let open = find(&samples, "warden_db_pool_connections", &[("state", "open")])
        .unwrap()
        .value;
    assert!(
        max >= 1.0 && open >= 1.0 && open <= max,
        "pool use: open {open} of {max}"
    );
    if backend == Backend::Sqlite {
        assert!(
            find(&samples, "warden_db_commit_batch_size_count", &[])
                .unwrap()
                .value
                >= 1.0,
            "group-commit batches:\n{text}"
        );
    }

    let allowed = find(
        &samples,
        "warden_authz_decisions_total",
        &[("result", "allow")],
    )
    .unwrap()
    .value;
    assert!(
        allowed >= 1.0,
        "reading an organization is an authorization decision"
    );
    assert!(
        find(
            &samples,
            "warden_authz_decisions_total",
            &[("result", "deny")]
        )
        .is_some()
    );
    assert_eq!(
        find(
            &samples,
            "warden_sign_ins_total",
            &[("method", "password"), ("result", "rejected")]
        )
        .unwrap()
        .value,
        1.0
    );
    assert_eq!(
        find(
            &samples,
            "warden_sign_ins_total",
            &[("method", "password"), ("result", "success")]
        )
        .unwrap()
        .value,
        1.0
    );
    assert_eq!(
        find(
            &samples,
            "warden_scim_operations_total",
            &[
                ("resource", "Users"),
                ("operation", "list"),
                ("status", "200")
            ]
        )
        .unwrap()
        .value,
        1.0
    );
    assert_eq!(
        find(
            &samples,
            "warden_oauth2_token_requests_total",
            &[
                ("grant_type", "unsupported"),
                ("result", "unsupported_grant_type")
            ]
        )
        .unwrap()
        .value,
        1.0
    );
    assert!(
        find(
            &samples,
            "warden_oauth2_requests_total",
            &[("endpoint", "tokens"), ("status", "400")]
        )
        .is_some()
    );

    let logs = running.stop();
    assert!(
        logs.contains(&format!("prometheus_address={metrics}")),
        "{logs}"
    );
}

fn metrics_are_off_by_default(backend: Backend) {
    let db = TestDatabase::create(backend);
    let address = free_address();
    let running = Running::start(
        &address,
        &["--database-url", db.url(), "--http-address", &address],
        &[],
    );
    let logs = running.stop();
    assert!(logs.contains("prometheus_address=(off)"), "{logs}");
}

fn sigterm_lets_the_request_in_flight_finish(backend: Backend) {
    let db = TestDatabase::create(backend);
    let address = free_address();
    let args = ["--database-url", db.url(), "--http-address", &address];
    let running = Running::start(&address, &args, &[]);

    // A request whose body is still arriving when SIGTERM comes.
    let body = r#"{"email":"admin@example.com","username":"admin","password":"A-long-Passw0rd!"}"#;
    let (head, tail) = body.split_at(body.len() / 2);
    let mut in_flight = TcpStream::connect(&address).unwrap();
    write!(
        in_flight,
        "POST /api/v2/users/first HTTP/1.0\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    in_flight.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    running.terminate();

    // The listener closes at once: nobody new gets in.
    let closed = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        TcpStream::connect(&address).is_err()
    });
    assert!(closed, "the listener closes on SIGTERM");

    in_flight.write_all(tail.as_bytes()).unwrap();
    let mut response = String::new();
    in_flight.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.0 201"),
        "the request in flight finishes: {response}"
    );
    running.wait_for_clean_exit();

    // Its write was committed before it answered: a new process sees it.
    let again = Running::start(&address, &args, &[]);
    let (status, body) = get(&address, "/api/v2/users/first").unwrap();
    assert_eq!(status, 200, "the first user exists: {body}");
    again.stop();
}

on_both_backends!(
    metrics_are_served_on_their_own_listener,
    metrics_are_off_by_default,
    sigterm_lets_the_request_in_flight_finish,
);
