//! OIDC sign-in against a real OpenID provider (`oidc-provider`, started per test):
//! accounts by link, IdP sync at every sign-in, the claim index, and every refusal.

use serde_json::{Value, json};
use warden_tests::oidc::{Browser, Landing};
use warden_tests::{StatusCode, TestApp, on_both_backends};

const ORG_SYNC: &str = "/api/v2/settings/idpsync/organization";

fn alice(groups: &[&str]) -> Value {
    json!({
        "email": "alice@example.com", "email_verified": true,
        "preferred_username": "alice", "name": "Alice Liddell",
        "groups": groups, "organizations": ["acme-team"], "roles": ["lead"],
    })
}

fn accounts() -> Value {
    json!({
        "alice": alice(&["dev", "ops"]),
        "bob": {"email": "bob@example.com", "email_verified": false, "preferred_username": "bob"},
        "mallory": {"email": "mallory@elsewhere.test", "email_verified": true},
        "nomail": {"preferred_username": "nomail"},
    })
}

fn signed_in(landing: &Landing) -> anyhow::Result<String> {
    anyhow::ensure!(
        landing.status == StatusCode::TEMPORARY_REDIRECT,
        "sign-in refused: {landing:?}"
    );
    assert_eq!(landing.location(), Some("/api/v2/users/me"));
    landing
        .session_token()
        .ok_or_else(|| anyhow::anyhow!("no session cookie: {landing:?}"))
}

fn names(list: &Value, key: &str) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v[key].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

async fn user_count(app: &TestApp, token: &str) -> anyhow::Result<u64> {
    let users = app.get("/api/v2/users", Some(token)).await?;
    Ok(users.body["count"].as_u64().unwrap_or_default())
}

on_both_backends! {
    async fn sign_in_creates_links_and_follows_the_provider(backend: Backend) {
        let (app, provider) = TestApp::spawn_with_oidc(backend, &accounts(), |_| {}).await?;
        let owner = app.owner().await?;
        let admin = Some(owner.token.as_str());
        let acme = app
            .post("/api/v2/organizations", admin, json!({"name": "acme"}))
            .await?;
        let acme_id = acme.body["id"].as_str().unwrap_or_default().to_owned();
        let set = [
            (
                ORG_SYNC.to_owned(),
                json!({"field": "organizations", "mapping": {"acme-team": [acme_id]}, "organization_assign_default": true}),
            ),
            (
                "/api/v2/organizations/acme/settings/idpsync/groups".to_owned(),
                json!({"field": "groups", "mapping": {}, "auto_create_missing_groups": true}),
            ),
            (
                "/api/v2/organizations/acme/settings/idpsync/roles".to_owned(),
                json!({"field": "roles", "mapping": {"lead": ["organization-admin"]}}),
            ),
        ];
        for (path, body) in set {
            let reply = app.patch(&path, admin, body).await?;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {reply:?}");
        }

        // First sign-in: the account is created from the claims, with the session
        // cookie of a password sign-in, in the mapped organization, groups and roles.
        let token = signed_in(&Browser::new()?.sign_in(&app, "alice").await?)?;
        let me = app.get("/api/v2/users/me", Some(&token)).await?;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.body["username"], "alice");
        assert_eq!(me.body["login_type"], "oidc");
        assert_eq!(me.body["email"], "alice@example.com");
        assert_eq!(me.body["name"], "Alice Liddell");
        let id = me.body["id"].as_str().unwrap_or_default().to_owned();
        let orgs = app
            .get("/api/v2/users/me/organizations", Some(&token))
            .await?;
        assert_eq!(names(&orgs.body, "name"), ["acme", "coder"]);
        let groups = app.get("/api/v2/organizations/acme/groups", admin).await?;
        let synced: Vec<&Value> = groups
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["source"] == "oidc")
            .collect();
        assert_eq!(synced.len(), 2, "{groups:?}");
        for group in &synced {
            assert_eq!(names(&group["members"], "username"), ["alice"]);
        }
        let member = app
            .get("/api/v2/organizations/acme/members/alice", admin)
            .await?;
        let roles = names(&member.body["roles"], "name");
        assert!(
            roles.contains(&"organization-admin".to_owned()),
            "{member:?}"
        );

        // The merged claims feed the claim index; reading it needs idpsync rights.
        let fields = app
            .get("/api/v2/settings/idpsync/available-fields", admin)
            .await?;
        assert_eq!(fields.status, StatusCode::OK);
        for field in ["email", "groups", "organizations", "roles", "sub"] {
            assert!(
                fields
                    .body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|f| f == field),
                "{field}: {fields:?}"
            );
        }
        let values = app
            .get(
                "/api/v2/organizations/acme/settings/idpsync/field-values?claimField=groups",
                admin,
            )
            .await?;
        assert_eq!(values.body, json!(["dev", "ops"]));
        let missing = app
            .get("/api/v2/settings/idpsync/field-values", admin)
            .await?;
        assert_eq!(
            (missing.status, missing.message()),
            (
                StatusCode::BAD_REQUEST,
                "claimField query parameter is required"
            )
        );
        let refused = app
            .get("/api/v2/settings/idpsync/available-fields", Some(&token))
            .await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);

        // The provider drops a group and changes the address: the next sign-in finds
        // the same account by its link (issuer + sub) and leaves the dropped group.
        let mut changed = accounts();
        changed["alice"] = alice(&["dev"]);
        changed["alice"]["email"] = json!("alice@new.example.com");
        provider.set_accounts(&changed)?;
        let again = signed_in(&Browser::new()?.sign_in(&app, "alice").await?)?;
        let me = app.get("/api/v2/users/me", Some(&again)).await?;
        assert_eq!(me.body["id"], id.as_str());
        assert_eq!(me.body["email"], "alice@new.example.com", "the provider's address is mirrored");
        assert_eq!(me.body["username"], "alice");
        let groups = app.get("/api/v2/organizations/acme/groups", admin).await?;
        let with_alice: Vec<String> = groups
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| !names(&g["members"], "username").is_empty() && g["source"] == "oidc")
            .filter_map(|g| g["name"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(with_alice, ["dev"]);
        let values = app
            .get(
                "/api/v2/settings/idpsync/field-values?claimField=groups",
                admin,
            )
            .await?;
        assert_eq!(values.body, json!(["dev"]));
        assert_eq!(user_count(&app, &owner.token).await?, 2);

        // Each change is in the audit trail, made by the sync at sign-in.
        let audit = app.get("/api/v2/audit?limit=100", admin).await?;
        assert!(
            audit.body["count"].as_u64().unwrap_or_default() >= 4,
            "{audit:?}"
        );

        // A suspended account cannot sign in, and nothing changes.
        let suspended = app
            .put_json("/api/v2/users/alice/status/suspend", admin, json!({}))
            .await?;
        assert_eq!(suspended.status, StatusCode::OK);
        let refused = Browser::new()?.sign_in(&app, "alice").await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(
            refused.message(),
            "Your account is suspended. Contact an admin to reactivate your account."
        );
        assert!(refused.session_token().is_none());
        Ok(())
    }
}

