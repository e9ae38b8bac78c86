//! Public clients, the RFC 8628 device flow (with the `oauth2` crate's device-flow
//! client, the user approving through the verification page over plain HTTP), and
//! RFC 7591/7592 dynamic client registration.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, StandardDeviceAuthorizationResponse,
    TokenResponse, TokenUrl,
};
use serde_json::{Value, json};
use warden_tests::{StatusCode, TestApp, TestUser, on_both_backends};

pub(crate) const CALLBACK: &str = "http://127.0.0.1:9/callback";
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub(crate) fn http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Creates an app through the admin API; with `secret`, a confidential client and
/// its secret, else a public client.
pub(crate) async fn admin_app(
    app: &TestApp,
    owner: &TestUser,
    name: &str,
    public: bool,
) -> anyhow::Result<(String, Option<String>)> {
    let mut body = json!({"name": name, "callback_url": CALLBACK});
    if public {
        body["token_endpoint_auth_method"] = json!("none");
    }
    let created = app
        .post("/api/v2/oauth2-provider/apps", Some(&owner.token), body)
        .await?;
    anyhow::ensure!(created.status == StatusCode::CREATED, "{created:?}");
    let id = created.body["id"].as_str().unwrap_or_default().to_owned();
    if public {
        return Ok((id, None));
    }
    let secret = app
        .post(
            &format!("/api/v2/oauth2-provider/apps/{id}/secrets"),
            Some(&owner.token),
            json!({}),
        )
        .await?;
    anyhow::ensure!(secret.status == StatusCode::CREATED, "{secret:?}");
    let full = secret.body["client_secret_full"]
        .as_str()
        .unwrap_or_default();
    Ok((id, Some(full.to_owned())))
}

/// POSTs a form; returns status, headers and the JSON body (or Null).
pub(crate) async fn form(
    app: &TestApp,
    path: &str,
    pairs: &[(&str, &str)],
) -> anyhow::Result<(StatusCode, reqwest::header::HeaderMap, Value)> {
    let res = http()?
        .post(format!("{}{path}", app.base))
        .form(pairs)
        .send()
        .await?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = serde_json::from_slice(&res.bytes().await?).unwrap_or(Value::Null);
    Ok((status, headers, body))
}

/// Sends a JSON request with an optional bearer token; returns status, headers, body.
pub(crate) async fn json_request(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, reqwest::header::HeaderMap, Value)> {
    let mut req = http()?.request(method, format!("{}{path}", app.base));
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = serde_json::from_slice(&res.bytes().await?).unwrap_or(Value::Null);
    Ok((status, headers, body))
}

pub(crate) async fn me_status(app: &TestApp, token: &str) -> anyhow::Result<StatusCode> {
    Ok(app.get("/api/v2/users/me", Some(token)).await?.status)
}

/// Signs in through the login page; returns the `Cookie` header value.
pub(crate) async fn browser_session(app: &TestApp) -> anyhow::Result<String> {
    let res = http()?
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "admin@example.com"),
            ("password", warden_tests::PASSWORD),
            ("redirect", "/oauth2/device/verify"),
        ])
        .send()
        .await?;
    anyhow::ensure!(res.status() == StatusCode::SEE_OTHER, "{}", res.status());
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(cookie.split(';').next().unwrap_or_default().to_owned())
}

/// GETs a page with the session cookie; returns status and HTML.
pub(crate) async fn get_page(
    app: &TestApp,
    path_and_query: &str,
    cookie: &str,
) -> anyhow::Result<(StatusCode, String)> {
    let url = if path_and_query.starts_with("http") {
        path_and_query.to_owned()
    } else {
        format!("{}{path_and_query}", app.base)
    };
    let res = http()?.get(url).header("cookie", cookie).send().await?;
    Ok((res.status(), res.text().await?))
}

pub(crate) fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

