//! Handlers, one module per API area.

pub mod keys;
pub mod meta;
pub mod organizations;
pub mod users;
