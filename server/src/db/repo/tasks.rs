//! `tasks`, `task_events`, `forms`, `form_versions`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Integer, Nullable, Text, Timestamp};
use jiuzhu_proto::task::TaskState;
use jiuzhu_proto::user::Role;

use crate::db::bulk;
use crate::db::limit::FirstRow;
use crate::db::one_of::one_of;
use crate::db::schema::{change_head, form_versions, forms, task_events, tasks, users};
use crate::db::sqltime::{SqlDate, SqlTimestamp};
use crate::db::AnyConnection;
use crate::scope::Scope;
use crate::{each_backend, in_scope};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tasks)]
pub struct TaskRow {
    pub id: String,
    pub kind: String,
    pub household_id: String,
    pub org_path: String,
    pub form_key: String,
    pub form_version: Option<i32>,
    pub assignee_id: Option<String>,
    pub state: String,
    #[diesel(deserialize_as = SqlDate)]
    pub due_date: NaiveDate,
    pub priority: i32,
    pub note: String,
    pub created_by: Option<String>,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, row: &TaskRow) -> QueryResult<usize> {
    insert_many(conn, std::slice::from_ref(row))
}

/// Inserts tasks ([`bulk::insert_any`]).
pub fn insert_many(conn: &mut AnyConnection, rows: &[TaskRow]) -> QueryResult<usize> {
    bulk::insert_any(conn, rows, |c, chunk| {
        diesel::insert_into(tasks::table).values(chunk).execute(c)
    })
}

impl bulk::SqliteRow for TaskRow {
    type Key = tasks::table;
    const INSERT: &'static str = "INSERT INTO tasks (id, kind, household_id, org_path, form_key, \
        form_version, assignee_id, state, due_date, priority, note, created_by, created_at, \
        updated_at) VALUES ";

    fn bind<'b>(&'b self, out: &mut bulk::Binds<'_, '_, 'b>) -> QueryResult<()> {
        out.value::<Text, _>(&self.id)?;
        out.value::<Text, _>(&self.kind)?;
        out.value::<Text, _>(&self.household_id)?;
        out.value::<Text, _>(&self.org_path)?;
        out.value::<Text, _>(&self.form_key)?;
        out.value::<Nullable<Integer>, _>(&self.form_version)?;
        out.value::<Nullable<Text>, _>(&self.assignee_id)?;
        out.value::<Text, _>(&self.state)?;
        out.value::<Date, _>(&self.due_date)?;
        out.value::<Integer, _>(&self.priority)?;
        out.value::<Text, _>(&self.note)?;
        out.value::<Nullable<Text>, _>(&self.created_by)?;
        out.value::<Timestamp, _>(&self.created_at)?;
        out.value::<Timestamp, _>(&self.updated_at)
    }
}

/// A row of a task's trail.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = task_events)]
pub struct EventRow {
    pub id: String,
    pub task_id: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor_id: Option<String>,
    pub note: String,
    pub at: NaiveDateTime,
}

impl bulk::SqliteRow for EventRow {
    type Key = task_events::table;
    const INSERT: &'static str =
        "INSERT INTO task_events (id, task_id, from_state, to_state, actor_id, note, at) VALUES ";

    fn bind<'b>(&'b self, out: &mut bulk::Binds<'_, '_, 'b>) -> QueryResult<()> {
        out.value::<Text, _>(&self.id)?;
        out.value::<Text, _>(&self.task_id)?;
        out.value::<Nullable<Text>, _>(&self.from_state)?;
        out.value::<Text, _>(&self.to_state)?;
        out.value::<Nullable<Text>, _>(&self.actor_id)?;
        out.value::<Text, _>(&self.note)?;
        out.value::<Timestamp, _>(&self.at)
    }
}

/// Inserts task events, as [`insert_many`] does tasks.
pub fn record_events(conn: &mut AnyConnection, rows: &[EventRow]) -> QueryResult<usize> {
    bulk::insert_any(conn, rows, |c, chunk| {
        diesel::insert_into(task_events::table)
            .values(chunk)
            .execute(c)
    })
}

