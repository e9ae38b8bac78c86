//! The Prometheus metrics listener (`--prometheus-address`, off by default, as in
//! Coder): a separate HTTP listener that answers every `GET` with the text exposition
//! format. The crates record through the `metrics` facade; this module installs the
//! recorder that collects them and adds, at scrape time, what is read rather than
//! counted (the connection pool, authorization decisions).

use std::net::{SocketAddr, TcpListener};
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::{Method, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use warden_storage::Database;

/// Latency buckets, in seconds: from a cached read (well under a millisecond) to a
/// request stuck behind a slow database.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Writes per SQLite group commit: one up to the writer's limit of 64.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// How often buffered histogram samples are folded in when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process-wide recorder: the `metrics` facade takes one per process.
static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

fn recorder() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = RECORDER.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), LATENCY_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full("warden_db_commit_batch_size".into()),
            BATCH_BUCKETS,
        )?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    describe();
    Ok(RECORDER.get_or_init(|| handle).clone())
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "warden_http_requests_total",
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        "warden_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by method, route template and status."
    );
    describe_histogram!(
        "warden_db_query_duration_seconds",
        metrics::Unit::Seconds,
        "Time a database connection spent on one unit of work (a read or a transaction)."
    );
    describe_histogram!(
        "warden_db_commit_batch_size",
        "Writes committed together by one SQLite group commit."
    );
    describe_gauge!(
        "warden_db_pool_connections",
        "Database connections, by state: open, idle, in_use, max."
    );
    describe_counter!(
        "warden_authz_decisions_total",
        "Authorization decisions on single objects, by result."
    );
    describe_counter!(
        "warden_sign_ins_total",
        "Sign-in attempts, by method and result."
    );
    describe_counter!(
        "warden_scim_operations_total",
        "SCIM requests, by resource, operation and status."
    );
    describe_counter!(
        "warden_oauth2_requests_total",
        "OAuth2 protocol requests, by method, endpoint and status."
    );
    describe_counter!(
        "warden_oauth2_token_requests_total",
        "OAuth2 token requests, by grant type and result (success or the error code)."
    );
}

/// The exposition, with the values read at scrape time brought up to date.
fn scrape(handle: &PrometheusHandle, db: &Database) -> String {
    let pool = db.pool_use();
    let gauge = |state: &'static str, value: u32| {
        metrics::gauge!("warden_db_pool_connections", "state" => state).set(f64::from(value));
    };
    gauge("max", pool.max);
    gauge("open", pool.open);
    gauge("idle", pool.idle);
    gauge("in_use", pool.open.saturating_sub(pool.idle));
    let (allowed, denied) = warden_domain::metrics::authorization_decisions();
    metrics::counter!("warden_authz_decisions_total", "result" => "allow").absolute(allowed);
    metrics::counter!("warden_authz_decisions_total", "result" => "deny").absolute(denied);
    handle.render()
}

/// A running metrics listener.
pub struct MetricsServer {
    address: SocketAddr,
    handle: ServerHandle,
    upkeep: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// Installs the recorder (once per process) and starts serving on `address`.
    pub fn start(address: SocketAddr, db: Database) -> anyhow::Result<Self> {
        let recorder = recorder()?;
        let listener = TcpListener::bind(address)
            .with_context(|| format!("cannot listen for metrics on {address}"))?;
        let address = listener.local_addr()?;
        let upkeep = {
            let recorder = recorder.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(UPKEEP_INTERVAL).await;
                    recorder.run_upkeep();
                }
            })
        };
        let state = web::Data::new((recorder, db));
        let server: Server = HttpServer::new(move || {
            App::new().app_data(state.clone()).default_service(web::to(
                |req: HttpRequest, state: web::Data<(PrometheusHandle, Database)>| async move {
                    if req.method() != Method::GET {
                        return HttpResponse::MethodNotAllowed()
                            .insert_header((header::ALLOW, "GET"))
                            .finish();
                    }
                    HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4; charset=utf-8")
                        .body(scrape(&state.0, &state.1))
                },
            ))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            address,
            handle,
            upkeep,
        })
    }

    /// Where the metrics are served.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops serving.
    pub async fn stop(self) {
        self.upkeep.abort();
        self.handle.stop(true).await;
    }
}
