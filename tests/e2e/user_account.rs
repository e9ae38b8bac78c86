//! The rest of Coder's users API: sign-in methods, login type, profile, password,
//! site roles and deletion, each with Coder's status codes, messages and audit.

use serde_json::{Value, json};
use warden_tests::{PASSWORD, StatusCode, TestApp, on_both_backends};

const NEW_PASSWORD: &str = "An0ther-l0ng-Passw0rd";

async fn last_audit(app: &TestApp, token: &str) -> anyhow::Result<Value> {
    let logs = app.get("/api/v2/audit?limit=1", Some(token)).await?;
    Ok(logs.body["audit_logs"][0].clone())
}

on_both_backends! {
    async fn auth_methods_are_public_and_report_password(app: TestApp) {
        let reply = app.get("/api/v2/users/authmethods", None).await?;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        assert_eq!(reply.body, json!({
            "password": {"enabled": true},
            "github": {"enabled": false, "default_provider_configured": false},
            "oidc": {"enabled": false, "signInText": "", "iconUrl": ""},
        }));
        Ok(())
    }
}

on_both_backends! {
    async fn login_type_is_only_for_oneself(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let mine = app.get("/api/v2/users/me/login-type", Some(&bob.token)).await?;
        assert_eq!((mine.status, mine.body.clone()), (StatusCode::OK, json!({"login_type": "password"})));
        let other = app.get("/api/v2/users/bob/login-type", Some(&owner.token)).await?;
        assert_eq!(other.status, StatusCode::FORBIDDEN);
        assert_eq!(other.message(), "You are not authorized to view this user's login type.");
        Ok(())
    }
}

on_both_backends! {
    async fn delete_user_ends_their_keys_and_frees_the_username(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let group = app.post("/api/v2/organizations/coder/groups", Some(&owner.token), json!({"name": "devs"})).await?;
        let group = format!("/api/v2/groups/{}", group.body["id"].as_str().unwrap_or_default());
        let added = app.patch(&group, Some(&owner.token), json!({"add_users": [bob.id]})).await?;
        assert_eq!(added.body["members"].as_array().map(Vec::len), Some(1), "{added:?}");

        let myself = app.delete("/api/v2/users/me", Some(&owner.token)).await?;
        assert_eq!(myself.status, StatusCode::FORBIDDEN);
        assert_eq!(myself.message(), "You cannot delete yourself!");

        let carol = app.user(&owner, "carol").await?;
        let refused = app.delete("/api/v2/users/carol", Some(&bob.token)).await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "a member cannot see carol: {refused:?}");

        let deleted = app.delete(&format!("/api/v2/users/{}", bob.id), Some(&owner.token)).await?;
        assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
        assert_eq!(deleted.message(), "User has been deleted!");

        let with_old_key = app.get("/api/v2/users/me", Some(&bob.token)).await?;
        assert_eq!(with_old_key.status, StatusCode::UNAUTHORIZED, "their keys end at once");
        let lookup = app.get(&format!("/api/v2/users/{}", bob.id), Some(&owner.token)).await?;
        assert_eq!(lookup.status, StatusCode::BAD_REQUEST, "{lookup:?}");
        let members = app.get("/api/v2/organizations/coder/members", Some(&owner.token)).await?;
        let names: Vec<&str> = members.body.as_array().into_iter().flatten()
            .filter_map(|m| m["username"].as_str()).collect();
        assert!(!names.contains(&"bob"), "membership gone: {names:?}");
        let devs = app.get(&group, Some(&owner.token)).await?;
        assert_eq!(devs.body["members"], json!([]), "group membership gone: {devs:?}");

        let audit = last_audit(&app, &owner.token).await?;
        assert_eq!((audit["action"].as_str(), audit["resource_type"].as_str(), audit["resource_target"].as_str()),
                   (Some("delete"), Some("user"), Some("bob")));

        // The username and email are free again.
        let again = app.user(&owner, "bob").await?;
        assert_ne!(again.id, bob.id);
        assert_eq!(app.get("/api/v2/users/me", Some(&carol.token)).await?.status, StatusCode::OK);
        Ok(())
    }
}