/// Posts the verification form as the browser would.
pub(crate) async fn decide(
    app: &TestApp,
    cookie: &str,
    user_code: &str,
    action: &str,
    csrf: &str,
) -> anyhow::Result<(StatusCode, String)> {
    let res = http()?
        .post(format!("{}/oauth2/device/verify", app.base))
        .header("cookie", cookie)
        .form(&[
            ("user_code", user_code),
            ("action", action),
            ("csrf_token", csrf),
        ])
        .send()
        .await?;
    Ok((res.status(), res.text().await?))
}

/// Starts a device authorization with raw form fields.
pub(crate) async fn start_device(app: &TestApp, pairs: &[(&str, &str)]) -> anyhow::Result<Value> {
    let (status, _, body) = form(app, "/oauth2/device", pairs).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {body}");
    Ok(body)
}

on_both_backends! {
    async fn public_clients_use_pkce_instead_of_a_secret(app: TestApp with |a| a.oauth2_refresh_grace = 0) {
        let owner = app.owner().await?;
        let (public_id, _) = admin_app(&app, &owner, "native", true).await?;
        let (conf_id, conf_secret) = admin_app(&app, &owner, "web", false).await?;
        let conf_secret = conf_secret.unwrap_or_default();
        // A public client has no secrets.
        let refused = app.post(&format!("/api/v2/oauth2-provider/apps/{public_id}/secrets"), Some(&owner.token), json!({})).await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        let bad_method = app.post("/api/v2/oauth2-provider/apps", Some(&owner.token),
            json!({"name": "odd", "callback_url": CALLBACK, "token_endpoint_auth_method": "private_key_jwt"})).await?;
        assert_eq!(bad_method.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_method.fields(), vec!["token_endpoint_auth_method".to_owned()]);

        let code_for = |id: String| {
            let app = &app;
            let owner = &owner;
            async move {
                let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
                let url = format!("{}/oauth2/authorize?response_type=code&client_id={id}&code_challenge={}&code_challenge_method=S256",
                    app.base, challenge.as_str());
                let res = http()?.post(url).header("Coder-Session-Token", &owner.token).send().await?;
                let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let code = reqwest::Url::parse(&location)?.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap_or_default();
                anyhow::Ok((code, verifier))
            }
        };

        // No secret and no verifier: refused (PKCE is what authenticates the exchange).
        let (code, verifier) = code_for(public_id.clone()).await?;
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", "authorization_code"), ("code", &code), ("client_id", &public_id)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")), "{body}");
        // A made-up secret is not accepted either.
        let fake = format!("coder_{}_{}", "a".repeat(10), "b".repeat(40));
        let (status, headers, body) = form(&app, "/oauth2/tokens", &[("grant_type", "authorization_code"), ("code", &code),
            ("client_id", &public_id), ("client_secret", &fake), ("code_verifier", verifier.secret())]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_client")));
        assert!(headers.get("www-authenticate").is_some());

        // With the verifier and no secret, through the oauth2 crate: tokens.
        let http = http()?;
        let client = BasicClient::new(ClientId::new(public_id.clone()))
            .set_auth_uri(AuthUrl::new(format!("{}/oauth2/authorize", app.base))?)
            .set_token_uri(TokenUrl::new(format!("{}/oauth2/tokens", app.base))?)
            .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned())?);
        let (code, verifier) = code_for(public_id.clone()).await?;
        let tokens = client.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http).await?;
        let access = tokens.access_token().secret().clone();
        assert_eq!(me_status(&app, &access).await?, StatusCode::OK);
        // Refresh needs no secret, and still rotates.
        let refresh = tokens.refresh_token().map(|t| t.secret().clone()).unwrap_or_default();
        let rotated = client.exchange_refresh_token(&RefreshToken::new(refresh.clone())).request_async(&http).await?;
        assert_eq!(me_status(&app, &access).await?, StatusCode::UNAUTHORIZED);
        let access2 = rotated.access_token().secret().clone();
        assert_eq!(me_status(&app, &access2).await?, StatusCode::OK);
        // Reuse of the rotated token (grace 0) revokes the whole family.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &public_id)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
        assert_eq!(me_status(&app, &access2).await?, StatusCode::UNAUTHORIZED);
        // A public client cannot introspect (it proves nothing about itself).
        let (status, _, body) = form(&app, "/oauth2/introspect", &[("token", &access2), ("client_id", &public_id)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_client")));

        // A confidential client must still authenticate, PKCE or not.
        let (code, verifier) = code_for(conf_id.clone()).await?;
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", "authorization_code"), ("code", &code),
            ("client_id", &conf_id), ("code_verifier", verifier.secret())]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_client")));
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", "authorization_code"), ("code", &code),
            ("client_id", &conf_id), ("client_secret", &conf_secret), ("code_verifier", verifier.secret())]).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        Ok(())
    }
}

