//! Identifier newtypes. A bare `Uuid` never crosses a crate boundary: the type says
//! what it identifies, so a user id cannot be passed where an organization id is due.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random (v4) identifier.
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// Identifies a user.
    UserId
);
uuid_id!(
    /// Identifies an organization. The Everyone group of an organization shares its id.
    OrganizationId
);
uuid_id!(
    /// Identifies a group.
    GroupId
);
uuid_id!(
    /// Identifies an audit log entry.
    AuditLogId
);

/// The public, 10-character id half of an API key (`<id>-<secret>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiKeyId(pub String);

impl fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

uuid_id!(
    /// Identifies an OAuth2 application (its `client_id`).
    OAuth2AppId
);
uuid_id!(
    /// Identifies an OAuth2 application's client secret.
    OAuth2SecretId
);
uuid_id!(
    /// Identifies a running server process (a replica), for as long as it runs.
    ReplicaId
);
