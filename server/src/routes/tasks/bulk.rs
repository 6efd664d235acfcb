//! `POST /tasks/bulk`: one task per household of a grid, of a status, or of a list.

use actix_web::{post, web};
use jiuzhu_proto::task::{BulkCreateTasks, BulkCreated};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::{self, repo};
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::routes::tasks::{check_due, check_note};
use crate::state::AppState;
use crate::tasks::{self, NewTask};

const MAX_BULK: i64 = 20_000;

/// Create tasks in bulk. Each goes to the grid worker of the household's grid when that grid has
/// exactly one; households with an open task of the same kind are skipped.
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    request_body = BulkCreateTasks,
    responses(
        (status = 200, description = "What was created", body = BulkCreated),
        (status = 422, description = "Past due date, unknown form, or too many households", body = ErrorBody),
    )
)]
#[post("/tasks/bulk")]
// disallowed_methods: a constant limit still bound by diesel: to become limit_rows::<N>() (issue 20).
pub async fn bulk_create_tasks(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<BulkCreateTasks>,
) -> ApiResult<web::Json<BulkCreated>> {
    caller.require(COORDINATORS)?;
    let input = body.into_inner();
    check_due(input.due_date)?;
    let note = check_note(&input.note)?;
    let scope = caller.scope();
    let actor = caller.user_id.to_string();
    let out = state
        .into_inner()
        .tx(move |conn| {
            let targets =
                repo::households::targets_in_scope(conn, &scope, &input.target, MAX_BULK + 1)?;
            if targets.len() as i64 > MAX_BULK {
                return Err(ApiError::validation(vec![
                    jiuzhu_proto::error::FieldError {
                        field: "target".into(),
                        code: "too_many".into(),
                        message: format!(
                            "一次最多 {MAX_BULK} 户 / at most {MAX_BULK} households at once"
                        ),
                    },
                ]));
            }
            let ids: Vec<String> = targets.iter().map(|(id, _)| id.clone()).collect();
            let busy = repo::tasks::with_open_task(conn, &ids, input.kind.as_str())?;
            let now = db::now();
            let mut out = BulkCreated {
                created: 0,
                assigned: 0,
                skipped: 0,
            };
            let mut workers_by_grid = std::collections::HashMap::new();
            for (id, path) in &targets {
                if busy.contains(id) {
                    out.skipped += 1;
                    continue;
                }
                let workers = match workers_by_grid.get(path) {
                    Some(w) => w,
                    None => {
                        let w = repo::tasks::grid_workers(conn, path)?;
                        workers_by_grid.entry(path.clone()).or_insert(w)
                    }
                };
                let assignee = (workers.len() == 1).then(|| workers[0].clone());
                tasks::create(
                    conn,
                    NewTask {
                        kind: input.kind,
                        household_id: id,
                        household_path: path,
                        form_key: &input.form_key,
                        assignee: assignee.as_deref(),
                        due_date: input.due_date,
                        priority: input.priority,
                        note: &note,
                        actor: Some(&actor),
                    },
                    now,
                )?;
                out.created += 1;
                out.assigned += u32::from(assignee.is_some());
            }
            Ok(out)
        })
        .await?;
    Ok(web::Json(out))
}
