//! IdP sync settings: the deployment's organization sync and each organization's
//! group and role sync — stored, validated, authorised and audited, with Coder's
//! partial `config` and `mapping` PATCHes changing only what they name.

use serde_json::{Value, json};
use warden_tests::{StatusCode, TestApp, on_both_backends};

const ORG_SYNC: &str = "/api/v2/settings/idpsync/organization";
const GROUP_SYNC: &str = "/api/v2/organizations/coder/settings/idpsync/groups";
const ROLE_SYNC: &str = "/api/v2/organizations/coder/settings/idpsync/roles";

async fn org_id(app: &TestApp, token: &str, name: &str) -> anyhow::Result<String> {
    let org = app
        .get(&format!("/api/v2/organizations/{name}"), Some(token))
        .await?;
    Ok(org.body["id"].as_str().unwrap_or_default().to_owned())
}

/// OIDC users can only be created where OIDC is configured. The provider is never
/// contacted here (discovery waits for the first sign-in), so none runs.
fn oidc_configured(args: &mut warden::config::ServerArgs) {
    args.oidc.oidc_issuer_url = Some("http://127.0.0.1:9".into());
    args.oidc.oidc_client_id = "warden".into();
}

on_both_backends! {
    async fn unset_settings_read_as_defaults(app: TestApp) {
        let owner = app.owner().await?;
        let token = Some(owner.token.as_str());
        let org = app.get(ORG_SYNC, token).await?;
        assert_eq!((org.status, org.body), (StatusCode::OK, json!({"field": "", "mapping": {}, "organization_assign_default": false})));
        let groups = app.get(GROUP_SYNC, token).await?;
        assert_eq!(groups.body, json!({
            "field": "", "mapping": {}, "regex_filter": null,
            "auto_create_missing_groups": false, "legacy_group_name_mapping": {},
        }));
        let roles = app.get(ROLE_SYNC, token).await?;
        assert_eq!(roles.body, json!({"field": "", "mapping": {}}));
        Ok(())
    }
}

on_both_backends! {
    async fn organization_sync_is_replaced_and_patched_in_parts(app: TestApp) {
        let owner = app.owner().await?;
        let token = Some(owner.token.as_str());
        let coder = org_id(&app, &owner.token, "coder").await?;
        let made = app.post("/api/v2/organizations", token, json!({"name": "acme"})).await?;
        let acme = made.body["id"].as_str().unwrap_or_default().to_owned();

        let put = app.patch(ORG_SYNC, token, json!({
            "field": "orgs", "mapping": {"engineering": [coder]}, "organization_assign_default": true,
        })).await?;
        assert_eq!(put.status, StatusCode::OK, "{put:?}");
        assert_eq!(put.body["mapping"], json!({"engineering": [coder]}));

        // config changes the claim and the default, never the mapping.
        let config = app.patch(&format!("{ORG_SYNC}/config"), token, json!({"field": "teams", "assign_default": false})).await?;
        assert_eq!(config.body, json!({"field": "teams", "mapping": {"engineering": [coder]}, "organization_assign_default": false}));

        // mapping adds (each pair once), then removes; everything else stays.
        let mapping = app.patch(&format!("{ORG_SYNC}/mapping"), token, json!({
            "add": [{"given": "engineering", "gets": acme}, {"given": "engineering", "gets": coder}, {"given": "sales", "gets": acme}],
            "remove": [{"given": "engineering", "gets": coder}],
        })).await?;
        assert_eq!(mapping.status, StatusCode::OK, "{mapping:?}");
        assert_eq!(mapping.body, json!({
            "field": "teams", "mapping": {"engineering": [acme], "sales": [acme]}, "organization_assign_default": false,
        }));
        assert_eq!(app.get(ORG_SYNC, token).await?.body, mapping.body, "stored");

        let audit = app.get("/api/v2/audit?limit=1", token).await?;
        let entry = &audit.body["audit_logs"][0];
        assert_eq!((entry["action"].as_str(), entry["resource_type"].as_str()), (Some("write"), Some("idp_sync_settings_organization")));
        assert!(entry["diff"]["mapping"].is_object(), "the diff names what changed: {entry}");
        assert!(entry["diff"].get("field").is_none(), "and only that: {entry}");

        // Validation: an organization that does not exist, a UUID that is not one.
        let ghost = "6f1b8c3e-0000-4000-8000-000000000001";
        let unknown = app.patch(&format!("{ORG_SYNC}/mapping"), token, json!({"add": [{"given": "x", "gets": ghost}]})).await?;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert_eq!(unknown.fields(), ["mapping"]);
        assert!(unknown.body["validations"][0]["detail"].as_str().unwrap_or_default().contains(ghost));
        let garbage = app.patch(ORG_SYNC, token, json!({"mapping": {"x": ["not-a-uuid"]}})).await?;
        assert_eq!(garbage.status, StatusCode::BAD_REQUEST, "{garbage:?}");
        assert_eq!(app.get(ORG_SYNC, token).await?.body, mapping.body, "refusals change nothing");
        Ok(())
    }
}

