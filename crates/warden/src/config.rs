//! Command line and `WARDEN_*` environment configuration.

use std::net::SocketAddr;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Warden: a Coder-compatible identity and access server.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Server settings for bare `warden`, which is `warden server`.
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the process arguments into the command to run; exits with a usage
    /// error as clap does.
    ///
    /// Bare `warden` serves with the top-level server settings. Server flags given
    /// before a subcommand's name are refused rather than silently ignored: they
    /// belong after `server`, and mean nothing to `migrate` or `openapi`.
    pub fn parse_command() -> (CommonArgs, Command) {
        let matches = Self::command().get_matches();
        let cli = Self::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
        if let Some(name) = matches.subcommand_name()
            && let Some(flag) = ServerArgs::augment_args(clap::Command::new("server"))
                .get_arguments()
                .map(|arg| arg.get_id().as_str().to_owned())
                .find(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        {
            Self::command()
                .error(
                    ErrorKind::ArgumentConflict,
                    format!(
                        "--{} is a server setting: give it after `server`, or run bare \
                         `warden`; it cannot come before `{name}`",
                        flag.replace('_', "-")
                    ),
                )
                .exit();
        }
        (
            cli.common,
            cli.command.unwrap_or(Command::Server(cli.server)),
        )
    }
}

/// Options every subcommand understands.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Database URL: `sqlite://<path>` (embedded) or `postgres://…`.
    #[arg(
        long,
        env = "WARDEN_DATABASE_URL",
        default_value = "sqlite://./data/warden.db",
        global = true
    )]
    pub database_url: String,
    /// Log line format.
    #[arg(long, env = "WARDEN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Database connections (and concurrent queries) per process.
    #[arg(
        long,
        env = "WARDEN_DATABASE_MAX_CONNECTIONS",
        default_value_t = 8,
        global = true
    )]
    pub database_max_connections: u32,
}

/// What to run; `server` when omitted.
#[derive(Debug, Clone, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing buys nothing
pub enum Command {
    /// Serve the API (the default).
    Server(ServerArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create the first user (site owner) without the API, for scripts and test harnesses.
    CreateFirstUser(CreateFirstUserArgs),
    /// Print the OpenAPI document of the API and exit.
    Openapi,
}

/// `warden server`.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "WARDEN_HTTP_ADDRESS", default_value = "127.0.0.1:3000")]
    pub http_address: SocketAddr,
    /// The public URL of this deployment, used in links and OAuth2 metadata.
    /// Defaults to `http://<http-address>`.
    #[arg(long, env = "WARDEN_ACCESS_URL")]
    pub access_url: Option<String>,
    /// Worker threads serving HTTP (default: one per core).
    #[arg(long, env = "WARDEN_HTTP_WORKERS")]
    pub http_workers: Option<usize>,
    /// Enables SCIM 2.0 provisioning at `/scim/v2` with this bearer key; unset = SCIM
    /// disabled (404).
    #[arg(long, env = "WARDEN_SCIM_API_KEY", hide_env_values = true)]
    pub scim_api_key: Option<String>,
    /// The organization SCIM provisions users into (name); default: the default
    /// organization.
    #[arg(long, env = "WARDEN_SCIM_ORGANIZATION")]
    pub scim_organization: Option<String>,
    /// Seconds a rotated OAuth2 refresh token may still be exchanged (concurrent
    /// refreshes); reuse after that revokes the token family.
    #[arg(long, env = "WARDEN_OAUTH2_REFRESH_GRACE", default_value_t = 10)]
    pub oauth2_refresh_grace: u64,
    /// Seconds an OAuth2 authorization code stays redeemable (at most 600).
    #[arg(long, env = "WARDEN_OAUTH2_CODE_LIFETIME", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(0..=600))]
    pub oauth2_code_lifetime: u64,
    /// Opens RFC 7591/7592 dynamic client registration at `/oauth2/register`
    /// (off: 404, and no `registration_endpoint` in the metadata).
    #[arg(long, env = "WARDEN_OAUTH2_DYNAMIC_REGISTRATION", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub oauth2_dynamic_registration: bool,
    /// Dynamic client registrations admitted per client IP address per minute
    /// (in bursts of as many).
    #[arg(
        long,
        env = "WARDEN_OAUTH2_REGISTRATION_RATE_LIMIT",
        default_value_t = 10
    )]
    pub oauth2_registration_rate_limit: u32,
    /// Seconds an RFC 8628 device code may be approved and redeemed.
    #[arg(long, env = "WARDEN_OAUTH2_DEVICE_CODE_LIFETIME", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(0..=1800))]
    pub oauth2_device_code_lifetime: u64,
    /// Wrong user codes a signed-in user may enter on the device verification page
    /// per minute (RFC 8628 §5.1); beyond that, every attempt gets 429 until the
    /// minute has passed.
    #[arg(long, env = "WARDEN_OAUTH2_DEVICE_VERIFY_RATE_LIMIT", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub oauth2_device_verify_rate_limit: u32,
    /// Serve Prometheus metrics on `--prometheus-address` (Coder's flag).
    #[arg(long, env = "WARDEN_PROMETHEUS_ENABLE", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub prometheus_enable: bool,
    /// Where to serve Prometheus metrics, on a listener of their own; giving an
    /// address also turns them on. Off by default; with `--prometheus-enable` alone,
    /// `127.0.0.1:2112` (Coder's default).
    #[arg(long, env = "WARDEN_PROMETHEUS_ADDRESS")]
    pub prometheus_address: Option<SocketAddr>,
    #[command(flatten)]
    pub oidc: OidcArgs,
}

