//! The OAuth2 authorization server end to end, with the `oauth2` crate as the client
//! where a real client would be used, and raw HTTP for what clients must not do.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenResponse, TokenUrl,
};
use serde_json::{Value, json};
use warden_tests::{StatusCode, TestApp, TestUser, on_both_backends};

use crate::oauth2_device_dcr::{CALLBACK, http};

/// A registered confidential client.
pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) secret: String,
}

async fn register(app: &TestApp, owner: &TestUser, name: &str) -> anyhow::Result<Client> {
    let created = app
        .post(
            "/api/v2/oauth2-provider/apps",
            Some(&owner.token),
            json!({"name": name, "callback_url": CALLBACK, "icon": "https://example.com/icon.png"}),
        )
        .await?;
    anyhow::ensure!(created.status == StatusCode::CREATED, "{created:?}");
    let id = created.body["id"].as_str().unwrap_or_default().to_owned();
    let secret = app
        .post(
            &format!("/api/v2/oauth2-provider/apps/{id}/secrets"),
            Some(&owner.token),
            json!({}),
        )
        .await?;
    anyhow::ensure!(secret.status == StatusCode::CREATED, "{secret:?}");
    Ok(Client {
        id,
        secret: secret.body["client_secret_full"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    })
}

pub(crate) type Configured = oauth2::Client<
    oauth2::StandardErrorResponse<oauth2::basic::BasicErrorResponseType>,
    oauth2::StandardTokenResponse<oauth2::EmptyExtraTokenFields, oauth2::basic::BasicTokenType>,
    oauth2::StandardTokenIntrospectionResponse<
        oauth2::EmptyExtraTokenFields,
        oauth2::basic::BasicTokenType,
    >,
    oauth2::StandardRevocableToken,
    oauth2::StandardErrorResponse<oauth2::RevocationErrorResponseType>,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// The `oauth2` crate's client for `client`, with this server's endpoints.
pub(crate) fn oauth2_client(app: &TestApp, client: &Client) -> anyhow::Result<Configured> {
    Ok(BasicClient::new(ClientId::new(client.id.clone()))
        .set_client_secret(ClientSecret::new(client.secret.clone()))
        .set_auth_uri(AuthUrl::new(format!("{}/oauth2/authorize", app.base))?)
        .set_token_uri(TokenUrl::new(format!("{}/oauth2/tokens", app.base))?)
        .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned())?))
}

/// What the authorization endpoint answered: status, `Location` and body.
struct Answer {
    status: StatusCode,
    location: String,
    body: String,
}

impl Answer {
    fn param(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(&self.location).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// POSTs the authorization request as an API client (`Coder-Session-Token`).
async fn approve(url: &str, token: &str) -> anyhow::Result<Answer> {
    let res = http()?
        .post(url)
        .header("Coder-Session-Token", token)
        .send()
        .await?;
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok(Answer {
        status,
        location,
        body: res.text().await?,
    })
}

/// Runs the authorization step with PKCE; returns the code and its verifier.
async fn get_code(
    app: &TestApp,
    client: &Client,
    user: &TestUser,
    scopes: &[&str],
    extra: &[(&str, &str)],
) -> anyhow::Result<(String, PkceCodeVerifier)> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let oauth = oauth2_client(app, client)?;
    let mut req = oauth
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for s in scopes {
        req = req.add_scope(Scope::new((*s).to_owned()));
    }
    for (k, v) in extra {
        req = req.add_extra_param(*k, *v);
    }
    let (url, state) = req.url();
    let answer = approve(url.as_str(), &user.token).await?;
    anyhow::ensure!(
        answer.status == StatusCode::FOUND,
        "authorize: {} {}",
        answer.status,
        answer.body
    );
    anyhow::ensure!(answer.location.starts_with(CALLBACK), "{}", answer.location);
    anyhow::ensure!(answer.param("state").as_deref() == Some(state.secret().as_str()));
    anyhow::ensure!(answer.param("iss").as_deref() == Some(app.base.as_str()));
    let code = answer
        .param("code")
        .ok_or_else(|| anyhow::anyhow!("no code in {}", answer.location))?;
    Ok((code, verifier))
}

/// POSTs a raw form to a token-family endpoint.
async fn form(
    app: &TestApp,
    path: &str,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> anyhow::Result<(StatusCode, reqwest::header::HeaderMap, Value)> {
    let mut req = http()?.post(format!("{}{path}", app.base)).form(pairs);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await?;
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, headers, body))
}

