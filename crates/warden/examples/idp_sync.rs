//! Benchmark of IdP sync at sign-in: a user whose claims name 20 organizations and
//! 200 groups (10 in each), with group and role sync on in every organization.
//! Times `Services::sync_from_claims` — Warden's part of a sign-in's sync, the
//! identity provider's round trips excluded — on SQLite and on PostgreSQL, steady
//! (nothing to change) and churning (each run leaves or joins 100 groups and changes
//! 20 members' roles). Run by `cargo xtask bench idp-sync`; not part of the server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark's setup failing is the run failing

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use warden_domain::Services;
use warden_domain::idp_sync::plan::Claims;
use warden_domain::services::groups::CreateGroup;
use warden_domain::services::idp_sync::GroupSyncConfig;
use warden_domain::services::organizations::CreateOrganization;
use warden_domain::services::users::{CreateFirstUser, CreateUser};
use warden_storage::testing::TestDatabase;
use warden_storage::{Backend, Database, PoolConfig};

const ORGS: usize = 20;
const GROUPS_PER_ORG: usize = 10;
const RUNS: usize = 60;

fn claims(value: Value) -> Claims {
    value.as_object().cloned().unwrap_or_default()
}

fn p50(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

async fn run(backend: Backend) -> (f64, f64) {
    let test_db = TestDatabase::create(backend);
    let db = Database::connect(test_db.url(), PoolConfig::default())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let services: Services = warden::services(&db);
    let password = "Bench-Password-1!";
    services
        .create_first_user(CreateFirstUser {
            email: "owner@example.com".into(),
            username: "owner".into(),
            name: String::new(),
            password: password.into(),
        })
        .await
        .unwrap();
    let token = services
        .login_with_password("owner@example.com", password)
        .await
        .unwrap();
    let owner = services.authenticate(&token).await.unwrap();

    let mut org_mapping = serde_json::Map::new();
    let mut group_names = Vec::new();
    for o in 0..ORGS {
        let org = services
            .create_organization(
                &owner,
                CreateOrganization {
                    name: format!("org-{o}"),
                    display_name: None,
                    description: None,
                    icon: None,
                },
            )
            .await
            .unwrap();
        org_mapping.insert(format!("org-{o}"), json!([org.id.as_uuid()]));
        for g in 0..GROUPS_PER_ORG {
            let name = format!("o{o}-g{g}");
            services
                .create_group(
                    &owner,
                    org.name.as_str(),
                    CreateGroup {
                        name: name.clone(),
                        ..CreateGroup::default()
                    },
                )
                .await
                .unwrap();
            group_names.push(name);
        }
        let org_name = org.name.as_str().to_owned();
        services
            .patch_group_sync_config(
                &owner,
                &org_name,
                GroupSyncConfig {
                    field: "groups".into(),
                    ..GroupSyncConfig::default()
                },
            )
            .await
            .unwrap();
        services
            .patch_role_sync_config(&owner, &org_name, "roles".into())
            .await
            .unwrap();
    }
    services
        .update_organization_sync_settings(
            &owner,
            serde_json::from_value(
                json!({"field": "orgs", "mapping": org_mapping, "assign_default": true}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let user = services
        .create_user(
            &owner,
            CreateUser {
                email: "sso@example.com".into(),
                username: "sso".into(),
                // The sync itself is timed, not the provider: a password account
                // (an OIDC one needs a configured provider) syncs the same way.
                password: password.into(),
                organization_ids: vec![warden_domain::ids::OrganizationId(uuid::Uuid::nil())],
                ..CreateUser::default()
            },
        )
        .await
        .unwrap();
    let orgs: Vec<String> = (0..ORGS).map(|o| format!("org-{o}")).collect();
    let all =
        claims(json!({"orgs": orgs, "groups": group_names, "roles": ["organization-auditor"]}));
    let half: Vec<&String> = group_names.iter().step_by(2).collect();
    let some = claims(json!({"orgs": orgs, "groups": half, "roles": []}));

    // The first sync joins 20 organizations and 200 groups.
    services.sync_from_claims(&user, &all).await.unwrap();
    let mut steady = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let report = services.sync_from_claims(&user, &all).await.unwrap();
        steady.push(started.elapsed());
        assert_eq!(report.changes, 0);
    }
    let mut churn = Vec::new();
    for i in 0..RUNS {
        let claims = if i % 2 == 0 { &some } else { &all };
        let started = Instant::now();
        let report = services.sync_from_claims(&user, claims).await.unwrap();
        churn.push(started.elapsed());
        assert_eq!(
            report.changes, ORGS,
            "groups and roles change in every organization"
        );
    }
    (p50(steady), p50(churn))
}

#[tokio::main]
async fn main() {
    println!(
        "IdP sync, {ORGS} organizations x {GROUPS_PER_ORG} groups claimed, p50 of {RUNS} runs"
    );
    println!();
    println!("| engine | steady (no change) | churn (100 groups, 20 role sets) |");
    println!("|---|---|---|");
    for (label, backend) in [
        ("SQLite", Backend::Sqlite),
        ("PostgreSQL", Backend::Postgres),
    ] {
        let (steady, churn) = run(backend).await;
        println!("| {label} | {steady:.2} ms | {churn:.2} ms |");
    }
}
