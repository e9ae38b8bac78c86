//! Coder's permission model (RBAC policy version 2), without I/O.
//!
//! A [`Subject`] (a user's id, expanded [`Role`]s, groups and the [`Scope`] of
//! their credential) asks whether it may perform an [`Action`] on an
//! [`Object`]. Roles and scopes are made of [`Permission`]s on
//! [`ResourceType`]s at four levels:
//!
//! | level | applies when | permissions |
//! |---|---|---|
//! | site | always | `Role::site` |
//! | user | the subject owns the object and it has no organization (nor `any_org`) | `Role::user` |
//! | org | the object's organization is one of the subject's memberships (`any_org`: the best vote over them) | `by_org_id[org].org` |
//! | org member | as org, and the subject owns the object | `by_org_id[org].member` |
//!
//! Each level votes over the permissions that match (action is the requested
//! one or `*`, type is the object's or `*`): any negated one → [`Vote::Deny`],
//! none → [`Vote::Abstain`], otherwise [`Vote::Allow`]. Then
//!
//! ```text
//! role_allow  = site = Allow
//!             | site ≠ Deny & user = Allow
//!             | site ≠ Deny & org = Allow
//!             | site ≠ Deny & org ≠ Deny & org_member = Allow
//! scope_allow = allow list admits the object & the same rule over the scope's votes
//! acl_allow   = the object's user ACL grants the action (or `*`) to the subject
//!             | member of the object's org & a group ACL grants it to one of the subject's groups
//!             | member of the object's org & the Everyone group ACL (keyed by the org id) grants it
//! allow       = (role_allow | acl_allow) & scope_allow
//! ```
//!
//! Memberships are the organizations appearing in the roles' `by_org_id`, so
//! the implied `organization-member` role must be expanded for each of them
//! (see [`roles`]). A non-member's organization vote is `Abstain`, never `Deny`.
//!
//! Compared with Coder's newest policy (version 3) this deliberately leaves
//! out the `use_shared` gate on workspace ACLs and AI-agent designation, and
//! user ACL entries apply without organization membership (as in version 2).
//!
//! # Listing
//!
//! [`Subject::filter`] compiles the decision for one action and resource
//! type into a [`Filter`], a small predicate over row columns (id, owner,
//! organization, ACLs) that storage turns into a SQL `WHERE` clause; see the
//! [`filter`] module.
//!
//! # How this is checked
//!
//! `tests/differential.rs` compares [`Subject::authorize`] with a plain Rego
//! transcription of the rules above (`tests/oracle/policy.rego`, evaluated
//! by regorus) on 100 000 random cases; `tests/filter.rs` compares
//! [`Subject::filter`] with `authorize`; `tests/matrix.rs` pins the built-in
//! roles' authorization matrix (`tests/matrix.expected.txt`). The `rbac`
//! bench re-creates Coder's authorization benchmarks.

#![warn(missing_docs)]

mod compiled;
mod error;
mod escalation;
pub mod filter;
mod object;
mod org_index;
mod permission;
mod resource;
mod role;
pub mod roles;
mod scope;
mod subject;

pub use compiled::Vote;
pub use error::RbacError;
pub use escalation::{EscalationError, check_grantable};
pub use filter::Filter;
pub use object::Object;
pub use permission::Permission;
pub use resource::{Action, ResourceType};
pub use role::{OrgPermissions, Role, RoleIdentifier};
pub use scope::{AllowListEntry, SCOPE_ALL, SCOPE_APPLICATION_CONNECT, SCOPE_NO_USER_DATA, Scope};
pub use subject::{Evaluation, Subject};

#[cfg(test)]
mod tests;
