//! OAuth2 client policy: a client registered without `refresh_token` gets no refresh
//! token, a registered `scope` is an allowlist, and user-code guessing on the device
//! verification page is rate-limited (RFC 8628 §5.1).

use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, Scope, TokenResponse};
use serde_json::{Value, json};
use warden_tests::{StatusCode, TestApp, on_both_backends};

use crate::oauth2_device_dcr::{
    CALLBACK, DEVICE_GRANT, admin_app, browser_session, form, get_page, http, json_request,
    me_status, registration_on, start_device,
};
use crate::oauth2_provider::{Client, oauth2_client};

/// Registers a client through RFC 7591; returns the whole response.
async fn register(app: &TestApp, metadata: Value) -> anyhow::Result<Value> {
    let (status, _, reg) = json_request(
        app,
        reqwest::Method::POST,
        "/oauth2/register",
        None,
        Some(metadata),
    )
    .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {reg}");
    Ok(reg)
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

/// The query parameters of a redirect's `Location`.
fn location_params(res: &reqwest::Response) -> anyhow::Result<Vec<(String, String)>> {
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(reqwest::Url::parse(location)?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// An authorization URL for `client_id` at `CALLBACK`, with `scope` if given.
fn authorize_url(app: &TestApp, client_id: &str, scope: Option<&str>, challenge: &str) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("state", "st-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    if let Some(scope) = scope {
        pairs.push(("scope", scope));
    }
    reqwest::Url::parse_with_params(&format!("{}/oauth2/authorize", app.base), &pairs)
        .map(String::from)
        .unwrap_or_default()
}

/// POSTs the authorization request as an API client (`Coder-Session-Token`), which
/// decides at once. Returns the redirect's parameters and the PKCE verifier.
async fn authorize(
    app: &TestApp,
    token: &str,
    client_id: &str,
    scope: Option<&str>,
) -> anyhow::Result<(StatusCode, Vec<(String, String)>, String)> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let res = http()?
        .post(authorize_url(app, client_id, scope, challenge.as_str()))
        .header("Coder-Session-Token", token)
        .send()
        .await?;
    let status = res.status();
    let params = if status == StatusCode::FOUND {
        location_params(&res)?
    } else {
        Vec::new()
    };
    Ok((status, params, verifier.secret().clone()))
}

/// Runs the code flow with raw forms; returns the token endpoint's JSON body.
async fn code_tokens(
    app: &TestApp,
    token: &str,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> anyhow::Result<Value> {
    let (status, params, verifier) = authorize(app, token, client_id, scope).await?;
    anyhow::ensure!(status == StatusCode::FOUND, "{status}");
    let code = param(&params, "code").ok_or_else(|| anyhow::anyhow!("no code: {params:?}"))?;
    let (status, _, body) = form(
        app,
        "/oauth2/tokens",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
            ("client_id", client_id),
            ("client_secret", secret),
        ],
    )
    .await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {body}");
    Ok(body)
}

/// Starts a device authorization, approves it with the session token header and
/// collects the tokens.
async fn device_tokens(
    app: &TestApp,
    token: &str,
    client: &[(&str, &str)],
) -> anyhow::Result<Value> {
    let started = start_device(app, client).await?;
    let res = http()?
        .post(format!("{}/oauth2/device/verify", app.base))
        .header("Coder-Session-Token", token)
        .form(&[
            ("user_code", text(&started, "user_code").as_str()),
            ("action", "allow"),
        ])
        .send()
        .await?;
    anyhow::ensure!(res.status() == StatusCode::OK, "{}", res.status());
    let device_code = text(&started, "device_code");
    let mut pairs = vec![
        ("grant_type", DEVICE_GRANT),
        ("device_code", device_code.as_str()),
    ];
    pairs.extend_from_slice(client);
    let (status, _, body) = form(app, "/oauth2/tokens", &pairs).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {body}");
    Ok(body)
}

on_both_backends! {
    async fn clients_without_the_refresh_grant_get_no_refresh_token(app: TestApp with registration_on(100)) {
        let owner = app.owner().await?;

        // Registered for the code grant only.
        let reg = register(&app, json!({"client_name": "Code only", "redirect_uris": [CALLBACK],
            "grant_types": ["authorization_code"]})).await?;
        assert_eq!(reg["grant_types"], json!(["authorization_code"]));
        let (id, secret) = (text(&reg, "client_id"), text(&reg, "client_secret"));
        let body = code_tokens(&app, &owner.token, &id, &secret, None).await?;
        assert!(body.get("refresh_token").is_none(), "{body}");
        let access = text(&body, "access_token");
        assert_eq!(me_status(&app, &access).await?, StatusCode::OK);
        // The oauth2 crate sees no refresh token either.
        let http = http()?;
        let client = oauth2_client(&app, &Client { id: id.clone(), secret: secret.clone() })?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _) = client.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
        let res = http.post(url.as_str()).header("Coder-Session-Token", &owner.token).send().await?;
        let code = param(&location_params(&res)?, "code").unwrap_or_default();
        let tokens = client.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http).await?;
        assert!(tokens.refresh_token().is_none());
        let access2 = tokens.access_token().secret().clone();
        // The access token still belongs to a token family: introspection and
        // revocation find it.
        let (status, _, intro) = form(&app, "/oauth2/introspect", &[("token", &access2), ("client_id", &id), ("client_secret", &secret)]).await?;
        assert_eq!((status, intro["active"].clone()), (StatusCode::OK, json!(true)), "{intro}");
        let (status, _, _) = form(&app, "/oauth2/revoke", &[("token", &access2), ("client_id", &id), ("client_secret", &secret)]).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me_status(&app, &access2).await?, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&app, &access).await?, StatusCode::OK, "another family");
        // The refresh grant stays refused for this client.
        let fake = format!("coder_{}_{}", "a".repeat(10), "b".repeat(40));
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", "refresh_token"), ("refresh_token", &fake),
            ("client_id", &id), ("client_secret", &secret)]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("unauthorized_client")), "{body}");

        // Registered for the code and device grants, without refresh: the device grant
        // hands out no refresh token either.
        let reg = register(&app, json!({"client_name": "TV", "redirect_uris": ["http://127.0.0.1/cb"],
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", DEVICE_GRANT]})).await?;
        let tv = text(&reg, "client_id");
        let body = device_tokens(&app, &owner.token, &[("client_id", &tv)]).await?;
        assert!(body.get("refresh_token").is_none(), "{body}");
        assert_eq!(me_status(&app, &text(&body, "access_token")).await?, StatusCode::OK);

        // The default registration includes refresh_token, and gets one.
        let reg = register(&app, json!({"client_name": "Default", "redirect_uris": [CALLBACK]})).await?;
        let body = code_tokens(&app, &owner.token, &text(&reg, "client_id"), &text(&reg, "client_secret"), None).await?;
        assert!(text(&body, "refresh_token").starts_with("coder_"), "{body}");

        // Apps created through Coder's API may use every grant, refresh included, as
        // in Coder.
        let (admin_id, admin_secret) = admin_app(&app, &owner, "coder-app", false).await?;
        let got = app.get(&format!("/api/v2/oauth2-provider/apps/{admin_id}"), Some(&owner.token)).await?;
        assert_eq!(got.status, StatusCode::OK);
        let admin_secret = admin_secret.unwrap_or_default();
        let body = code_tokens(&app, &owner.token, &admin_id, &admin_secret, None).await?;
        let refresh = text(&body, "refresh_token");
        assert!(refresh.starts_with("coder_"), "{body}");
        let (status, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", "refresh_token"), ("refresh_token", &refresh),
            ("client_id", &admin_id), ("client_secret", &admin_secret)]).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(text(&body, "refresh_token").starts_with("coder_"), "{body}");
        let body = device_tokens(&app, &owner.token, &[("client_id", &admin_id), ("client_secret", &admin_secret)]).await?;
        assert!(text(&body, "refresh_token").starts_with("coder_"), "{body}");
        Ok(())
    }
}

