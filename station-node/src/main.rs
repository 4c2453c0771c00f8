//! station-node command line: thin on purpose, everything lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use bangban_kit::cli::UserCommand;
use clap::{Parser, Subcommand};
use station_node::Settings;

/// Bangban station node (town or village service centre).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Settings file (TOML). BANGBAN_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node.
    Serve,
    /// Create or upgrade the database, then exit.
    Migrate,
    /// Check the settings, print a summary and exit.
    CheckConfig,
    /// Operator accounts.
    #[command(subcommand)]
    User(UserCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config =
        match Settings::load(cli.config.as_deref()).and_then(|s| s.check(cli.config.as_deref())) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("station-node: {e}");
                return ExitCode::from(2);
            }
        };
    bangban_kit::telemetry::init(&config.log);
    bangban_kit::tls::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("station-node: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => {
                let listener = tokio::net::TcpListener::bind(config.http.listen)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("http.listen: cannot listen on {}: {e}", config.http.listen)
                    })?;
                station_node::serve(config, listener, bangban_kit::shutdown::signal()).await
            }
            Command::Migrate => {
                let db = station_node::open_db(&config).await?;
                db.close().await;
                println!("database {} is up to date", config.database_path.display());
                Ok(())
            }
            Command::CheckConfig => {
                println!(
                    "station {} ({}, {}) listens on {}; database {}; parent {}; children {}",
                    config.code,
                    config.name,
                    config.code.tier().label_zh(),
                    config.http.listen,
                    config.database_path.display(),
                    config
                        .parent_url
                        .as_ref()
                        .map_or("none".to_owned(), |u| u.to_string()),
                    config
                        .internode_listen
                        .map_or("none".to_owned(), |a| format!("served on {a} (mTLS)")),
                );
                Ok(())
            }
            Command::User(cmd) => {
                let db = station_node::open_db(&config).await?;
                let result = bangban_kit::cli::run_user_command(
                    &bangban_kit::auth::AuthStore::new(db.clone()),
                    cmd,
                )
                .await;
                db.close().await;
                result
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "station-node failed");
            eprintln!("station-node: {e:#}");
            ExitCode::FAILURE
        }
    }
}
