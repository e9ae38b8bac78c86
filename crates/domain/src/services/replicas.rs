//! The server processes (replicas) serving this database.
//!
//! Each replica reports itself every [`REPLICA_HEARTBEAT_INTERVAL`]; the binary runs
//! that loop. A replica is listed while its last report is younger than
//! [`REPLICA_ALIVE_WINDOW`], and its row is removed once it is older than
//! [`REPLICA_FORGET_AFTER`] (a replica that stops cleanly removes its own at once).

use std::time::Duration;

use warden_rbac::{Action, Object, ResourceType};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult};
use crate::model::Replica;
use crate::services::Services;

/// How often a replica reports itself.
pub const REPLICA_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// How recent a replica's last report must be for it to count as alive, as in Coder:
/// three missed heartbeats.
pub const REPLICA_ALIVE_WINDOW: Duration = Duration::from_secs(15);
/// How long the row of a replica that stopped reporting stays, as in Coder.
pub const REPLICA_FORGET_AFTER: Duration = Duration::from_secs(30 * 60);

impl Services {
    /// `GET /replicas`: the replicas alive now, oldest first. Anyone who may not read
    /// replicas is told there is nothing here (404), as Coder does.
    pub async fn replicas(&self, actor: &Actor) -> DomainResult<Vec<Replica>> {
        if !actor.can(Action::Read, &Object::new(ResourceType::Replicas)) {
            return Err(DomainError::not_found());
        }
        let since = self.now() - REPLICA_ALIVE_WINDOW;
        Ok(self.ports.replicas.alive(since).await?)
    }

    /// Readiness: one round trip to the database, timed. Needs no actor: a load
    /// balancer asks it before it sends traffic here.
    pub async fn database_ready(&self) -> DomainResult<Duration> {
        Ok(self.ports.replicas.ping().await?)
    }
}