/// Sign-in through an OpenID Connect provider (Coder's `--oidc-*` options); off
/// unless `--oidc-issuer-url` is set.
#[derive(Debug, Clone, Args)]
pub struct OidcArgs {
    /// The provider's issuer URL, exactly as its ID tokens name it (discovery reads
    /// `<issuer>/.well-known/openid-configuration`).
    #[arg(long, env = "WARDEN_OIDC_ISSUER_URL")]
    pub oidc_issuer_url: Option<String>,
    /// The client ID Warden is registered under at the provider.
    #[arg(long, env = "WARDEN_OIDC_CLIENT_ID", default_value = "")]
    pub oidc_client_id: String,
    /// The client secret; unset for a public client.
    #[arg(long, env = "WARDEN_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// Scopes requested (comma-separated or repeated).
    #[arg(
        long,
        env = "WARDEN_OIDC_SCOPES",
        value_delimiter = ',',
        default_value = "openid,profile,email"
    )]
    pub oidc_scopes: Vec<String>,
    /// The claim holding the e-mail address.
    #[arg(long, env = "WARDEN_OIDC_EMAIL_FIELD", default_value = "email")]
    pub oidc_email_field: String,
    /// The claim holding the username.
    #[arg(
        long,
        env = "WARDEN_OIDC_USERNAME_FIELD",
        default_value = "preferred_username"
    )]
    pub oidc_username_field: String,
    /// The claim holding the display name.
    #[arg(long, env = "WARDEN_OIDC_NAME_FIELD", default_value = "name")]
    pub oidc_name_field: String,
    /// The claim whose values sync the default organization's groups when no group
    /// sync settings are stored.
    #[arg(long, env = "WARDEN_OIDC_GROUP_FIELD", default_value = "")]
    pub oidc_group_field: String,
    /// Whether a first sign-in creates the account.
    #[arg(long, env = "WARDEN_OIDC_ALLOW_SIGNUPS", default_value_t = true,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub oidc_allow_signups: bool,
    /// E-mail domains allowed to sign in (comma-separated or repeated); none = all.
    #[arg(long, env = "WARDEN_OIDC_EMAIL_DOMAIN", value_delimiter = ',')]
    pub oidc_email_domain: Vec<String>,
    /// Accept `email_verified: false`.
    #[arg(long, env = "WARDEN_OIDC_IGNORE_EMAIL_VERIFIED", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub oidc_ignore_email_verified: bool,
    /// Use the ID token's claims only, without asking the userinfo endpoint.
    #[arg(long, env = "WARDEN_OIDC_IGNORE_USERINFO", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub oidc_ignore_userinfo: bool,
    /// The sign-in button's text.
    #[arg(
        long,
        env = "WARDEN_OIDC_SIGN_IN_TEXT",
        default_value = "OpenID Connect"
    )]
    pub oidc_sign_in_text: String,
    /// The sign-in button's icon URL.
    #[arg(long, env = "WARDEN_OIDC_ICON_URL", default_value = "")]
    pub oidc_icon_url: String,
}

impl Default for OidcArgs {
    fn default() -> Self {
        Self {
            oidc_issuer_url: None,
            oidc_client_id: String::new(),
            oidc_client_secret: None,
            oidc_scopes: vec!["openid".into(), "profile".into(), "email".into()],
            oidc_email_field: "email".into(),
            oidc_username_field: "preferred_username".into(),
            oidc_name_field: "name".into(),
            oidc_group_field: String::new(),
            oidc_allow_signups: true,
            oidc_email_domain: Vec::new(),
            oidc_ignore_email_verified: false,
            oidc_ignore_userinfo: false,
            oidc_sign_in_text: "OpenID Connect".into(),
            oidc_icon_url: String::new(),
        }
    }
}

/// Coder's default metrics address.
const DEFAULT_PROMETHEUS_ADDRESS: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 2112);

impl ServerArgs {
    /// Where Prometheus metrics are served, if they are.
    pub fn prometheus_listen(&self) -> Option<SocketAddr> {
        self.prometheus_address
            .or(self.prometheus_enable.then_some(DEFAULT_PROMETHEUS_ADDRESS))
    }
}

impl Default for ServerArgs {
    fn default() -> Self {
        Self {
            http_address: SocketAddr::from(([127, 0, 0, 1], 3000)),
            access_url: None,
            http_workers: None,
            scim_api_key: None,
            scim_organization: None,
            oauth2_refresh_grace: 10,
            oauth2_code_lifetime: 600,
            oauth2_dynamic_registration: false,
            oauth2_registration_rate_limit: 10,
            oauth2_device_code_lifetime: 600,
            oauth2_device_verify_rate_limit: 5,
            prometheus_enable: false,
            prometheus_address: None,
            oidc: OidcArgs::default(),
        }
    }
}

/// `warden create-first-user`.
#[derive(Debug, Clone, Args)]
pub struct CreateFirstUserArgs {
    #[arg(long, env = "WARDEN_FIRST_USER_EMAIL")]
    pub email: String,
    #[arg(long, env = "WARDEN_FIRST_USER_USERNAME")]
    pub username: String,
    #[arg(long, env = "WARDEN_FIRST_USER_PASSWORD", hide_env_values = true)]
    pub password: String,
    #[arg(long, default_value = "")]
    pub name: String,
    /// Also log in and print a session token on a line of its own.
    #[arg(long)]
    pub print_token: bool,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}
