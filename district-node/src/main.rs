//! district-node command line: thin on purpose, everything lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use district_node::Settings;

/// Bangban district node (the district hall: policy, registry, inspection, escalated cases).
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config =
        match Settings::load(cli.config.as_deref()).and_then(|s| s.check(cli.config.as_deref())) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("district-node: {e}");
                return ExitCode::from(2);
            }
        };
    bangban_kit::telemetry::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("district-node: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => {
                let listener = tokio::net::TcpListener::bind(config.http.listen).await?;
                district_node::serve(config, listener, bangban_kit::shutdown::signal()).await
            }
            Command::Migrate => {
                let store = district_node::open_store(&config).await?;
                store.db().close().await;
                println!(
                    "database {} is up to date",
                    district_node::settings::redact_url(&config.database_url)
                );
                Ok(())
            }
            Command::CheckConfig => {
                println!(
                    "district {} ({}) listens on {}; database {}",
                    config.code,
                    config.name,
                    config.http.listen,
                    district_node::settings::redact_url(&config.database_url),
                );
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "district-node failed");
            eprintln!("district-node: {e:#}");
            ExitCode::FAILURE
        }
    }
}
