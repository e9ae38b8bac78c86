//! Warden's domain: entities, validated values, the ports the outside world implements,
//! and the use cases, each authorized through `warden-rbac` in exactly one place.
//!
//! This crate knows nothing of HTTP, SQL or the async runtime: it compiles without
//! tokio, actix or diesel, and its services can be driven with in-memory fakes.

pub mod actor;
pub mod error;
pub mod idp_sync;
pub mod ids;
pub mod metrics;
pub mod model;
pub mod oauth2;
pub mod oidc;
pub mod ports;
pub mod scim;
pub mod services;
pub mod token;
pub mod values;

pub use actor::Actor;
pub use error::{DomainError, DomainResult, FieldError, RepoError};
pub use services::{DomainConfig, Ports, Services};
