//! Command-line pieces both node binaries share: operator accounts (`user …`, recorded in the
//! account audit as `@cli`).

use std::io::BufRead;

use clap::Subcommand;
use time::OffsetDateTime;

use crate::auth::{AuthStore, NewOperator, Role};

/// The subcommands every node binary has.
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Run the node.
    Serve,
    /// Create or upgrade the database, then exit.
    Migrate,
    /// Check the settings, print a summary and exit.
    CheckConfig,
    /// Operator accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Scheduled jobs: list them, or run one now.
    #[command(subcommand)]
    Job(JobCommand),
    /// Events set aside because they were refused (by the parent, or here when pulled).
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(DeadLetterCommand),
    /// Reconciliation with the parent: the last runs, or one now (--now). At a node with
    /// children, --now asks them (all, or --child) and waits for their reports.
    Reconcile(ReconcileArgs),
}

/// `reconcile …`.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// Reconcile now, showing progress (without it: list the last runs).
    #[arg(long)]
    pub now: bool,
    /// At a node with children: ask this child (its station code) rather than this node's own
    /// link to its parent.
    #[arg(long, value_name = "CODE")]
    pub child: Option<String>,
    /// At a node with children: ask every active direct child.
    #[arg(long)]
    pub children: bool,
    /// Seconds to wait for the children's reports.
    #[arg(long, default_value_t = 120)]
    pub wait: u64,
}

/// `job …`: the scheduled jobs of this node.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// List the jobs with their schedules and next runs.
    List,
    /// Run one job now and print its outcome (exit status 1 when it fails).
    Run {
        /// The job's name, as `job list` shows it.
        name: String,
    },
}

/// `dead-letters …`: look at, retry or discard events that were set aside.
#[derive(Debug, Subcommand)]
pub enum DeadLetterCommand {
    /// List the dead letters that wait for a decision (with --all, the resolved ones too).
    List {
        #[arg(long)]
        all: bool,
    },
    /// Try one again once its cause is fixed: upward, it is queued for the parent again;
    /// downward, it is stored now (or stays, with the reason it is still refused).
    Retry {
        #[arg(long)]
        id: i64,
    },
    /// Give up on one for good, saying why.
    Discard {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

/// `user …`: operator accounts of this node.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from standard input (one line) unless
    /// --password is given (avoid that outside demos: it shows in the process list).
    Add {
        #[arg(long)]
        username: String,
        /// The name shown in the UI, e.g. 王芳.
        #[arg(long)]
        display_name: String,
        /// district_admin, inspector, station_admin, station_operator or agent.
        #[arg(long, default_value = "station_operator")]
        role: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// List accounts (never their passwords).
    List,
    /// Set a new password (read from standard input, one line).
    Passwd {
        #[arg(long)]
        username: String,
    },
    /// Disable an account; its sessions end.
    Disable {
        #[arg(long)]
        username: String,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Runs a `user …` command against the node's database.
pub async fn run_user_command(auth: &AuthStore, cmd: UserCommand) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    match cmd {
        UserCommand::Add {
            username,
            display_name,
            role,
            password,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown role `{role}`: use district_admin, inspector, station_admin, station_operator or agent"
                )
            })?;
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            let op = auth
                .create_operator(
                    NewOperator {
                        username,
                        display_name,
                        role,
                        password,
                    },
                    now,
                )
                .await?;
            println!(
                "created {} ({}, {})",
                op.username.as_str(),
                op.display_name,
                op.role.label_zh()
            );
        }
        UserCommand::List => {
            for op in auth.list_operators().await? {
                println!(
                    "{:<20} {:<12} {:<10} {}",
                    op.username.as_str(),
                    op.display_name,
                    op.role.as_str(),
                    if op.disabled { "disabled" } else { "active" }
                );
            }
        }
        UserCommand::Passwd { username } => {
            let password = read_password()?;
            auth.set_password(&username, &password, now).await?;
            println!("password of {username} changed");
        }
        UserCommand::Disable { username } => {
            auth.disable(&username, now).await?;
            println!("{username} disabled");
        }
    }
    Ok(())
}

