//! Faults a deployment lives through, on the real binary: the process killed with
//! SIGKILL in the middle of SCIM provisioning, and PostgreSQL going away under load
//! and coming back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::private_postgres::PrivatePostgres;
use common::{Running, free_address, send};
use serde_json::Value;
use warden_storage::Backend;
use warden_storage::testing::TestDatabase;

const SCIM_KEY: &str = "fault-test-scim-key";
const OWNER: &str =
    r#"{"email":"admin@example.com","username":"admin","password":"A-long-Passw0rd!"}"#;

fn server_args<'a>(url: &'a str, address: &'a str) -> [&'a str; 6] {
    [
        "--database-url",
        url,
        "--http-address",
        address,
        "--scim-api-key",
        SCIM_KEY,
    ]
}

fn provision(address: &str, username: &str) -> Option<(u16, String)> {
    let body = format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{username}","active":true,"emails":[{{"value":"{username}@example.com","primary":true}}]}}"#
    );
    send(
        address,
        "POST",
        "/scim/v2/Users",
        &[
            "Content-Type: application/scim+json",
            &format!("Authorization: Bearer {SCIM_KEY}"),
        ],
        &body,
    )
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Creates the owner (and with it the default organization) and returns a session
/// token.
fn owner_token(address: &str) -> String {
    let (status, body) = send(
        address,
        "POST",
        "/api/v2/users/first",
        &["Content-Type: application/json"],
        OWNER,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    login(address)
}

/// Signs the owner in.
fn login(address: &str) -> String {
    let login = r#"{"email":"admin@example.com","password":"A-long-Passw0rd!"}"#;
    let (status, body) = send(
        address,
        "POST",
        "/api/v2/users/login",
        &["Content-Type: application/json"],
        login,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    json(&body)["session_token"].as_str().unwrap().to_owned()
}

fn get_json(address: &str, path: &str, token: &str) -> Value {
    let (status, body) = send(
        address,
        "GET",
        path,
        &[&format!("Coder-Session-Token: {token}")],
        "",
    )
    .unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    json(&body)
}

/// SIGKILL while eight clients provision users as fast as they can, then a restart
/// on the same database: every user answered with 201 is there, and each user there
/// is whole (a user, its SCIM identity, its membership and its audit entry), whether
/// or not its client heard back.
fn sigkill_during_scim_provisioning_loses_no_201_and_leaves_nothing_half_written(backend: Backend) {
    let db = TestDatabase::create(backend);
    let address = free_address();
    let mut running = Running::start(&address, &server_args(db.url(), &address), &[]);
    owner_token(&address);

    let created = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(Mutex::new(Vec::<(u16, String)>::new()));
    let killed = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|client| {
            let (address, created, refused, killed) = (
                address.clone(),
                Arc::clone(&created),
                Arc::clone(&refused),
                Arc::clone(&killed),
            );
            std::thread::spawn(move || {
                for n in 0.. {
                    let username = format!("c{client}-u{n}");
                    match provision(&address, &username) {
                        Some((201, _)) => created.lock().unwrap().push(username),
                        // Cut off by the kill: whether it committed is unknown.
                        None => break,
                        Some(other) => {
                            if !killed.load(Ordering::SeqCst) {
                                refused.lock().unwrap().push(other);
                            }
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    while created.lock().unwrap().len() < 300 {
        assert!(
            refused.lock().unwrap().is_empty(),
            "refused: {:?}",
            refused.lock().unwrap()
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "provisioning too slow to test"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    killed.store(true, Ordering::SeqCst);
    running.child.kill().unwrap();
    running.child.wait().unwrap();
    for client in clients {
        client.join().unwrap();
    }
    assert!(
        refused.lock().unwrap().is_empty(),
        "refused before the kill: {:?}",
        refused.lock().unwrap()
    );
    let created = created.lock().unwrap().clone();

    let running = Running::start(&address, &server_args(db.url(), &address), &[]);
    let token = login(&address);
    let scim = |path: &str| {
        let (status, body) = send(
            &address,
            "GET",
            path,
            &[&format!("Authorization: Bearer {SCIM_KEY}")],
            "",
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
        json(&body)
    };
    for username in &created {
        let found = scim(&format!(
            "/scim/v2/Users?filter=userName%20eq%20%22{username}%22"
        ));
        assert_eq!(
            found["totalResults"], 1,
            "{username} was answered 201: {found}"
        );
    }
    // Whole: as many SCIM identities as users (the owner aside), as members of the
    // default organization, and as audited creations.
    let identities = scim("/scim/v2/Users?count=1")["totalResults"]
        .as_u64()
        .unwrap();
    assert!(
        identities >= created.len() as u64,
        "{identities} < {}",
        created.len()
    );
    let users = get_json(&address, "/api/v2/users?limit=1", &token)["count"]
        .as_u64()
        .unwrap();
    assert_eq!(users, identities + 1, "users against SCIM identities");
    let members = get_json(&address, "/api/v2/organizations/coder/members", &token);
    assert_eq!(
        members.as_array().unwrap().len() as u64,
        identities + 1,
        "members"
    );
    let audited = get_json(
        &address,
        "/api/v2/audit?q=resource_type:user%20action:create&limit=1",
        &token,
    );
    assert_eq!(
        audited["count"].as_u64().unwrap(),
        identities,
        "audited creations"
    );
    running.stop();
}

/// PostgreSQL stopped under load: requests that need it fail fast with 503 in
/// Coder's error shape (not the pool's ten-second wait, not a 500), and once it is
/// back the same process serves again, sessions and all, without a restart.
fn postgres_stopped_and_started_under_load_fails_fast_then_recovers() {
    let postgres = PrivatePostgres::start();
    let url = postgres.url();
    let address = free_address();
    let running = Running::start(&address, &server_args(&url, &address), &[]);
    let token = owner_token(&address);
    let list_users = || {
        send(
            &address,
            "GET",
            "/api/v2/users",
            &[&format!("Coder-Session-Token: {token}")],
            "",
        )
    };
    assert_eq!(list_users().unwrap().0, 200);

    // Load from four clients across the outage; each reply is kept with its latency.
    let outage = Arc::new(AtomicBool::new(false));
    let replies = Arc::new(Mutex::new(Vec::<(bool, u16, String, Duration)>::new()));
    let done = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (address, token, outage, replies, done) = (
                address.clone(),
                token.clone(),
                Arc::clone(&outage),
                Arc::clone(&replies),
                Arc::clone(&done),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                while !done.load(Ordering::SeqCst) {
                    n += 1;
                    let during = outage.load(Ordering::SeqCst);
                    let started = Instant::now();
                    let reply = if n % 2 == 0 {
                        let group = format!(r#"{{"name":"g{client}-{n}"}}"#);
                        send(
                            &address,
                            "POST",
                            "/api/v2/organizations/coder/groups",
                            &[
                                "Content-Type: application/json",
                                &format!("Coder-Session-Token: {token}"),
                            ],
                            &group,
                        )
                    } else {
                        send(
                            &address,
                            "GET",
                            "/api/v2/users",
                            &[&format!("Coder-Session-Token: {token}")],
                            "",
                        )
                    };
                    let (status, body) = reply.expect("warden itself stays up");
                    replies.lock().unwrap().push((
                        during && outage.load(Ordering::SeqCst),
                        status,
                        body,
                        started.elapsed(),
                    ));
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(300));
    postgres.stop();
    outage.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(3));
    outage.store(false, Ordering::SeqCst);
    postgres.start_server();

    // The same process recovers on its own.
    let started = Instant::now();
    while list_users().map(|r| r.0) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never recovered: {:?}",
            list_users()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    done.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }

    let replies = replies.lock().unwrap();
    let during: Vec<_> = replies.iter().filter(|r| r.0).collect();
    assert!(
        during.len() >= 8,
        "too little load during the outage: {}",
        during.len()
    );
    for (_, status, body, took) in &during {
        assert_eq!(*status, 503, "{body}");
        let error = json(body);
        assert!(
            !error["message"].as_str().unwrap_or_default().is_empty(),
            "Coder's error shape: {body}"
        );
        // Fail fast: well inside the pool's ten-second wait for a connection.
        assert!(*took < Duration::from_secs(3), "a 503 took {took:?}");
    }
    for (_, status, body, _) in replies.iter() {
        assert!(*status != 500, "no 500, ever: {body}");
    }
    let created = send(
        &address,
        "POST",
        "/api/v2/organizations/coder/groups",
        &[
            "Content-Type: application/json",
            &format!("Coder-Session-Token: {token}"),
        ],
        r#"{"name":"after"}"#,
    )
    .unwrap();
    assert_eq!(created.0, 201, "writes work again: {}", created.1);
    running.stop();
}

mod sqlite {
    #[test]
    fn sigkill_during_scim_provisioning_loses_no_201_and_leaves_nothing_half_written() {
        super::sigkill_during_scim_provisioning_loses_no_201_and_leaves_nothing_half_written(
            warden_storage::Backend::Sqlite,
        );
    }
}

mod postgres {
    #[test]
    fn sigkill_during_scim_provisioning_loses_no_201_and_leaves_nothing_half_written() {
        super::sigkill_during_scim_provisioning_loses_no_201_and_leaves_nothing_half_written(
            warden_storage::Backend::Postgres,
        );
    }

    #[test]
    fn stopped_and_started_under_load_fails_fast_then_recovers() {
        super::postgres_stopped_and_started_under_load_fails_fast_then_recovers();
    }
}
