//! A real OpenID provider for the tests, and a cookie-keeping client that walks the
//! sign-in redirects the way a browser does.
//!
//! The provider is the certified Node package `oidc-provider`, run from
//! `tests/oidc-provider/` (installed with `npm ci` on first use). Accounts live in a
//! JSON file the provider re-reads at every lookup, so a test changes what the
//! provider asserts (a dropped group, a new e-mail) by rewriting it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;

use crate::{Backend, TestApp};

/// The client Warden is registered as at the provider.
pub const CLIENT_ID: &str = "warden";
pub const CLIENT_SECRET: &str = "warden-secret";
const CALLBACK: &str = "/api/v2/users/oidc/callback";

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-provider")
}

/// Installs the provider's packages once per test process.
fn ensure_installed() -> anyhow::Result<()> {
    static INSTALL: Mutex<bool> = Mutex::new(false);
    let mut done = INSTALL
        .lock()
        .map_err(|_| anyhow::anyhow!("install lock poisoned"))?;
    if *done {
        return Ok(());
    }
    let dir = provider_dir();
    if !dir
        .join("node_modules/oidc-provider/package.json")
        .is_file()
    {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .map_err(|e| anyhow::anyhow!("cannot run npm (Node.js is required): {e}"))?;
        anyhow::ensure!(status.success(), "npm ci in {} failed", dir.display());
    }
    *done = true;
    Ok(())
}

/// A running `oidc-provider`.
pub struct OidcProvider {
    pub issuer: String,
    child: Child,
    accounts: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.stop();
    }
}

impl OidcProvider {
    /// Starts a provider whose one client may return to `redirect_uri`. With
    /// `id_token_claims`, every claim is in the ID token as well as in userinfo.
    pub async fn start(
        redirect_uri: &str,
        accounts: &Value,
        id_token_claims: bool,
    ) -> anyhow::Result<Self> {
        ensure_installed()?;
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("accounts.json");
        std::fs::write(&file, serde_json::to_vec(accounts)?)?;
        let mut child = Command::new("node")
            .arg(provider_dir().join("server.mjs"))
            .env("ACCOUNTS_FILE", &file)
            .env("REDIRECT_URIS", redirect_uri)
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("ID_TOKEN_CLAIMS", if id_token_claims { "1" } else { "0" })
            .stdout(Stdio::piped())
            // Its start-up warnings (development keys and store) are expected;
            // WARDEN_TEST_PROVIDER_LOG=1 shows them and its errors.
            .stderr(if std::env::var_os("WARDEN_TEST_PROVIDER_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start node (Node.js is required): {e}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        // Read until the issuer line, then keep draining so that the provider never
        // writes into a closed pipe.
        let (tx, rx) = tokio::sync::oneshot::channel::<anyhow::Result<String>>();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let issuer = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v.get("issuer").and_then(Value::as_str).map(str::to_owned));
                if let (Some(issuer), Some(tx)) = (issuer, tx.take()) {
                    let _ = tx.send(Ok(issuer));
                }
            }
            if let Some(tx) = tx {
                let _ = tx.send(Err(anyhow::anyhow!("the provider exited before listening")));
            }
        });
        let issuer = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .map_err(|_| anyhow::anyhow!("the provider did not start within 30 s"))??;
        let issuer = issuer?;
        Ok(Self {
            issuer,
            child,
            accounts: file,
            _dir: dir,
        })
    }

    /// Replaces the accounts and their claims; effective at the next sign-in.
    pub fn set_accounts(&self, accounts: &Value) -> anyhow::Result<()> {
        std::fs::write(&self.accounts, serde_json::to_vec(accounts)?)?;
        Ok(())
    }

    /// Stops the provider: the identity provider is down from now on.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestApp {
    /// A server signing in through a fresh provider holding `accounts`, with server
    /// flags adjusted.
    pub async fn spawn_with_oidc(
        backend: Backend,
        accounts: &Value,
        adjust: impl FnOnce(&mut warden::config::ServerArgs),
    ) -> anyhow::Result<(Self, OidcProvider)> {
        // The provider must know Warden's callback before Warden starts, and Warden
        // the provider's issuer: Warden's port is chosen first.
        let address = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let callback = format!("http://{address}{CALLBACK}");
        let provider = OidcProvider::start(&callback, accounts, false).await?;
        let issuer = provider.issuer.clone();
        let app = Self::spawn_with(backend, |args| {
            args.http_address = address;
            args.oidc.oidc_issuer_url = Some(issuer);
            args.oidc.oidc_client_id = CLIENT_ID.to_owned();
            args.oidc.oidc_client_secret = Some(CLIENT_SECRET.to_owned());
            adjust(args);
        })
        .await?;
        Ok((app, provider))
    }
}

