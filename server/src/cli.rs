//! The `jiuzhu` command line.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiuzhu_proto::user::Role;

use crate::accounts::{self, NewAccount, UnitRef};
use crate::config::{FlagOverrides, Settings};
use crate::db;
use crate::domain::account::Username;
use crate::domain::geo::{BoundaryLimits, Crs};
use crate::imports::boundaries::{self, OnExisting, UnitSpec};
use crate::imports::households;
use crate::imports::tuning::Runner;
use crate::scope::Scope;
use crate::startup::Application;
use crate::{demo, grid_index, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "jiuzhu",
    version,
    about = "Jiuzhu 救助: smart social assistance backend"
)]
pub struct Cli {
    /// TOML settings file (default: ./jiuzhu.toml if present). Env: JIUZHU_CONFIG.
    #[arg(long, global = true, env = "JIUZHU_CONFIG")]
    pub config: Option<PathBuf>,
    /// Folder for the SQLite file, secrets and photos.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH, a bare path, or postgres://user@host/db.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(MigrateArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Import data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Print the OpenAPI document.
    Openapi,
    /// Export households or visits (masked) as CSV or GeoJSON to a file.
    Export(crate::exports::cli::ExportArgs),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write a consistent backup of the embedded SQLite database, its photos and audit
    /// checkpoints to one file, while the server runs (not the secrets; PostgreSQL: pg_dump).
    Backup(crate::ops::cli::BackupArgs),
    /// Restore a backup into an empty data folder, after checking it whole.
    Restore(crate::ops::cli::RestoreArgs),
    /// Data keys: re-seal values under retired keys with the current one.
    #[command(subcommand)]
    Keys(crate::ops::cli::KeysCommand),
    /// The benchmark harness's hidden commands (`bench-seed`, `bench-seed-visits`): only in a
    /// build with the `bench` feature.
    #[cfg(feature = "bench")]
    #[command(flatten)]
    Bench(crate::bench::BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the keyed hash chain and check it against the signed checkpoints in
    /// DATA_DIR/audit-checkpoints.log (needs the audit key); exits non-zero naming the first bad
    /// record.
    Verify,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// PostgreSQL: after migrating (as the tables' owner), grant this existing role what the
    /// server needs and no more (it can insert and read audit records, never change them); then
    /// serve with a database URL that logs in as it. Run again after each upgrade.
    #[arg(long, value_name = "ROLE")]
    pub app_role: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub bind: Option<String>,
    /// Load the demo city into the database and print its log-ins.
    #[arg(long)]
    pub demo: bool,
    /// Refuse to start without explicitly configured secrets.
    #[arg(long)]
    pub production: bool,
    /// Serve HTTPS: the certificate chain (PEM). Needs `--tls-key`.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account; the password is read from standard input (one line).
    Add {
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Code of the org unit the account is bound to.
        #[arg(long)]
        org: String,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Remove an account's second factor (a lost phone) and end its sessions: for the last
    /// admin, whom no other admin can reset through the API.
    ResetSecondFactor {
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CrsArg {
    Wgs84,
    Gcj02,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Org units from a GeoJSON FeatureCollection (features with code/adcode and name).
    Boundaries {
        file: PathBuf,
        #[arg(long, value_enum)]
        crs: CrsArg,
        /// Create the file's city (code from the districts' codes) with this name if missing.
        #[arg(long)]
        city_name: Option<String>,
    },
    /// A form from an XLSForm workbook (.xlsx), published as a new form or its next version.
    Xlsform { file: PathBuf },
    /// Households from CSV, one row per member (format: fixtures/households/README.md).
    /// Households already on file (same household_external_id) are left unchanged.
    Households {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "auto")]
        encoding: EncodingArg,
    },
    /// Medical-insurance claims (record_id, id_number, settlement_date, total_cost,
    /// insurance_paid, out_of_pocket, hospital).
    MedicalClaims(DepartmentArgs),
    /// Disability certificates (record_id, id_number, type, level, date).
    Disability(DepartmentArgs),
    /// School enrolment (record_id, id_number, school, stage).
    Education(DepartmentArgs),
    /// The unemployment register (record_id, id_number, since).
    Unemployment(DepartmentArgs),
    /// Death records (record_id, id_number, date).
    Deaths(DepartmentArgs),
}

/// A department's file: matched to members by ID number, idempotent by record id, run through
/// the rules.
#[derive(Debug, Clone, clap::Args)]
pub struct DepartmentArgs {
    pub file: PathBuf,
    #[arg(long, value_enum, default_value = "auto")]
    pub encoding: EncodingArg,
    /// A JSON array of objects instead of CSV.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EncodingArg {
    /// UTF-8 if the file has a BOM or is valid UTF-8, otherwise GBK.
    Auto,
    Utf8,
    Gbk,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role; one of {}", all.join(", "))
    })
}

