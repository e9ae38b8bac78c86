use serde_json::json;
use warden_tests::{StatusCode, on_both_backends};

on_both_backends! {
    async fn mutations_are_audited_and_readable_by_auditors_only(app: TestApp) {
        let owner = app.owner().await?;
        let bob = app.user(&owner, "bob").await?;
        app.post("/api/v2/organizations/coder/groups", Some(&owner.token), json!({"name": "devs"})).await?;
        app.request(reqwest::Method::PUT, "/api/v2/organizations/coder/members/bob/roles", Some(&owner.token),
                    Some(json!({"roles": ["organization-auditor"]}))).await?;

        let all = app.get("/api/v2/audit", Some(&owner.token)).await?;
        assert_eq!(all.status, StatusCode::OK);
        assert_eq!(all.body["count_cap"], 2000);
        let logs = all.body["audit_logs"].as_array().cloned().unwrap_or_default();
        assert!(all.body["count"].as_i64().unwrap_or_default() >= 4, "{}", all.body);
        let newest = &logs[0];
        assert_eq!(newest["resource_type"], "organization_member");
        assert_eq!(newest["action"], "write");
        assert_eq!(newest["resource_target"], "bob");
        assert_eq!(newest["diff"]["roles"], json!({"old": [], "new": ["organization-auditor"], "secret": false}));
        assert_eq!(newest["user"]["username"], "admin");
        assert_eq!(newest["organization"]["name"], "coder");
        assert_eq!(newest["description"], "{user} updated organization member {target}");
        for field in ["id", "request_id", "time", "ip", "user_agent", "resource_id", "resource_icon", "resource_link", "organization_id"] {
            assert!(newest[field].is_string(), "{field}: {newest}");
        }
        assert!(newest["status_code"].is_number() && newest["is_deleted"].is_boolean() && newest["additional_fields"].is_object());

        let groups_only = app.get("/api/v2/audit?q=resource_type:group%20action:create", Some(&owner.token)).await?;
        assert_eq!(groups_only.body["count"], 1);
        assert_eq!(groups_only.body["audit_logs"][0]["resource_target"], "devs");
        let bare = app.get("/api/v2/audit?q=group", Some(&owner.token)).await?;
        assert_eq!(bare.body["count"], 1, "a bare word is a resource type");
        let mine = app.get("/api/v2/audit?q=username:me&limit=1", Some(&owner.token)).await?;
        assert_eq!(mine.body["audit_logs"].as_array().map(Vec::len), Some(1));

        // Bob is an organization auditor now: he reads the organization's entries.
        let bob_view = app.get("/api/v2/audit", Some(&bob.token)).await?;
        assert_eq!(bob_view.status, StatusCode::OK);
        assert!(bob_view.body["count"].as_i64().unwrap_or_default() >= 2, "{}", bob_view.body);
        let carol = app.user(&owner, "carol").await?;
        let nothing = app.get("/api/v2/audit", Some(&carol.token)).await?;
        assert_eq!(nothing.status, StatusCode::OK);
        assert_eq!(nothing.body["count"], 0, "no access is an empty page, as in Coder");

        for (query, field) in [("q=action:explode", "action"), ("q=colour:red", "colour"), ("q=date_from:yesterday", "date_from"), ("limit=x", "limit")] {
            let bad = app.get(&format!("/api/v2/audit?{query}"), Some(&owner.token)).await?;
            assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(bad.fields(), [field], "{query}");
        }
        Ok(())
    }
}

on_both_backends! {
    async fn oauth2_app_entries_link_to_the_app_and_say_when_it_is_gone(app: TestApp) {
        let owner = app.owner().await?;
        let created = app
            .post("/api/v2/oauth2-provider/apps", Some(&owner.token),
                json!({"name": "editor", "callback_url": "http://127.0.0.1:9/cb"}))
            .await?;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let app_id = created.body["id"].as_str().unwrap_or_default().to_owned();
        let secret = app.post(&format!("/api/v2/oauth2-provider/apps/{app_id}/secrets"), Some(&owner.token), json!({})).await?;
        assert_eq!(secret.status, StatusCode::CREATED, "{secret:?}");
        let secret_id = secret.body["id"].as_str().unwrap_or_default().to_owned();
        let link = format!("/deployment/oauth2-provider/apps/{app_id}");

        let entry = |kind: &'static str| {
            let app = &app;
            let token = owner.token.clone();
            async move {
                let page = app.get(&format!("/api/v2/audit?q=resource_type:{kind}%20action:create"), Some(&token)).await?;
                anyhow::Ok(page.body["audit_logs"][0].clone())
            }
        };
        let app_entry = entry("oauth2_provider_app").await?;
        assert_eq!(app_entry["resource_id"], app_id.as_str());
        assert_eq!((&app_entry["resource_link"], &app_entry["is_deleted"]), (&json!(link), &json!(false)));
        let secret_entry = entry("oauth2_provider_app_secret").await?;
        assert_eq!(secret_entry["resource_id"], secret_id.as_str());
        assert_eq!((&secret_entry["resource_link"], &secret_entry["is_deleted"]), (&json!(link), &json!(false)));

        let gone = app.delete(&format!("/api/v2/oauth2-provider/apps/{app_id}/secrets/{secret_id}"), Some(&owner.token)).await?;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
        let secret_entry = entry("oauth2_provider_app_secret").await?;
        assert_eq!((&secret_entry["resource_link"], &secret_entry["is_deleted"]), (&json!(""), &json!(true)),
            "a deleted secret no longer leads to its app, as in Coder");
        assert_eq!(entry("oauth2_provider_app").await?["is_deleted"], false);

        let gone = app.delete(&format!("/api/v2/oauth2-provider/apps/{app_id}"), Some(&owner.token)).await?;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
        let app_entry = entry("oauth2_provider_app").await?;
        assert_eq!((&app_entry["resource_link"], &app_entry["is_deleted"]), (&json!(link), &json!(true)));
        Ok(())
    }
}