on_both_backends! {
    async fn profile_updates_name_and_username_with_coders_rules(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        app.user(&owner, "carol").await?;

        let renamed = app.put_json("/api/v2/users/me/profile", Some(&bob.token), json!({"username": "bob", "name": "Bob Builder"})).await?;
        assert_eq!(renamed.status, StatusCode::OK, "{renamed:?}");
        assert_eq!((renamed.body["name"].as_str(), renamed.body["username"].as_str()), (Some("Bob Builder"), Some("bob")));

        let taken = app.put_json("/api/v2/users/bob/profile", Some(&owner.token), json!({"username": "Carol", "name": ""})).await?;
        assert_eq!(taken.status, StatusCode::CONFLICT, "{taken:?}");
        assert_eq!(taken.message(), "A user with this username already exists.");
        assert_eq!(taken.fields(), ["username"]);

        let invalid = app.put_json("/api/v2/users/me/profile", Some(&bob.token), json!({"username": "-bad-", "name": " padded "})).await?;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{invalid:?}");
        assert_eq!(invalid.fields(), ["username", "name"]);

        let missing = app.put_json("/api/v2/users/me/profile", Some(&bob.token), json!({"name": "Only"})).await?;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert_eq!(missing.fields(), ["username"]);

        // An administrator may rename; the new name is what the user is found by.
        let moved = app.put_json("/api/v2/users/bob/profile", Some(&owner.token), json!({"username": "robert", "name": "Robert"})).await?;
        assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
        assert_eq!(app.get("/api/v2/users/robert", Some(&owner.token)).await?.body["id"].as_str(), Some(bob.id.as_str()));
        assert_eq!(app.get("/api/v2/users/bob", Some(&owner.token)).await?.status, StatusCode::BAD_REQUEST);
        let audit = last_audit(&app, &owner.token).await?;
        assert_eq!(audit["action"], "write");
        assert_eq!(audit["diff"]["username"], json!({"old": "bob", "new": "robert", "secret": false}));

        // Renaming oneself needs `update` on oneself, which a member lacks (Coder: 404).
        let self_rename = app.put_json("/api/v2/users/me/profile", Some(&bob.token), json!({"username": "bobby", "name": ""})).await?;
        assert_eq!(self_rename.status, StatusCode::NOT_FOUND, "{self_rename:?}");

        let garbage = app.request(reqwest::Method::PUT, "/api/v2/users/me/profile", Some(&bob.token), Some(json!(["not", "an", "object"]))).await?;
        assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
        assert!(!garbage.message().is_empty());
        Ok(())
    }
}

on_both_backends! {
    async fn password_change_checks_the_old_one_and_ends_other_sessions(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let second = app.login(&bob.email, PASSWORD).await?;

        let cases = [
            (json!({"password": NEW_PASSWORD}), "Old password is required.", Vec::<&str>::new()),
            (json!({"old_password": PASSWORD, "password": "short"}), "Invalid password.", vec!["password"]),
            (json!({"old_password": "Wr0ng-passw0rd-here", "password": NEW_PASSWORD}), "Old password is incorrect.", vec!["old_password"]),
            (json!({"old_password": PASSWORD, "password": PASSWORD}), "New password cannot match old password.", vec![]),
        ];
        for (body, message, fields) in cases {
            let reply = app.put_json("/api/v2/users/me/password", Some(&bob.token), body.clone()).await?;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {reply:?}");
            assert_eq!(reply.message(), message, "{body}");
            assert_eq!(reply.fields(), fields, "{body}");
        }
        assert_eq!(app.get("/api/v2/users/me", Some(second.as_str())).await?.status, StatusCode::OK, "refusals change nothing");

        let changed = app.put_json("/api/v2/users/me/password", Some(&bob.token), json!({"old_password": PASSWORD, "password": NEW_PASSWORD})).await?;
        assert_eq!(changed.status, StatusCode::NO_CONTENT, "{changed:?}");
        assert_eq!(app.get("/api/v2/users/me", Some(&bob.token)).await?.status, StatusCode::OK, "the caller's session stays");
        assert_eq!(app.get("/api/v2/users/me", Some(second.as_str())).await?.status, StatusCode::UNAUTHORIZED, "other sessions end");
        let old = app.post("/api/v2/users/login", None, json!({"email": bob.email, "password": PASSWORD})).await?;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
        app.login(&bob.email, NEW_PASSWORD).await?;

        // An administrator resets without the old password; all of bob's keys end.
        let reset = app.put_json("/api/v2/users/bob/password", Some(&owner.token), json!({"password": PASSWORD})).await?;
        assert_eq!(reset.status, StatusCode::NO_CONTENT, "{reset:?}");
        assert_eq!(app.get("/api/v2/users/me", Some(&bob.token)).await?.status, StatusCode::UNAUTHORIZED);
        let audit = last_audit(&app, &owner.token).await?;
        assert_eq!((audit["action"].as_str(), audit["resource_target"].as_str()), (Some("write"), Some("bob")));
        assert_eq!(audit["diff"]["hashed_password"], json!({"old": "", "new": "", "secret": true}));

        // A member cannot set someone else's password, and cannot see them either.
        let carol = app.user(&owner, "carol").await?;
        let refused = app.put_json(&format!("/api/v2/users/{}/password", owner.id), Some(&carol.token), json!({"password": NEW_PASSWORD})).await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{refused:?}");

        // Users without a password cannot get one this way.
        let org = app.get("/api/v2/organizations/coder", Some(&owner.token)).await?.body["id"].clone();
        app.post("/api/v2/users", Some(&owner.token), json!({
            "email": "nopw@example.com", "username": "nopw", "login_type": "none", "organization_ids": [org],
        })).await?;
        let none = app.put_json("/api/v2/users/nopw/password", Some(&owner.token), json!({"password": NEW_PASSWORD})).await?;
        assert_eq!(none.status, StatusCode::BAD_REQUEST);
        assert_eq!(none.message(), "Users without password login type cannot change their password.");
        Ok(())
    }
}

