//! The end-to-end harness: a real Warden server on port 0 over a fresh database of
//! either backend, and a small HTTP client that speaks to it.

use anyhow::Context;
pub use reqwest::StatusCode;
use serde_json::{Value, json};
pub use warden_storage::Backend;
use warden_storage::testing::TestDatabase;

pub mod oidc;

/// Password used for every test user; strong enough for Coder's rules.
pub const PASSWORD: &str = "SomeSecurePassword!1";

/// The SCIM bearer key test servers are started with.
pub const SCIM_KEY: &str = "test-scim-key-0123456789";

/// A running server and the database behind it.
pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    client: reqwest::Client,
    /// How the server was started, for [`TestApp::spawn_replica`].
    common: warden::config::CommonArgs,
    args: warden::config::ServerArgs,
    db: TestDatabase,
    services: warden_domain::Services,
}

/// Another server process on a [`TestApp`]'s database.
pub struct TestReplica {
    pub base: String,
    client: reqwest::Client,
    handle: warden::StopHandle,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Sends a JSON request to the server at `base`; `token` goes in the
/// `Coder-Session-Token` header.
async fn send(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<Reply> {
    let mut req = client.request(method, format!("{base}{path}"));
    if let Some(token) = token {
        req = req.header("Coder-Session-Token", token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    Reply::read(req.send().await.context("request failed")?).await
}

impl TestReplica {
    /// [`TestApp::request`], sent to this replica.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        send(&self.client, &self.base, method, path, token, body).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Reply> {
        self.request(reqwest::Method::GET, path, token, None).await
    }

    /// [`get`](Self::get) owning its arguments, for closures that build requests.
    pub async fn get_owned(&self, path: String, token: Option<String>) -> anyhow::Result<Reply> {
        self.get(&path, token.as_deref()).await
    }

    /// Stops the server as SIGTERM would, and waits until it has shut down.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.handle.stop().await;
        self.served.await??;
        Ok(())
    }
}

/// A user created by a test, with a session token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub token: String,
}

/// What a request returned.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Reads a response whose body is JSON or empty (`null`); anything else is an error.
    async fn read(res: reqwest::Response) -> anyhow::Result<Self> {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .with_context(|| format!("non-JSON body: {}", String::from_utf8_lossy(&bytes)))?
        };
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    /// The error message of a Coder error body.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    /// The fields named in `validations`.
    pub fn fields(&self) -> Vec<String> {
        self.body["validations"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    /// Starts a server on a new database of `backend`, with SCIM enabled ([`SCIM_KEY`]).
    pub async fn spawn(backend: Backend) -> anyhow::Result<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server with the given SCIM key (`None`: SCIM disabled).
    pub async fn spawn_with_scim(backend: Backend, scim_key: Option<&str>) -> anyhow::Result<Self> {
        Self::spawn_with(backend, |args| {
            args.scim_api_key = scim_key.map(str::to_owned)
        })
        .await
    }

    /// Starts a server on a new database of `backend`, with SCIM enabled ([`SCIM_KEY`])
    /// and server flags adjusted.
    pub async fn spawn_with(
        backend: Backend,
        adjust: impl FnOnce(&mut warden::config::ServerArgs),
    ) -> anyhow::Result<Self> {
        let db = TestDatabase::create(backend);
        let common = warden::config::CommonArgs {
            database_url: db.url().to_owned(),
            log_format: warden::config::LogFormat::Text,
            database_max_connections: 4,
        };
        let mut args = warden::config::ServerArgs {
            http_address: "127.0.0.1:0".parse()?,
            access_url: None,
            http_workers: Some(1),
            scim_api_key: Some(SCIM_KEY.to_owned()),
            ..Default::default()
        };
        adjust(&mut args);
        let app = warden::Application::build(&common, &args).await?;
        let base = format!("http://{}", app.address());
        let services = app.services();
        tokio::spawn(app.run_until_stopped());
        Ok(Self {
            base,
            services,
            backend,
            client: reqwest::Client::builder().build()?,
            common,
            args,
            db,
        })
    }

    /// The database behind the server.
    pub fn database(&self) -> &TestDatabase {
        &self.db
    }

    /// The server's own use cases (same caches): for what no route triggers on its
    /// own yet (IdP sync runs at OIDC sign-in).
    pub fn services(&self) -> warden_domain::Services {
        self.services.clone()
    }

    /// Starts another server on the same database with the same flags, as a second
    /// replica of a deployment would run (PostgreSQL).
    pub async fn spawn_replica(&self) -> anyhow::Result<TestReplica> {
        let app = warden::Application::build(&self.common, &self.args).await?;
        let base = format!("http://{}", app.address());
        let handle = app.handle();
        let served = tokio::spawn(app.run_until_stopped());
        Ok(TestReplica {
            base,
            client: self.client.clone(),
            handle,
            served,
        })
    }

    /// Sends a request; `token` goes in the `Coder-Session-Token` header.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        send(&self.client, &self.base, method, path, token, body).await
    }

    /// Sends a raw body with no content processing.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> anyhow::Result<Reply> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(token) = token {
            req = req.header("Coder-Session-Token", token);
        }
        let res = req.send().await?;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Reply> {
        self.request(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<Reply> {
        self.request(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>) -> anyhow::Result<Reply> {
        self.request(reqwest::Method::PUT, path, token, None).await
    }

    pub async fn put_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<Reply> {
        self.request(reqwest::Method::PUT, path, token, Some(body))
            .await
    }

    pub async fn patch(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<Reply> {
        self.request(reqwest::Method::PATCH, path, token, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> anyhow::Result<Reply> {
        self.request(reqwest::Method::DELETE, path, token, None)
            .await
    }

    /// Sends a SCIM request with `Authorization: Bearer <SCIM_KEY>` and extra headers.
    pub async fn scim(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Reply> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {SCIM_KEY}"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req
                .header("Content-Type", "application/scim+json")
                .body(body.to_string());
        }
        Reply::read(req.send().await.context("request failed")?).await
    }

    /// Logs in; returns the session token.
    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let reply = self
            .post(
                "/api/v2/users/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await?;
        anyhow::ensure!(
            reply.status == StatusCode::CREATED,
            "login failed: {reply:?}"
        );
        Ok(reply.body["session_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Creates the first user (`admin`, a site owner) and logs in.
    pub async fn owner(&self) -> anyhow::Result<TestUser> {
        let reply = self
            .post(
                "/api/v2/users/first",
                None,
                json!({"email": "admin@example.com", "username": "admin", "password": PASSWORD}),
            )
            .await?;
        anyhow::ensure!(
            reply.status == StatusCode::CREATED,
            "first user failed: {reply:?}"
        );
        let token = self.login("admin@example.com", PASSWORD).await?;
        Ok(TestUser {
            id: reply.body["user_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            username: "admin".into(),
            email: "admin@example.com".into(),
            token,
        })
    }

    /// Has `creator` create a password user `username` in the default organization,
    /// then logs in as them.
    pub async fn user(&self, creator: &TestUser, username: &str) -> anyhow::Result<TestUser> {
        let email = format!("{username}@example.com");
        let reply = self
            .post(
                "/api/v2/users",
                Some(&creator.token),
                json!({
                    "email": email, "username": username, "password": PASSWORD,
                    "organization_ids": ["00000000-0000-0000-0000-000000000000"],
                }),
            )
            .await?;
        anyhow::ensure!(
            reply.status == StatusCode::CREATED,
            "create user failed: {reply:?}"
        );
        let token = self.login(&email, PASSWORD).await?;
        Ok(TestUser {
            id: reply.body["id"].as_str().unwrap_or_default().to_owned(),
            username: username.to_owned(),
            email,
            token,
        })
    }
}

/// Runs an async test body once on SQLite and once on PostgreSQL, as two tests.
/// `async fn name(app: TestApp with adjust)` starts both servers with their flags
/// changed by `adjust`, as [`TestApp::spawn_with`] does.
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp with $adjust:expr) $body:block) => {
        $crate::on_both_backends! {
            $(#[$meta])*
            async fn $name(backend: Backend) {
                let $app = $crate::TestApp::spawn_with(backend, $adjust).await?;
                $body
            }
        }
    };
    // A test that starts its own servers (with an identity provider, say): it gets
    // the backend to use.
    ($(#[$meta:meta])* async fn $name:ident($backend:ident: Backend) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            async fn run($backend: $crate::Backend) -> anyhow::Result<()> $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> anyhow::Result<()> {
                run($crate::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> anyhow::Result<()> {
                run($crate::Backend::Postgres).await
            }
        }
    };
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        $crate::on_both_backends! {
            $(#[$meta])* async fn $name($app: TestApp with |_| {}) $body
        }
    };
}
