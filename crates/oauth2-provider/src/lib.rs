//! Warden's OAuth2 authorization server, as protocol logic with no HTTP or SQL in it.
//!
//! This crate will own the authorize/consent decision, authorization codes bound to
//! PKCE challenges, token issuance with refresh rotation and reuse detection,
//! revocation (RFC 7009), introspection (RFC 7662), dynamic client registration
//! (RFC 7591/7592), the RFC 8414 and RFC 9728 metadata documents and the RFC 6749
//! §5.2 error codes. `warden-http` will expose it; `warden-storage` will persist it.
//! It is empty until the OAuth2 issue lands: no endpoint is routed to it yet.
