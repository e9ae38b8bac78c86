//! Warden's SCIM 2.0 service provider (RFC 7643/7644), with no HTTP or SQL in it.
//!
//! - [`filter`]: the filter grammar (RFC 7644 §3.4.2.2) parsed into an AST, and PATCH
//!   paths; [`user::user_filter`] translates a filter into the storage port's
//!   [`UserFilter`](warden_domain::scim::UserFilter), which storage turns into SQL.
//! - [`patch`]: PatchOp applied to a resource document.
//! - [`user`]: the User resource: lenient parsing, rendering, attribute projection.
//! - [`discovery`]: `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`.
//! - [`error`]: the RFC 7644 §3.12 error document with its `scimType`.
//! - [`group`]: the Group resource and its PATCH.
//! - [`bulk`]: `BulkRequest` parsing, `bulkId:` references and the `BulkResponse`
//!   (RFC 7644 §3.7); each operation runs as its single request would.
//! - [`service`]: the use cases, over [`ScimRepo`](warden_domain::scim::ScimRepo).

pub mod bulk;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod group;
pub mod patch;
pub mod service;
pub mod user;

pub use error::{ScimError, ScimResult, ScimType};
pub use service::{Access, ListParams, Resource, ScimConfig, ScimService};