on_both_backends! {
    async fn device_flow_with_the_oauth2_crate_and_the_verification_page(app: TestApp) {
        let owner = app.owner().await?;
        let (id, secret) = admin_app(&app, &owner, "Terminal <cli>", false).await?;
        let http = http()?;
        let client = BasicClient::new(ClientId::new(id.clone()))
            .set_client_secret(ClientSecret::new(secret.clone().unwrap_or_default()))
            .set_device_authorization_url(DeviceAuthorizationUrl::new(format!("{}/oauth2/device", app.base))?)
            .set_token_uri(TokenUrl::new(format!("{}/oauth2/tokens", app.base))?);
        let details: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scope(Scope::new("coder:workspaces.access".to_owned()))
            .request_async(&http)
            .await?;
        let user_code = details.user_code().secret().clone();
        assert_eq!(user_code.len(), 9, "{user_code}");
        assert_eq!(user_code.as_bytes()[4], b'-');
        assert!(user_code.chars().filter(|c| *c != '-').all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)), "{user_code}");
        assert_eq!(details.verification_uri().as_str(), format!("{}/oauth2/device/verify", app.base));
        let complete = details.verification_uri_complete().map(|u| u.secret().clone()).unwrap_or_default();
        assert_eq!(complete, format!("{}/oauth2/device/verify?user_code={user_code}", app.base));
        assert_eq!(details.expires_in(), std::time::Duration::from_secs(600));
        assert_eq!(details.interval(), std::time::Duration::from_secs(5));

        // Signed out: the page sends the user to log in and back.
        let res = http.get(&complete).send().await?;
        assert_eq!(res.status(), StatusCode::FOUND);
        let login = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(login.starts_with("/login?redirect=%2Foauth2%2Fdevice%2Fverify%3Fuser_code%3D"), "{login}");

        // Signed in: the page names the app (escaped), the user and the scopes.
        let cookie = browser_session(&app).await?;
        let (status, html) = get_page(&app, "/oauth2/device/verify", &cookie).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("name=\"user_code\""));
        let (status, html) = get_page(&app, "/oauth2/device/verify?user_code=BBBB-BBBB", &cookie).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(html.contains("not valid"), "{html}");
        let (status, html) = get_page(&app, &complete, &cookie).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Terminal &lt;cli&gt;") && !html.contains("Terminal <cli>"));
        assert!(html.contains(">admin<") && html.contains("coder:workspaces.access"));
        let csrf = csrf_of(&html);
        assert_eq!(csrf.len(), 64);
        // Without the page's CSRF token a cookie-authenticated post is refused.
        let (status, _) = decide(&app, &cookie, &user_code, "allow", &"0".repeat(64)).await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Signed-out posts are refused in Coder's shape.
        let anonymous = app.request(reqwest::Method::POST, "/oauth2/device/verify", None, None).await?;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        // The code is case-insensitive and the dash optional.
        let typed = user_code.replace('-', "").to_lowercase();
        let (status, html) = decide(&app, &cookie, &typed, "allow", &csrf).await?;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Device connected"));
        // Deciding twice is refused.
        let (status, html) = decide(&app, &cookie, &user_code, "deny", &csrf).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(html.contains("already used"), "{html}");

        // The device collects its tokens with the oauth2 crate's polling client.
        let tokens = client
            .exchange_device_access_token(&details)
            .request_async(&http, tokio::time::sleep, None)
            .await?;
        let access = tokens.access_token().secret().clone();
        let me = app.get("/api/v2/users/me", Some(&access)).await?;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.body["username"], "admin");
        assert_eq!(tokens.scopes().map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            Some(vec!["coder:workspaces.access".to_owned()]));
        // The scope is enforced: this token cannot mint API keys.
        let mint = app.post("/api/v2/users/me/keys/tokens", Some(&access), json!({"token_name": "x"})).await?;
        assert!(matches!(mint.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST), "{mint:?}");
        // Single use: a second redemption is refused.
        let device_code = details.device_code().secret().clone();
        let secret = secret.unwrap_or_default();
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", DEVICE_GRANT), ("device_code", &device_code),
            ("client_id", &id), ("client_secret", &secret)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
        assert_eq!(me_status(&app, &access).await?, StatusCode::OK);
        // The refresh token belongs to the same family machinery: it rotates.
        let refresh = tokens.refresh_token().map(|t| t.secret().clone()).unwrap_or_default();
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", "refresh_token"), ("refresh_token", &refresh),
            ("client_id", &id), ("client_secret", &secret)]).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(me_status(&app, &access).await?, StatusCode::UNAUTHORIZED);
        let authorized = app.get(&format!("/api/v2/oauth2-provider/apps?user_id={}", owner.id), Some(&owner.token)).await?;
        assert_eq!(authorized.body[0]["id"], id.as_str());
        Ok(())
    }
}