fn settings(cli: &Cli, serve: Option<&ServeArgs>) -> anyhow::Result<Settings> {
    let flags = FlagOverrides {
        bind: serve.and_then(|s| s.bind.clone()),
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        production: serve.and_then(|s| s.production.then_some(true)),
        tls_cert: serve.and_then(|s| s.tls_cert.clone()),
        tls_key: serve.and_then(|s| s.tls_key.clone()),
    };
    Ok(Settings::load(cli.config.as_deref(), &flags)?)
}

fn open(settings: &Settings) -> anyhow::Result<db::DbConn> {
    let (_, pool) = db::connect(&settings.database_url(), 2)?;
    let mut conn = pool.get()?;
    db::migrate(&mut conn)?;
    Ok(conn)
}

/// The audit key of a command that writes: installed for the process, so the records the
/// command writes are chained under it.
fn audit_key(settings: &Settings) -> anyhow::Result<std::sync::Arc<crate::audit::AuditKey>> {
    let secrets = crate::config::Secrets::resolve(settings)?;
    let key = std::sync::Arc::new(
        crate::audit::AuditKey::new(&secrets.audit_key).map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    crate::audit::install_process_key(key.clone());
    Ok(key)
}

/// After a command that wrote: signs the audit head into the checkpoint file.
fn sign_audit_head(settings: &Settings) -> anyhow::Result<()> {
    let key = audit_key(settings)?;
    let mut conn = open(settings)?;
    crate::audit::checkpoint_once(&mut conn, &key, &settings.data_dir)
        .map_err(|e| anyhow::anyhow!("audit checkpoint: {e}"))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let writes = matches!(
        cli.command,
        Command::User(_) | Command::Import(_) | Command::Export(_)
    );
    let written = if writes {
        let settings = settings(&cli, None)?;
        audit_key(&settings)?;
        Some(settings)
    } else {
        None
    };
    run_command(cli).await?;
    if let Some(settings) = written {
        tokio::task::spawn_blocking(move || sign_audit_head(&settings)).await??;
    }
    Ok(())
}

// disallowed_methods: the whole tree: command line, demo or background work, not a request.
#[allow(clippy::disallowed_methods)]
async fn run_command(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve(args) => {
            let mut settings = settings(&cli, Some(args))?;
            // The demo's citizens register with codes the demo shows them (never in production).
            if args.demo && settings.discovery.sms_sender == "log" && !settings.production {
                settings.discovery.sms_sender = "demo".into();
            }
            telemetry::init(settings.log_json);
            crate::startup::without_huge_pages();
            let bind = settings.bind.clone();
            let secrets = crate::config::Secrets::resolve(&settings)?;
            // One server per process: work outside a request's context is chained under it too.
            crate::audit::install_process_key(std::sync::Arc::new(
                crate::audit::AuditKey::new(&secrets.audit_key)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            ));
            let state =
                tokio::task::spawn_blocking(move || crate::startup::build_state(settings, secrets))
                    .await??;
            // The demo city is in place before the listener and the periodic jobs start, so the
            // first re-check run already finds its form and households.
            if args.demo {
                let st = state.clone();
                let report = state
                    .db(move |conn| demo::load(conn, &st.cipher, demo::DemoSize::FULL))
                    .await
                    .map_err(|e| anyhow::anyhow!("demo: {e}"))?;
                grid_index::refresh(&state.database, &state.grids)
                    .await
                    .map_err(|e| anyhow::anyhow!("grids: {e}"))?;
                let activity = demo::activity::seed(&state).await.map_err(|e| {
                    let fields: Vec<String> = e
                        .body()
                        .details
                        .iter()
                        .map(|d| format!("{} {}", d.field, d.code))
                        .collect();
                    anyhow::anyhow!("demo activity: {e} {}", fields.join(", "))
                })?;
                print_demo(&report, &activity);
            }
            // Photo files a crash left behind go before anything new can arrive.
            let grace = std::time::Duration::from_secs(state.settings.photos.orphan_grace_secs);
            if let Err(e) = crate::photos::sweep::run(&state.database, &state.photos, grace).await {
                tracing::warn!(error = %e, "sweeping photo files left by a crash failed");
            }
            let listener = std::net::TcpListener::bind(&bind)?;
            let app = Application::on_listener(state, listener)?;
            tracing::info!(port = app.port(), "listening");
            // Scripts that start a server on port 0 read the address from this line.
            println!(
                "listening on {}://{}:{}",
                app.scheme(),
                app.host(),
                app.port()
            );
            {
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
            }
            app.run_until_stopped().await?;
        }
        Command::Migrate(args) => {
            let settings = settings(&cli, None)?;
            let s = settings.clone();
            let app_role = args.app_role.clone();
            let applied = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let (_, pool) = db::connect(&s.database_url(), 1)?;
                let mut conn = pool.get()?;
                let applied = db::migrate(&mut conn)?;
                if let Some(role) = &app_role {
                    db::app_role::grant(&mut conn, role)?;
                }
                Ok(applied)
            })
            .await??;
            println!("{applied} migration(s) applied");
            if let Some(role) = &args.app_role {
                println!("role {role} may now run the server; it cannot change the audit log");
            }
        }
        Command::User(UserCommand::Add {
            username,
            role,
            org,
            display_name,
        }) => {
            let settings = settings(&cli, None)?;
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            crate::auth::password::check_policy(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
            let username = Username::parse(username)?;
            let account = NewAccount {
                display_name: display_name
                    .clone()
                    .unwrap_or_else(|| username.as_str().to_owned()),
                username,
                role: *role,
                org_unit: UnitRef::Code(org.clone()),
                password_hash: crate::auth::password::hash_now(&password)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            };
            let user = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let mut conn = open(&settings)?;
                accounts::create(&mut conn, &Scope::everything(), account)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await??;
            println!(
                "created {} ({}) at {}",
                user.username,
                user.role.as_str(),
                user.org_unit_code
            );
        }
        Command::User(UserCommand::ResetSecondFactor { username }) => {
            let settings = settings(&cli, None)?;
            let username = Username::parse(username)?;
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let mut conn = open(&settings)?;
                accounts::reset_second_factor(&mut conn, &username)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await??;
            println!("two-step verification removed; sessions ended / 已重置两步验证");
        }
        Command::Import(ImportCommand::Boundaries {
            file,
            crs,
            city_name,
        }) => {
            let settings = settings(&cli, None)?;
            let text = std::fs::read_to_string(file)?;
            let crs = match crs {
                CrsArg::Wgs84 => Crs::Wgs84,
                CrsArg::Gcj02 => Crs::Gcj02,
            };
            let limits = BoundaryLimits {
                max_vertices: settings.max_boundary_vertices,
            };
            let city_name = city_name.clone();
            let report = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let mut specs = boundaries::parse_collection(&text, crs, &limits)
                    .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.body().details))?;
                if let Some(name) = city_name {
                    let cities: std::collections::BTreeSet<String> = specs
                        .iter()
                        .filter_map(|s| {
                            (s.kind == jiuzhu_proto::org::OrgKind::District)
                                .then(|| s.parent_code.clone())
                                .flatten()
                        })
                        .collect();
                    for code in cities {
                        specs.insert(
                            0,
                            UnitSpec {
                                kind: jiuzhu_proto::org::OrgKind::City,
                                code,
                                name: name.clone(),
                                parent_code: None,
                                boundary: None,
                            },
                        );
                    }
                }
                let mut conn = open(&settings)?;
                let (report, _) = db::write_transaction(&mut conn, |conn| {
                    boundaries::apply(conn, &Scope::everything(), &specs, OnExisting::Update)
                })
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(report)
            })
            .await??;
            println!(
                "created {}, updated {}, unchanged {}",
                report.created, report.updated, report.unchanged
            );
        }
        Command::Import(ImportCommand::Households { file, encoding }) => {
            let settings = settings(&cli, None)?;
            let encoding = match encoding {
                EncodingArg::Auto => households::EncodingChoice::Auto,
                EncodingArg::Utf8 => households::EncodingChoice::Utf8,
                EncodingArg::Gbk => households::EncodingChoice::Gbk,
            };
            let file = file.clone();
            let report =
                tokio::task::spawn_blocking(move || import_households(&settings, &file, encoding))
                    .await??;
            print_household_import(&report.0, report.1);
        }
        Command::Import(
            ImportCommand::MedicalClaims(args)
            | ImportCommand::Disability(args)
            | ImportCommand::Education(args)
            | ImportCommand::Unemployment(args)
            | ImportCommand::Deaths(args),
        ) => {
            use jiuzhu_proto::department::DepartmentSource as S;
            let source = match &cli.command {
                Command::Import(ImportCommand::MedicalClaims(_)) => S::MedicalClaims,
                Command::Import(ImportCommand::Disability(_)) => S::Disability,
                Command::Import(ImportCommand::Education(_)) => S::Education,
                Command::Import(ImportCommand::Unemployment(_)) => S::Unemployment,
                _ => S::Deaths,
            };
            let settings = settings(&cli, None)?;
            let args = args.clone();
            let report =
                tokio::task::spawn_blocking(move || import_department(settings, source, &args))
                    .await??;
            println!(
                "{} rows: {} matched, {} unmatched, {} duplicates, {} rejected; {} findings opened, {} verify tasks",
                report.rows,
                report.matched,
                report.unmatched,
                report.duplicates,
                report.rejected,
                report.findings_opened,
                report.tasks_created
            );
            for e in &report.errors {
                println!("  line {}: {} ({})", e.row, e.message, e.code);
            }
            println!(
                "import id {} (unmatched rows: GET /api/v1/imports/{}/{}/unmatched)",
                report.id,
                source.slug(),
                report.id
            );
        }
        Command::Import(ImportCommand::Xlsform { file }) => {
            let settings = settings(&cli, None)?;
            let bytes = std::fs::read(file)?;
            // Without a settings sheet the file's name names the form, as pyxform does.
            let file_name = file.file_name().and_then(|n| n.to_str()).map(str::to_owned);
            let (published, notices) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let imported = crate::imports::xlsform::import_xlsform(
                    &bytes,
                    &Default::default(),
                    file_name.as_deref(),
                )
                .map_err(|errors| {
                    let lines: Vec<String> = errors
                        .iter()
                        .map(|e| format!("  {}: {} ({})", e.field, e.message, e.code))
                        .collect();
                    anyhow::anyhow!("the workbook was refused:\n{}", lines.join("\n"))
                })?;
                let (definition, notices) = (imported.definition, imported.notices);
                let mut conn = open(&settings)?;
                db::write_transaction(&mut conn, |conn| {
                    let exists =
                        crate::db::repo::tasks::latest_form_version(conn, &definition.key)?
                            .is_some();
                    crate::forms::publish(conn, definition, !exists, None)
                })
                .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.body().details))
                .map(|published| (published, notices))
            })
            .await??;
            println!("published {} version {}", published.key, published.version);
            for n in notices {
                println!("  {}: {} ({})", n.cell, n.message, n.code);
            }
        }
        Command::Audit(AuditCommand::Verify) => {
            let settings = settings(&cli, None)?;
            let result = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let key = audit_key(&settings)?;
                let mut conn = open(&settings)?;
                let path = crate::audit::checkpoints::path(&settings.data_dir);
                let loaded = crate::audit::checkpoints::load(&path, &key)?;
                crate::audit::verify(&mut conn, &key, &loaded).map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await??;
            println!("{}", describe_verification(&result));
            if !result.intact() {
                anyhow::bail!("the audit log does not verify");
            }
        }
        Command::Backup(args) => crate::ops::cli::backup(settings(&cli, None)?, args).await?,
        Command::Restore(args) => {
            let settings = settings(&cli, None)?;
            let args = args.clone();
            tokio::task::spawn_blocking(move || crate::ops::cli::restore(settings, &args))
                .await??;
        }
        Command::Keys(command) => {
            let settings = settings(&cli, None)?;
            let command = command.clone();
            tokio::task::spawn_blocking(move || crate::ops::cli::keys(settings, &command))
                .await??;
        }
        Command::Export(args) => {
            let settings = settings(&cli, None)?;
            let args = args.clone();
            let started = std::time::Instant::now();
            let o = tokio::task::spawn_blocking(move || crate::exports::cli::run(&settings, &args))
                .await??;
            println!(
                "exported {} rows, {} bytes in {:.1} s",
                o.rows,
                o.bytes,
                started.elapsed().as_secs_f64()
            );
        }
        #[cfg(feature = "bench")]
        Command::Bench(command) => {
            crate::bench::run(settings(&cli, None)?, command.clone()).await?
        }
        Command::Openapi => {
            let mut out = std::io::stdout().lock();
            out.write_all(crate::openapi::document_json()?.as_bytes())?;
        }
    }
    Ok(())
}

