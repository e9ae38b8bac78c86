//! This process's entry in the replica registry: written at start, reported every
//! few seconds, removed when the server stops.

use std::sync::Arc;

use anyhow::Context;
use warden_domain::ids::ReplicaId;
use warden_domain::model::Replica;
use warden_domain::ports::{Clock, ReplicaRepo};
use warden_domain::services::replicas::{REPLICA_FORGET_AFTER, REPLICA_HEARTBEAT_INTERVAL};

/// A registered replica and the task that keeps its entry fresh.
pub struct Registration {
    id: ReplicaId,
    repo: Arc<dyn ReplicaRepo>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Registration {
    /// Writes this process's entry (failing if the database refuses it) and starts
    /// reporting every [`REPLICA_HEARTBEAT_INTERVAL`].
    pub async fn start(repo: Arc<dyn ReplicaRepo>, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let now = clock.now();
        let mut me = Replica {
            id: ReplicaId::new_random(),
            hostname: hostname(),
            region_id: 0,
            relay_address: String::new(),
            error: String::new(),
            database_latency: 0,
            created_at: now,
            updated_at: now,
        };
        measure(repo.as_ref(), &mut me).await;
        repo.heartbeat(me.clone())
            .await
            .context("cannot register this replica")?;
        let id = me.id;
        let heartbeat = tokio::spawn({
            let repo = Arc::clone(&repo);
            async move {
                let mut tick = tokio::time::interval(REPLICA_HEARTBEAT_INTERVAL);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    beat(repo.as_ref(), clock.as_ref(), &mut me).await;
                }
            }
        });
        tracing::info!(replica = %id, "replica registered");
        Ok(Self {
            id,
            repo,
            heartbeat,
        })
    }

    /// Stops reporting and removes the entry, so that other replicas stop listing
    /// this one at once rather than after it goes stale.
    pub async fn stop(self) {
        self.heartbeat.abort();
        if let Err(e) = self.repo.remove(self.id).await {
            tracing::warn!(error = %e, "cannot remove this replica's entry; it goes stale instead");
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// One report: the database round trip, the entry rewritten, and the entries of
/// replicas silent for [`REPLICA_FORGET_AFTER`] removed.
async fn beat(repo: &dyn ReplicaRepo, clock: &dyn Clock, me: &mut Replica) {
    measure(repo, me).await;
    let now = clock.now();
    me.updated_at = now;
    if let Err(e) = repo.heartbeat(me.clone()).await {
        tracing::warn!(error = %e, "replica heartbeat failed");
    }
    if let Err(e) = repo.remove_stale(now - REPLICA_FORGET_AFTER).await {
        tracing::warn!(error = %e, "cannot remove stale replica entries");
    }
}

/// Times a round trip to the database into `me`, or records why it failed.
async fn measure(repo: &dyn ReplicaRepo, me: &mut Replica) {
    match repo.ping().await {
        Ok(latency) => {
            me.database_latency = i64::try_from(latency.as_micros()).unwrap_or(i64::MAX);
            me.error.clear();
        }
        Err(e) => me.error = format!("database ping failed: {e}"),
    }
}

/// The machine's host name, as the kernel knows it.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