on_both_backends! {
    async fn site_roles_are_read_and_replaced_with_the_escalation_guard(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let carol = app.user(&owner, "carol").await?;

        let roles = app.get("/api/v2/users/me/roles", Some(&owner.token)).await?;
        assert_eq!(roles.status, StatusCode::OK, "{roles:?}");
        assert_eq!(roles.body["roles"], json!(["owner"]));
        let org = app.get("/api/v2/organizations/coder", Some(&owner.token)).await?.body["id"].as_str().unwrap_or_default().to_owned();
        assert!(roles.body["organization_roles"][&org].is_array(), "{roles:?}");

        let myself = app.put_json("/api/v2/users/me/roles", Some(&owner.token), json!({"roles": []})).await?;
        assert_eq!(myself.status, StatusCode::BAD_REQUEST);
        assert_eq!(myself.message(), "You cannot change your own roles.");

        let unknown = app.put_json("/api/v2/users/bob/roles", Some(&owner.token), json!({"roles": ["wizard"]})).await?;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert_eq!(unknown.message(), r#""wizard" is not a supported role"#);

        let granted = app.put_json("/api/v2/users/bob/roles", Some(&owner.token), json!({"roles": ["user-admin"]})).await?;
        assert_eq!(granted.status, StatusCode::OK, "{granted:?}");
        let names: Vec<&str> = granted.body["roles"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(names, ["user-admin"]);
        let audit = last_audit(&app, &owner.token).await?;
        assert_eq!((audit["action"].as_str(), audit["resource_target"].as_str()), (Some("write"), Some("bob")));

        // The grant is effective on bob's next request: he may now assign what a
        // user-admin assigns, and nothing more.
        let escalate = app.put_json("/api/v2/users/carol/roles", Some(&bob.token), json!({"roles": ["owner"]})).await?;
        assert_eq!(escalate.status, StatusCode::BAD_REQUEST, "{escalate:?}");
        assert_eq!(escalate.message(), r#"not authorized to assign role "owner""#);
        let carols = app.get("/api/v2/users/carol/roles", Some(&bob.token)).await?;
        assert_eq!(carols.body["roles"], json!([]));

        // A member cannot read another user's roles or change them.
        let hidden = app.get("/api/v2/users/bob/roles", Some(&carol.token)).await?;
        assert_eq!(hidden.status, StatusCode::BAD_REQUEST);
        let revoked = app.put_json("/api/v2/users/bob/roles", Some(&owner.token), json!({"roles": null})).await?;
        assert_eq!(revoked.status, StatusCode::OK, "null is no roles: {revoked:?}");
        assert_eq!(revoked.body["roles"], json!([]));
        Ok(())
    }
}

on_both_backends! {
    async fn appearance_reports_the_theme(app: TestApp) {
        let owner = app.owner().await?;
        let reply = app.get("/api/v2/users/me/appearance", Some(&owner.token)).await?;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, json!({"theme_preference": "", "terminal_font": ""}));
        Ok(())
    }
}

on_both_backends! {
    async fn git_ssh_key_is_an_ed25519_key_that_regenerates(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;

        let first = app.get("/api/v2/users/me/gitsshkey", Some(&bob.token)).await?;
        assert_eq!(first.status, StatusCode::OK, "{first:?}");
        let fields: Vec<&String> = first.body.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        assert_eq!(fields, ["created_at", "public_key", "updated_at", "user_id"], "no private key: {first:?}");
        assert_eq!(first.body["user_id"].as_str(), Some(bob.id.as_str()));
        let line = first.body["public_key"].as_str().unwrap_or_default().to_owned();
        assert!(line.ends_with('\n'), "an authorized_keys line: {line:?}");
        let key = ssh_key::PublicKey::from_openssh(line.trim_end())?;
        assert_eq!(key.algorithm(), ssh_key::Algorithm::Ed25519);

        let again = app.get(&format!("/api/v2/users/{}/gitsshkey", bob.id), Some(&owner.token)).await?;
        assert_eq!(again.body, first.body, "made once, the same for every reader");

        let regenerated = app.put("/api/v2/users/me/gitsshkey", Some(&bob.token)).await?;
        assert_eq!(regenerated.status, StatusCode::OK, "{regenerated:?}");
        assert_ne!(regenerated.body["public_key"], first.body["public_key"]);
        assert_eq!(regenerated.body["created_at"], first.body["created_at"]);
        ssh_key::PublicKey::from_openssh(regenerated.body["public_key"].as_str().unwrap_or_default().trim_end())?;
        let stored = app.get("/api/v2/users/me/gitsshkey", Some(&bob.token)).await?;
        assert_eq!(stored.body, regenerated.body, "the new key is stored");

        let audit = last_audit(&app, &owner.token).await?;
        assert_eq!((audit["action"].as_str(), audit["resource_type"].as_str(), audit["resource_target"].as_str()),
                   (Some("write"), Some("git_ssh_key"), Some("bob")));
        assert_eq!(audit["diff"]["private_key"]["secret"], true);

        let hidden = app.get(&format!("/api/v2/users/{}/gitsshkey", owner.id), Some(&bob.token)).await?;
        assert_eq!(hidden.status, StatusCode::BAD_REQUEST, "{hidden:?}");
        Ok(())
    }
}