/// What `jiuzhu audit verify` prints.
pub fn describe_verification(v: &crate::audit::Verification) -> String {
    let legacy = if v.keyed_after > 0 {
        format!(
            "; records 1 to {} predate the audit key (plain SHA-256)",
            v.keyed_after
        )
    } else {
        String::new()
    };
    let journaled = if v.journaled > 0 {
        format!(
            "; {} records journaled and not yet chained (a running server chains them within seconds, a stopped one at its next start)",
            v.journaled
        )
    } else {
        String::new()
    };
    match (v.first_broken, &v.problem) {
        (None, None) => format!(
            "audit log intact: {} records, {} signed checkpoints{legacy}{journaled}",
            v.rows, v.checkpoints
        ),
        (Some(seq), problem) => format!(
            "audit log broken at record {seq}: {} ({} records verified before it)",
            problem.as_deref().unwrap_or("mismatch"),
            v.rows
        ),
        (None, Some(problem)) => format!(
            "audit log not verified: {problem} ({} records verified)",
            v.rows
        ),
    }
}

/// Runs a household import with a progress bar over the file's bytes.
// disallowed_methods: the whole tree: command line, demo or background work, not a request.
#[allow(clippy::disallowed_methods)]
fn import_department(
    settings: Settings,
    source: jiuzhu_proto::department::DepartmentSource,
    args: &DepartmentArgs,
) -> anyhow::Result<jiuzhu_proto::department::DepartmentImport> {
    use crate::imports::departments::{self, Format, Importer};
    let secrets = crate::config::Secrets::resolve(&settings)?;
    let state = crate::startup::build_state(settings, secrets)?;
    let mut conn = state.database.pool.get()?;
    let input = std::fs::File::open(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", args.file.display()))?;
    let encoding = match args.encoding {
        EncodingArg::Auto => households::EncodingChoice::Auto,
        EncodingArg::Utf8 => households::EncodingChoice::Utf8,
        EncodingArg::Gbk => households::EncodingChoice::Gbk,
    };
    let format = if args.json { Format::Json } else { Format::Csv };
    let scope = Scope::everything();
    let who = Importer {
        rules: state.rule_engine(),
        verify_form: &state.settings.recheck.form_key,
        scope: &scope,
        actor: None,
        runner: Runner::CommandLine,
    };
    let input = Box::new(std::io::BufReader::with_capacity(256 * 1024, input));
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} {spinner} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let started = std::time::Instant::now();
    let mut show = |_: &mut crate::db::AnyConnection, p: &departments::Progress| {
        let secs = started.elapsed().as_secs_f64().max(0.001);
        bar.set_message(match p.phase {
            "records" => format!(
                "{} rows ({:.0} rows/s): {} matched, {} unmatched, {} duplicates, {} rejected",
                p.rows,
                p.rows as f64 / secs,
                p.matched,
                p.unmatched,
                p.duplicates,
                p.rejected
            ),
            _ => format!(
                "{} households evaluated: {} findings opened, {} verify tasks",
                p.households_evaluated, p.findings_opened, p.tasks_created
            ),
        });
        bar.tick();
        Ok(())
    };
    let report = departments::import(&mut conn, &who, source, input, format, encoding, &mut show)
        .map_err(|e| anyhow::anyhow!("{e}"));
    bar.finish_and_clear();
    report
}

