//! End-to-end tests: the real server on port 0, spoken to over HTTP. Every test runs
//! twice, on SQLite and on PostgreSQL (see `on_both_backends!`).

mod api_keys;
mod audit;
mod auth;
mod concurrency;
mod consent_browser;
mod first_user;
mod groups;
mod health;
mod idp_sync;
mod members;
mod nul_text;
mod null_fields;
mod oauth2_device_dcr;
mod oauth2_policy;
mod oauth2_provider;
mod oidc;
mod organizations;
mod replicas;
mod roles;
mod routes;
mod scim;
mod scim_attributes;
mod scim_bulk;
mod scim_common;
mod scim_groups;
mod user_account;
mod users;
