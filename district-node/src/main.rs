//! district-node command line: thin on purpose, everything lives in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bangban_domain::station::StationCode;
use bangban_kit::cli::NodeCommand;
use clap::{Parser, Subcommand};
use district_node::Settings;
use district_node::settings::redact_url;

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
    #[command(flatten)]
    Node(NodeCommand),
    /// The district certificate authority. Its key never leaves the district.
    #[command(subcommand)]
    Ca(CaCommand),
    /// The district's signed policy bundles. The policy key never leaves the district.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Make the Ed25519 policy key pair in --dir: policy.key (PKCS#8 PEM, mode 0600) and
    /// policy.pub (base64, the value stations pin). Refuses to replace existing files.
    Keygen {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Sign the tree, the catalogue and the calendar into bundle --number, written to --out
    /// (which must not exist). The district is the root of the tree.
    Publish {
        /// The policy key (policy.key).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The bundle's number: above every number published before.
        #[arg(long)]
        number: u64,
        /// Days until the bundle expires (stations refuse it after that).
        #[arg(long, value_name = "DAYS")]
        expires_days: u32,
        #[arg(long, value_name = "FILE")]
        topology: PathBuf,
        #[arg(long, value_name = "FILE")]
        catalogue: PathBuf,
        #[arg(long, value_name = "FILE")]
        calendar: PathBuf,
        /// Where to write the signed envelope (required unless --record).
        #[arg(long, value_name = "FILE", required_unless_present = "record")]
        out: Option<PathBuf>,
        /// Also record the bundle, with a signed agent roster for every centre of the tree, in
        /// the database of the district whose settings --config names: the running district
        /// serves it to its towns and puts it in force on itself within policy.pull_secs.
        #[arg(long)]
        record: bool,
        /// The agent registry (a JSON list of agents) the rosters are made from; without it
        /// every centre's roster is empty. Only with --record.
        #[arg(long, value_name = "FILE", requires = "record")]
        agents: Option<PathBuf>,
        /// Who published (recorded with the bundle).
        #[arg(
            long,
            default_value = "district-node policy publish",
            requires = "record"
        )]
        by: String,
        /// What changed, in a line (recorded with the bundle).
        #[arg(long, default_value = "", requires = "record")]
        summary: String,
    },
}