// disallowed_methods: the whole tree: command line, demo or background work, not a request.
#[allow(clippy::disallowed_methods)]
fn import_households(
    settings: &Settings,
    file: &std::path::Path,
    encoding: households::EncodingChoice,
) -> anyhow::Result<(households::ImportReport, std::time::Duration)> {
    let cipher = crate::config::Secrets::resolve(settings)?.field_cipher(&settings.data_key_id);
    // The writer's connection, and one the rules stage reads with beside it.
    let (_, pool) = db::connect(&settings.database_url(), 2)?;
    let mut conn = pool.get()?;
    db::migrate(&mut conn)?;
    let (lookup, _) = grid_index::load(&mut conn).map_err(|e| anyhow::anyhow!("grids: {e}"))?;
    let input = std::fs::File::open(file)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {percent:>3}% {bytes}/{total_bytes} ETA {eta}\n  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let run_id = uuid::Uuid::now_v7().to_string();
    let scope = Scope::everything();
    let book = crate::rules::RuleBook::default();
    let ctx = households::ImportContext {
        cipher: &cipher,
        lookup: &lookup,
        rules: crate::rules::Engine {
            book: &book,
            cipher: &cipher,
        },
        scope: &scope,
        actor: None,
        run_id: &run_id,
        encoding,
        runner: Runner::CommandLine,
        readers: Some(&pool),
    };
    let started = std::time::Instant::now();
    let progress_bar = bar.clone();
    let result = households::import(
        &mut conn,
        &ctx,
        std::io::BufReader::with_capacity(256 * 1024, input),
        &mut |_, r: &households::ImportReport| {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            progress_bar.set_position(r.bytes_read);
            progress_bar.set_message(format!(
                "{} rows, {:.0} rows/s, {} created, {} unchanged, {} rows rejected",
                r.rows_read,
                r.rows_read as f64 / secs,
                r.households_created,
                r.households_unchanged,
                r.rows_rejected
            ));
            Ok(())
        },
    );
    bar.finish_and_clear();
    match result {
        Ok(report) => Ok((report, started.elapsed())),
        Err(households::ImportError::Refused(r)) => Err(anyhow::anyhow!("file refused: {r}")),
        // The operator sees the cause (a database or disk error names tables and columns, not
        // the file's values).
        Err(households::ImportError::Failed(e)) => Err(anyhow::anyhow!(
            "import failed: {e:?}; households committed before the failure stay"
        )),
    }
}

