//! `jiuzhu bench-seed` (benchmark harness, `bench` feature only) fills a database with the sync
//! storm's workload — N grid workers with M assigned tasks each, and an access token per worker
//! written to a file for `jiuzhu-bench storm --tokens`.
//!
//! Everything that the sync under test reads is made by the server's own code: accounts through
//! `accounts::create`, tasks through `tasks::create` (so every task has its event and its
//! change-log row, exactly as `POST /tasks/bulk` leaves them), tokens through
//! `auth::session::issue_pair`. The one shortcut is the password: the production path hashes
//! every worker's password with argon2 (~50 ms of CPU each, eight minutes for 10,000 workers on
//! two cores) and then logs each one in (another hash); here every worker shares one hash,
//! computed once, and no log-in happens, since the storm measures sync and not log-in. Nobody
//! can log in as a storm worker without that shared password, which this module never prints.
//!
//! With `--visit-form-fields N` it seeds the visit-submission storm instead: a synthetic form of
//! N fields (`jiuzhu_proto::form::synthetic`) published through `forms::publish`, the tasks pinned
//! to it, and each worker's task ids and household positions in the tokens file, so that
//! `jiuzhu-bench storm --visits` can answer every task once.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use jiuzhu_proto::task::TaskKind;
use jiuzhu_proto::user::Role;
use serde::{Deserialize, Serialize};

use crate::accounts::{self, NewAccount, UnitRef};
use crate::auth::{password, session};
use crate::config::{Secrets, Settings};
use crate::db::{self, repo, AnyConnection};
use crate::domain::account::Username;
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;
use crate::tasks::{self, NewTask};
use crate::{demo, forms, startup};

/// The form every storm task uses: the demo city's standard home-visit form.
const FORM_KEY: &str = "home_visit";
/// Workers per write transaction while seeding.
const WORKERS_PER_TX: usize = 200;

#[derive(Debug, Clone, Args)]
pub struct BenchSeedArgs {
    /// Grid workers to create (or reuse, when they exist from an earlier run).
    #[arg(long, default_value_t = 10_000)]
    pub workers: usize,
    /// Assigned tasks per worker, on households of the worker's grid.
    #[arg(long, default_value_t = 30)]
    pub tasks_per_worker: usize,
    /// Where to write the workers' access tokens (JSON, mode 0600).
    #[arg(long)]
    pub out: PathBuf,
    /// Username prefix of the storm's workers.
    #[arg(long, default_value = "storm")]
    pub prefix: String,
    /// Lifetime of the minted access tokens: long enough for the whole benchmark run.
    #[arg(long, default_value_t = 4 * 3600)]
    pub token_ttl_secs: u64,
    /// Visit-submission storm: publish the synthetic form with this many fields, pin the tasks
    /// to it, and list each worker's tasks in the tokens file.
    #[arg(long)]
    pub visit_form_fields: Option<usize>,
}

/// The synthetic form the visit storm answers: the simulated phones rebuild it from `fields`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VisitFormRef {
    pub key: String,
    pub version: i32,
    pub fields: usize,
}

/// One task of a worker, with what the phone needs to submit its visit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededTask {
    pub id: String,
    pub household_id: String,
    /// The household's registered point (WGS-84), where the visit's fix is taken.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// One worker's credentials, as `jiuzhu-bench storm --tokens` reads them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededWorker {
    pub username: String,
    pub user_id: String,
    pub access_token: String,
    /// The worker's open tasks (visit storm only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<SeededTask>,
}

/// The tokens file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokensFile {
    /// Says what made the file, for whoever finds it.
    pub generated_by: String,
    pub tasks_per_worker: usize,
    /// The form the tasks are pinned to (visit storm only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_form: Option<VisitFormRef>,
    pub workers: Vec<SeededWorker>,
}

/// What seeding did, printed at the end.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub demo_loaded: bool,
    pub grids: usize,
    pub workers_created: usize,
    pub workers_reused: usize,
    pub tasks_created: usize,
    pub seconds: f64,
}

/// A household's id and registered point.
type Home = (String, Option<f64>, Option<f64>);
/// A grid that holds households: (grid id, grid path) → its households.
type GridHouseholds = Vec<((String, String), Vec<Home>)>;

fn grids_with_households(conn: &mut AnyConnection) -> ApiResult<GridHouseholds> {
    let rows = repo::bench::homes_with_places(conn)?;
    let mut by_grid: BTreeMap<(String, String), Vec<Home>> = BTreeMap::new();
    for (grid, path, id, lat, lon) in rows {
        by_grid
            .entry((grid, path))
            .or_default()
            .push((id, lat, lon));
    }
    Ok(by_grid.into_iter().collect())
}

/// Publishes the synthetic visit form (once: a later run reuses the latest version).
fn visit_form(conn: &mut AnyConnection, fields: usize) -> ApiResult<VisitFormRef> {
    let key = format!("storm_visit_{fields}");
    if repo::tasks::latest_form_version(conn, &key)?.is_none() {
        let definition = jiuzhu_proto::form::synthetic::visit_form(&key, fields);
        forms::publish(conn, definition, true, None)?;
    }
    let version = tasks::pin_form(conn, &key)?;
    Ok(VisitFormRef {
        key,
        version,
        fields,
    })
}

