//! `cargo xtask bench oauth2`: the OAuth2 token endpoint's refresh grant (rotation, one
//! transaction per grant) and RFC 7662 introspection, against the release binary.
//!
//! Refreshes: `families` token families are issued through the real authorize and
//! code endpoints, then wrk refreshes every chain on its own connection (each answer
//! carries the next refresh token) for `duration` seconds. Introspection: wrk POSTs
//! one access token, client-authenticated with HTTP Basic.

use anyhow::{Context, ensure};
use base64::Engine;
use serde_json::{Value, json};

use crate::bench::{start_warden_with, warden_token};

const CALLBACK: &str = "http://127.0.0.1:9/callback";
/// A fixed PKCE pair (RFC 7636 appendix B).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Setup {
    http: reqwest::Client,
    base: String,
    client_id: String,
    client_secret: String,
}

impl Setup {
    async fn token(&self, pairs: &[(&str, &str)]) -> anyhow::Result<Value> {
        let res = self
            .http
            .post(format!("{}/oauth2/tokens", self.base))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(pairs)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await?;
        ensure!(status.is_success(), "token endpoint: {status} {body}");
        Ok(body)
    }

    /// One authorization (as an API client) and code exchange: a fresh family.
    async fn family(&self, session: &str) -> anyhow::Result<String> {
        let res = self
            .http
            .post(format!("{}/oauth2/authorize", self.base))
            .query(&[
                ("client_id", self.client_id.as_str()),
                ("response_type", "code"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ])
            .header("Coder-Session-Token", session)
            .send()
            .await?;
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .context("no redirect from /oauth2/authorize")?;
        let code = reqwest::Url::parse(location)?
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .context("no code")?;
        let body = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
            ])
            .await?;
        Ok(body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }
}

pub fn run(
    label: &str,
    database_url: &str,
    duration: u64,
    families: usize,
) -> anyhow::Result<Vec<String>> {
    let session = warden_token(database_url)?;
    let server = start_warden_with(database_url, &["--database-max-connections", "8"])?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let base = format!("http://{}", server.address);
    runtime.block_on(async move {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .build()?;
        let created: Value = http
            .post(format!("{base}/api/v2/oauth2-provider/apps"))
            .header("Coder-Session-Token", &session)
            .json(&json!({"name": "bench", "callback_url": CALLBACK}))
            .send()
            .await?
            .json()
            .await?;
        let client_id = created["id"].as_str().context("no app id")?.to_owned();
        let secret: Value = http
            .post(format!("{base}/api/v2/oauth2-provider/apps/{client_id}/secrets"))
            .header("Coder-Session-Token", &session)
            .send()
            .await?
            .json()
            .await?;
        let setup = Setup {
            http,
            base: base.clone(),
            client_id,
            client_secret: secret["client_secret_full"]
                .as_str()
                .context("no secret")?
                .to_owned(),
        };
        let mut chains = Vec::with_capacity(families);
        for _ in 0..families {
            chains.push(setup.family(&session).await?);
        }

        // Refresh chains with wrk, one connection per chain: each answer's refresh
        // token goes back into its thread's queue for the next request.
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", setup.client_id, setup.client_secret));
        let script = format!(
            r#"wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic {basic}"
local all = {{}}
for t in string.gmatch("{tokens}", "%S+") do table.insert(all, t) end
local spare = "{spare}"
local threads = 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end
function init(args)
  queue = {{}}
  for i = 1, #all do
    if (i - 1) % 2 == index then table.insert(queue, all[i]) end
  end
  -- wrk calls request() once on thread 0 to check the script and never sends
  -- that request: it takes this spare token.
  if index == 0 then table.insert(queue, spare) end
end
function request()
  local token = table.remove(queue) or "exhausted"
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end
function response(status, headers, body)
  local next_token = string.match(body, '"refresh_token":"([^"]+)"')
  if next_token then table.insert(queue, next_token) end
end
"#,
            tokens = chains.join(" "),
            spare = setup.family(&session).await?,
        );
        let connections = u32::try_from(families)?;
        let refresh = crate::bench::wrk_with_script(
            server.address,
            None,
            "/oauth2/tokens",
            Some(&script),
            duration,
            connections,
        )
        .context("refresh grants under load")?;

        // Introspection with wrk: one live access token, HTTP Basic client auth.
        let fresh = setup.family(&session).await?;
        let body = setup
            .token(&[("grant_type", "refresh_token"), ("refresh_token", &fresh)])
            .await?;
        let access = body["access_token"].as_str().unwrap_or_default().to_owned();
        let script = std::env::temp_dir().join(format!("warden-introspect-{}.lua", std::process::id()));
        std::fs::write(
            &script,
            format!(
                "wrk.method = \"POST\"\nwrk.body = \"token={access}\"\n\
wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n\
wrk.headers[\"Authorization\"] = \"Basic {basic}\"\n"
            ),
        )?;
        let check = setup
            .http
            .post(format!("{base}/oauth2/introspect"))
            .header("Authorization", format!("Basic {basic}"))
            .form(&[("token", access.as_str())])
            .send()
            .await?
            .json::<Value>()
            .await?;
        ensure!(check["active"] == true, "introspection is not active: {check}");
        let out = std::process::Command::new("wrk")
            .args(["-t2", "-c64", &format!("-d{duration}s"), "--latency", "-s"])
            .arg(&script)
            .arg(format!("{base}/oauth2/introspect"))
            .output()
            .context("cannot run wrk (apt-get install wrk)")?;
        let _ = std::fs::remove_file(&script);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        ensure!(!text.contains("Non-2xx"), "introspection failed under load:\n{text}");
        let introspect_rate = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .context("no Requests/sec in wrk output")?;
        drop(server);
        Ok(vec![format!(
            "| {label} | {:.0} refresh grants/s, p50 {:.2} ms, p99 {:.2} ms (wrk, {families} chains on as many connections, {duration} s) | {introspect_rate:.0} introspections/s (wrk -t2 -c64 -d{duration}s) |",
            refresh.rps, refresh.p50_ms, refresh.p99_ms
        )])
    })
}