fn print_household_import(report: &households::ImportReport, elapsed: std::time::Duration) {
    let secs = elapsed.as_secs_f64().max(0.001);
    println!(
        "{} rows read ({}) in {:.1} s, {:.0} rows/s",
        report.rows_read,
        report.encoding.map_or("?", |e| e.as_str()),
        secs,
        report.rows_read as f64 / secs
    );
    println!(
        "households: {} created, {} unchanged, {} rejected ({} rows); {} ID-number conflicts recorded",
        report.households_created,
        report.households_unchanged,
        report.households_rejected,
        report.rows_rejected,
        report.conflicts_recorded
    );
    const SHOWN: usize = 20;
    for e in report.errors.iter().take(SHOWN) {
        println!("  line {}: {} ({})", e.row, e.message, e.code);
    }
    if report.errors_total > SHOWN as u64 {
        println!("  … and {} more", report.errors_total - SHOWN as u64);
    }
}

fn print_demo(report: &demo::DemoReport, activity: &demo::activity::ActivityReport) {
    println!(
        "演示城市已加载 / demo city loaded: {} units created, {} already there, {} grids",
        report.units_created, report.units_unchanged, report.grids
    );
    println!(
        "演示家庭 / demo households: {} created, {} already there, {} left out (ID number in another household)",
        report.households_created, report.households_existing, report.households_conflicting
    );
    if activity.already {
        println!("演示业务 / demo activity: seeded by an earlier start");
    } else {
        println!(
            "演示业务 / demo activity (six weeks): {} tasks, {} visits with {} photos, {} applications ({} from findings, {} findings dismissed), {} self-reports",
            activity.tasks,
            activity.visits,
            activity.photos,
            activity.applications,
            activity.findings_converted,
            activity.findings_dismissed,
            activity.self_reports
        );
    }
    println!(
        "演示账户 / demo log-ins (password `{}`):",
        demo::DEMO_PASSWORD
    );
    for login in &report.logins {
        println!(
            "  {:<12} {:<17} {}",
            login.username,
            login.role.as_str(),
            login.unit
        );
    }
}