async fn me_status(app: &TestApp, token: &str) -> anyhow::Result<StatusCode> {
    Ok(app.get("/api/v2/users/me", Some(token)).await?.status)
}

on_both_backends! {
    async fn apps_and_secrets_have_coders_shapes(app: TestApp) {
        let owner = app.owner().await?;
        let created = app
            .post("/api/v2/oauth2-provider/apps", Some(&owner.token),
                json!({"name": "editor", "callback_url": CALLBACK, "icon": "/icon.png"}))
            .await?;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let id = created.body["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(created.body["name"], "editor");
        assert_eq!(created.body["callback_url"], CALLBACK);
        assert_eq!(created.body["endpoints"]["authorization"], format!("{}/oauth2/authorize", app.base));
        assert_eq!(created.body["endpoints"]["token"], format!("{}/oauth2/tokens", app.base));
        assert_eq!(created.body["endpoints"]["token_revoke"], format!("{}/oauth2/revoke", app.base));
        assert_eq!(created.body["endpoints"]["device_authorization"], format!("{}/oauth2/device", app.base));

        let listed = app.get("/api/v2/oauth2-provider/apps", Some(&owner.token)).await?;
        assert_eq!(listed.body, json!([created.body.clone()]));
        let one = app.get(&format!("/api/v2/oauth2-provider/apps/{id}"), Some(&owner.token)).await?;
        assert_eq!(one.body, created.body);

        let dup = app.post("/api/v2/oauth2-provider/apps", Some(&owner.token),
            json!({"name": "editor", "callback_url": CALLBACK})).await?;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        assert_eq!(dup.fields(), vec!["name".to_owned()]);
        let bad = app.post("/api/v2/oauth2-provider/apps", Some(&owner.token),
            json!({"name": "x", "callback_url": "javascript:alert(1)"})).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.fields(), vec!["callback_url".to_owned()]);
        let not_uuid = app.get("/api/v2/oauth2-provider/apps/nope", Some(&owner.token)).await?;
        assert_eq!(not_uuid.status, StatusCode::BAD_REQUEST);
        let missing = app.get(&format!("/api/v2/oauth2-provider/apps/{}", uuid::Uuid::new_v4()), Some(&owner.token)).await?;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);

        let updated = app.request(reqwest::Method::PUT, &format!("/api/v2/oauth2-provider/apps/{id}"), Some(&owner.token),
            Some(json!({"name": "editor2", "callback_url": "http://localhost:3000/cb", "icon": ""}))).await?;
        assert_eq!(updated.status, StatusCode::OK, "{updated:?}");
        assert_eq!(updated.body["name"], "editor2");
        assert_eq!(updated.body["callback_url"], "http://localhost:3000/cb");

        let secret = app.post(&format!("/api/v2/oauth2-provider/apps/{id}/secrets"), Some(&owner.token), json!({})).await?;
        assert_eq!(secret.status, StatusCode::CREATED);
        let full = secret.body["client_secret_full"].as_str().unwrap_or_default().to_owned();
        assert!(full.starts_with("coder_") && full.len() == 6 + 10 + 1 + 40, "{full}");
        let secrets = app.get(&format!("/api/v2/oauth2-provider/apps/{id}/secrets"), Some(&owner.token)).await?;
        assert_eq!(secrets.body.as_array().map(Vec::len), Some(1));
        assert_eq!(secrets.body[0]["id"], secret.body["id"]);
        assert_eq!(secrets.body[0]["last_used_at"], Value::Null);
        assert_eq!(secrets.body[0]["client_secret_truncated"].as_str(), full.get(full.len() - 6..));
        assert!(!secrets.body.to_string().contains(&full), "the secret is shown once only");

        let bob = app.user(&owner, "bob").await?;
        let refused = app.post("/api/v2/oauth2-provider/apps", Some(&bob.token),
            json!({"name": "mine", "callback_url": CALLBACK})).await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let readable = app.get(&format!("/api/v2/oauth2-provider/apps/{id}"), Some(&bob.token)).await?;
        assert_eq!(readable.status, StatusCode::OK);
        let hidden = app.get(&format!("/api/v2/oauth2-provider/apps/{id}/secrets"), Some(&bob.token)).await?;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);

        let secret_id = secret.body["id"].as_str().unwrap_or_default();
        let gone = app.delete(&format!("/api/v2/oauth2-provider/apps/{id}/secrets/{secret_id}"), Some(&owner.token)).await?;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
        let again = app.delete(&format!("/api/v2/oauth2-provider/apps/{id}/secrets/{secret_id}"), Some(&owner.token)).await?;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        let deleted = app.delete(&format!("/api/v2/oauth2-provider/apps/{id}"), Some(&owner.token)).await?;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let after = app.get(&format!("/api/v2/oauth2-provider/apps/{id}"), Some(&owner.token)).await?;
        assert_eq!(after.status, StatusCode::NOT_FOUND);
        Ok(())
    }
}

