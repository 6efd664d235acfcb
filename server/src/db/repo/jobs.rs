//! `jobs` (the queue of background work) and `job_leases` (periodic jobs run once per period
//! across instances).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use jiuzhu_proto::stats::JobState;

use crate::db::limit::FirstRow;
use crate::db::schema::{job_leases, jobs};
use crate::db::AnyConnection;
use crate::in_scope;
use crate::scope::Scope;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub org_path: String,
    pub state: String,
    pub attempts: i32,
    pub runs: i32,
    pub result: Option<String>,
    pub error: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub progress: Option<String>,
}

/// A job to queue.
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub payload: &'a str,
    pub org_path: &'a str,
    pub created_by: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

/// Queues a job (state `queued`, no attempt yet).
pub fn insert(conn: &mut AnyConnection, job: NewJob<'_>) -> QueryResult<usize> {
    diesel::insert_into(jobs::table)
        .values((
            jobs::id.eq(job.id),
            jobs::kind.eq(job.kind),
            jobs::payload.eq(job.payload),
            jobs::org_path.eq(job.org_path),
            jobs::state.eq(JobState::Queued.as_str()),
            jobs::attempts.eq(0),
            jobs::runs.eq(0),
            jobs::created_by.eq(job.created_by),
            jobs::created_at.eq(job.created_at),
        ))
        .execute(conn)
}

/// Takes the lease of the oldest job that is queued or whose lease ran out, until `lease_until`;
/// call inside a write transaction. PostgreSQL chooses the row `FOR UPDATE SKIP LOCKED`, so two
/// instances never take the same job; SQLite has one writer.
// disallowed_methods: PostgreSQL only, with FOR UPDATE, which must follow the limit (see db::limit).
#[allow(clippy::disallowed_methods)]
pub fn claim_next(
    conn: &mut AnyConnection,
    owner: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> QueryResult<Option<JobRow>> {
    let free = jobs::state.eq(JobState::Queued.as_str()).or(jobs::state
        .eq(JobState::Running.as_str())
        .and(jobs::lease_until.lt(now)));
    let id: Option<String> = match conn {
        AnyConnection::Postgresql(pg) => jobs::table
            .filter(free)
            .order((jobs::created_at, jobs::id))
            .select(jobs::id)
            .for_update()
            .skip_locked()
            .first(pg)
            .optional()?,
        AnyConnection::Sqlite(lite) => jobs::table
            .filter(free)
            .order((jobs::created_at, jobs::id))
            .select(jobs::id)
            .first_row(lite)
            .optional()?,
    };
    let Some(id) = id else {
        return Ok(None);
    };
    diesel::update(jobs::table.find(&id))
        .set((
            jobs::state.eq(JobState::Running.as_str()),
            jobs::lease_owner.eq(owner),
            jobs::lease_until.eq(lease_until),
            jobs::attempts.eq(jobs::attempts + 1),
            jobs::started_at.eq(now),
        ))
        .execute(conn)?;
    jobs::table
        .find(&id)
        .select(JobRow::as_select())
        .first_row(conn)
        .optional()
}

/// Moves `owner`'s lease on to `lease_until` and stores the job's progress; false when the lease
/// was lost.
pub fn renew_lease(
    conn: &mut AnyConnection,
    id: &str,
    owner: &str,
    progress: &str,
    lease_until: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::state.eq(JobState::Running.as_str()))
            .filter(jobs::lease_owner.eq(owner)),
    )
    .set((
        jobs::progress.eq(Some(progress)),
        jobs::lease_until.eq(lease_until),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records the outcome (a result as JSON text, or an error) if `owner` still holds the lease;
/// false when it was lost.
pub fn finish(
    conn: &mut AnyConnection,
    id: &str,
    owner: &str,
    outcome: Result<String, String>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let held = jobs::table
        .find(id)
        .filter(jobs::state.eq(JobState::Running.as_str()))
        .filter(jobs::lease_owner.eq(owner));
    let n = match outcome {
        Ok(result) => diesel::update(held)
            .set((
                jobs::state.eq(JobState::Done.as_str()),
                jobs::runs.eq(jobs::runs + 1),
                jobs::result.eq(Some(result)),
                jobs::error.eq(None::<String>),
                jobs::finished_at.eq(now),
                jobs::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
        Err(error) => diesel::update(held)
            .set((
                jobs::state.eq(JobState::Failed.as_str()),
                jobs::error.eq(Some(error)),
                jobs::finished_at.eq(now),
                jobs::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
    };
    Ok(n == 1)
}

pub fn find_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<JobRow>> {
    in_scope!(jobs::table.find(id), jobs::org_path, scope)
        .select(JobRow::as_select())
        .first_row(conn)
        .optional()
}

/// When the periodic job `name` last completed, read so that this transaction holds its lease:
/// `None` when another instance holds it (PostgreSQL, `FOR UPDATE SKIP LOCKED`) or the job is
/// unknown; `Some(None)` when it never completed.
// disallowed_methods: PostgreSQL only, with FOR UPDATE, which must follow the limit (see db::limit).
#[allow(clippy::disallowed_methods)]
pub fn take_lease(
    conn: &mut AnyConnection,
    name: &str,
) -> QueryResult<Option<Option<NaiveDateTime>>> {
    match conn {
        AnyConnection::Postgresql(pg) => job_leases::table
            .find(name)
            .select(job_leases::last_run_at)
            .for_update()
            .skip_locked()
            .first(pg)
            .optional(),
        AnyConnection::Sqlite(lite) => job_leases::table
            .find(name)
            .select(job_leases::last_run_at)
            .first_row(lite)
            .optional(),
    }
}

/// Records that the periodic job `name` completed at `now`.
pub fn lease_completed(
    conn: &mut AnyConnection,
    name: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(job_leases::table.find(name))
        .set(job_leases::last_run_at.eq(now))
        .execute(conn)?;
    Ok(())
}