on_both_backends! {
    async fn device_flow_pending_slow_down_denied_and_foreign_codes(app: TestApp) {
        let owner = app.owner().await?;
        let (public_id, _) = admin_app(&app, &owner, "tv", true).await?;
        let (other_id, other_secret) = admin_app(&app, &owner, "other", false).await?;
        let other_secret = other_secret.unwrap_or_default();
        let cookie = browser_session(&app).await?;

        // A public client starts with its client_id only.
        let started = start_device(&app, &[("client_id", &public_id)]).await?;
        let device_code = started["device_code"].as_str().unwrap_or_default().to_owned();
        let user_code = started["user_code"].as_str().unwrap_or_default().to_owned();
        let poll = [("grant_type", DEVICE_GRANT), ("device_code", device_code.as_str()), ("client_id", public_id.as_str())];
        let (status, headers, body) = form(&app, "/oauth2/tokens", &poll).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("authorization_pending")));
        assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
        // Polling faster than the interval: slow_down.
        let (_, _, body) = form(&app, "/oauth2/tokens", &poll).await?;
        assert_eq!(body["error"], "slow_down");
        // Another client cannot redeem it.
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", DEVICE_GRANT), ("device_code", &device_code),
            ("client_id", &other_id), ("client_secret", &other_secret)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", DEVICE_GRANT), ("device_code", "coder_nope"), ("client_id", &public_id)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", DEVICE_GRANT), ("client_id", &public_id)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_request")));

        // The user denies: the device is told so.
        let (_, html) = get_page(&app, &format!("/oauth2/device/verify?user_code={user_code}"), &cookie).await?;
        let (status, html) = decide(&app, &cookie, &user_code, "deny", &csrf_of(&html)).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Request denied"));
        // Wait out the (slowed-down) interval before polling again.
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        let (_, _, body) = form(&app, "/oauth2/tokens", &poll).await?;
        assert_eq!(body["error"], "access_denied", "{body}");

        // An API client may decide with its session token header, without CSRF.
        let started = start_device(&app, &[("client_id", &public_id), ("scope", "coder:all")]).await?;
        let code = started["user_code"].as_str().unwrap_or_default().to_owned();
        let res = http()?.post(format!("{}/oauth2/device/verify", app.base)).header("Coder-Session-Token", &owner.token)
            .form(&[("user_code", code.as_str()), ("action", "allow")]).send().await?;
        assert_eq!(res.status(), StatusCode::OK);
        let device_code = started["device_code"].as_str().unwrap_or_default().to_owned();
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", DEVICE_GRANT), ("device_code", &device_code), ("client_id", &public_id)]).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(me_status(&app, body["access_token"].as_str().unwrap_or_default()).await?, StatusCode::OK);
        // Unknown scopes and unknown clients are refused at the start.
        let (status, _, body) = form(&app, "/oauth2/device", &[("client_id", &public_id), ("scope", "everything")]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_scope")));
        let (status, _, body) = form(&app, "/oauth2/device", &[("client_id", &uuid::Uuid::new_v4().to_string())]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_client")));
        let (status, _, body) = form(&app, "/oauth2/device", &[("client_id", &other_id)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_client")), "a confidential client must authenticate");
        Ok(())
    }
}

on_both_backends! {
    async fn expired_device_codes(app: TestApp with |a| a.oauth2_device_code_lifetime = 0) {
        let owner = app.owner().await?;
        let (public_id, _) = admin_app(&app, &owner, "tv", true).await?;
        let started = start_device(&app, &[("client_id", &public_id)]).await?;
        assert_eq!(started["expires_in"], 0);
        let device_code = started["device_code"].as_str().unwrap_or_default().to_owned();
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", DEVICE_GRANT), ("device_code", &device_code), ("client_id", &public_id)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("expired_token")));
        let cookie = browser_session(&app).await?;
        let code = started["user_code"].as_str().unwrap_or_default();
        let (status, html) = get_page(&app, &format!("/oauth2/device/verify?user_code={code}"), &cookie).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(html.contains("expired"), "{html}");
        Ok(())
    }
}

/// Server flags for dynamic registration, on, with the given rate limit per minute.
pub(crate) fn registration_on(per_minute: u32) -> impl Fn(&mut warden::config::ServerArgs) {
    move |a| {
        a.oauth2_dynamic_registration = true;
        a.oauth2_registration_rate_limit = per_minute;
    }
}

on_both_backends! {
    async fn dynamic_registration_round_trip(app: TestApp with registration_on(100)) {
        let meta = app.get("/.well-known/oauth-authorization-server", None).await?;
        assert_eq!(meta.body["registration_endpoint"], format!("{}/oauth2/register", app.base));

        // A confidential client.
        let (status, headers, reg) = json_request(&app, reqwest::Method::POST, "/oauth2/register", None, Some(json!({
            "client_name": "Editor", "redirect_uris": [CALLBACK, "https://editor.example/cb"],
            "logo_uri": "https://editor.example/logo.png", "scope": "coder:all", "contacts": ["ops@editor.example"],
            "jwks": {"keys": []}
        }))).await?;
        assert_eq!(status, StatusCode::CREATED, "{reg}");
        assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
        let id = reg["client_id"].as_str().unwrap_or_default().to_owned();
        let secret = reg["client_secret"].as_str().unwrap_or_default().to_owned();
        let token = reg["registration_access_token"].as_str().unwrap_or_default().to_owned();
        assert!(secret.starts_with("coder_") && token.starts_with("coder_"), "{reg}");
        assert_eq!(reg["client_secret_expires_at"], 0);
        assert!(reg["client_id_issued_at"].as_i64().is_some_and(|t| t > 1_600_000_000));
        assert_eq!(reg["registration_client_uri"], format!("{}/oauth2/clients/{id}", app.base));
        assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
        assert_eq!(reg["grant_types"], json!(["authorization_code", "refresh_token"]));
        assert_eq!(reg["response_types"], json!(["code"]));
        assert_eq!(reg["redirect_uris"], json!([CALLBACK, "https://editor.example/cb"]));
        assert_eq!(reg["client_name"], "Editor");
        assert_eq!(reg["contacts"], json!(["ops@editor.example"]));
        assert!(reg.get("jwks").is_none(), "unknown metadata is ignored");

        // It is an ordinary app to administrators.
        let owner = app.owner().await?;
        let listed = app.get(&format!("/api/v2/oauth2-provider/apps/{id}"), Some(&owner.token)).await?;
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(listed.body["name"], "Editor");
        assert_eq!(listed.body["callback_url"], CALLBACK);

        // The client works: code flow with its secret, either registered redirect URI.
        let http = http()?;
        let client = BasicClient::new(ClientId::new(id.clone()))
            .set_client_secret(ClientSecret::new(secret.clone()))
            .set_auth_uri(AuthUrl::new(format!("{}/oauth2/authorize", app.base))?)
            .set_token_uri(TokenUrl::new(format!("{}/oauth2/tokens", app.base))?)
            .set_redirect_uri(RedirectUrl::new("https://editor.example/cb".to_owned())?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _) = client.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
        let res = http.post(url.as_str()).header("Coder-Session-Token", &owner.token).send().await?;
        assert_eq!(res.status(), StatusCode::FOUND);
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(location.starts_with("https://editor.example/cb?code="), "{location}");
        let code = reqwest::Url::parse(&location)?.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap_or_default();
        let tokens = client.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http).await?;
        let access = tokens.access_token().secret().clone();
        assert_eq!(me_status(&app, &access).await?, StatusCode::OK);
        // Registered for code and refresh only: the device grant is not its to use.
        let (status, _, body) = form(&app, "/oauth2/device", &[("client_id", &id), ("client_secret", &secret)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("unauthorized_client")));

        // RFC 7592 read.
        let path = format!("/oauth2/clients/{id}");
        let (status, _, read) = json_request(&app, reqwest::Method::GET, &path, Some(&token), None).await?;
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(read["client_id"], id.as_str());
        assert_eq!(read["redirect_uris"], reg["redirect_uris"]);
        assert!(read.get("client_secret").is_none() && read.get("registration_access_token").is_none());
        // Wrong, missing or another client's token: 401 invalid_token with a Bearer challenge.
        for bearer in [None, Some("nope"), Some("coder_aaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")] {
            let (status, headers, body) = json_request(&app, reqwest::Method::GET, &path, bearer, None).await?;
            assert_eq!((status, body["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_token")), "{bearer:?}");
            let challenge = headers.get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
            assert!(challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""), "{challenge}");
        }
        let (status, _, body) = json_request(&app, reqwest::Method::GET, &format!("/oauth2/clients/{}", uuid::Uuid::new_v4()), Some(&token), None).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_token")));

        // RFC 7592 update: the whole registration is replaced.
        let (status, _, body) = json_request(&app, reqwest::Method::PUT, &path, Some(&token), Some(json!({"redirect_uris": [CALLBACK]}))).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_client_metadata")), "client_id is required");
        let (status, _, body) = json_request(&app, reqwest::Method::PUT, &path, Some(&token),
            Some(json!({"client_id": id, "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none"}))).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_client_metadata")), "the client type is fixed");
        let (status, _, updated) = json_request(&app, reqwest::Method::PUT, &path, Some(&token),
            Some(json!({"client_id": id, "client_secret": secret, "client_name": "Editor 2", "redirect_uris": ["https://editor.example/new"],
                        "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT]}))).await?;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(updated["client_name"], "Editor 2");
        assert_eq!(updated["redirect_uris"], json!(["https://editor.example/new"]));
        assert!(updated.get("logo_uri").is_none());
        let listed = app.get(&format!("/api/v2/oauth2-provider/apps/{id}"), Some(&owner.token)).await?;
        assert_eq!(listed.body["name"], "Editor 2");
        assert_eq!(listed.body["callback_url"], "https://editor.example/new");
        let (status, _, _) = form(&app, "/oauth2/device", &[("client_id", &id), ("client_secret", &secret)]).await?;
        assert_eq!(status, StatusCode::OK, "the device grant is registered now");
        // An administrator's change of the callback URL shows in the registration.
        let put = app.request(reqwest::Method::PUT, &format!("/api/v2/oauth2-provider/apps/{id}"), Some(&owner.token),
            Some(json!({"name": "Editor 2", "callback_url": "https://editor.example/admin"}))).await?;
        assert_eq!(put.status, StatusCode::OK, "{put:?}");
        let (_, _, read) = json_request(&app, reqwest::Method::GET, &path, Some(&token), None).await?;
        assert_eq!(read["redirect_uris"], json!(["https://editor.example/admin"]));

        // RFC 7592 delete: everything the client was issued is revoked.
        let (status, _, _) = json_request(&app, reqwest::Method::DELETE, &path, Some(&token), None).await?;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(me_status(&app, &access).await?, StatusCode::UNAUTHORIZED);
        let (status, _, _) = json_request(&app, reqwest::Method::GET, &path, Some(&token), None).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let gone = app.get(&format!("/api/v2/oauth2-provider/apps/{id}"), Some(&owner.token)).await?;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);

        // A public client: no secret; PKCE alone completes the code flow.
        let (status, _, public) = json_request(&app, reqwest::Method::POST, "/oauth2/register", None, Some(json!({
            "client_name": "Editor", "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"
        }))).await?;
        assert_eq!(status, StatusCode::CREATED, "{public}");
        assert!(public.get("client_secret").is_none() && public.get("client_secret_expires_at").is_none(), "{public}");
        assert_eq!(public["token_endpoint_auth_method"], "none");
        let public_id = public["client_id"].as_str().unwrap_or_default().to_owned();
        let client = BasicClient::new(ClientId::new(public_id.clone()))
            .set_auth_uri(AuthUrl::new(format!("{}/oauth2/authorize", app.base))?)
            .set_token_uri(TokenUrl::new(format!("{}/oauth2/tokens", app.base))?)
            .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:4567/cb".to_owned())?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _) = client.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
        let res = http.post(url.as_str()).header("Coder-Session-Token", &owner.token).send().await?;
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let code = reqwest::Url::parse(&location)?.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap_or_default();
        let tokens = client.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http).await?;
        assert_eq!(me_status(&app, tokens.access_token().secret()).await?, StatusCode::OK);
        // Same client_name as another client: both are kept, the app names differ.
        let (status, _, twin) = json_request(&app, reqwest::Method::POST, "/oauth2/register", None, Some(json!({
            "client_name": "Editor", "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"
        }))).await?;
        assert_eq!(status, StatusCode::CREATED, "{twin}");
        assert_eq!(twin["client_name"], "Editor");
        let apps = app.get("/api/v2/oauth2-provider/apps", Some(&owner.token)).await?;
        let names: Vec<&str> = apps.body.as_array().into_iter().flatten().filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&"Editor") && names.iter().any(|n| n.starts_with("Editor (")), "{names:?}");
        Ok(())
    }
}

