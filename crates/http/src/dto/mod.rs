//! Wire types, named and shaped as Coder's `codersdk` types so Coder clients work
//! unchanged: one module per API area, all re-exported here.

mod audit;
mod groups;
mod idp_sync;
mod keys;
mod members;
mod meta;
mod organizations;
mod roles;
mod users;

pub use audit::*;
pub use groups::*;
pub use idp_sync::*;
pub use keys::*;
pub use members::*;
pub use meta::*;
pub use organizations::*;
pub use roles::*;
pub use users::*;