on_both_backends! {
    async fn metadata_documents_meet_rfc_8414_and_9728(app: TestApp) {
        let root = app.get("/.well-known/oauth-authorization-server", None).await?;
        assert_eq!(root.status, StatusCode::OK);
        let doc = &root.body;
        // RFC 8414 §2: issuer and response_types_supported are REQUIRED; the
        // authorization and token endpoints are REQUIRED when the code grant is offered.
        assert_eq!(doc["issuer"], app.base.as_str());
        assert!(!doc["issuer"].as_str().unwrap_or("?").contains(['?', '#']));
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        assert_eq!(doc["authorization_endpoint"], format!("{}/oauth2/authorize", app.base));
        assert_eq!(doc["token_endpoint"], format!("{}/oauth2/tokens", app.base));
        assert_eq!(doc["revocation_endpoint"], format!("{}/oauth2/revoke", app.base));
        assert_eq!(doc["introspection_endpoint"], format!("{}/oauth2/introspect", app.base));
        assert_eq!(doc["device_authorization_endpoint"], format!("{}/oauth2/device", app.base));
        assert_eq!(doc["grant_types_supported"], json!(["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]));
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["token_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post", "none"]));
        assert_eq!(doc["revocation_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post", "none"]));
        assert_eq!(doc["introspection_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post"]));
        assert!(doc["scopes_supported"].as_array().is_some_and(|s| s.contains(&json!("coder:all"))));
        assert!(doc.get("registration_endpoint").is_none(), "registration is off");
        let api = app.get("/api/v2/.well-known/oauth-authorization-server", None).await?;
        assert_eq!(api.body, root.body);

        let resource = app.get("/.well-known/oauth-protected-resource", None).await?;
        assert_eq!(resource.status, StatusCode::OK);
        assert_eq!(resource.body["resource"], app.base.as_str());
        assert_eq!(resource.body["authorization_servers"], json!([app.base.clone()]));
        assert_eq!(resource.body["bearer_methods_supported"], json!(["header", "query"]));
        Ok(())
    }
}