on_both_backends! {
    async fn dynamic_registration_refuses_bad_metadata(app: TestApp with registration_on(100)) {
        let cases: Vec<(Value, &str)> = vec![
            (json!({}), "invalid_client_metadata"),
            (json!({"redirect_uris": []}), "invalid_client_metadata"),
            (json!({"redirect_uris": ["http://app.example/cb"]}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["https://app.example/cb#frag"]}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["javascript:alert(1)"]}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["http://dev.localhost/cb"], "token_endpoint_auth_method": "none"}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["mailto:me@example.com"], "token_endpoint_auth_method": "none"}), "invalid_redirect_uri"),
            (json!({"redirect_uris": [CALLBACK], "grant_types": ["client_credentials"]}), "invalid_client_metadata"),
            (json!({"redirect_uris": [CALLBACK], "grant_types": ["refresh_token"]}), "invalid_client_metadata"),
            (json!({"redirect_uris": [CALLBACK], "response_types": ["token"]}), "invalid_client_metadata"),
            (json!({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "private_key_jwt"}), "invalid_client_metadata"),
            (json!({"redirect_uris": [CALLBACK], "scope": "coder:all nonsense"}), "invalid_client_metadata"),
            (json!({"redirect_uris": [CALLBACK], "client_uri": "ftp://x.example/"}), "invalid_client_metadata"),
            (json!({"redirect_uris": "not-a-list"}), "invalid_client_metadata"),
        ];
        for (body, error) in cases {
            let (status, _, reply) = json_request(&app, reqwest::Method::POST, "/oauth2/register", None, Some(body.clone())).await?;
            assert_eq!((status, reply["error"].as_str()), (StatusCode::BAD_REQUEST, Some(error)), "{body}: {reply}");
            assert!(reply["error_description"].as_str().is_some_and(|d| !d.is_empty()));
        }
        let res = http()?.post(format!("{}/oauth2/register", app.base)).header("content-type", "application/json").body("{").send().await?;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        // The development names Coder allows confidential clients.
        let (status, _, _) = json_request(&app, reqwest::Method::POST, "/oauth2/register", None,
            Some(json!({"redirect_uris": ["http://dev.localhost/cb", "vscode://coder.ext/cb"]}))).await?;
        assert_eq!(status, StatusCode::CREATED);
        let owner = app.owner().await?;
        let apps = app.get("/api/v2/oauth2-provider/apps", Some(&owner.token)).await?;
        assert_eq!(apps.body.as_array().map(Vec::len), Some(1), "nothing was written for refused registrations");
        Ok(())
    }
}

