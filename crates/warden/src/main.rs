//! The `warden` binary: parse configuration, then serve, migrate or bootstrap.

use anyhow::Context;
use warden::config::{Cli, Command};
use warden::{Application, effective_config, open_database, services, telemetry};
use warden_domain::services::users::CreateFirstUser;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let (common, command) = Cli::parse_command();
    telemetry::init(common.log_format);
    match command {
        Command::Server(args) => {
            tracing::info!(config = %effective_config(&common, &args), "starting");
            let app = Application::build(&common, &args).await?;
            tracing::info!(address = %app.address(), "serving the API");
            app.run_until_stopped().await?;
            tracing::info!("stopped");
        }
        Command::Openapi => print!("{}", warden_http::openapi::openapi_json()),
        Command::Migrate => {
            let db = open_database(&common).await?;
            let applied = db.migrate().await.context("migration failed")?;
            tracing::info!(applied, "migrations applied");
        }
        Command::CreateFirstUser(args) => {
            let db = open_database(&common).await?;
            db.migrate().await.context("migration failed")?;
            let services = services(&db);
            let (user, org) = services
                .create_first_user(CreateFirstUser {
                    email: args.email.clone(),
                    username: args.username,
                    name: args.name,
                    password: args.password.clone(),
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("user_id={} organization_id={}", user.id, org.id);
            if args.print_token {
                let token = services
                    .login_with_password(&args.email, &args.password)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("{token}");
            }
        }
    }
    Ok(())
}
