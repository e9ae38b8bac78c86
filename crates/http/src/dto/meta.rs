//! The deployment: build information and replicas.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_domain::model;

/// `codersdk.BuildInfoResponse` (the fields clients read).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuildInfoResponse {
    pub external_url: String,
    pub version: String,
    pub dashboard_url: String,
    pub workspace_proxy: bool,
    pub agent_api_version: String,
    pub provisioner_api_version: String,
    pub upgrade_message: String,
    pub deployment_id: String,
    pub telemetry: bool,
}

/// `codersdk.Replica`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Replica {
    pub id: Uuid,
    pub hostname: String,
    /// When the replica started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Coder's DERP relay address; Warden relays nothing, so it is empty.
    pub relay_address: String,
    /// Coder's DERP region; always 0 in Warden.
    pub region_id: i32,
    /// What went wrong at the replica's last heartbeat; empty when nothing did.
    pub error: String,
    /// The round trip to the database at the last heartbeat, in microseconds.
    pub database_latency: i64,
}

impl From<model::Replica> for Replica {
    fn from(r: model::Replica) -> Self {
        Self {
            id: r.id.as_uuid(),
            hostname: r.hostname,
            created_at: r.created_at,
            relay_address: r.relay_address,
            region_id: r.region_id,
            error: r.error,
            database_latency: r.database_latency,
        }
    }
}