on_both_backends! {
    async fn group_and_role_sync_validate_against_the_organization(app: TestApp) {
        let owner = app.owner().await?;
        let token = Some(owner.token.as_str());
        let devs = app.post("/api/v2/organizations/coder/groups", token, json!({"name": "devs"})).await?;
        let devs = devs.body["id"].as_str().unwrap_or_default().to_owned();
        app.post("/api/v2/organizations", token, json!({"name": "acme"})).await?;
        let elsewhere = app.post("/api/v2/organizations/acme/groups", token, json!({"name": "ops"})).await?;
        let elsewhere = elsewhere.body["id"].as_str().unwrap_or_default().to_owned();

        let set = app.patch(GROUP_SYNC, token, json!({
            "field": "groups", "mapping": {"developers": [devs]}, "regex_filter": "^team-.*$",
            "auto_create_missing_groups": true,
        })).await?;
        assert_eq!(set.status, StatusCode::OK, "{set:?}");
        assert_eq!(set.body["regex_filter"], "^team-.*$");

        let config = app.patch(&format!("{GROUP_SYNC}/config"), token, json!({"field": "memberOf", "regex_filter": null, "auto_create_missing_groups": false})).await?;
        assert_eq!(config.body, json!({
            "field": "memberOf", "mapping": {"developers": [devs]}, "regex_filter": null,
            "auto_create_missing_groups": false, "legacy_group_name_mapping": {},
        }));

        let bad_regex = app.patch(&format!("{GROUP_SYNC}/config"), token, json!({"field": "g", "regex_filter": "(unclosed"})).await?;
        assert_eq!(bad_regex.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad_regex.fields(), ["regex_filter"]);
        let foreign = app.patch(&format!("{GROUP_SYNC}/mapping"), token, json!({"add": [{"given": "ops", "gets": elsewhere}]})).await?;
        assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "a group of another organization: {foreign:?}");
        assert_eq!(foreign.fields(), ["mapping"]);
        let legacy = app.patch(GROUP_SYNC, token, json!({"field": "g", "legacy_group_name_mapping": {"a": "b"}})).await?;
        assert_eq!(legacy.status, StatusCode::BAD_REQUEST);
        assert_eq!(legacy.message(), "Unexpected field 'legacy_group_name_mapping'. Field not allowed, set to null or remove it.");
        assert_eq!(app.get(GROUP_SYNC, token).await?.body, config.body, "refusals change nothing");

        // Roles: built-in organization roles and the organization's custom roles.
        app.post("/api/v2/organizations/coder/members/roles", token, json!({"name": "reviewer"})).await?;
        let roles = app.patch(ROLE_SYNC, token, json!({"field": "roles", "mapping": {"admins": ["organization-admin", "reviewer"]}})).await?;
        assert_eq!(roles.status, StatusCode::OK, "{roles:?}");
        let added = app.patch(&format!("{ROLE_SYNC}/mapping"), token, json!({"add": [{"given": "auditors", "gets": "organization-auditor"}], "remove": [{"given": "admins", "gets": "reviewer"}]})).await?;
        assert_eq!(added.body, json!({"field": "roles", "mapping": {"admins": ["organization-admin"], "auditors": ["organization-auditor"]}}));
        let renamed = app.patch(&format!("{ROLE_SYNC}/config"), token, json!({"field": "app_roles"})).await?;
        assert_eq!(renamed.body["mapping"], added.body["mapping"]);
        for wrong in ["wizard", "organization-member", "owner"] {
            let reply = app.patch(&format!("{ROLE_SYNC}/mapping"), token, json!({"add": [{"given": "x", "gets": wrong}]})).await?;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{wrong}: {reply:?}");
        }
        let unknown_org = app.get("/api/v2/organizations/nowhere/settings/idpsync/roles", token).await?;
        assert_eq!(unknown_org.status, StatusCode::NOT_FOUND);
        Ok(())
    }
}

