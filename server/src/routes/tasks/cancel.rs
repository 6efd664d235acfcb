//! `POST /tasks/{id}/cancel`: withdraw an open task, with a reason.

use actix_web::{post, web};
use jiuzhu_proto::task::{CancelTask, Task};
use jiuzhu_proto::{ErrorBody, ErrorCode};

use crate::auth::Caller;
use crate::changes;
use crate::db::{self, repo};
use crate::error::{ApiError, ApiResult};
use crate::routes::households::COORDINATORS;
use crate::routes::parse_id;
use crate::state::AppState;
use crate::tasks;

/// Cancel an open task (coordinators and above). The worker's phone gets a tombstone.
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Task id")),
    request_body = CancelTask,
    responses(
        (status = 200, description = "Cancelled", body = Task),
        (status = 400, description = "No reason", body = ErrorBody),
        (status = 404, description = "No such task in scope", body = ErrorBody),
        (status = 409, description = "Already closed", body = ErrorBody),
    )
)]
#[post("/tasks/{id}/cancel")]
pub async fn cancel_task(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<CancelTask>,
) -> ApiResult<web::Json<Task>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let reason = body.into_inner().reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::bad_request(
            ErrorCode::ValidationFailed,
            "须填写取消理由",
            "a reason (up to 500 characters) is required",
        ));
    }
    let scope = caller.scope();
    let actor = caller.user_id.to_string();
    let task = state
        .into_inner()
        .tx(move |conn| {
            let task = repo::tasks::find_in_scope(conn, &scope, &id.to_string())?
                .ok_or_else(ApiError::not_found)?;
            let now = db::now();
            if !repo::tasks::transition(
                conn,
                &task.id,
                &["pending", "assigned", "accepted"],
                "cancelled",
                None,
                None,
                now,
            )? {
                return Err(tasks::not_open());
            }
            repo::tasks::record_event(
                conn,
                &task.id,
                Some(&task.state),
                "cancelled",
                Some(&actor),
                &reason,
                now,
            )?;
            if let Some(worker) = &task.assignee_id {
                changes::record(conn, "task", &task.id, Some(worker), changes::DELETE)?;
            }
            let row = repo::tasks::find(conn, &task.id)?.ok_or_else(ApiError::not_found)?;
            tasks::to_api(row, crate::registry::today())
        })
        .await?;
    Ok(web::Json(task))
}
