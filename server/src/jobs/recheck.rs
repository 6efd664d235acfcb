//! Recurring re-checks (docs/domain.md): dibao households yearly, half-yearly when income is irregular
//! or members can work (tag `irregular_income`); tekun yearly. A household is due when neither
//! its current status period nor its last re-check task is more recent than the interval, and it
//! has no open re-check task.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use jiuzhu_proto::task::TaskKind;

use crate::config::RecheckSettings;
use crate::db::{self, repo, AnyConnection};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::tasks::{self, NewTask};

pub const JOB: &str = "recheck";

/// Tasks created per run at most; the rest wait for the next run.
const MAX_PER_RUN: usize = 2_000;

use crate::db::repo::tasks::RecheckCandidate as Candidate;

fn interval_days(c: &Candidate, s: &RecheckSettings) -> i64 {
    match (c.status.as_str(), c.irregular) {
        ("dibao", true) => s.dibao_irregular_days,
        ("dibao", false) => s.dibao_days,
        _ => s.tekun_days,
    }
}

fn is_due(c: &Candidate, s: &RecheckSettings, today: NaiveDate) -> bool {
    if c.open_recheck {
        return false;
    }
    let anchor = c
        .last_recheck
        .map(crate::domain::time::date_of)
        .map_or(c.since, |last| last.max(c.since));
    anchor + Duration::days(interval_days(c, s)) <= today
}

/// One run inside one write transaction; returns the tasks created. Another instance running the
/// job at the same time makes this one a no-op.
pub fn run_in(
    conn: &mut AnyConnection,
    s: &RecheckSettings,
    every: Duration,
    now: NaiveDateTime,
    today: NaiveDate,
) -> ApiResult<usize> {
    if !super::claim(conn, JOB, every, now)? {
        return Ok(0);
    }
    if repo::tasks::latest_form_version(conn, &s.form_key)?.is_none() {
        tracing::warn!(form = %s.form_key, "re-check form not published; no tasks created");
        return Ok(0);
    }
    let candidates = repo::tasks::recheck_candidates(conn)?;
    let due: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| is_due(c, s, today))
        .take(MAX_PER_RUN)
        .collect();
    let due_date = today + Duration::days(s.due_in_days);
    let mut workers_by_grid = std::collections::HashMap::new();
    for c in &due {
        let workers = match workers_by_grid.get(&c.org_path) {
            Some(w) => w,
            None => {
                let w = repo::tasks::grid_workers(conn, &c.org_path)?;
                workers_by_grid.entry(c.org_path.clone()).or_insert(w)
            }
        };
        let assignee = (workers.len() == 1).then(|| workers[0].clone());
        tasks::create(
            conn,
            NewTask {
                kind: TaskKind::Recheck,
                household_id: &c.id,
                household_path: &c.org_path,
                form_key: &s.form_key,
                assignee: assignee.as_deref(),
                due_date,
                priority: 0,
                note: "定期复核 / scheduled re-check",
                actor: None,
            },
            now,
        )?;
    }
    // A run that hit the cap leaves the lease due, so the next tick carries on.
    if due.len() < MAX_PER_RUN {
        super::completed(conn, JOB, now)?;
    }
    Ok(due.len())
}

/// Runs the job once now.
pub async fn run(state: &Arc<AppState>) -> ApiResult<usize> {
    let settings = state.settings.recheck.clone();
    let every = Duration::seconds(settings.every_secs as i64);
    state
        .tx(move |conn| {
            run_in(
                conn,
                &settings,
                every,
                db::now(),
                crate::domain::time::today(),
            )
        })
        .await
}