pub fn find_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<TaskRow>> {
    in_scope!(tasks::table.find(id), tasks::org_path, scope)
        .select(TaskRow::as_select())
        .first_row(conn)
        .optional()
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<TaskRow>> {
    tasks::table
        .find(id)
        .select(TaskRow::as_select())
        .first_row(conn)
        .optional()
}

pub fn find_many(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(one_of(tasks::id, ids))
        .select(TaskRow::as_select())
        .load(conn)
}

/// Moves a task from one of up to three states (`from`) to another; false when it was no longer
/// in any of them.
///
/// The states are compared one by one rather than with `eq_any`: diesel prepares an `IN (…)`
/// list afresh on every call on SQLite, and this runs once per visit on the thread that commits
/// them all.
pub fn transition(
    conn: &mut AnyConnection,
    id: &str,
    from: &[&str],
    to: &str,
    assignee: Option<Option<&str>>,
    form_version: Option<i32>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let (a, b, c) = match *from {
        [a] => (a, a, a),
        [a, b] => (a, b, b),
        [a, b, c] => (a, b, c),
        _ => {
            return Err(diesel::result::Error::QueryBuilderError(
                "a task transition names one to three states".into(),
            ))
        }
    };
    let target = tasks::table.find(id).filter(
        tasks::state
            .eq(a)
            .or(tasks::state.eq(b))
            .or(tasks::state.eq(c)),
    );
    let n = match (assignee, form_version) {
        (Some(a), Some(v)) => diesel::update(target)
            .set((
                tasks::state.eq(to),
                tasks::assignee_id.eq(a),
                tasks::form_version.eq(v),
                tasks::updated_at.eq(now),
            ))
            .execute(conn)?,
        (Some(a), None) => diesel::update(target)
            .set((
                tasks::state.eq(to),
                tasks::assignee_id.eq(a),
                tasks::updated_at.eq(now),
            ))
            .execute(conn)?,
        (None, _) => diesel::update(target)
            .set((tasks::state.eq(to), tasks::updated_at.eq(now)))
            .execute(conn)?,
    };
    Ok(n == 1)
}

pub fn record_event(
    conn: &mut AnyConnection,
    task_id: &str,
    from: Option<&str>,
    to: &str,
    actor: Option<&str>,
    note: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(task_events::table)
        .values((
            task_events::id.eq(uuid::Uuid::now_v7().to_string()),
            task_events::task_id.eq(task_id),
            task_events::from_state.eq(from),
            task_events::to_state.eq(to),
            task_events::actor_id.eq(actor),
            task_events::note.eq(note),
            task_events::at.eq(at),
        ))
        .execute(conn)
}

/// A task event: from state, to state, actor.
pub type TaskEvent = (Option<String>, String, Option<String>);

/// A task's events, oldest first.
pub fn events_of(conn: &mut AnyConnection, task_id: &str) -> QueryResult<Vec<TaskEvent>> {
    task_events::table
        .filter(task_events::task_id.eq(task_id))
        .order(task_events::at.asc())
        .select((
            task_events::from_state,
            task_events::to_state,
            task_events::actor_id,
        ))
        .load(conn)
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub assignee_id: Option<String>,
    pub state: Option<String>,
    pub household_id: Option<String>,
    pub after: Option<String>,
    pub limit: i64,
}

// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn list_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &TaskFilter,
) -> QueryResult<Vec<TaskRow>> {
    let mut q = in_scope!(tasks::table, tasks::org_path, scope)
        .select(TaskRow::as_select())
        .order(tasks::id.asc())
        .limit(f.limit)
        .into_boxed();
    if let Some(a) = &f.assignee_id {
        q = q.filter(tasks::assignee_id.eq(a.clone()));
    }
    if let Some(s) = &f.state {
        q = q.filter(tasks::state.eq(s.clone()));
    }
    if let Some(h) = &f.household_id {
        q = q.filter(tasks::household_id.eq(h.clone()));
    }
    if let Some(after) = &f.after {
        q = q.filter(tasks::id.gt(after.clone()));
    }
    q.load(conn)
}

