//! The composition root: configuration in, a running server out. Also what the
//! end-to-end tests start, so they exercise exactly the production wiring.

pub mod adapters;
pub mod config;
pub mod metrics;
pub mod replica;
pub mod telemetry;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use warden_domain::oidc::OidcSettings;
use warden_domain::ports::SystemClock;
use warden_domain::services::oidc::Oidc;
use warden_domain::{DomainConfig, Ports, Services};
use warden_http::ratelimit::SharedLimit;
use warden_http::{AppState, HttpConfig};
use warden_oidc::{OidcConfig, OidcRelyingParty};
use warden_scim::{ScimConfig, ScimService};
use warden_storage::{Database, PoolConfig, Repositories};

use crate::adapters::{Argon2Hasher, Ed25519Keys, OsSecrets};
use crate::config::{CommonArgs, OidcArgs, ServerArgs};

/// The window of the registration and device-verification rate limits.
const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

/// Opens the database named by the configuration.
pub async fn open_database(common: &CommonArgs) -> anyhow::Result<Database> {
    Database::connect(
        &common.database_url,
        PoolConfig {
            max_connections: common.database_max_connections,
            ..PoolConfig::default()
        },
    )
    .await
    .with_context(|| format!("cannot open database {}", redact(&common.database_url)))
}

/// Wires the use cases to the diesel adapters of `db`.
pub fn services(db: &Database) -> Services {
    let repos = Repositories::new(db);
    Services::new(
        Ports {
            users: repos.users,
            organizations: repos.organizations,
            api_keys: repos.api_keys,
            members: repos.members,
            roles: repos.roles,
            groups: repos.groups,
            audit: repos.audit,
            replicas: repos.replicas,
            clock: Arc::new(SystemClock),
            secrets: Arc::new(OsSecrets),
            passwords: Arc::new(Argon2Hasher::default()),
            git_ssh_keys: repos.git_ssh_keys,
            idp_sync: repos.idp_sync,
            user_links: repos.user_links,
            ssh_keys: Arc::new(Ed25519Keys),
        },
        DomainConfig::default(),
    )
}

/// SCIM provisioning over `db`, disabled unless a key is configured.
pub fn scim_service(db: &Database, args: &ServerArgs, access_url: &str) -> ScimService {
    ScimService::new(
        Repositories::new(db).scim,
        Arc::new(SystemClock),
        ScimConfig {
            api_key: args.scim_api_key.clone().filter(|k| !k.is_empty()),
            organization: args.scim_organization.clone(),
            base_url: format!("{}/scim/v2", access_url.trim_end_matches('/')),
        },
    )
}

/// Wires the OAuth2 authorization server to the diesel adapters of `db`.
pub fn oauth2_provider(
    db: &Database,
    config: warden_oauth2_provider::OAuth2Config,
) -> warden_oauth2_provider::OAuth2Provider {
    warden_oauth2_provider::OAuth2Provider::new(
        warden_oauth2_provider::OAuth2Ports {
            repo: Repositories::new(db).oauth2,
            clock: Arc::new(SystemClock),
            secrets: Arc::new(OsSecrets),
        },
        config,
    )
}

/// How long a stopping server lets requests in flight finish.
pub const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A bound, migrated, ready-to-run server.
pub struct Application {
    address: SocketAddr,
    server: Server,
    replica: replica::Registration,
    metrics: Option<metrics::MetricsServer>,
    db: Database,
    services: Services,
}

