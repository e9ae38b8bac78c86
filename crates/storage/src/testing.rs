//! Disposable databases for tests: a SQLite file in a temp folder, or a fresh
//! PostgreSQL database created on the server named by `WARDEN_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`) and dropped afterwards.
//! An unreachable PostgreSQL fails the test: it is never skipped silently.

use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::Backend;

/// The admin URL of the PostgreSQL server tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("WARDEN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for as long as this value does.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// Creates an empty database of the given backend. Panics (failing the test)
    /// when it cannot, naming what to fix.
    pub fn create(backend: Backend) -> Self {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("warden-test-{unique}"));
                let path = dir.join("warden.db");
                Self {
                    url: format!("sqlite://{}", path.display()),
                    cleanup: Cleanup::Sqlite(dir),
                }
            }
            Backend::Postgres => {
                crate::db::before_first_postgres_connection();
                let admin_url = postgres_admin_url();
                let name = format!("warden_test_{unique}");
                let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL tests need a server at {admin_url} (set WARDEN_TEST_POSTGRES_URL): {e}"
                    )
                });
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                Self {
                    url: format!("{base}/{name}"),
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
        }
    }

    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// PostgreSQL as an outage looks to a server: with `reachable == false` the
    /// database refuses new connections and every open one is ended; with `true`
    /// it accepts them again. Panics on SQLite, which has no server to lose.
    pub fn set_reachable(&self, reachable: bool) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            panic!("only a PostgreSQL database can become unreachable");
        };
        let mut admin = PgConnection::establish(admin_url)
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin_url}: {e}"));
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"
            ))
            .unwrap_or_else(|e| panic!("cannot change connections to {name}: {e}"));
        if !reachable {
            admin
                .batch_execute(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .unwrap_or_else(|e| panic!("cannot end the connections to {name}: {e}"));
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}
