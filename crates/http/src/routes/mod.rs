//! Handlers, one module per API area.

pub mod audit;
pub mod groups;
pub mod idp_sync;
pub mod keys;
pub mod members;
pub mod meta;
pub mod oauth2;
pub mod oauth2_apps;
pub mod oauth2_device;
pub mod oauth2_register;
pub mod oidc;
pub mod organizations;
pub mod replicas;
pub mod roles;
pub mod scim;
pub mod users;