on_both_backends! {
    async fn only_idpsync_settings_holders_read_or_change_them(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        let admin = app.user(&owner, "carol").await?;
        let made = app.put_json(&format!("/api/v2/organizations/coder/members/{}/roles", admin.id), Some(&owner.token), json!({"roles": ["organization-admin"]})).await?;
        assert_eq!(made.status, StatusCode::OK, "{made:?}");

        for (m, path) in [("GET", ORG_SYNC), ("PATCH", ORG_SYNC), ("GET", GROUP_SYNC), ("PATCH", GROUP_SYNC), ("PATCH", &format!("{ROLE_SYNC}/mapping") as &str)] {
            let reply = app.request(m.parse()?, path, Some(&bob.token), Some(json!({}))).await?;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "member: {m} {path}: {reply:?}");
            assert_eq!(reply.message(), "Forbidden.");
        }
        // An organization admin runs their organization's sync, not the deployment's.
        let own = app.patch(GROUP_SYNC, Some(&admin.token), json!({"field": "groups"})).await?;
        assert_eq!(own.status, StatusCode::OK, "{own:?}");
        let deployment = app.patch(ORG_SYNC, Some(&admin.token), json!({"field": "orgs"})).await?;
        assert_eq!(deployment.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(ORG_SYNC, Some(&owner.token)).await?.body["field"], "");
        Ok(())
    }
}