on_both_backends! {
    async fn refusals_create_and_change_nothing(backend: Backend) {
        let (app, _provider) = TestApp::spawn_with_oidc(backend, &accounts(), |args| {
            args.oidc.oidc_email_domain = vec!["example.com".into()];
        })
        .await?;
        let owner = app.owner().await?;
        let callback = format!("{}/api/v2/users/oidc/callback", app.base);
        let browser = Browser::new()?;

        let cases = [
            (
                format!("{callback}?code=abc"),
                StatusCode::BAD_REQUEST,
                "State must be provided.",
            ),
            (
                format!("{callback}?code=abc&state=xyz"),
                StatusCode::UNAUTHORIZED,
                "Cookie \"oauth_state\" must be provided.",
            ),
            (
                format!("{callback}?error=access_denied&error_description=User+said+no"),
                StatusCode::BAD_REQUEST,
                "Encountered error in oidc process: access_denied",
            ),
            (
                format!("{callback}?code=abc&code=def&state=x"),
                StatusCode::BAD_REQUEST,
                "Query parameters have invalid values.",
            ),
        ];
        for (url, status, message) in cases {
            let reply = browser.get(&url).await?;
            assert_eq!(
                (reply.status, reply.message().as_str()),
                (status, message),
                "{url}"
            );
        }
        // A state that is not the one this browser was given.
        let start = browser
            .get(&format!("{callback}?redirect=https://evil.example/"))
            .await?;
        assert_eq!(start.status, StatusCode::TEMPORARY_REDIRECT);
        let redirect_cookie = start
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("oauth_redirect="))
            .unwrap_or_default()
            .to_owned();
        assert!(
            redirect_cookie.starts_with("oauth_redirect=/;"),
            "only local redirects: {redirect_cookie}"
        );
        assert!(redirect_cookie.contains("HttpOnly") && redirect_cookie.contains("SameSite=Lax"));
        let mismatched = browser
            .get(&format!("{callback}?code=abc&state=forged"))
            .await?;
        assert_eq!(
            (mismatched.status, mismatched.message().as_str()),
            (StatusCode::UNAUTHORIZED, "State mismatched.")
        );

        // A browser gets a page naming the problem, with the same status.
        let page = Browser::html()?
            .get(&format!("{callback}?code=abc"))
            .await?;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(
            page.headers["content-type"]
                .to_str()?
                .starts_with("text/html")
        );
        assert!(page.body.contains("State must be provided."));

        // Claims the deployment refuses.
        let unverified = Browser::new()?.sign_in(&app, "bob").await?;
        assert_eq!(unverified.status, StatusCode::FORBIDDEN);
        assert_eq!(
            unverified.message(),
            "Verify the \"bob@example.com\" email address on your OIDC provider to authenticate!"
        );
        let foreign = Browser::new()?.sign_in(&app, "mallory").await?;
        assert_eq!(foreign.status, StatusCode::FORBIDDEN);
        assert_eq!(
            foreign.message(),
            "Your email \"mallory@elsewhere.test\" is not in domains [\"example.com\"]!"
        );
        let nomail = Browser::new()?.sign_in(&app, "nomail").await?;
        assert_eq!(
            (nomail.status, nomail.message().as_str()),
            (StatusCode::BAD_REQUEST, "No email found in OIDC payload!")
        );

        // A callback replayed after it succeeded finds its cookies cleared.
        let browser = Browser::new()?;
        let landing = browser.sign_in(&app, "alice").await?;
        signed_in(&landing)?;
        let replay = browser.get(&landing.url).await?;
        assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{replay:?}");
        assert_eq!(
            user_count(&app, &owner.token).await?,
            2,
            "only alice was created"
        );
        Ok(())
    }
}