on_both_backends! {
    async fn code_flow_with_pkce_issues_scoped_api_credentials(app: TestApp) {
        let owner = app.owner().await?;
        let client = register(&app, &owner, "cli").await?;
        let http = http()?;
        let oauth = oauth2_client(&app, &client)?;

        let (code, verifier) = get_code(&app, &client, &owner, &[], &[]).await?;
        let tokens = oauth
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await?;
        let access = tokens.access_token().secret().clone();
        let me = app.get("/api/v2/users/me", Some(&access)).await?;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.body["username"], "admin");
        assert_eq!(tokens.scopes().map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()), Some(vec!["coder:all".to_owned()]));
        let secrets = app.get(&format!("/api/v2/oauth2-provider/apps/{}/secrets", client.id), Some(&owner.token)).await?;
        assert_ne!(secrets.body[0]["last_used_at"], Value::Null, "the secret's use is recorded");
        let authorized = app.get(&format!("/api/v2/oauth2-provider/apps?user_id={}", owner.id), Some(&owner.token)).await?;
        assert_eq!(authorized.body[0]["id"], client.id.as_str());

        // A narrow scope is enforced on the API key: creating tokens needs more.
        let (code, verifier) = get_code(&app, &client, &owner, &["coder:workspaces.access"], &[]).await?;
        let narrow = oauth.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http).await?;
        let narrow = narrow.access_token().secret().clone();
        let mint = |token: String| {
            let app = &app;
            async move { app.post("/api/v2/users/me/keys/tokens", Some(&token), json!({"token_name": format!("t{}", uuid::Uuid::new_v4().simple())})).await }
        };
        let refused = mint(narrow.clone()).await?;
        assert!(matches!(refused.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST), "{refused:?}");
        assert_eq!(mint(access.clone()).await?.status, StatusCode::CREATED);

        // Refresh rotates: the old access token dies, the new pair works.
        let refresh = tokens.refresh_token().map(|t| t.secret().clone()).unwrap_or_default();
        let rotated = oauth.exchange_refresh_token(&RefreshToken::new(refresh.clone())).request_async(&http).await?;
        assert_eq!(me_status(&app, &access).await?, StatusCode::UNAUTHORIZED);
        let access2 = rotated.access_token().secret().clone();
        assert_eq!(me_status(&app, &access2).await?, StatusCode::OK);
        assert_ne!(rotated.refresh_token().map(|t| t.secret().clone()), Some(refresh.clone()));

        // Within the grace window a concurrent refresh with the old token still works.
        let concurrent = oauth.exchange_refresh_token(&RefreshToken::new(refresh)).request_async(&http).await?;
        assert_eq!(me_status(&app, concurrent.access_token().secret()).await?, StatusCode::OK);
        Ok(())
    }
}

on_both_backends! {
    async fn refresh_reuse_after_the_grace_window_revokes_the_family(app: TestApp with |a| a.oauth2_refresh_grace = 0) {
        let owner = app.owner().await?;
        let client = register(&app, &owner, "cli").await?;
        let http = http()?;
        let oauth = oauth2_client(&app, &client)?;
        let (code, verifier) = get_code(&app, &client, &owner, &[], &[]).await?;
        let first = oauth.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http).await?;
        let old = first.refresh_token().map(|t| t.secret().clone()).unwrap_or_default();
        let second = oauth.exchange_refresh_token(&RefreshToken::new(old.clone())).request_async(&http).await?;
        assert_eq!(me_status(&app, second.access_token().secret()).await?, StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (status, headers, body) = form(&app, "/oauth2/tokens",
            &[("grant_type", "refresh_token"), ("refresh_token", &old)],
            Some((&client.id, &client.secret))).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
        // The whole family is gone: the successor's access and refresh tokens too.
        assert_eq!(me_status(&app, second.access_token().secret()).await?, StatusCode::UNAUTHORIZED);
        let newest = second.refresh_token().map(|t| t.secret().clone()).unwrap_or_default();
        let (status, _, body) = form(&app, "/oauth2/tokens",
            &[("grant_type", "refresh_token"), ("refresh_token", &newest)],
            Some((&client.id, &client.secret))).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
        Ok(())
    }
}

