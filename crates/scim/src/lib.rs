//! Warden's SCIM 2.0 service provider (RFC 7643/7644), with no HTTP or SQL in it.
//!
//! This crate will own the SCIM `User` and `Group` resources and their schemas, the
//! filter grammar (a parser plus its translation to storage predicates), PATCH
//! operations, list/pagination and sorting, ETags, bulk operations, the SCIM error
//! document with its `scimType`, and the mapping to Warden's users and groups.
//! It is empty until the SCIM issue lands: no endpoint is routed to it yet.