#[derive(Subcommand)]
enum CaCommand {
    /// Create the district CA (ca.pem, ca.key) in --dir. Refuses to replace an existing one.
    Init {
        /// The folder to create ca.pem and ca.key (mode 0600) in.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The district's 12-digit code (default: node.code from the settings).
        #[arg(long)]
        district: Option<String>,
        #[arg(long, default_value_t = 3650)]
        days: u32,
    },
    /// Issue a node certificate for a station (the district itself, a town or a village),
    /// writing node.pem, node.key and ca.pem into --out.
    Issue {
        /// The CA's folder (ca.pem, ca.key).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The 12-digit code of the station the certificate is for.
        #[arg(long)]
        station: String,
        /// Where to write node.pem, node.key (mode 0600) and ca.pem.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long, default_value_t = 825)]
        days: u32,
        /// A DNS name or IP address the node is reached at (repeatable), e.g. --host 10.20.1.1
        /// --host town1.lan: the names its children dial, and, when its UI serves this
        /// certificate (http.tls = "node"), the address operators type. None by default, not
        /// even localhost: a village whose UI stays on loopback needs none.
        #[arg(long = "host", value_name = "HOST")]
        hosts: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The policy commands need no settings at all.
    if let Command::Policy(cmd) = &cli.command {
        return match run_policy(cmd, cli.config.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("district-node: {e}");
                ExitCode::from(2)
            }
        };
    }
    // The CA commands need no settings beyond an optional district code.
    if let Command::Ca(cmd) = &cli.command {
        let district = match cmd {
            CaCommand::Init {
                district: Some(d), ..
            } => Some(d.clone()),
            _ => None,
        };
        let district = match district {
            Some(d) => Some(d),
            None => Settings::load(cli.config.as_deref())
                .ok()
                .map(|s| s.node.code),
        };
        return match run_ca(cmd, district.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("district-node: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let file = cli.config.as_deref();
    let (config, runtime) = match bangban_kit::cli::start(
        "district-node",
        || Settings::load(file).and_then(|s| s.check(file)),
        |c: &district_node::Config| &c.log,
    ) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let Command::Node(command) = cli.command else {
        return ExitCode::SUCCESS; // the CA and policy commands returned above
    };
    let result = runtime.block_on(async move {
        match command {
            NodeCommand::Serve => {
                let listener = bangban_kit::cli::bind("http.listen", config.http.listen).await?;
                district_node::serve(config, listener, bangban_kit::shutdown::signal()).await
            }
            NodeCommand::Migrate => {
                district_node::open_db(&config).await?.close().await;
                println!(
                    "database {} is up to date",
                    redact_url(&config.database_url)
                );
                Ok(())
            }
            NodeCommand::CheckConfig => {
                println!(
                    "district {} ({}) listens on {}://{}; database {}; towns {}",
                    config.code,
                    config.name,
                    config.ui_tls.scheme(),
                    config.http.listen,
                    redact_url(&config.database_url),
                    config
                        .internode_listen
                        .map_or("not served".to_owned(), |a| format!("served on {a} (mTLS)")),
                );
                Ok(())
            }
            NodeCommand::User(cmd) => {
                bangban_kit::cli::user_command(district_node::open_db(&config).await?, cmd).await
            }
            NodeCommand::Job(cmd) => {
                let db = district_node::open_db(&config).await?;
                bangban_kit::cli::job_command(district_node::jobs(&config, db.clone()), db, cmd)
                    .await
            }
            NodeCommand::DeadLetters(cmd) => {
                let db = district_node::open_db(&config).await?;
                bangban_kit::cli::dead_letter_command(district_node::case_store(&config, db), cmd)
                    .await
            }
            NodeCommand::Reconcile(args) => {
                let db = district_node::open_db(&config).await?;
                let store = district_node::case_store(&config, db.clone());
                let result =
                    bangban_kit::reconcile::cli::command(store, config.code, None, args).await;
                db.close().await;
                result
            }
        }
    });
    bangban_kit::cli::finish("district-node", result)
}

fn run_ca(cmd: &CaCommand, district: Option<&str>) -> anyhow::Result<()> {
    use district_node::ca::{Ca, identity_uri, new_node_key_and_cert_for_hosts};
    bangban_kit::tls::install_crypto_provider();
    let now = time::OffsetDateTime::now_utc();
    match cmd {
        CaCommand::Init { dir, days, .. } => {
            let district = district.ok_or_else(|| {
                anyhow::anyhow!(
                    "give --district CODE or a --config whose node.code is the district"
                )
            })?;
            let district = StationCode::parse(district)?;
            std::fs::create_dir_all(dir)?;
            let ca = Ca::generate(district, now, *days)?;
            ca.save(dir)?;
            println!(
                "district CA for {district} created in {} (keep ca.key on the district only)",
                dir.display()
            );
        }
        CaCommand::Issue {
            dir,
            station,
            out,
            days,
            hosts,
        } => {
            let ca = Ca::load(dir)?;
            let station = StationCode::parse(station)?;
            let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
            let (cert, key) = new_node_key_and_cert_for_hosts(&ca, station, &hosts, now, *days)?;
            std::fs::create_dir_all(out)?;
            write_private(&out.join("node.key"), &key)?;
            std::fs::write(out.join("node.pem"), cert)?;
            std::fs::write(out.join("ca.pem"), ca.cert_pem())?;
            println!("issued {} into {}", identity_uri(station), out.display());
        }
    }
    Ok(())
}

fn run_policy(cmd: &PolicyCommand, config: Option<&Path>) -> anyhow::Result<()> {
    use district_node::policy::{KEY_FILE, PUBLIC_FILE, Publish, keygen, publish};
    match cmd {
        PolicyCommand::Keygen { dir } => {
            let public = keygen(dir)?;
            println!(
                "policy key made in {}: {KEY_FILE} (keep on the district only), {PUBLIC_FILE}\n\
                 public key (pin on the stations): {}\nkey id: {}",
                dir.display(),
                public.to_base64(),
                public.keyid()
            );
        }
        PolicyCommand::Publish {
            key,
            number,
            expires_days,
            topology,
            catalogue,
            calendar,
            out,
            record,
            agents,
            by,
            summary,
        } => {
            // The settings are checked before anything is signed or written.
            let config = match record {
                true => Some(Settings::load(config).and_then(|s| s.check(config))?),
                false => None,
            };
            let args = Publish {
                key: key.clone(),
                number: *number,
                expires_days: *expires_days,
                topology: topology.clone(),
                catalogue: catalogue.clone(),
                calendar: calendar.clone(),
                out: out.clone(),
            };
            let signed = publish(&args, time::OffsetDateTime::now_utc())?;
            let payload = &signed.payload;
            let expires = payload
                .expires_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            if let Some(out) = out {
                println!(
                    "policy bundle {} for district {} written to {} (expires {expires})",
                    payload.number,
                    payload.district,
                    out.display(),
                );
            }
            if let Some(config) = config {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let number = runtime.block_on(async {
                    let db = district_node::open_db(&config).await?;
                    let recorded = district_node::policy::record_signed(
                        db.clone(),
                        &signed,
                        agents.as_deref(),
                        by,
                        summary,
                    )
                    .await;
                    db.close().await;
                    recorded
                })?;
                println!(
                    "policy bundle {number} for district {} recorded in {} (expires {expires})",
                    payload.district,
                    district_node::settings::redact_url(&config.database_url)
                );
            }
        }
    }
    Ok(())
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(contents.as_bytes())?;
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, contents)?;
        Ok(())
    }
}