on_both_backends! {
    async fn token_endpoint_refuses_what_the_traps_list(app: TestApp) {
        let owner = app.owner().await?;
        let client = register(&app, &owner, "cli").await?;
        let other = register(&app, &owner, "other").await?;
        let basic = Some((client.id.as_str(), client.secret.as_str()));
        let token = |pairs: Vec<(&'static str, String)>, basic: Option<(&str, &str)>| {
            let app = &app;
            let basic = basic.map(|(a, b)| (a.to_owned(), b.to_owned()));
            async move {
                let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                form(app, "/oauth2/tokens", &pairs, basic.as_ref().map(|(a, b)| (a.as_str(), b.as_str()))).await
            }
        };
        let code_pairs = |code: &str, verifier: &str| vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("code_verifier", verifier.to_owned()),
            ("redirect_uri", CALLBACK.to_owned()),
        ];

        // Wrong verifier, then no verifier (downgrade): invalid_grant, code still unused.
        let (code, verifier) = get_code(&app, &client, &owner, &[], &[]).await?;
        let wrong = PkceCodeVerifier::new("x".repeat(43));
        let (status, _, body) = token(code_pairs(&code, wrong.secret()), basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
        let (status, _, body) = token(vec![("grant_type", "authorization_code".into()), ("code", code.clone())], basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
        // Another client's credentials with this code.
        let (status, _, body) = token(code_pairs(&code, verifier.secret()), Some((&other.id, &other.secret))).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
        // Redirect URI differing from the one the code was sent to.
        let mut mismatched = code_pairs(&code, verifier.secret());
        mismatched.retain(|(k, _)| *k != "redirect_uri");
        mismatched.push(("redirect_uri", "http://127.0.0.1:9/elsewhere".into()));
        let mut omitted = code_pairs(&code, verifier.secret());
        omitted.retain(|(k, _)| *k != "redirect_uri");
        let (status, _, body) = token(omitted, basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")), "the authorization request named redirect_uri");
        let (status, _, body) = token(mismatched, basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
        // A resource the authorization request did not name.
        let mut target = code_pairs(&code, verifier.secret());
        target.push(("resource", app.base.clone()));
        let (status, _, body) = token(target, basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_target")));
        // Bad client secret: 401 with WWW-Authenticate.
        let (status, headers, body) = token(code_pairs(&code, verifier.secret()), Some((&client.id, &other.secret))).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_client")));
        assert!(headers.contains_key("www-authenticate"));
        // Duplicated and oversized fields.
        let mut dup = code_pairs(&code, verifier.secret());
        dup.push(("code", code.clone()));
        let (status, _, body) = token(dup, basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_request")));
        let mut big = code_pairs(&code, verifier.secret());
        big.push(("state", "x".repeat(5000)));
        let (status, _, body) = token(big, basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_request")));
        // Unknown grant type.
        let (status, _, body) = token(vec![("grant_type", "password".into())], basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("unsupported_grant_type")));

        // The right request works once (client_secret_post this time)...
        let mut good = code_pairs(&code, verifier.secret());
        good.push(("client_id", client.id.clone()));
        good.push(("client_secret", client.secret.clone()));
        let (status, headers, body) = token(good.clone(), None).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
        assert_eq!(body["token_type"], "Bearer");
        let access = body["access_token"].as_str().unwrap_or_default().to_owned();
        assert_eq!(me_status(&app, &access).await?, StatusCode::OK);
        // ...and its reuse fails and revokes what the first use issued.
        let (status, _, body) = token(good, None).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")));
        assert_eq!(me_status(&app, &access).await?, StatusCode::UNAUTHORIZED);
        Ok(())
    }
}

on_both_backends! {
    async fn expired_codes_and_resource_binding(app: TestApp with |a| a.oauth2_code_lifetime = 0) {
        let owner = app.owner().await?;
        let client = register(&app, &owner, "cli").await?;
        let basic = Some((client.id.as_str(), client.secret.as_str()));
        let (code, verifier) = get_code(&app, &client, &owner, &[], &[]).await?;
        let (status, _, body) = form(&app, "/oauth2/tokens",
            &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", verifier.secret()), ("redirect_uri", CALLBACK)], basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_grant")), "expired");

        let live = TestApp::spawn(app.backend).await?;
        let owner = live.owner().await?;
        let client = register(&live, &owner, "cli").await?;
        let basic = Some((client.id.as_str(), client.secret.as_str()));
        let resource = format!("{}/api/v2", live.base);
        let (code, verifier) = get_code(&live, &client, &owner, &[], &[("resource", &resource)]).await?;
        let (status, _, body) = form(&live, "/oauth2/tokens",
            &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", verifier.secret()), ("redirect_uri", CALLBACK), ("resource", "https://elsewhere.example/")], basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_target")));
        let (status, _, body) = form(&live, "/oauth2/tokens",
            &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", verifier.secret()), ("redirect_uri", CALLBACK), ("resource", &resource)], basic).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        let refresh = body["refresh_token"].as_str().unwrap_or_default().to_owned();
        let (status, _, body) = form(&live, "/oauth2/tokens",
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("resource", &live.base)], basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_target")), "a refresh cannot widen the audience");
        let (status, _, body) = form(&live, "/oauth2/introspect",
            &[("token", &refresh)], basic).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["aud"], resource.as_str());
        Ok(())
    }
}

on_both_backends! {
    async fn authorization_errors_are_pages_or_redirects(app: TestApp) {
        let owner = app.owner().await?;
        let client = register(&app, &owner, "cli").await?;
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let url = |params: &[(&str, &str)]| {
            let mut all = vec![("client_id", client.id.as_str()), ("response_type", "code"), ("state", "st")];
            all.extend_from_slice(params);
            format!("{}/oauth2/authorize?{}", app.base, serde_urlencoded_pairs(&all))
        };
        // Unknown client and mismatched redirect URI: an error page, never a redirect.
        let unknown = approve(&format!("{}/oauth2/authorize?client_id={}&response_type=code", app.base, uuid::Uuid::new_v4()), &owner.token).await?;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert!(unknown.location.is_empty() && unknown.body.contains("client_id"));
        let mismatch = approve(&url(&[("redirect_uri", "http://127.0.0.1:9/other"), ("code_challenge", challenge.as_str())]), &owner.token).await?;
        assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
        assert!(mismatch.location.is_empty() && mismatch.body.contains("redirect_uri"));
        // The loopback port may differ (RFC 8252).
        let port = approve(&url(&[("redirect_uri", "http://127.0.0.1:4567/callback"), ("code_challenge", challenge.as_str())]), &owner.token).await?;
        assert_eq!(port.status, StatusCode::FOUND);
        assert!(port.location.starts_with("http://127.0.0.1:4567/callback?code="), "{}", port.location);
        // Missing challenge, plain method, unknown scope, bad resource: redirected errors.
        for (params, error) in [
            (vec![], "invalid_request"),
            (vec![("code_challenge", challenge.as_str()), ("code_challenge_method", "plain")], "invalid_request"),
            (vec![("code_challenge", challenge.as_str()), ("scope", "everything")], "invalid_scope"),
            (vec![("code_challenge", challenge.as_str()), ("resource", "https://elsewhere.example/")], "invalid_target"),
            (vec![("code_challenge", challenge.as_str()), ("resource", "relative/path")], "invalid_target"),
            (vec![("code_challenge", challenge.as_str()), ("prompt", "none")], "invalid_request"),
        ] {
            let answer = approve(&url(&params), &owner.token).await?;
            assert_eq!(answer.status, StatusCode::FOUND, "{params:?}");
            assert_eq!(answer.param("error").as_deref(), Some(error), "{params:?}");
            assert_eq!(answer.param("state").as_deref(), Some("st"));
            assert!(answer.param("code").is_none());
        }
        let unsupported = approve(&format!("{}/oauth2/authorize?client_id={}&response_type=token", app.base, client.id), &owner.token).await?;
        assert_eq!(unsupported.param("error").as_deref(), Some("unsupported_response_type"));
        Ok(())
    }
}

fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://x/").unwrap_or_else(|_| unreachable!());
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

on_both_backends! {
    async fn revocation_and_introspection(app: TestApp) {
        let owner = app.owner().await?;
        let client = register(&app, &owner, "cli").await?;
        let other = register(&app, &owner, "other").await?;
        let http = http()?;
        let oauth = oauth2_client(&app, &client)?;
        let basic = Some((client.id.as_str(), client.secret.as_str()));
        let issue = || async {
            let (code, verifier) = get_code(&app, &client, &owner, &[], &[]).await?;
            let t = oauth.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http).await?;
            anyhow::Ok((t.access_token().secret().clone(), t.refresh_token().map(|r| r.secret().clone()).unwrap_or_default()))
        };

        let (access, refresh) = issue().await?;
        let (status, _, body) = form(&app, "/oauth2/introspect", &[("token", &access)], basic).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["active"], true);
        assert_eq!(body["client_id"], client.id.as_str());
        assert_eq!(body["username"], "admin");
        assert_eq!(body["sub"], owner.id.as_str());
        assert_eq!(body["scope"], "coder:all");
        let (_, _, foreign) = form(&app, "/oauth2/introspect", &[("token", &access)], Some((&other.id, &other.secret))).await?;
        assert_eq!(foreign, json!({"active": false}), "another client learns nothing");
        let (status, _, _) = form(&app, "/oauth2/introspect", &[("token", &access)], None).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "client authentication is required");

        // RFC 7009: revoking the refresh token kills the access token too.
        let (status, _, _) = form(&app, "/oauth2/revoke", &[("token", &refresh)], basic).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me_status(&app, &access).await?, StatusCode::UNAUTHORIZED);
        let (_, _, body) = form(&app, "/oauth2/introspect", &[("token", &refresh)], basic).await?;
        assert_eq!(body, json!({"active": false}));
        let (_, _, body) = form(&app, "/oauth2/introspect", &[("token", &access)], basic).await?;
        assert_eq!(body, json!({"active": false}), "introspection sees the revocation at once");
        let (status, _, _) = form(&app, "/oauth2/revoke", &[("token", "not-a-token")], basic).await?;
        assert_eq!(status, StatusCode::OK, "unknown tokens are not an error");

        // The user revokes the application.
        let (access, _) = issue().await?;
        let revoked = app.delete(&format!("/oauth2/tokens?client_id={}", client.id), Some(&owner.token)).await?;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        assert_eq!(me_status(&app, &access).await?, StatusCode::UNAUTHORIZED);

        // Deleting the secret revokes what it obtained; deleting the app, everything.
        let (access, _) = issue().await?;
        let secrets = app.get(&format!("/api/v2/oauth2-provider/apps/{}/secrets", client.id), Some(&owner.token)).await?;
        let secret_id = secrets.body[0]["id"].as_str().unwrap_or_default().to_owned();
        let deleted = app.delete(&format!("/api/v2/oauth2-provider/apps/{}/secrets/{secret_id}", client.id), Some(&owner.token)).await?;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(me_status(&app, &access).await?, StatusCode::UNAUTHORIZED);
        let (status, _, body) = form(&app, "/oauth2/introspect", &[("token", &access)], basic).await?;
        assert_eq!((status, body["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_client")), "a deleted secret stops authenticating at once");
        let fresh = app.post(&format!("/api/v2/oauth2-provider/apps/{}/secrets", client.id), Some(&owner.token), json!({})).await?;
        let client = Client { id: client.id.clone(), secret: fresh.body["client_secret_full"].as_str().unwrap_or_default().to_owned() };
        let oauth = oauth2_client(&app, &client)?;
        let (code, verifier) = get_code(&app, &client, &owner, &[], &[]).await?;
        let t = oauth.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http).await?;
        assert_eq!(me_status(&app, t.access_token().secret()).await?, StatusCode::OK);
        let gone = app.delete(&format!("/api/v2/oauth2-provider/apps/{}", client.id), Some(&owner.token)).await?;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
        assert_eq!(me_status(&app, t.access_token().secret()).await?, StatusCode::UNAUTHORIZED);
        let (status, _, _) = form(&app, "/oauth2/introspect", &[("token", t.access_token().secret())], Some((&client.id, &client.secret))).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a deleted app stops authenticating at once");
        Ok(())
    }
}

