//! The queue of background jobs: department imports sent with `?background=true` and heavy
//! statistics (`POST /jobs`).
//!
//! A worker takes a job by taking its lease in a short transaction (PostgreSQL: the row chosen
//! with `FOR UPDATE SKIP LOCKED`, so two instances never take the same job; SQLite: one writer),
//! runs it outside any transaction, and records the result only if it still holds the lease. A
//! worker that dies leaves a lease that runs out; the job is then taken again and re-run. Its
//! effects are not duplicated because each kind is idempotent: an import skips the records it
//! already stored, a statistic is recomputed and replaces nothing.

use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::QueryResult;
use jiuzhu_proto::department::DepartmentSource;
use jiuzhu_proto::stats::{Job, JobState};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::db::repo::jobs::{self as repo, NewJob};
use crate::db::{self, AnyConnection};
use crate::error::{ApiError, ApiResult};
use crate::imports::departments::{self, Format, Importer};
use crate::imports::households::{EncodingChoice, ImportError};
use crate::imports::tuning::Runner;
use crate::scope::Scope;
use crate::state::AppState;

pub use crate::db::repo::jobs::JobRow;

/// How long a lease lasts; a worker that has neither finished nor renewed it by then is presumed
/// dead.
pub const LEASE_SECS: i64 = 600;
/// How often a long job renews its lease (and reports its progress).
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a job does, as stored in `payload`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    DepartmentImport {
        source: DepartmentSource,
        /// The uploaded file, spooled under `DATA_DIR/jobs/`.
        file: PathBuf,
        json: bool,
        encoding: String,
        actor: Option<String>,
    },
    StatsOverview {
        unit_id: String,
    },
    StatsMpi {
        unit_id: String,
    },
    StatsRelativePoverty {
        unit_id: String,
    },
}

impl Work {
    pub fn kind(&self) -> &'static str {
        match self {
            Work::DepartmentImport { .. } => "department_import",
            Work::StatsOverview { .. } => "stats_overview",
            Work::StatsMpi { .. } => "stats_mpi",
            Work::StatsRelativePoverty { .. } => "stats_relative_poverty",
        }
    }
}

/// Queues a job for the subtree at `org_path`.
pub fn enqueue(
    conn: &mut AnyConnection,
    id: &str,
    work: &Work,
    org_path: &str,
    actor: Option<&str>,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let payload = serde_json::to_string(work).map_err(ApiError::internal)?;
    repo::insert(
        conn,
        NewJob {
            id,
            kind: work.kind(),
            payload: &payload,
            org_path,
            created_by: actor,
            created_at: now,
        },
    )?;
    Ok(())
}