on_both_backends! {
    async fn signups_disabled_and_provider_down(backend: Backend) {
        let (app, mut provider) = TestApp::spawn_with_oidc(backend, &accounts(), |args| {
            args.oidc.oidc_allow_signups = false;
            args.oidc.oidc_sign_in_text = "Acme SSO".into();
        })
        .await?;
        let owner = app.owner().await?;
        let methods = app.get("/api/v2/users/authmethods", None).await?;
        assert_eq!(
            methods.body["oidc"],
            json!({"enabled": true, "signInText": "Acme SSO", "iconUrl": ""})
        );
        let login = reqwest::get(format!("{}/login", app.base))
            .await?
            .text()
            .await?;
        assert!(login.contains("Sign in with Acme SSO"), "{login}");

        let refused = Browser::new()?.sign_in(&app, "alice").await?;
        assert_eq!(
            (refused.status, refused.message().as_str()),
            (StatusCode::FORBIDDEN, "Signups are disabled")
        );
        assert_eq!(user_count(&app, &owner.token).await?, 1);

        // The provider goes away mid-sign-in: the start still works from the cached
        // discovery, redeeming the code cannot, and says so with a 502.
        let browser = Browser::new()?;
        let start = browser
            .get(&format!("{}/api/v2/users/oidc/callback", app.base))
            .await?;
        assert_eq!(start.status, StatusCode::TEMPORARY_REDIRECT);
        let authorize = reqwest::Url::parse(start.location().unwrap_or_default())?;
        let state = authorize
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        provider.stop();
        let down = browser
            .get(&format!(
                "{}/api/v2/users/oidc/callback?code=abc&state={state}",
                app.base
            ))
            .await?;
        assert_eq!(down.status, StatusCode::BAD_GATEWAY, "{down:?}");
        assert_eq!(
            down.message(),
            "The identity provider could not be reached. Try again later."
        );
        assert_eq!(user_count(&app, &owner.token).await?, 1);

        // A provider that was never reachable: discovery fails, as JSON and as a page.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let app = TestApp::spawn_with(backend, |args| {
            args.oidc.oidc_issuer_url = Some(format!("http://{closed}"));
            args.oidc.oidc_client_id = "warden".into();
        })
        .await?;
        let callback = format!("{}/api/v2/users/oidc/callback", app.base);
        let down = Browser::new()?.get(&callback).await?;
        assert_eq!(down.status, StatusCode::BAD_GATEWAY, "{down:?}");
        let page = Browser::html()?.get(&callback).await?;
        assert_eq!(page.status, StatusCode::BAD_GATEWAY);
        assert!(page.body.contains("identity provider"));
        Ok(())
    }
}

on_both_backends! {
    async fn without_oidc_the_callback_and_authmethods_say_so(app: TestApp) {
        let methods = app.get("/api/v2/users/authmethods", None).await?;
        assert_eq!(methods.body["oidc"]["enabled"], false);
        let callback = app.get("/api/v2/users/oidc/callback", None).await?;
        assert_eq!((callback.status, callback.message()), (StatusCode::BAD_REQUEST, "The oauth2 method requested is not configured!"));
        Ok(())
    }
}