/// Seeds the database named by `settings` (the server may be running on it) and writes the
/// tokens file.
// disallowed_methods: the whole tree: command line, demo or background work, not a request.
#[allow(clippy::disallowed_methods)]
pub fn run(mut settings: Settings, args: &BenchSeedArgs) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    settings.access_token_ttl_secs = args.token_ttl_secs;
    let secrets = Secrets::resolve(&settings)?;
    let state = startup::build_state(settings, secrets)?;
    let _audit = state.audit.context().install();
    let mut conn = state.database.pool.get()?;
    let conn: &mut AnyConnection = &mut conn;
    let api = |e: ApiError| anyhow::anyhow!("{e}: {:?}", e.body().details);
    let mut report = SeedReport::default();

    if repo::users::find_by_username(conn, "admin")?.is_none() {
        eprintln!("loading the demo city…");
        demo::load(conn, &state.cipher, demo::DemoSize::FULL).map_err(api)?;
        report.demo_loaded = true;
    }
    let grids = grids_with_households(conn).map_err(api)?;
    anyhow::ensure!(!grids.is_empty(), "the database holds no households");
    report.grids = grids.len();
    let position: std::collections::HashMap<&str, (Option<f64>, Option<f64>)> = grids
        .iter()
        .flat_map(|(_, homes)| {
            homes
                .iter()
                .map(|(id, lat, lon)| (id.as_str(), (*lat, *lon)))
        })
        .collect();
    let form = match args.visit_form_fields {
        Some(n) => Some(db::write_transaction(conn, |conn| visit_form(conn, n)).map_err(api)?),
        None => None,
    };
    let form_key = form.as_ref().map_or(FORM_KEY, |f| f.key.as_str());

    // One argon2 hash for every storm worker: see the module comment.
    let shared_hash =
        password::hash_now(&format!("{}-{}", args.prefix, uuid::Uuid::new_v4())).map_err(api)?;
    let due = crate::domain::time::today() + chrono::Duration::days(30);
    let mut out = Vec::with_capacity(args.workers);
    let indices: Vec<usize> = (0..args.workers).collect();
    for chunk in indices.chunks(WORKERS_PER_TX) {
        let done = db::write_transaction(conn, |conn| -> ApiResult<Vec<SeededWorker>> {
            let now = db::now();
            let mut done = Vec::with_capacity(chunk.len());
            for &i in chunk {
                let ((grid_id, grid_path), homes) = &grids[i % grids.len()];
                // Workers of one grid take consecutive slices of its households.
                let nth_in_grid = i / grids.len();
                let username = format!("{}{i:05}", args.prefix);
                let user_id = match repo::users::find_by_username(conn, &username)? {
                    Some(u) => {
                        report.workers_reused += 1;
                        u.id
                    }
                    None => {
                        let user = accounts::create(
                            conn,
                            &Scope::everything(),
                            NewAccount {
                                username: Username::parse(&username)
                                    .map_err(accounts::invalid_username)?,
                                display_name: format!("压测网格员 {i}"),
                                role: Role::GridWorker,
                                org_unit: UnitRef::Id(grid_id.clone()),
                                password_hash: shared_hash.clone(),
                            },
                        )?;
                        report.workers_created += 1;
                        user.id.to_string()
                    }
                };
                let mut open: Vec<_> = repo::tasks::open_for(conn, &user_id)?
                    .into_iter()
                    .filter(|t| t.form_key == form_key)
                    .collect();
                if open.is_empty() {
                    for j in 0..args.tasks_per_worker {
                        let (household, _, _) =
                            &homes[(nth_in_grid * args.tasks_per_worker + j) % homes.len()];
                        let task = tasks::create(
                            conn,
                            NewTask {
                                kind: TaskKind::Visit,
                                household_id: household,
                                household_path: grid_path,
                                form_key,
                                assignee: Some(&user_id),
                                due_date: due,
                                priority: 0,
                                note: "",
                                actor: None,
                            },
                            now,
                        )?;
                        open.push(task);
                        report.tasks_created += 1;
                    }
                }
                let tasks = if form.is_some() {
                    open.into_iter()
                        .map(|t| {
                            let (lat, lon) = position
                                .get(t.household_id.as_str())
                                .copied()
                                .unwrap_or_default();
                            SeededTask {
                                id: t.id,
                                household_id: t.household_id,
                                lat,
                                lon,
                            }
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let family = uuid::Uuid::now_v7().to_string();
                let pair = session::issue_pair(
                    conn,
                    &state.tokens(),
                    &user_id,
                    &family,
                    Some("storm"),
                    now,
                )?;
                done.push(SeededWorker {
                    username,
                    user_id,
                    access_token: pair.access_token,
                    tasks,
                });
            }
            Ok(done)
        })
        .map_err(api)?;
        out.extend(done);
        eprintln!(
            "  {} / {} workers, {} tasks, {:.0} s",
            out.len(),
            args.workers,
            report.tasks_created,
            started.elapsed().as_secs_f64()
        );
    }

    // Planned without statistics, PostgreSQL reads every member to find 30 households' (see
    // `db::refresh_statistics`): the storm would measure the missing ANALYZE, not the server.
    db::refresh_statistics(conn, &["users", "tokens", "tasks", "changes"])?;

    let file = TokensFile {
        generated_by: "jiuzhu bench-seed (benchmark harness)".into(),
        tasks_per_worker: args.tasks_per_worker,
        visit_form: form,
        workers: out,
    };
    write_private(&args.out, &serde_json::to_vec(&file)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The tokens are live credentials: the file is readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}