/// Takes the oldest job that is queued or whose lease ran out; call inside a write transaction.
pub fn claim(
    conn: &mut AnyConnection,
    owner: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<JobRow>> {
    repo::claim_next(conn, owner, now, lease_end(now))
}

fn lease_end(now: NaiveDateTime) -> NaiveDateTime {
    now + chrono::Duration::seconds(LEASE_SECS)
}

/// Renews `owner`'s lease and stores the job's progress; false when the lease was lost.
fn heartbeat(
    conn: &mut AnyConnection,
    id: &str,
    owner: &str,
    progress: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    repo::renew_lease(conn, id, owner, progress, lease_end(now))
}

/// Records the outcome if `owner` still holds the lease; false when it was lost.
fn finish(
    conn: &mut AnyConnection,
    id: &str,
    owner: &str,
    outcome: Result<Json, String>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    repo::finish(conn, id, owner, outcome.map(|r| r.to_string()), now)
}

/// Runs one job's work; errors that are the job's own (a refused file) fail the job.
fn execute(
    conn: &mut AnyConnection,
    state: &AppState,
    row: &JobRow,
    owner: &str,
) -> Result<Json, String> {
    let work: Work = serde_json::from_str(&row.payload).map_err(|e| e.to_string())?;
    let scope = Scope::subtree(&row.org_path);
    let to_json = |v: Result<Json, serde_json::Error>| v.map_err(|e| e.to_string());
    // The unit the statistic is about, in the subtree the job was queued for.
    let unit = |conn: &mut AnyConnection, unit_id: &str| {
        let id = unit_id.parse().map_err(|_| "bad unit id".to_owned())?;
        crate::stats::unit_scope(conn, &scope, &id, None).map_err(|e| e.to_string())
    };
    match work {
        Work::DepartmentImport {
            source,
            file,
            json,
            encoding,
            actor,
        } => {
            let input = std::fs::File::open(&file).map_err(|e| format!("the upload: {e}"))?;
            let encoding = match encoding.as_str() {
                "utf8" => EncodingChoice::Utf8,
                "gbk" => EncodingChoice::Gbk,
                _ => EncodingChoice::Auto,
            };
            let who = Importer {
                rules: state.rule_engine(),
                verify_form: &state.settings.recheck.form_key,
                scope: &scope,
                actor: actor.as_deref(),
                runner: Runner::Job,
            };
            let format = if json { Format::Json } else { Format::Csv };
            let input = Box::new(std::io::BufReader::with_capacity(256 * 1024, input));
            // Progress goes out with each renewal of the lease, at most every few seconds; a
            // lease found lost stops the import (another worker has the job).
            let mut last: Option<std::time::Instant> = None;
            let mut beat = |c: &mut AnyConnection, p: &departments::Progress| -> ApiResult<()> {
                if last.is_some_and(|t| t.elapsed() < HEARTBEAT) {
                    return Ok(());
                }
                last = Some(std::time::Instant::now());
                let progress = serde_json::to_string(p).map_err(ApiError::internal)?;
                let held = db::write_transaction(c, |c| {
                    heartbeat(c, &row.id, owner, &progress, db::now())
                })?;
                if held {
                    Ok(())
                } else {
                    Err(ApiError::internal(anyhow::anyhow!(
                        "the job's lease was lost to another worker"
                    )))
                }
            };
            let report =
                departments::import(conn, &who, source, input, format, encoding, &mut beat)
                    .map_err(|e| match e {
                        ImportError::Refused(r) => r.to_string(),
                        ImportError::Failed(e) => e.to_string(),
                    })?;
            let _ = std::fs::remove_file(&file);
            to_json(serde_json::to_value(report))
        }
        Work::StatsOverview { unit_id } => {
            let (id, sub) = unit(conn, &unit_id)?;
            let out =
                crate::stats::overview::overview(conn, &state.calendar, id, &sub, 365, db::now())
                    .map_err(|e| e.to_string())?;
            to_json(serde_json::to_value(out))
        }
        Work::StatsMpi { unit_id } => {
            let (id, sub) = unit(conn, &unit_id)?;
            let indicators =
                crate::stats::poverty::compile_indicators(&state.settings.discovery.mpi_indicators)
                    .map_err(|e| e.to_string())?;
            let out = crate::stats::poverty::mpi(
                conn,
                &state.cipher,
                id,
                &sub,
                state.settings.discovery.mpi_k,
                &indicators,
            )
            .map_err(|e| e.to_string())?;
            to_json(serde_json::to_value(out))
        }
        Work::StatsRelativePoverty { unit_id } => {
            let (id, sub) = unit(conn, &unit_id)?;
            let out = crate::stats::poverty::relative_poverty(
                conn,
                &state.cipher,
                id,
                &sub,
                &[0.4, 0.5, 0.6],
            )
            .map_err(|e| e.to_string())?;
            to_json(serde_json::to_value(out))
        }
    }
}

/// Takes and runs one job; false when the queue was empty.
pub async fn run_once(state: &Arc<AppState>, owner: &str) -> ApiResult<bool> {
    let who = owner.to_owned();
    let claimed = state
        .tx(move |conn| Ok(claim(conn, &who, db::now())?))
        .await?;
    let Some(row) = claimed else {
        return Ok(false);
    };
    let st = state.clone();
    let who = owner.to_owned();
    let kept = state
        .db(move |conn| {
            let outcome = execute(conn, &st, &row, &who);
            if let Err(e) = &outcome {
                tracing::warn!(job = %row.id, kind = %row.kind, error = %e, "job failed");
            }
            Ok(db::write_transaction(conn, |conn| {
                finish(conn, &row.id, &who, outcome, db::now())
            })?)
        })
        .await?;
    if !kept {
        tracing::warn!("a job's lease ran out before it finished; its result was not kept");
    }
    Ok(true)
}

/// Starts this instance's worker: it polls every `every`, working the queue empty each time.
pub fn spawn_worker(state: Weak<AppState>, every: Duration) {
    let owner = format!("worker-{}", uuid::Uuid::now_v7());
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let Some(state) = state.upgrade() else {
                return;
            };
            loop {
                match run_once(&state, &owner).await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "the job queue could not be read");
                        break;
                    }
                }
            }
        }
    });
}

pub fn to_api(row: JobRow) -> ApiResult<Job> {
    let bad = || ApiError::internal(anyhow::anyhow!("unreadable job"));
    Ok(Job {
        id: row.id.parse().map_err(|_| bad())?,
        kind: row.kind,
        state: JobState::parse(&row.state).ok_or_else(bad)?,
        attempts: row.attempts,
        result: row
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
        progress: row
            .progress
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok()),
        error: row.error,
        created_at: row.created_at.and_utc(),
        started_at: row.started_at.map(|t| t.and_utc()),
        finished_at: row.finished_at.map(|t| t.and_utc()),
    })
}

pub fn find_in_scope(conn: &mut AnyConnection, scope: &Scope, id: &str) -> ApiResult<JobRow> {
    repo::find_in_scope(conn, scope, id)?.ok_or_else(ApiError::not_found)
}

/// Where uploads for background imports wait.
pub fn spool_dir(state: &AppState) -> PathBuf {
    state.settings.data_dir.join("jobs")
}