on_both_backends! {
    async fn consent_page_round_trip_with_login_and_csrf(app: TestApp) {
        let owner = app.owner().await?;
        let client = register(&app, &owner, "Editor <b>").await?;
        let http = http()?;
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let authorize = format!("/oauth2/authorize?{}", serde_urlencoded_pairs(&[
            ("client_id", &client.id), ("response_type", "code"), ("state", "s1"),
            ("code_challenge", challenge.as_str()), ("code_challenge_method", "S256"),
        ]));
        // Signed out: to the login page and back.
        let res = http.get(format!("{}{authorize}", app.base)).send().await?;
        assert_eq!(res.status(), StatusCode::FOUND);
        let login = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(login.starts_with("/login?redirect="), "{login}");
        let page = http.get(format!("{}{login}", app.base)).send().await?;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await?.contains("name=\"password\""));
        let res = http.post(format!("{}/login", app.base))
            .form(&[("email", "admin@example.com"), ("password", warden_tests::PASSWORD), ("redirect", authorize.as_str())])
            .send().await?;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers().get("location").and_then(|v| v.to_str().ok()), Some(authorize.as_str()));
        let cookie = res.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let session = cookie.split(';').next().unwrap_or_default().to_owned();
        assert!(session.starts_with("coder_session_token="), "{cookie}");
        let offsite = http.post(format!("{}/login", app.base))
            .form(&[("email", "admin@example.com"), ("password", warden_tests::PASSWORD), ("redirect", "//evil.example/")])
            .send().await?;
        assert_eq!(offsite.headers().get("location").and_then(|v| v.to_str().ok()), Some("/"));

        // Signed in: the consent page names the app (escaped), the user and the scopes.
        let res = http.get(format!("{}{authorize}", app.base)).header("cookie", &session).send().await?;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers().get("x-frame-options").and_then(|v| v.to_str().ok()), Some("DENY"));
        let html = res.text().await?;
        assert!(html.contains("Editor &lt;b&gt;") && !html.contains("Editor <b>"));
        assert!(html.contains(">admin<") && html.contains("coder:all"));
        assert!(html.contains("https://example.com/icon.png"));
        let csrf = html.split("name=\"csrf_token\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_owned();
        assert_eq!(csrf.len(), 64);

        // A cookie-authenticated post without the page's CSRF token is refused.
        let forged = http.post(format!("{}{authorize}", app.base)).header("cookie", &session).form(&[("csrf_token", "0".repeat(64))]).send().await?;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let allowed = http.post(format!("{}{authorize}", app.base)).header("cookie", &session).form(&[("csrf_token", csrf)]).send().await?;
        assert_eq!(allowed.status(), StatusCode::FOUND);
        let location = allowed.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(location.starts_with(&format!("{CALLBACK}?code=coder_")) && location.contains("state=s1"), "{location}");
        Ok(())
    }
}
