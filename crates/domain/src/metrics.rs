//! What the use cases count, for the operator's metrics. Authorization decisions are
//! counted in two process-wide atomics (one uncontended add per decision; a check
//! costs well under a microsecond and a metrics registry lookup would cost more than
//! the check), which the metrics exporter reads at scrape time. Rarer events go
//! straight to the `metrics` facade, a no-op until a recorder is installed.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::DomainError;

static ALLOWED: AtomicU64 = AtomicU64::new(0);
static DENIED: AtomicU64 = AtomicU64::new(0);

/// Authorization decisions on single objects since the process started, as
/// `(allowed, denied)`. (List filters compiled to SQL are not single decisions.)
pub fn authorization_decisions() -> (u64, u64) {
    (
        ALLOWED.load(Ordering::Relaxed),
        DENIED.load(Ordering::Relaxed),
    )
}

pub(crate) fn record_decision(allowed: bool) {
    let counter = if allowed { &ALLOWED } else { &DENIED };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Counts a sign-in attempt by `method` and how it ended: `success`, `rejected`
/// (wrong credentials), `refused` (a known account that may not sign in this way or
/// now) or `error`.
pub(crate) fn record_sign_in<T>(method: &'static str, outcome: &Result<T, DomainError>) {
    let result = match outcome {
        Ok(_) => "success",
        Err(DomainError::Unauthorized { .. }) => "rejected",
        Err(DomainError::Forbidden { .. }) => "refused",
        Err(_) => "error",
    };
    metrics::counter!("warden_sign_ins_total", "method" => method, "result" => result).increment(1);
}