/// The start every node binary shares: settings checked (a bad setting exits with status 2),
/// logging installed, the crypto provider installed, a two-worker runtime built.
pub fn start<C>(
    binary: &str,
    load: impl FnOnce() -> Result<C, crate::config::SettingsError>,
    log: impl FnOnce(&C) -> &crate::config::LogSettings,
) -> Result<(C, tokio::runtime::Runtime), std::process::ExitCode> {
    let config = load().map_err(|e| {
        eprintln!("{binary}: {e}");
        std::process::ExitCode::from(2)
    })?;
    crate::telemetry::init(log(&config));
    crate::tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("{binary}: cannot start the runtime: {e}");
            std::process::ExitCode::FAILURE
        })?;
    Ok((config, runtime))
}

/// The exit every node binary shares: the error logged and printed, status 1.
pub fn finish(binary: &str, result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "{binary} failed");
            eprintln!("{binary}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Binds a listener, naming the setting when the address is taken or not ours.
pub async fn bind(
    key: &str,
    addr: std::net::SocketAddr,
) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("{key}: cannot listen on {addr}: {e}"))
}

fn print_dead_letter(d: &crate::store::DeadLetter) {
    let at = time::OffsetDateTime::from_unix_timestamp(d.created_at_ms / 1000)
        .map(|t| t.to_string())
        .unwrap_or_default();
    println!(
        "#{:<5} {:<4} {} case {} {:<22} {} attempts={} at {}{}",
        d.id,
        d.direction.as_str(),
        d.event.event_id,
        d.event.case_id,
        d.event.kind().as_str(),
        d.code,
        d.attempts,
        at,
        match (&d.resolution, &d.note) {
            (Some(r), Some(n)) => format!(" [{r}: {n}]"),
            (Some(r), None) => format!(" [{r}]"),
            _ => String::new(),
        }
    );
    println!("       {}", d.reason);
}

/// Runs a `dead-letters …` command on the node's case store, closing it afterwards.
pub async fn dead_letter_command(
    store: crate::store::CaseStore,
    cmd: DeadLetterCommand,
) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let result = async {
        match cmd {
            DeadLetterCommand::List { all } => {
                let letters = store.dead_letters(all, 10_000).await?;
                if letters.is_empty() {
                    println!("no dead letters");
                }
                for d in &letters {
                    print_dead_letter(d);
                }
            }
            DeadLetterCommand::Retry { id } => {
                let d = store.retry_dead_letter(id, now).await?;
                print_dead_letter(&d);
                println!(
                    "retried: {}",
                    match d.direction {
                        crate::store::Direction::Up => "queued for the parent again",
                        crate::store::Direction::Down => "stored",
                    }
                );
            }
            DeadLetterCommand::Discard { id, reason } => {
                let d = store.discard_dead_letter(id, &reason, now).await?;
                print_dead_letter(&d);
            }
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    store.db().close().await;
    result
}

/// Runs a `job …` command; `db` is closed afterwards.
pub async fn job_command(
    jobs: crate::jobs::Jobs,
    db: crate::db::Db,
    cmd: JobCommand,
) -> anyhow::Result<()> {
    let result = async {
        match cmd {
            JobCommand::List => {
                for (name, status) in jobs.status() {
                    let format = time::macros::format_description!(
                        "[year]-[month]-[day] [hour]:[minute]:[second] +08:00"
                    );
                    let next = status
                        .next_run_ms
                        .and_then(|ms| time::OffsetDateTime::from_unix_timestamp(ms / 1000).ok())
                        .and_then(|t| t.to_offset(time::macros::offset!(+8)).format(&format).ok())
                        .unwrap_or_else(|| "none".to_owned());
                    println!("{name:<20} next run {next}");
                }
            }
            JobCommand::Run { name } => {
                let status = jobs.run_now(&name).await?;
                let detail = status.last_detail.unwrap_or_default();
                if status.last_ok != Some(true) {
                    anyhow::bail!("job {name} failed: {detail}");
                }
                println!(
                    "{name}: {detail} ({} ms)",
                    status.last_duration_ms.unwrap_or_default()
                );
            }
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    db.close().await;
    result
}

/// Runs a `user …` command on an opened node database, closing it afterwards.
pub async fn user_command(db: crate::db::Db, cmd: UserCommand) -> anyhow::Result<()> {
    let result = run_user_command(&AuthStore::new(db.clone()), cmd).await;
    db.close().await;
    result
}