/// `state IN ('assigned', 'accepted')`.
type IsOpen = diesel::dsl::Or<
    diesel::dsl::Eq<tasks::state, &'static str>,
    diesel::dsl::Eq<tasks::state, &'static str>,
>;

/// An open task's states as two comparisons rather than an `IN` list: diesel prepares a statement
/// with an `IN` list afresh on every call on SQLite, but keeps a fixed one prepared.
fn is_open() -> IsOpen {
    tasks::state
        .eq(TaskState::Assigned.as_str())
        .or(tasks::state.eq(TaskState::Accepted.as_str()))
}

/// Open tasks assigned to a worker.
pub fn open_for(conn: &mut AnyConnection, worker_id: &str) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::assignee_id.eq(worker_id))
        .filter(is_open())
        .order(tasks::id.asc())
        .select(TaskRow::as_select())
        .load(conn)
}

/// [`open_for`], with the change log's head read by the same statement, so from the same snapshot:
/// a full sync's tasks and its cursor in one round trip. The head is `None` when the worker has no
/// open task (no row to carry it).
pub fn open_for_at_head(
    conn: &mut AnyConnection,
    worker_id: &str,
) -> QueryResult<(Vec<TaskRow>, Option<i64>)> {
    // On the concrete connection (see `crate::registry::wire::households`).
    let rows: Vec<(TaskRow, i64)> = each_backend!(conn, c => tasks::table
        .inner_join(change_head::table.on(change_head::id.eq(1)))
        .filter(tasks::assignee_id.eq(worker_id))
        .filter(is_open())
        .order(tasks::id.asc())
        .select((TaskRow::as_select(), change_head::seq))
        .load(c))?;
    let head = rows.first().map(|(_, seq)| *seq);
    Ok((rows.into_iter().map(|(row, _)| row).collect(), head))
}

/// Households among these that already have an open task of this kind.
pub fn with_open_task(
    conn: &mut AnyConnection,
    household_ids: &[String],
    kind: &str,
) -> QueryResult<Vec<String>> {
    tasks::table
        .filter(one_of(tasks::household_id, household_ids))
        .filter(tasks::kind.eq(kind))
        .filter(one_of(
            tasks::state,
            &TaskState::OPEN.map(TaskState::as_str),
        ))
        .select(tasks::household_id)
        .load(conn)
}

/// The workers with an open task (assigned or accepted) on a household.
pub fn workers_on_open_tasks(
    conn: &mut AnyConnection,
    household_id: &str,
) -> QueryResult<Vec<String>> {
    tasks::table
        .filter(tasks::household_id.eq(household_id))
        .filter(one_of(
            tasks::state,
            &TaskState::ON_PHONE.map(TaskState::as_str),
        ))
        .filter(tasks::assignee_id.is_not_null())
        .select(tasks::assignee_id.assume_not_null())
        .distinct()
        .load(conn)
}

/// Households among these that have an open task of any kind.
pub fn with_any_open_task(
    conn: &mut AnyConnection,
    household_ids: &[&str],
) -> QueryResult<Vec<String>> {
    tasks::table
        .filter(one_of(tasks::household_id, household_ids))
        .filter(one_of(
            tasks::state,
            &TaskState::OPEN.map(TaskState::as_str),
        ))
        .select(tasks::household_id)
        .load(conn)
}

/// Active grid workers bound to a grid: (id, org_path).
pub fn grid_workers(conn: &mut AnyConnection, grid_path: &str) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::role.eq(Role::GridWorker.as_str()))
        .filter(users::disabled.eq(false))
        .filter(users::org_path.eq(grid_path))
        .order(users::username.asc())
        .select(users::id)
        .load(conn)
}

/// A user's (role, org_path, disabled).
pub fn user_binding(
    conn: &mut AnyConnection,
    user_id: &str,
) -> QueryResult<Option<(String, String, bool)>> {
    users::table
        .find(user_id)
        .select((users::role, users::org_path, users::disabled))
        .first_row(conn)
        .optional()
}

/// The latest published version of a form.
pub fn latest_form_version(conn: &mut AnyConnection, key: &str) -> QueryResult<Option<i32>> {
    forms::table
        .find(key)
        .select(forms::latest_version)
        .first_row(conn)
        .optional()
}

