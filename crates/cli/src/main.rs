//! `credence`: one binary that serves the web UI and API, runs the demo, and does the
//! operator's chores (migrations, agencies, logins, tokens, bulk data).

mod config;

use std::io::Read;
use std::net::SocketAddr;

use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};
use credence_app::documents::badges::keys::KeyEncryptionKey;
use credence_app::documents::files::Files;
use credence_app::{App, Clock, Role, Store};
use credence_documents::Renderer;
use credence_store::migrate;

use crate::config::{Config, GlobalArgs, DEFAULT_BIND};

#[derive(Parser)]
#[command(
    name = "credence",
    version,
    about = "Credential and certification tracking for agencies that must prove their people are qualified."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create (once) the demo agency with realistic data, then serve it.
    Demo {
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Serve the web UI and API.
    Serve {
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Manage agencies.
    Agency {
        #[command(subcommand)]
        command: AgencyCommand,
    },
    /// Manage logins for the web UI.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Add realistic bulk data to an agency for load tests.
    Seed {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        members: usize,
        #[arg(long, default_value_t = 0)]
        credentials_per_member: usize,
    },
    /// Import a CSV or XLSX file, all or nothing: prints what it created and updated, or
    /// each error (`row 3, column email: …`) and exits with status 1, writing nothing.
    Import {
        #[arg(value_enum)]
        kind: ImportKind,
        file: std::path::PathBuf,
        #[arg(long)]
        agency: String,
    },
    /// Run the daily date-driven sweep now.
    Sweep {
        #[arg(long)]
        agency: String,
    },
    /// Queue today's reminders now (each one only once, however often this runs).
    Reminders {
        #[arg(long)]
        agency: String,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a consistent copy of a SQLite deployment's database to FILE while it runs
    /// (PostgreSQL: use pg_dump). Uploaded files are in the data directory's `files/`.
    Backup {
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Replace the SQLite database with a backup made by `credence backup` (stop the
    /// server first); the backup is checked before anything is replaced.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Time signing and verifying badges in this process, on one core (no database).
    #[command(hide = true)]
    BenchBadges {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the agency's audit chain: prints "ok", or the first broken link (the event and
    /// what is wrong) and exits with status 1.
    Verify {
        #[arg(long)]
        agency: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ImportKind {
    /// Columns: first_name, last_name, email, employee_number, active, groups (names, `;`).
    Members,
    /// Columns: member (employee number or e-mail), group (name).
    GroupMemberships,
    /// Columns: member (employee number or e-mail), course (code), completed_on, score, hours, category.
    TrainingRecords,
    /// Columns: member, credential_type (code), issue_date, expiration_date, credential_number, issuing_officer.
    Issuances,
}

impl ImportKind {
    fn app(self) -> credence_app::imports::ImportKind {
        use credence_app::imports::ImportKind as K;
        match self {
            ImportKind::Members => K::Members,
            ImportKind::GroupMemberships => K::GroupMemberships,
            ImportKind::TrainingRecords => K::TrainingRecords,
            ImportKind::Issuances => K::Issuances,
        }
    }
}

#[derive(Subcommand)]
enum AgencyCommand {
    /// Create an agency and print its slug.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: Option<String>,
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a login; prints a generated password unless one is read from stdin.
    Create {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// For the member role: the e-mail of the member this login speaks for.
        #[arg(long)]
        member: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token and print it (and nothing else).
    Create {
        #[arg(long)]
        agency: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// For the member role: the e-mail of the member the token speaks for.
        #[arg(long)]
        member: Option<String>,
        /// What the token is for, shown in `token list` and on the API.
        #[arg(long, default_value = "cli")]
        name: String,
        /// The token stops working after this many days (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List the agency's live tokens: id, name, role, member, created, last used, expires.
    List {
        #[arg(long)]
        agency: String,
    },
    /// Revoke a token at once (its id from `token list`, e.g. tok_12).
    Revoke {
        #[arg(long)]
        agency: String,
        id: String,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| "must be admin, officer, auditor or member".to_string())
}

/// An error ends the command with one line on stderr, its causes joined by colons: never
/// the multi-line `Debug` form (nor a backtrace, whatever `RUST_BACKTRACE` says).
fn main() -> std::process::ExitCode {
    match try_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn try_main() -> anyhow::Result<()> {
    // The service starts itself as `credence render-worker` to render certificates in a
    // separate, limited process; that process needs no configuration.
    if std::env::args().nth(1).as_deref() == Some("render-worker") {
        return Ok(credence_documents::worker::serve()?);
    }
    let cli = Cli::parse();
    if let Command::BenchBadges { count } = cli.command {
        // One thread, no database: the signing and verifying work itself.
        let r = credence_app::documents::badges::verify::bench(count.max(1));
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    let config = Config::load(&cli.global)?;
    init_logging(config.json_logs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli.command, config))
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CREDENCE_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open(config: &Config) -> anyhow::Result<App> {
    if config.uses_sqlite() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    }
    let store = Store::connect(&config.database_url)
        .await
        .context("opening the database")?;
    if config.migrate {
        migrate::run(&store)
            .await
            .context("migrating the database")?;
    }
    let clock = match config.today {
        Some(today) => {
            tracing::warn!(%today, "CREDENCE_TODAY is set: every agency's today is fixed to this date");
            Clock::fixed(today)
        }
        None => Clock::system(),
    };
    let files = match &config.files_url {
        Some(url) => Files::s3(url).map_err(|e| anyhow!(e))?,
        None => Files::local(&config.data_dir.join("files")).map_err(app_err)?,
    };
    let worker = std::env::current_exe().context("finding the credence binary")?;
    let public_url = match (&config.public_url, config.bind) {
        (Some(url), _) => url.clone(),
        (None, Some(bind)) => format!("http://{bind}"),
        (None, None) => format!("http://{DEFAULT_BIND}"),
    };
    let app = App::new(store, clock);
    let app = match &config.key_encryption_key {
        Some(text) => app.with_key_encryption_key(
            KeyEncryptionKey::parse(text)
                .map_err(|e| anyhow!("CREDENCE_KEY_ENCRYPTION_KEY: {e}"))?,
        ),
        None => app,
    };
    let app = app
        .with_files(files)
        .with_renderer(Renderer::new(worker, vec!["render-worker".into()]))
        .with_public_url(&public_url)
        .with_trusted_proxies(config.trusted_proxies.clone())
        .with_session_idle_timeout(config.session_idle)
        .with_webhook_settings(credence_app::notify::webhooks::WebhookSettings {
            timeout: config.webhook_timeout,
            allow_loopback: config.webhooks_allow_loopback,
        });
    Ok(match &config.smtp_url {
        Some(url) => app.with_mailer(
            credence_app::notify::reminders::Mailer::from_url(url, &config.smtp_from)
                .map_err(|e| anyhow!(e))?,
        ),
        None => app,
    })
}

/// `credence restore --from FILE`: the SQLite database in the configuration becomes FILE,
/// then is migrated to this binary's schema.
async fn restore(from: &std::path::Path, config: &Config) -> anyhow::Result<()> {
    let Some(path) = config.database_url.strip_prefix("sqlite://") else {
        bail!("restore replaces a SQLite database; for PostgreSQL use pg_restore or psql (see docs/operations.md)");
    };
    let path = std::path::Path::new(path.split('?').next().unwrap_or(path));
    let version = credence_store::backup::restore(from, path).await?;
    let store = credence_store::Store::connect(&config.database_url).await?;
    credence_store::migrate::run(&store).await?;
    store.close().await;
    println!(
        "restored {} from {} (schema {version}, now up to date)",
        path.display(),
        from.display()
    );
    Ok(())
}

/// The demo's key-encryption key when none is configured: made once and kept beside the
/// demo's data (mode 0600), so its badges keep verifying across restarts. Only the demo does
/// this; `serve` signs nothing without a configured key.
fn demo_key_encryption_key(config: &Config) -> anyhow::Result<KeyEncryptionKey> {
    let path = config.data_dir.join("demo-key-encryption.key");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => {
            std::fs::create_dir_all(&config.data_dir)?;
            let text = KeyEncryptionKey::generate_hex();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            std::io::Write::write_all(&mut file, text.as_bytes())?;
            text
        }
    };
    KeyEncryptionKey::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn app_err(err: credence_app::AppError) -> anyhow::Error {
    match err {
        credence_app::AppError::Invalid(invalid) => {
            let lines: Vec<String> = invalid
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            anyhow!("{}", lines.join("; "))
        }
        credence_app::AppError::NotFound => anyhow!("not found"),
        other => anyhow!("{other}"),
    }
}

async fn run(command: Command, mut config: Config) -> anyhow::Result<()> {
    // A --bind flag also decides the default public URL printed on certificates.
    if let Command::Demo { bind: Some(b) } | Command::Serve { bind: Some(b) } = &command {
        config.bind = Some(*b);
    }
    // A restore replaces the database file: nothing may have it open, not even this process.
    if let Command::Restore { from } = &command {
        return restore(from, &config).await;
    }
    let app = open(&config).await?;
    match command {
        Command::Migrate => println!("database is up to date"),
        Command::Demo { bind } => {
            let app = match config.key_encryption_key {
                Some(_) => app.clone(),
                None => app
                    .clone()
                    .with_key_encryption_key(demo_key_encryption_key(&config)?),
            };
            let access = app.ensure_demo().await.map_err(app_err)?;
            let addr = bind.or(config.bind).unwrap_or(DEFAULT_BIND.parse()?);
            let verb = if access.created { "created" } else { "ready" };
            println!("Credence demo agency {verb}.");
            println!("  URL:       http://{addr}/");
            println!("  API docs:  http://{addr}/api/docs");
            println!("  admin:     {}", access.admin_email);
            println!(
                "  password:  {}   (new on every start of the demo)",
                access.admin_password
            );
            println!("  API token: {}", access.admin_token);
            serve(app.clone(), addr, &config).await?;
        }
        Command::Serve { bind } => {
            if config.key_encryption_key.is_none() {
                tracing::warn!("CREDENCE_KEY_ENCRYPTION_KEY is not set: badges and status lists answer 503 until it is");
            }
            let addr = bind.or(config.bind).unwrap_or(DEFAULT_BIND.parse()?);
            serve(app.clone(), addr, &config).await?;
        }
        Command::Agency {
            command:
                AgencyCommand::Create {
                    name,
                    slug,
                    time_zone,
                },
        } => {
            let agency = app
                .create_agency(&name, slug.as_deref(), &time_zone)
                .await
                .map_err(app_err)?;
            println!("{}", agency.slug);
        }
        Command::User {
            command:
                UserCommand::Create {
                    agency,
                    email,
                    role,
                    password_stdin,
                    member,
                },
        } => {
            let (agency, member_id) = agency_and_member(&app, &agency, member.as_deref()).await?;
            let (password, generated) = if password_stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                (text.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (credence_app::auth::new_secret("")[..16].to_string(), true)
            };
            app.create_user(agency.id, &email, role, &password, member_id)
                .await
                .map_err(app_err)?;
            if generated {
                println!("{password}");
            }
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    agency,
                    role,
                    member,
                    name,
                    expires_in_days,
                },
        } => {
            let (agency, member_id) = agency_and_member(&app, &agency, member.as_deref()).await?;
            let expires_at = expires_in_days
                .map(|days| chrono::Utc::now() + chrono::Duration::days(i64::from(days)));
            let token = app
                .create_token_expiring(agency.id, role, member_id, Some(&name), expires_at)
                .await
                .map_err(app_err)?;
            println!("{token}");
        }
        Command::Token {
            command: TokenCommand::List { agency },
        } => {
            let agency = app.agency_by_slug(&agency).await.map_err(app_err)?;
            let tokens = app.tokens_of_agency(agency.id).await.map_err(app_err)?;
            println!("id\tname\trole\tmember\tcreated\tlast used\texpires");
            let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
            };
            for t in tokens {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.name.as_deref().unwrap_or("-"),
                    t.role,
                    t.member_id.map_or("-".to_string(), |m| m.to_string()),
                    time(Some(t.created_at)),
                    time(t.last_used_at),
                    time(t.expires_at)
                );
            }
        }
        Command::Token {
            command: TokenCommand::Revoke { agency, id },
        } => {
            let agency = app.agency_by_slug(&agency).await.map_err(app_err)?;
            let id = id
                .parse()
                .map_err(|_| anyhow::anyhow!("{id:?} is not a token id (like tok_12)"))?;
            app.revoke_token_of_agency(agency.id, id)
                .await
                .map_err(app_err)?;
            println!("revoked {id}");
        }
        Command::Seed {
            agency,
            members,
            credentials_per_member,
        } => {
            let started = std::time::Instant::now();
            let report = app
                .seed(&agency, members, credentials_per_member)
                .await
                .map_err(app_err)?;
            println!(
                "seeded {} members, {} group memberships and {} credentials in {:.2}s",
                report.members,
                report.memberships,
                report.credentials,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Import { kind, file, agency } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let kind = kind.app();
            let done = app
                .import_file(&agency, kind, &name, bytes)
                .await
                .map_err(|e| match e {
                    credence_app::AppError::NotFound => anyhow!("no agency with slug {agency:?}"),
                    credence_app::AppError::Invalid(invalid) => anyhow!(
                        "{}",
                        invalid
                            .errors
                            .iter()
                            .map(|e| e.message.clone())
                            .collect::<Vec<_>>()
                            .join("\n")
                    ),
                    other => app_err(other),
                })?;
            app.store.close().await;
            if !done.errors.is_empty() {
                for e in &done.errors {
                    eprintln!("row {}, column {}: {}", e.row, e.column, e.message);
                }
                eprintln!(
                    "{} error(s) in {} rows; nothing was imported",
                    done.errors.len(),
                    done.rows
                );
                std::process::exit(1);
            }
            println!(
                "imported {} rows of {}: {} created, {} updated, {} unchanged",
                done.rows,
                kind.as_str(),
                done.created,
                done.updated,
                done.unchanged
            );
            return Ok(());
        }
        Command::Sweep { agency } => {
            let started = std::time::Instant::now();
            let report = app.sweep(&agency).await.map_err(app_err)?;
            println!(
                "swept {} credentials ({} issued automatically) in {:.2}s",
                report.examined,
                report.auto_issued,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Reminders { agency } => {
            let started = std::time::Instant::now();
            let queued = app.queue_reminders_for(&agency).await.map_err(app_err)?;
            println!(
                "queued {queued} reminders in {:.2}s",
                started.elapsed().as_secs_f64()
            );
        }
        Command::Backup { to } => {
            app.store
                .backup_to(&to)
                .await
                .with_context(|| format!("backing up to {}", to.display()))?;
            app.store.close().await;
            let bytes = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
            println!("backed up to {} ({bytes} bytes)", to.display());
        }
        Command::Restore { .. } => unreachable!("handled before the database is opened"),
        // Run before any database is opened (`try_main`).
        Command::BenchBadges { .. } => {}
        Command::Audit {
            command: AuditCommand::Verify { agency },
        } => {
            let report = app.verify_audit_chain(&agency).await.map_err(|e| match e {
                credence_app::AppError::NotFound => anyhow!("no agency with slug {agency:?}"),
                other => app_err(other),
            })?;
            app.store.close().await;
            match report.broken {
                None => println!("ok"),
                Some(broken) => {
                    println!("broken at {broken}");
                    std::process::exit(1);
                }
            }
            return Ok(());
        }
    }
    app.store.close().await;
    Ok(())
}

/// The agency named by slug, and the member named by e-mail in it (for member logins).
async fn agency_and_member(
    app: &App,
    slug: &str,
    member: Option<&str>,
) -> anyhow::Result<(
    credence_store::auth::identity::Agency,
    Option<credence_app::ids::MemberId>,
)> {
    let agency = app
        .agency_by_slug(slug)
        .await
        .map_err(|_| anyhow!("no agency with slug {slug:?}"))?;
    let member_id = match member {
        Some(m) => Some(
            app.member_id_by_email(agency.id, m)
                .await
                .map_err(app_err)?,
        ),
        None => None,
    };
    Ok((agency, member_id))
}

async fn serve(app: App, addr: SocketAddr, config: &Config) -> anyhow::Result<()> {
    // Background work stops between passes: on SIGTERM a pass under way (a sweep, a batch of
    // e-mail) finishes before the process exits, so nothing is cut off halfway.
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let background = [
        // Every 15 s: a day's jobs left unfinished by an instance that died are taken over
        // soon after their lease lapses; a pass whose day is done costs one claim attempt.
        tokio::spawn(every(15, stop.clone(), {
            let app = app.clone();
            move || daily_jobs(app.clone())
        })),
        tokio::spawn(every(10, stop.clone(), {
            let app = app.clone();
            move || deliver_mail(app.clone())
        })),
        tokio::spawn(every(5, stop.clone(), {
            let app = app.clone();
            move || deliver_webhooks(app.clone())
        })),
        tokio::spawn(every(5, stop, {
            let app = app.clone();
            move || render_certificates(app.clone())
        })),
    ];
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let options = credence_web::HttpOptions {
        hsts: config.hsts,
        header_read_timeout: config.header_read_timeout,
        max_connections: config.max_connections,
        metrics_token: config.metrics_token.clone(),
    };
    if config.metrics_token.is_none() {
        tracing::warn!("/metrics is open to anyone who reaches the server; set --metrics-token to require a bearer token");
    }
    let router = credence_web::router(app.clone(), metrics, &options);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(%addr, "serving");
    credence_web::serve(listener, router, &options, shutdown_signal()).await;
    tracing::info!("requests drained; finishing background work");
    let _ = stopping.send(true);
    let drained = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        for task in background {
            let _ = task.await;
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("background work still running after 60 s; stopping anyway");
    }
    app.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Runs `pass` every `seconds` (the first at once) until `stop` turns true; a pass under
/// way is never interrupted.
async fn every<Fut>(
    seconds: u64,
    mut stop: tokio::sync::watch::Receiver<bool>,
    pass: impl Fn() -> Fut,
) where
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(seconds));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        pass().await;
    }
}

/// One pass of the daily jobs: catches up at start, then (every 15 s) runs what is due
/// where an agency's local day has turned.
async fn daily_jobs(app: App) {
    if let Err(e) = app.run_daily_jobs().await {
        tracing::error!(error = %e, "daily jobs failed; retrying in 15 s");
    }
}

/// One pass of the certificate renderer: renders what issuing workflows queued (types that
/// certify every issuance); failures back off per batch.
async fn render_certificates(app: App) {
    match app.render_queued_certificates().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(certificates = n, "rendered queued certificates"),
        Err(e) => tracing::error!(error = %e, "rendering queued certificates failed"),
    }
}

/// One pass of e-mail delivery: sends what is queued; failures back off per message.
async fn deliver_mail(app: App) {
    if let Err(e) = app.deliver_outbox().await {
        tracing::error!(error = %e, "delivering e-mail failed");
    }
}

/// Delivers webhook events every few seconds, apart from e-mail so that neither waits for
/// the other; failures back off per delivery, and each request has its own timeout.
/// One pass of webhook delivery (apart from e-mail, so neither waits for the other).
async fn deliver_webhooks(app: App) {
    if let Err(e) = app.deliver_webhooks().await {
        tracing::error!(error = %e, "delivering webhooks failed");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
