//! station-node command line: thin on purpose, everything lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use bangban_kit::cli::NodeCommand;
use clap::Parser;
use station_node::Settings;

/// Bangban station node (town or village service centre).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Settings file (TOML). BANGBAN_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: NodeCommand,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let file = cli.config.as_deref();
    let (config, runtime) = match bangban_kit::cli::start(
        "station-node",
        || Settings::load(file).and_then(|s| s.check(file)),
        |c: &station_node::Config| &c.log,
    ) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let result = runtime.block_on(async move {
        match cli.command {
            NodeCommand::Serve => {
                let listener = bangban_kit::cli::bind("http.listen", config.http.listen).await?;
                station_node::serve(config, listener, bangban_kit::shutdown::signal()).await
            }
            NodeCommand::Migrate => {
                station_node::open_db(&config).await?.close().await;
                println!("database {} is up to date", config.database_path.display());
                Ok(())
            }
            NodeCommand::CheckConfig => {
                println!(
                    "station {} ({}, {}) listens on {}://{}; database {}; parent {}; children {}",
                    config.code,
                    config.name,
                    config.code.tier().label_zh(),
                    config.ui_tls.scheme(),
                    config.http.listen,
                    config.database_path.display(),
                    config.parent.as_ref().map_or("none".to_owned(), |p| {
                        let urls: Vec<String> = p.urls().iter().map(|u| u.to_string()).collect();
                        urls.join(" then ")
                    }),
                    config
                        .internode_listen
                        .map_or("none".to_owned(), |a| format!("served on {a} (mTLS)")),
                );
                Ok(())
            }
            NodeCommand::User(cmd) => {
                bangban_kit::cli::user_command(station_node::open_db(&config).await?, cmd).await
            }
            NodeCommand::Job(cmd) => {
                let db = station_node::open_db(&config).await?;
                bangban_kit::cli::job_command(station_node::jobs(&config, db.clone())?, db, cmd)
                    .await
            }
            NodeCommand::Reconcile(args) => {
                bangban_kit::tls::install_crypto_provider();
                let db = station_node::open_db(&config).await?;
                let uplink = station_node::uplink(&config)?;
                let store = station_node::case_store(&config, db.clone());
                let result =
                    bangban_kit::reconcile::cli::command(store, config.code, uplink, args).await;
                db.close().await;
                result
            }
            NodeCommand::DeadLetters(cmd) => {
                let db = station_node::open_db(&config).await?;
                bangban_kit::cli::dead_letter_command(station_node::case_store(&config, db), cmd)
                    .await
            }
        }
    });
    bangban_kit::cli::finish("station-node", result)
}