pub fn form_definition(
    conn: &mut AnyConnection,
    key: &str,
    version: i32,
) -> QueryResult<Option<String>> {
    form_versions::table
        .find((key, version))
        .select(form_versions::definition)
        .first_row(conn)
        .optional()
}

/// Publishes a new version of a form (creating the form if new); returns the version number.
pub fn publish_form(
    conn: &mut AnyConnection,
    key: &str,
    title: &str,
    definition: &str,
    actor: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<i32> {
    let version = match latest_form_version(conn, key)? {
        Some(v) => {
            diesel::update(forms::table.find(key))
                .set((
                    forms::latest_version.eq(v + 1),
                    forms::title.eq(title),
                    forms::updated_at.eq(now),
                ))
                .execute(conn)?;
            v + 1
        }
        None => {
            diesel::insert_into(forms::table)
                .values((
                    forms::key.eq(key),
                    forms::title.eq(title),
                    forms::latest_version.eq(1),
                    forms::created_at.eq(now),
                    forms::updated_at.eq(now),
                ))
                .execute(conn)?;
            1
        }
    };
    diesel::insert_into(form_versions::table)
        .values((
            form_versions::form_key.eq(key),
            form_versions::version.eq(version),
            form_versions::definition.eq(definition),
            form_versions::published_by.eq(actor),
            form_versions::published_at.eq(now),
        ))
        .execute(conn)?;
    Ok(version)
}

/// Every form: (key, title JSON, latest version).
pub fn list_forms(conn: &mut AnyConnection) -> QueryResult<Vec<(String, String, i32)>> {
    forms::table
        .order(forms::key.asc())
        .select((forms::key, forms::title, forms::latest_version))
        .load(conn)
}

/// A version's definition JSON and publication time.
pub fn form_version(
    conn: &mut AnyConnection,
    key: &str,
    version: i32,
) -> QueryResult<Option<(String, NaiveDateTime)>> {
    form_versions::table
        .find((key, version))
        .select((form_versions::definition, form_versions::published_at))
        .first_row(conn)
        .optional()
}

/// Open tasks in scope due before `today`.
pub fn count_overdue(
    conn: &mut AnyConnection,
    scope: &Scope,
    today: NaiveDate,
) -> QueryResult<i64> {
    in_scope!(tasks::table, tasks::org_path, scope)
        .filter(one_of(
            tasks::state,
            &TaskState::OPEN.map(TaskState::as_str),
        ))
        .filter(tasks::due_date.lt(today))
        .count()
        .get_result(conn)
}

/// A household that may be due for a re-check (`crate::jobs::recheck`): dibao or tekun, with
/// the start of its current status period, its last re-check task and whether one is open.
#[derive(Debug, QueryableByName)]
pub struct RecheckCandidate {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub org_path: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Date)]
    pub since: NaiveDate,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_recheck: Option<NaiveDateTime>,
    #[diesel(sql_type = Bool)]
    pub open_recheck: bool,
    #[diesel(sql_type = Bool)]
    pub irregular: bool,
}

const RECHECK_CANDIDATES: &str = "
SELECT h.id, h.org_path, h.status, s.from_date AS since,
    (SELECT MAX(t.created_at) FROM tasks t
        WHERE t.household_id = h.id AND t.kind = 'recheck') AS last_recheck,
    EXISTS (SELECT 1 FROM tasks t WHERE t.household_id = h.id AND t.kind = 'recheck'
        AND t.state IN ('pending', 'assigned', 'accepted')) AS open_recheck,
    EXISTS (SELECT 1 FROM household_tags g
        WHERE g.household_id = h.id AND g.tag = 'irregular_income') AS irregular
FROM households h
JOIN household_status_history s ON s.household_id = h.id AND s.to_date IS NULL
WHERE h.status IN ('dibao', 'tekun')
ORDER BY h.id";

/// Every dibao or tekun household with its re-check facts, by id.
pub fn recheck_candidates(conn: &mut AnyConnection) -> QueryResult<Vec<RecheckCandidate>> {
    diesel::sql_query(RECHECK_CANDIDATES).load(conn)
}
