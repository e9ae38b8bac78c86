//! The crate's single error type.

use std::fmt;

/// Everything that can go wrong when parsing RBAC vocabulary (resource types,
/// actions, role identifiers, scopes, allow-list entries).
///
/// Authorization itself never fails: [`crate::Subject::authorize`] answers
/// `false` for anything it cannot decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RbacError {
    /// The string is not one of Coder's resource type names (or `*`).
    UnknownResourceType(String),
    /// The string is not one of Coder's action names (or `*`).
    UnknownAction(String),
    /// The string is not of the form `name` or `name:<organization-uuid>`.
    InvalidRoleIdentifier(String),
    /// No built-in, composite or low-level scope has this name.
    UnknownScope(String),
    /// The string is not of the form `<type|*>:<uuid|*>`.
    InvalidAllowListEntry(String),
}

impl fmt::Display for RbacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownResourceType(s) => write!(f, "unknown resource type {s:?}"),
            Self::UnknownAction(s) => write!(f, "unknown action {s:?}"),
            Self::InvalidRoleIdentifier(reason) => write!(f, "invalid role identifier: {reason}"),
            Self::UnknownScope(s) => write!(f, "no scope named {s:?}"),
            Self::InvalidAllowListEntry(reason) => write!(f, "invalid allow_list entry: {reason}"),
        }
    }
}

impl std::error::Error for RbacError {}