on_both_backends! {
    async fn registration_is_off_by_default_and_rate_limited(app: TestApp) {
        let meta = app.get("/.well-known/oauth-authorization-server", None).await?;
        assert!(meta.body.get("registration_endpoint").is_none());
        assert_eq!(meta.body["device_authorization_endpoint"], format!("{}/oauth2/device", app.base));
        let body = json!({"redirect_uris": [CALLBACK]});
        let (status, _, _) = json_request(&app, reqwest::Method::POST, "/oauth2/register", None, Some(body.clone())).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = json_request(&app, reqwest::Method::GET, &format!("/oauth2/clients/{}", uuid::Uuid::new_v4()), Some("x"), None).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let backend = app.backend;
        drop(app);
        let app = TestApp::spawn_with(backend, registration_on(2)).await?;
        for _ in 0..2 {
            let (status, _, reply) = json_request(&app, reqwest::Method::POST, "/oauth2/register", None, Some(body.clone())).await?;
            assert_eq!(status, StatusCode::CREATED, "{reply}");
        }
        let (status, headers, reply) = json_request(&app, reqwest::Method::POST, "/oauth2/register", None, Some(body)).await?;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{reply}");
        let retry: u64 = headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or_default();
        // Until the first of the two leaves the minute.
        assert!((50..=60).contains(&retry), "{retry}");
        Ok(())
    }
}

/// The registration limit counts in the database: two replicas admit together what
/// one would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_registration_limit() -> anyhow::Result<()> {
    let app = TestApp::spawn_with(warden_tests::Backend::Postgres, registration_on(2)).await?;
    let other = app.spawn_replica().await?;
    let body = json!({"redirect_uris": [CALLBACK]});
    let register = |base: String| {
        let body = body.clone();
        async move {
            http()?
                .post(format!("{base}/oauth2/register"))
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
                .map_err(anyhow::Error::from)
        }
    };
    assert_eq!(register(app.base.clone()).await?, StatusCode::CREATED);
    assert_eq!(register(other.base.clone()).await?, StatusCode::CREATED);
    assert_eq!(
        register(app.base.clone()).await?,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        register(other.base.clone()).await?,
        StatusCode::TOO_MANY_REQUESTS
    );
    other.stop().await
}