/// What Warden's callback answered at the end of a sign-in.
#[derive(Debug)]
pub struct Landing {
    /// The URL answered.
    pub url: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Landing {
    /// The session token Warden set, if it signed the user in.
    pub fn session_token(&self) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("coder_session_token="))
            .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
            .filter(|t| !t.is_empty())
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The `message` of a JSON error body.
    pub fn message(&self) -> String {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// A browser stand-in: keeps cookies, follows redirects one at a time, fills in the
/// provider's login form.
pub struct Browser {
    client: reqwest::Client,
    /// Accept header sent on every request.
    accept: &'static str,
}

impl Browser {
    /// Asks for JSON errors, as an API client would.
    pub fn new() -> anyhow::Result<Self> {
        Self::with_accept("application/json")
    }

    /// Asks for HTML, as a browser navigating does.
    pub fn html() -> anyhow::Result<Self> {
        Self::with_accept("text/html,application/xhtml+xml")
    }

    fn with_accept(accept: &'static str) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            accept,
        })
    }

    /// One GET, with the cookies so far.
    pub async fn get(&self, url: &str) -> anyhow::Result<Landing> {
        let res = self
            .client
            .get(url)
            .header("Accept", self.accept)
            .send()
            .await?;
        Ok(Landing {
            url: url.to_owned(),
            status: res.status(),
            headers: res.headers().clone(),
            body: res.text().await?,
        })
    }

    /// Starts a sign-in at `app` and goes through the provider's login form as
    /// `login`, returning Warden's answer when the provider sends the browser back.
    pub async fn sign_in(&self, app: &TestApp, login: &str) -> anyhow::Result<Landing> {
        let start = self
            .get(&format!("{}{CALLBACK}?redirect=/api/v2/users/me", app.base))
            .await?;
        anyhow::ensure!(
            start.status == StatusCode::TEMPORARY_REDIRECT,
            "the sign-in did not start: {start:?}"
        );
        let to_provider = start.location().unwrap_or_default().to_owned();
        self.through_provider(app, &to_provider, login).await
    }

    /// From the provider's authorization URL to Warden's callback answer.
    pub async fn through_provider(
        &self,
        app: &TestApp,
        authorize: &str,
        login: &str,
    ) -> anyhow::Result<Landing> {
        let callback = format!("{}{CALLBACK}", app.base);
        let mut url = reqwest::Url::parse(authorize)?;
        for _ in 0..10 {
            let res = self
                .client
                .get(url.clone())
                .header("Accept", self.accept)
                .send()
                .await?;
            if res.status().is_redirection() {
                let next = res
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                url = url.join(next)?;
                if url.as_str().starts_with(&callback) {
                    return self.get(url.as_str()).await;
                }
                continue;
            }
            // The provider's login form: any login, any password.
            let page = res.text().await?;
            let action = page
                .split("action=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .ok_or_else(|| anyhow::anyhow!("no form on the provider's page: {page}"))?;
            let posted = self
                .client
                .post(url.join(action)?)
                .form(&[("prompt", "login"), ("login", login), ("password", "any")])
                .send()
                .await?;
            let next = posted
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    anyhow::anyhow!("the login form did not redirect: {}", posted.status())
                })?;
            url = url.join(next)?;
            if url.as_str().starts_with(&callback) {
                return self.get(url.as_str()).await;
            }
        }
        anyhow::bail!("too many redirects; last at {url}")
    }
}
