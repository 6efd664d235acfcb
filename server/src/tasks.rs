//! Visit tasks: creation, assignment with the form version pinned, state changes with their trail,
//! and the change-log rows that tell phones about them.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use jiuzhu_proto::task::{Task, TaskKind, TaskState};
use jiuzhu_proto::ErrorCode;

use crate::changes::{self, NewChange, DELETE, UPSERT};
use crate::db::repo::tasks::{self as repo, TaskRow};
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;

/// The task as the API shows it; `today` decides `overdue`.
pub fn to_api(row: TaskRow, today: NaiveDate) -> ApiResult<Task> {
    let bad = |what: &str| ApiError::internal(anyhow::anyhow!("unreadable task {what}"));
    let state = TaskState::parse(&row.state).ok_or_else(|| bad("state"))?;
    Ok(Task {
        id: row.id.parse().map_err(|_| bad("id"))?,
        kind: TaskKind::parse(&row.kind).ok_or_else(|| bad("kind"))?,
        household_id: row.household_id.parse().map_err(|_| bad("household"))?,
        form_key: row.form_key,
        form_version: row.form_version,
        assignee_id: row
            .assignee_id
            .map(|a| a.parse())
            .transpose()
            .map_err(|_| bad("assignee"))?,
        state,
        overdue: state.is_open() && row.due_date < today,
        due_date: row.due_date,
        priority: row.priority,
        note: crate::domain::free_text::mask_text(&row.note).into_owned(),
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

/// An assignee must be an active grid worker of the household's grid: a worker's scope is their
/// grid, so a task for a household of another grid would be out of their reach (404 on accept,
/// missing from their sync). The same rule as `GET /users?assignable_for=`.
pub fn check_assignee(
    conn: &mut AnyConnection,
    assignee: &str,
    household_path: &str,
) -> ApiResult<()> {
    let ok = repo::user_binding(conn, assignee)?.is_some_and(|(role, path, disabled)| {
        role == "grid_worker" && !disabled && Scope::subtree(&path).contains(household_path)
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "assignee_id",
            "assignee_outside_grid",
            "只能指派给该户所在网格的网格员",
            "the assignee must be an active grid worker of the household's grid",
        ))
    }
}

/// The latest version of the form, pinned at assignment.
pub fn pin_form(conn: &mut AnyConnection, form_key: &str) -> ApiResult<i32> {
    repo::latest_form_version(conn, form_key)?
        .ok_or_else(|| ApiError::invalid("form_key", "unknown_form", "表单不存在", "no such form"))
}

pub struct NewTask<'a> {
    pub kind: TaskKind,
    pub household_id: &'a str,
    pub household_path: &'a str,
    pub form_key: &'a str,
    pub assignee: Option<&'a str>,
    pub due_date: NaiveDate,
    pub priority: i32,
    pub note: &'a str,
    pub actor: Option<&'a str>,
}

/// Inserts a task (assigned when it has an assignee, with the form pinned), its first event and,
/// when assigned, the change its worker will sync.
pub fn create(conn: &mut AnyConnection, t: NewTask<'_>, now: NaiveDateTime) -> ApiResult<TaskRow> {
    create_many(conn, &[t], now)?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no task created")))
}

/// [`create`] for many tasks: each form pinned and each assignee checked once, then the tasks,
/// their first events and the changes written many rows per statement. The rows are those the
/// same calls of [`create`] one after the other would write.
pub fn create_many(
    conn: &mut AnyConnection,
    new: &[NewTask<'_>],
    now: NaiveDateTime,
) -> ApiResult<Vec<TaskRow>> {
    let mut versions: HashMap<&str, i32> = HashMap::new();
    let mut checked: HashSet<(&str, &str)> = HashSet::new();
    let mut rows = Vec::with_capacity(new.len());
    for t in new {
        let version = match versions.get(t.form_key) {
            Some(v) => *v,
            None => {
                let v = pin_form(conn, t.form_key)?;
                versions.insert(t.form_key, v);
                v
            }
        };
        if let Some(a) = t.assignee {
            if checked.insert((a, t.household_path)) {
                check_assignee(conn, a, t.household_path)?;
            }
        }
        let state = if t.assignee.is_some() {
            TaskState::Assigned
        } else {
            TaskState::Pending
        };
        rows.push(TaskRow {
            id: uuid::Uuid::now_v7().to_string(),
            kind: t.kind.as_str().to_owned(),
            household_id: t.household_id.to_owned(),
            org_path: t.household_path.to_owned(),
            form_key: t.form_key.to_owned(),
            form_version: t.assignee.map(|_| version),
            assignee_id: t.assignee.map(str::to_owned),
            state: state.as_str().to_owned(),
            due_date: t.due_date,
            priority: t.priority,
            note: t.note.to_owned(),
            created_by: t.actor.map(str::to_owned),
            created_at: now,
            updated_at: now,
        });
    }
    repo::insert_many(conn, &rows)?;
    let events: Vec<repo::EventRow> = rows
        .iter()
        .map(|row| repo::EventRow {
            id: uuid::Uuid::now_v7().to_string(),
            task_id: row.id.clone(),
            from_state: None,
            to_state: row.state.clone(),
            actor_id: row.created_by.clone(),
            note: row.note.clone(),
            at: now,
        })
        .collect();
    repo::record_events(conn, &events)?;
    let assigned: Vec<NewChange<'_>> = rows
        .iter()
        .filter_map(|row| {
            Some(NewChange {
                entity: "task",
                entity_id: &row.id,
                worker_id: Some(row.assignee_id.as_deref()?),
                op: UPSERT,
            })
        })
        .collect();
    if !assigned.is_empty() {
        changes::record_many(conn, &assigned)?;
    }
    // Tasks a person made are audited one by one; the re-check job's and imports' are not
    // (their runs are).
    for row in rows.iter().filter(|r| r.created_by.is_some()) {
        audit_task(
            conn,
            row,
            "task.create",
            row.created_by.as_deref(),
            &row.state,
        )?;
    }
    Ok(rows)
}

/// An audit record of a step a person took on a task.
fn audit_task(
    conn: &mut AnyConnection,
    task: &TaskRow,
    action: &str,
    actor: Option<&str>,
    to: &str,
) -> ApiResult<()> {
    crate::audit::record(
        conn,
        crate::audit::AuditEntry {
            actor_id: actor,
            action,
            entity: "task",
            entity_id: &task.id,
            org_path: &task.org_path,
            detail: serde_json::json!({ "from": task.state, "to": to }),
        },
    )?;
    Ok(())
}

/// (Re)assigns an open task: the old worker gets a tombstone, the new one the task, with the
/// form version pinned now.
pub fn assign(
    conn: &mut AnyConnection,
    task: &TaskRow,
    assignee: &str,
    actor: Option<&str>,
    now: NaiveDateTime,
) -> ApiResult<()> {
    check_assignee(conn, assignee, &task.org_path)?;
    let version = pin_form(conn, &task.form_key)?;
    let open = TaskState::OPEN.map(TaskState::as_str);
    if !repo::transition(
        conn,
        &task.id,
        &open,
        TaskState::Assigned.as_str(),
        Some(Some(assignee)),
        Some(version),
        now,
    )? {
        return Err(not_open());
    }
    repo::record_event(
        conn,
        &task.id,
        Some(&task.state),
        TaskState::Assigned.as_str(),
        actor,
        "",
        now,
    )?;
    if let Some(old) = task.assignee_id.as_deref().filter(|o| *o != assignee) {
        changes::record(conn, "task", &task.id, Some(old), DELETE)?;
    }
    changes::record(conn, "task", &task.id, Some(assignee), UPSERT)?;
    audit_task(
        conn,
        task,
        "task.assign",
        actor,
        TaskState::Assigned.as_str(),
    )?;
    Ok(())
}

pub fn not_open() -> ApiError {
    ApiError::conflict(
        ErrorCode::Conflict,
        "任务状态已变化",
        "the task is not in a state that allows this",
    )
}

/// Moves a task found in scope from one of `from` to `to` with its event, and tells its worker's
/// phone (`op`: the task changed, or left the phone). Shared by the steps a person takes on a task.
#[allow(clippy::too_many_arguments)]
fn step(
    conn: &mut AnyConnection,
    task: TaskRow,
    from: &[TaskState],
    to: TaskState,
    actor: &str,
    note: &str,
    op: &str,
    now: NaiveDateTime,
) -> ApiResult<TaskRow> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let to = to.as_str();
    if !repo::transition(conn, &task.id, &from, to, None, None, now)? {
        return Err(not_open());
    }
    repo::record_event(
        conn,
        &task.id,
        Some(&task.state),
        to,
        Some(actor),
        note,
        now,
    )?;
    if let Some(worker) = &task.assignee_id {
        changes::record(conn, "task", &task.id, Some(worker), op)?;
    }
    audit_task(conn, &task, &format!("task.{to}"), Some(actor), to)?;
    repo::find(conn, &task.id)?.ok_or_else(ApiError::not_found)
}

/// A worker takes on a task assigned to them (in their scope); another worker's task is not found.
pub fn accept(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
    worker: &str,
    now: NaiveDateTime,
) -> ApiResult<TaskRow> {
    let task = repo::find_in_scope(conn, scope, id)?
        .filter(|t| t.assignee_id.as_deref() == Some(worker))
        .ok_or_else(ApiError::not_found)?;
    step(
        conn,
        task,
        &[TaskState::Assigned],
        TaskState::Accepted,
        worker,
        "",
        UPSERT,
        now,
    )
}

/// Cancels an open task with its reason; the task leaves its worker's phone at the next sync.
pub fn cancel(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
    actor: &str,
    reason: &str,
    now: NaiveDateTime,
) -> ApiResult<TaskRow> {
    let task = repo::find_in_scope(conn, scope, id)?.ok_or_else(ApiError::not_found)?;
    step(
        conn,
        task,
        &TaskState::OPEN,
        TaskState::Cancelled,
        actor,
        reason,
        DELETE,
        now,
    )
}