on_both_backends! {
    async fn a_registered_scope_is_an_allowlist(app: TestApp with registration_on(100)) {
        let owner = app.owner().await?;
        let reg = register(&app, json!({"client_name": "Scoped", "redirect_uris": [CALLBACK],
            "scope": "coder:workspaces.access coder:templates.build",
            "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT]})).await?;
        let (id, secret) = (text(&reg, "client_id"), text(&reg, "client_secret"));
        let reg_token = text(&reg, "registration_access_token");

        // Outside the allowlist: redirected back with invalid_scope and the state
        // (RFC 6749 §4.1.2.1), on POST ...
        let (status, params, _) = authorize(&app, &owner.token, &id, Some("coder:all")).await?;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(param(&params, "error").as_deref(), Some("invalid_scope"), "{params:?}");
        assert_eq!(param(&params, "state").as_deref(), Some("st-1"));
        assert!(param(&params, "code").is_none());
        let (_, params, _) = authorize(&app, &owner.token, &id, Some("coder:workspaces.access coder:apikeys.manage_self")).await?;
        assert_eq!(param(&params, "error").as_deref(), Some("invalid_scope"), "{params:?}");
        // ... and on the consent page's GET.
        let cookie = browser_session(&app).await?;
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let res = http()?.get(authorize_url(&app, &id, Some("coder:all"), challenge.as_str())).header("cookie", &cookie).send().await?;
        assert_eq!(res.status(), StatusCode::FOUND);
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(location.starts_with(CALLBACK), "{location}");
        assert_eq!(param(&location_params(&res)?, "error").as_deref(), Some("invalid_scope"));
        // Inside it: the consent page, then tokens with that scope.
        let (status, html) = get_page(&app, &authorize_url(&app, &id, Some("coder:workspaces.access"), challenge.as_str()), &cookie).await?;
        assert_eq!(status, StatusCode::OK, "{html}");
        let body = code_tokens(&app, &owner.token, &id, &secret, Some("coder:workspaces.access")).await?;
        assert_eq!(body["scope"], "coder:workspaces.access");
        // No scope: the default (coder:all) is not allowed, so the registered scope is
        // granted.
        let body = code_tokens(&app, &owner.token, &id, &secret, None).await?;
        assert_eq!(body["scope"], "coder:workspaces.access coder:templates.build", "{body}");
        // The oauth2 crate's view of the same.
        let http = http()?;
        let client = oauth2_client(&app, &Client { id: id.clone(), secret: secret.clone() })?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _) = client.authorize_url(CsrfToken::new_random).add_scope(Scope::new("coder:templates.build".into()))
            .set_pkce_challenge(challenge).url();
        let res = http.post(url.as_str()).header("Coder-Session-Token", &owner.token).send().await?;
        let code = param(&location_params(&res)?, "code").unwrap_or_default();
        let tokens = client.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http).await?;
        assert_eq!(tokens.scopes().map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            Some(vec!["coder:templates.build".to_owned()]));

        // The device endpoint applies the same allowlist (400 JSON).
        let client_pairs = [("client_id", id.as_str()), ("client_secret", secret.as_str())];
        let (status, _, body) = form(&app, "/oauth2/device", &[client_pairs[0], client_pairs[1], ("scope", "coder:all")]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_scope")), "{body}");
        let body = device_tokens(&app, &owner.token, &[client_pairs[0], client_pairs[1], ("scope", "coder:templates.build")]).await?;
        assert_eq!(body["scope"], "coder:templates.build");
        let body = device_tokens(&app, &owner.token, &client_pairs).await?;
        assert_eq!(body["scope"], "coder:workspaces.access coder:templates.build");

        // An RFC 7592 update takes effect at once (the app was just read, and cached).
        let path = format!("/oauth2/clients/{id}");
        let update = |scope: Option<&str>| {
            let mut body = json!({"client_id": id, "client_name": "Scoped", "redirect_uris": [CALLBACK],
                "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT]});
            if let Some(scope) = scope {
                body["scope"] = json!(scope);
            }
            body
        };
        let (status, _, updated) = json_request(&app, reqwest::Method::PUT, &path, Some(&reg_token), Some(update(Some("coder:templates.build")))).await?;
        assert_eq!(status, StatusCode::OK, "{updated}");
        let (_, params, _) = authorize(&app, &owner.token, &id, Some("coder:workspaces.access")).await?;
        assert_eq!(param(&params, "error").as_deref(), Some("invalid_scope"), "narrowed at once: {params:?}");
        let (status, _, body) = form(&app, "/oauth2/device", &[client_pairs[0], client_pairs[1], ("scope", "coder:workspaces.access")]).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_scope")), "{body}");
        let body = code_tokens(&app, &owner.token, &id, &secret, None).await?;
        assert_eq!(body["scope"], "coder:templates.build");
        // Registering coder:all allows every scope (it is a superset of each), and is
        // the default.
        let (status, _, _) = json_request(&app, reqwest::Method::PUT, &path, Some(&reg_token), Some(update(Some("coder:all")))).await?;
        assert_eq!(status, StatusCode::OK);
        let body = code_tokens(&app, &owner.token, &id, &secret, Some("coder:workspaces.access")).await?;
        assert_eq!(body["scope"], "coder:workspaces.access");
        let body = code_tokens(&app, &owner.token, &id, &secret, None).await?;
        assert_eq!(body["scope"], "coder:all");
        // Removing the scope lifts the restriction.
        let (status, _, _) = json_request(&app, reqwest::Method::PUT, &path, Some(&reg_token), Some(update(None))).await?;
        assert_eq!(status, StatusCode::OK);
        let body = code_tokens(&app, &owner.token, &id, &secret, Some("coder:apikeys.manage_self")).await?;
        assert_eq!(body["scope"], "coder:apikeys.manage_self");

        // Clients without a registered scope, and admin-API apps, are unrestricted.
        let reg = register(&app, json!({"client_name": "Free", "redirect_uris": [CALLBACK]})).await?;
        let body = code_tokens(&app, &owner.token, &text(&reg, "client_id"), &text(&reg, "client_secret"), None).await?;
        assert_eq!(body["scope"], "coder:all");
        let (admin_id, admin_secret) = admin_app(&app, &owner, "coder-app", false).await?;
        let body = code_tokens(&app, &owner.token, &admin_id, &admin_secret.unwrap_or_default(), Some("coder:workspaces.access")).await?;
        assert_eq!(body["scope"], "coder:workspaces.access");
        Ok(())
    }
}

/// POSTs a decision on the verification page with the session token header.
async fn verify_as(
    app: &TestApp,
    token: &str,
    user_code: &str,
) -> anyhow::Result<(StatusCode, reqwest::header::HeaderMap, String)> {
    let res = http()?
        .post(format!("{}/oauth2/device/verify", app.base))
        .header("Coder-Session-Token", token)
        .form(&[("user_code", user_code), ("action", "allow")])
        .send()
        .await?;
    let (status, headers) = (res.status(), res.headers().clone());
    Ok((status, headers, res.text().await?))
}

/// User codes that are well-formed but (almost surely) not issued.
const WRONG: [&str; 6] = [
    "BBBB-BBBB",
    "CCCC-CCCC",
    "DDDD-DDDD",
    "FFFF-FFFF",
    "GGGG-GGGG",
    "HHHH-HHHH",
];

on_both_backends! {
    async fn user_code_guessing_is_rate_limited(app: TestApp) {
        let owner = app.owner().await?;
        let member = app.user(&owner, "member").await?;
        let (public_id, _) = admin_app(&app, &owner, "tv", true).await?;
        let started = start_device(&app, &[("client_id", &public_id)]).await?;
        let user_code = text(&started, "user_code");

        // Five wrong codes (a malformed one counts too) are answered one by one ...
        for wrong in ["nope"].iter().chain(&WRONG[..4]) {
            let (status, _, html) = verify_as(&app, &owner.token, wrong).await?;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{wrong}: {html}");
            assert!(html.contains("not valid"), "{html}");
        }
        // ... then every attempt is refused, the right code included, on POST and GET.
        let (status, headers, html) = verify_as(&app, &owner.token, &user_code).await?;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
        assert!(html.contains("Too many wrong codes"), "{html}");
        assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("text/html; charset=utf-8"));
        let retry: u64 = headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or_default();
        assert!((1..=60).contains(&retry), "{retry}");
        let (status, _, _) = verify_as(&app, &owner.token, WRONG[4]).await?;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let cookie = browser_session(&app).await?;
        let (status, html) = get_page(&app, &format!("/oauth2/device/verify?user_code={user_code}"), &cookie).await?;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
        assert!(html.contains("Too many wrong codes"), "{html}");
        // The code itself is untouched: the device is still waiting.
        let (_, _, body) = form(&app, "/oauth2/tokens", &[("grant_type", DEVICE_GRANT),
            ("device_code", &text(&started, "device_code")), ("client_id", &public_id)]).await?;
        assert_eq!(body["error"], "authorization_pending", "{body}");

        // Another user is limited on their own: a wrong code, then the right one.
        let (status, _, _) = verify_as(&app, &member.token, WRONG[5]).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, html) = verify_as(&app, &member.token, &user_code).await?;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Device connected"), "{html}");
        Ok(())
    }
}

on_both_backends! {
    async fn the_user_code_limit_is_configurable(app: TestApp with |a| a.oauth2_device_verify_rate_limit = 2) {
        let owner = app.owner().await?;
        let (public_id, _) = admin_app(&app, &owner, "tv", true).await?;
        let started = start_device(&app, &[("client_id", &public_id)]).await?;
        let user_code = text(&started, "user_code");
        // Right codes do not count: approve another device, then guess wrong twice.
        let other = start_device(&app, &[("client_id", &public_id)]).await?;
        let (status, _, _) = verify_as(&app, &owner.token, &text(&other, "user_code")).await?;
        assert_eq!(status, StatusCode::OK);
        for wrong in &WRONG[..2] {
            let (status, _, _) = verify_as(&app, &owner.token, wrong).await?;
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }
        let (status, _, html) = verify_as(&app, &owner.token, &user_code).await?;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
        Ok(())
    }
}