on_both_backends! {
    async fn concurrent_mapping_patches_lose_nothing(app: TestApp) {
        let owner = app.owner().await?;
        let coder = org_id(&app, &owner.token, "coder").await?;
        let patches = (0..12).map(|i| {
            let app = &app;
            let token = owner.token.clone();
            let coder = coder.clone();
            async move {
                app.patch(&format!("{ORG_SYNC}/mapping"), Some(&token), json!({"add": [{"given": format!("claim-{i}"), "gets": coder}]})).await
            }
        });
        for reply in futures_util::future::join_all(patches).await {
            let reply = reply?;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        }
        let stored = app.get(ORG_SYNC, Some(&owner.token)).await?;
        let keys: Vec<&String> = stored.body["mapping"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
        assert_eq!(keys.len(), 12, "every concurrent PATCH kept: {:?}", stored.body);
        let _: &Value = &stored.body;
        Ok(())
    }
}

on_both_backends! {
    async fn synced_memberships_and_roles_of_oidc_users_are_not_edited_by_hand(app: TestApp with oidc_configured) {
        let owner = app.owner().await?;
        let token = Some(owner.token.as_str());
        let coder = org_id(&app, &owner.token, "coder").await?;
        let oidc = app.post("/api/v2/users", token, json!({
            "email": "sso@example.com", "username": "sso", "login_type": "oidc", "organization_ids": [coder],
        })).await?;
        assert_eq!(oidc.status, StatusCode::CREATED, "{oidc:?}");
        let password_user = app.user(&owner, "bob").await?;
        app.post("/api/v2/organizations", token, json!({"name": "acme"})).await?;

        // Sync off: administrators manage both, as for anyone.
        assert_eq!(app.post("/api/v2/organizations/acme/members/sso", token, json!({})).await?.status, StatusCode::OK);
        assert_eq!(app.delete("/api/v2/organizations/acme/members/sso", token).await?.status, StatusCode::NO_CONTENT);

        app.patch(ORG_SYNC, token, json!({"field": "orgs"})).await?;
        let refused = app.post("/api/v2/organizations/acme/members/sso", token, json!({})).await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{refused:?}");
        assert!(refused.message().starts_with("Organization sync is enabled for OIDC users"), "{refused:?}");
        assert!(refused.body["detail"].as_str().unwrap_or_default().contains("User sso is an OIDC user"));
        let others = app.post(&format!("/api/v2/organizations/acme/members/{}", password_user.id), token, json!({})).await?;
        assert_eq!(others.status, StatusCode::OK, "password users are not synced: {others:?}");

        let roles = "/api/v2/organizations/coder/members/sso/roles";
        assert_eq!(app.put_json(roles, token, json!({"roles": ["organization-auditor"]})).await?.status, StatusCode::OK);
        app.patch(&format!("{ROLE_SYNC}/config"), token, json!({"field": "roles"})).await?;
        let refused = app.put_json(roles, token, json!({"roles": []})).await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{refused:?}");
        assert!(refused.message().starts_with("Cannot modify roles for OIDC users when role sync is enabled."));
        let member = app.get("/api/v2/organizations/coder/members/sso", token).await?;
        assert_eq!(member.body["roles"][0]["name"], "organization-auditor", "nothing changed: {member:?}");
        let bob_roles = app.put_json(&format!("/api/v2/organizations/coder/members/{}/roles", password_user.id), token, json!({"roles": ["organization-auditor"]})).await?;
        assert_eq!(bob_roles.status, StatusCode::OK);
        Ok(())
    }
}

/// The names of `group`'s members.
async fn group_members(
    app: &TestApp,
    token: &str,
    org: &str,
    group: &str,
) -> anyhow::Result<Vec<String>> {
    let reply = app
        .get(
            &format!("/api/v2/organizations/{org}/groups/{group}"),
            Some(token),
        )
        .await?;
    Ok(reply.body["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["username"].as_str().map(str::to_owned))
        .collect())
}

on_both_backends! {
    async fn sign_in_sync_follows_the_claims_and_unfollows_them(app: TestApp with oidc_configured) {
        let owner = app.owner().await?;
        let token = Some(owner.token.as_str());
        let coder = org_id(&app, &owner.token, "coder").await?;
        let acme = app.post("/api/v2/organizations", token, json!({"name": "acme"})).await?.body["id"].as_str().unwrap_or_default().to_owned();
        app.post("/api/v2/organizations", token, json!({"name": "globex"})).await?;
        for (org, name) in [("coder", "devs"), ("coder", "ops"), ("acme", "eng")] {
            let made = app.post(&format!("/api/v2/organizations/{org}/groups"), token, json!({"name": name})).await?;
            assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
        }
        let eng = app.get("/api/v2/organizations/acme/groups/eng", token).await?.body["id"].as_str().unwrap_or_default().to_owned();
        app.post("/api/v2/organizations/acme/members/roles", token, json!({"name": "reviewer"})).await?;
        let sso = app.post("/api/v2/users", token, json!({
            "email": "sso@example.com", "username": "sso", "login_type": "oidc", "organization_ids": [coder],
        })).await?;
        let sso_id = sso.body["id"].as_str().unwrap_or_default().to_owned();
        let ops = app.get("/api/v2/organizations/coder/groups/ops", token).await?.body["id"].as_str().unwrap_or_default().to_owned();
        app.patch(&format!("/api/v2/groups/{ops}"), token, json!({"add_users": [sso_id]})).await?;

        for (path, body) in [
            (ORG_SYNC.to_owned(), json!({"field": "orgs", "mapping": {"acme-team": [acme]}, "organization_assign_default": true})),
            (GROUP_SYNC.to_owned(), json!({"field": "groups", "regex_filter": "^(devs|new-.*)$", "auto_create_missing_groups": true})),
            ("/api/v2/organizations/acme/settings/idpsync/groups".to_owned(), json!({"field": "groups", "mapping": {"engineering": [eng]}})),
            ("/api/v2/organizations/acme/settings/idpsync/roles".to_owned(), json!({"field": "roles", "mapping": {"lead": ["organization-admin"]}})),
        ] {
            let set = app.patch(&path, token, body).await?;
            assert_eq!(set.status, StatusCode::OK, "{path}: {set:?}");
        }

        let services = app.services();
        let system = services.authenticate(&owner.token).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let user = services.get_user(&system, "sso").await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let claims = |v: Value| v.as_object().cloned().unwrap_or_default();
        let report = services.sync_from_claims(&user, &claims(json!({
            "orgs": ["acme-team", "unknown"],
            "groups": ["devs", "new-team", "engineering", "ops-x"],
            "roles": ["lead", "reviewer", "bogus"],
        }))).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        assert!(report.skipped.is_empty(), "{report:?}");

        let orgs = app.get("/api/v2/users/sso/organizations", token).await?;
        let mut names: Vec<&str> = orgs.body.as_array().into_iter().flatten().filter_map(|o| o["name"].as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["acme", "coder"], "mapped organization joined, the default kept");
        assert_eq!(group_members(&app, &owner.token, "coder", "devs").await?, ["sso"]);
        assert_eq!(group_members(&app, &owner.token, "coder", "ops").await?, Vec::<String>::new(), "a manual group the claims do not name is left");
        let created = app.get("/api/v2/organizations/coder/groups/new-team", token).await?;
        assert_eq!((created.status, created.body["source"].as_str()), (StatusCode::OK, Some("oidc")), "{created:?}");
        assert_eq!(group_members(&app, &owner.token, "acme", "eng").await?, ["sso"]);
        let member = app.get("/api/v2/organizations/acme/members/sso", token).await?;
        let mut roles: Vec<&str> = member.body["roles"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        roles.sort_unstable();
        assert_eq!(roles, ["organization-admin", "reviewer"], "{member:?}");
        let audit = app.get("/api/v2/audit?limit=20", token).await?;
        let by_sync = audit.body["audit_logs"].as_array().into_iter().flatten()
            .filter(|e| e["additional_fields"]["automatic_subsystem"] == "idp_sync").count();
        assert_eq!(by_sync, report.changes, "every change audited as made by the sync");
        assert_eq!(report.changes, 3, "acme joined; coder's groups; acme's groups and roles: {report:?}");

        // A claim that does not parse changes nothing of its part.
        let report = services.sync_from_claims(&user, &claims(json!({
            "orgs": ["acme-team"], "groups": ["devs", "new-team", "engineering"], "roles": 5,
        }))).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        assert_eq!(report.skipped.len(), 1, "{report:?}");
        assert_eq!(report.changes, 0, "{report:?}");

        // The provider drops the group and the role: the next sign-in removes them.
        services.sync_from_claims(&user, &claims(json!({
            "orgs": ["acme-team"], "groups": ["devs"],
        }))).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        assert_eq!(group_members(&app, &owner.token, "acme", "eng").await?, Vec::<String>::new());
        assert_eq!(group_members(&app, &owner.token, "coder", "new-team").await?, Vec::<String>::new());
        let member = app.get("/api/v2/organizations/acme/members/sso", token).await?;
        assert_eq!(member.body["roles"], json!([]), "a missing role claim strips the roles: {member:?}");

        // And without the organization claim, only the default organization stays.
        services.sync_from_claims(&user, &claims(json!({}))).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let orgs = app.get("/api/v2/users/sso/organizations", token).await?;
        let names: Vec<&str> = orgs.body.as_array().into_iter().flatten().filter_map(|o| o["name"].as_str()).collect();
        assert_eq!(names, ["coder"]);
        Ok(())
    }
}
