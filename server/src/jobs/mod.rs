//! Background jobs that run on every server instance and must still do their work once.
//!
//! A job holds a row of `job_leases` for the length of its transaction: PostgreSQL instances
//! claim it with `FOR UPDATE SKIP LOCKED`, so a second instance skips rather than waits, and
//! SQLite's single writer (`BEGIN IMMEDIATE`) serialises the rest. The row also records when the
//! job last completed, so instances ticking at the same moment run it once per period.

pub mod queue;
pub mod recheck;

use std::sync::Weak;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::repo::org_units;
use crate::db::AnyConnection;
use crate::grid_index;
use crate::state::AppState;

/// Claims `name` for this transaction if it is free and due; false otherwise.
pub fn claim(
    conn: &mut AnyConnection,
    name: &str,
    every: chrono::Duration,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    match crate::db::repo::jobs::take_lease(conn, name)? {
        // Held by another instance (PostgreSQL), or unknown.
        None => Ok(false),
        Some(Some(at)) if at + every > now => Ok(false),
        Some(_) => Ok(true),
    }
}

/// Records that `name` completed at `now`.
pub fn completed(conn: &mut AnyConnection, name: &str, now: NaiveDateTime) -> QueryResult<()> {
    crate::db::repo::jobs::lease_completed(conn, name, now)
}

/// Deletes expired resumable uploads and their partial files; returns how many.
pub async fn expire_uploads(state: &std::sync::Arc<AppState>) -> crate::error::ApiResult<usize> {
    let ids = state
        .tx(|conn| {
            Ok(crate::db::repo::photos::expire_uploads(
                conn,
                crate::db::now(),
            )?)
        })
        .await?;
    for id in &ids {
        let _ = tokio::fs::remove_file(state.photos.part_path(id)).await;
    }
    Ok(ids.len())
}

/// Starts the periodic jobs; they stop when the server's state is dropped.
pub fn spawn(state: Weak<AppState>) {
    let sweeper = state.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(600));
        loop {
            ticker.tick().await;
            let Some(state) = sweeper.upgrade() else {
                return;
            };
            if let Err(e) = expire_uploads(&state).await {
                tracing::warn!(error = %e, "expiring uploads failed");
            }
            let grace = Duration::from_secs(state.settings.photos.orphan_grace_secs);
            if let Err(e) = crate::photos::sweep::run(&state, grace).await {
                tracing::warn!(error = %e, "sweeping photo files left by a crash failed");
            }
        }
    });
    let (every, poll) = match state.upgrade() {
        Some(s) => (
            s.settings.recheck.every_secs,
            s.settings.discovery.job_poll_ms,
        ),
        None => return,
    };
    if poll > 0 {
        queue::spawn_worker(state.clone(), Duration::from_millis(poll));
    }
    if every == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(every));
        loop {
            ticker.tick().await;
            let Some(state) = state.upgrade() else {
                return;
            };
            match recheck::run(&state).await {
                Ok(n) if n > 0 => tracing::info!(created = n, "re-check tasks created"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "re-check job failed"),
            }
        }
    });
}

/// Polls the fingerprint and rebuilds when another instance changed the boundaries.
/// It holds the state weakly and ends when the server that owns the state has stopped.
pub fn spawn_grid_watcher(state: Weak<AppState>, every: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let Some(state) = state.upgrade() else {
                return;
            };
            let current = state
                .db(|conn| Ok(org_units::grid_fingerprint(conn)?))
                .await;
            match current {
                Ok(fp) if fp != state.grids.fingerprint() => {
                    if let Err(e) = grid_index::refresh(&state.database, &state.grids).await {
                        tracing::warn!(error = %e, "grid lookup refresh failed");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "grid fingerprint check failed"),
            }
        }
    });
}