impl Application {
    /// Connects, migrates and binds. Port 0 binds a free port (see [`Self::address`]).
    pub async fn build(common: &CommonArgs, args: &ServerArgs) -> anyhow::Result<Self> {
        let db = open_database(common).await?;
        let applied = db.migrate().await.context("cannot migrate the database")?;
        tracing::info!(applied, backend = ?db.backend(), "database ready");
        let listener = TcpListener::bind(args.http_address)
            .with_context(|| format!("cannot listen on {}", args.http_address))?;
        let address = listener.local_addr()?;
        let access_url = args
            .access_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let mut oauth2_config = warden_oauth2_provider::OAuth2Config::new(&access_url);
        oauth2_config.refresh_grace = std::time::Duration::from_secs(args.oauth2_refresh_grace);
        oauth2_config.code_lifetime = std::time::Duration::from_secs(args.oauth2_code_lifetime);
        oauth2_config.dynamic_registration = args.oauth2_dynamic_registration;
        oauth2_config.device_code_lifetime =
            std::time::Duration::from_secs(args.oauth2_device_code_lifetime);
        let repos = Repositories::new(&db);
        let mut services = services(&db);
        if let Some(oidc) = oidc(&args.oidc, &access_url)? {
            services = services.with_oidc(oidc);
        }
        let state = web::Data::new(AppState {
            oauth2: oauth2_provider(&db, oauth2_config),
            registration_limiter: SharedLimit::new(
                Arc::clone(&repos.attempts),
                Arc::new(SystemClock),
                "oauth2-register",
                args.oauth2_registration_rate_limit,
                MINUTE,
            ),
            device_verify_limiter: SharedLimit::new(
                Arc::clone(&repos.attempts),
                Arc::new(SystemClock),
                "oauth2-device-verify",
                args.oauth2_device_verify_rate_limit,
                MINUTE,
            ),
            services: services.clone(),
            config: HttpConfig {
                secure_cookies: access_url.starts_with("https://"),
                access_url,
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
        });
        let scim = web::Data::new(scim_service(&db, args, &state.config.access_url));
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(scim.clone())
                .wrap(from_fn(warden_http::refuse_nul_in_url))
                .wrap(from_fn(warden_http::observe))
                .configure(warden_http::configure)
        })
        .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs());
        if let Some(workers) = args.http_workers {
            server = server.workers(workers);
        }
        let metrics = match args.prometheus_listen() {
            Some(address) => Some(metrics::MetricsServer::start(address, db.clone())?),
            None => None,
        };
        let server = server.listen(listener)?.run();
        let replica = replica::Registration::start(repos.replicas, Arc::new(SystemClock)).await?;
        Ok(Self {
            address,
            server,
            replica,
            metrics,
            db,
            services,
        })
    }

    /// A handle that stops the server from elsewhere.
    pub fn handle(&self) -> StopHandle {
        StopHandle(self.server.handle())
    }

    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The use cases this server runs, sharing its caches: for an embedding process
    /// (or a test) that calls what no route triggers on its own.
    pub fn services(&self) -> Services {
        self.services.clone()
    }

    /// Where Prometheus metrics are served, when they are.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(metrics::MetricsServer::address)
    }

    /// Serves until SIGINT/SIGTERM or the handle is stopped. Stopping is graceful:
    /// the listener closes at once, requests in flight get up to
    /// [`SHUTDOWN_TIMEOUT`] to finish (their writes commit before they answer), then
    /// the metrics listener closes, the replica deregisters, and the announcements of
    /// its last writes go out to the other replicas.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some(metrics) = self.metrics {
            metrics.stop().await;
        }
        self.replica.stop().await;
        if self.db.flush_announcements(SHUTDOWN_TIMEOUT).await {
            tracing::info!("every write is committed and announced");
        } else {
            tracing::warn!(
                "some writes were not announced to other replicas; they retire their cached reads within seconds anyway"
            );
        }
        served
    }
}

/// The OpenID provider and its settings, when `--oidc-issuer-url` is set. Contacts
/// nobody: discovery happens at the first sign-in.
fn oidc(args: &OidcArgs, access_url: &str) -> anyhow::Result<Option<Oidc>> {
    let Some(issuer_url) = args.oidc_issuer_url.clone().filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let provider = OidcRelyingParty::new(OidcConfig {
        issuer_url,
        client_id: args.oidc_client_id.clone(),
        client_secret: args.oidc_client_secret.clone().unwrap_or_default(),
        redirect_url: format!(
            "{}/api/v2/users/oidc/callback",
            access_url.trim_end_matches('/')
        ),
        scopes: args.oidc_scopes.clone(),
        ignore_userinfo: args.oidc_ignore_userinfo,
        timeout: std::time::Duration::from_secs(10),
    })
    .map_err(anyhow::Error::msg)?;
    Ok(Some(Oidc {
        provider: Arc::new(provider),
        settings: OidcSettings {
            allow_signups: args.oidc_allow_signups,
            email_domains: args
                .oidc_email_domain
                .iter()
                .map(|d| d.trim().to_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            ignore_email_verified: args.oidc_ignore_email_verified,
            email_field: args.oidc_email_field.clone(),
            username_field: args.oidc_username_field.clone(),
            name_field: args.oidc_name_field.clone(),
            group_field: args.oidc_group_field.clone(),
            sign_in_text: args.oidc_sign_in_text.clone(),
            icon_url: args.oidc_icon_url.clone(),
        },
    }))
}

/// Stops a running [`Application`] from elsewhere.
#[derive(Clone)]
pub struct StopHandle(actix_web::dev::ServerHandle);

impl StopHandle {
    /// Stops the server gracefully, as SIGTERM would: in-flight requests finish,
    /// then [`Application::run_until_stopped`] returns.
    pub async fn stop(&self) {
        self.0.stop(true).await;
    }
}

/// The settings a server runs with, one `name=value` per setting, secrets hidden:
/// what an operator reads at start to see which flags and variables took effect.
pub fn effective_config(common: &CommonArgs, args: &ServerArgs) -> String {
    fn or_unset<T: std::fmt::Display>(value: Option<&T>) -> String {
        value.map_or_else(|| "(unset)".to_owned(), ToString::to_string)
    }
    let secret = |value: &Option<String>| if value.is_some() { "***" } else { "(unset)" };
    [
        format!("database_url={}", redact(&common.database_url)),
        format!(
            "database_max_connections={}",
            common.database_max_connections
        ),
        format!("log_format={:?}", common.log_format).to_lowercase(),
        format!("http_address={}", args.http_address),
        format!("access_url={}", or_unset(args.access_url.as_ref())),
        format!("http_workers={}", or_unset(args.http_workers.as_ref())),
        format!("scim_api_key={}", secret(&args.scim_api_key)),
        format!(
            "scim_organization={}",
            or_unset(args.scim_organization.as_ref())
        ),
        format!("oauth2_refresh_grace={}", args.oauth2_refresh_grace),
        format!("oauth2_code_lifetime={}", args.oauth2_code_lifetime),
        format!(
            "oauth2_dynamic_registration={}",
            args.oauth2_dynamic_registration
        ),
        format!(
            "oauth2_registration_rate_limit={}",
            args.oauth2_registration_rate_limit
        ),
        format!(
            "oauth2_device_code_lifetime={}",
            args.oauth2_device_code_lifetime
        ),
        format!(
            "oauth2_device_verify_rate_limit={}",
            args.oauth2_device_verify_rate_limit
        ),
        format!(
            "oidc_issuer_url={}",
            or_unset(args.oidc.oidc_issuer_url.as_ref())
        ),
        format!("oidc_client_id={}", args.oidc.oidc_client_id),
        format!(
            "oidc_client_secret={}",
            secret(&args.oidc.oidc_client_secret)
        ),
        format!("oidc_scopes={}", args.oidc.oidc_scopes.join(",")),
        format!("oidc_allow_signups={}", args.oidc.oidc_allow_signups),
        format!(
            "oidc_email_domain={}",
            args.oidc.oidc_email_domain.join(",")
        ),
        format!("oidc_ignore_userinfo={}", args.oidc.oidc_ignore_userinfo),
        format!(
            "prometheus_address={}",
            args.prometheus_listen()
                .map_or_else(|| "(off)".to_owned(), |a| a.to_string())
        ),
    ]
    .join(" ")
}

/// Hides the password of a database URL for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("sqlite://./data/w.db"), "sqlite://./data/w.db");
    }
}
