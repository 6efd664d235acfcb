//! `POST /tasks/{id}/cancel`: withdraw an open task, with a reason.

use actix_web::{post, web};
use jiuzhu_proto::task::{CancelTask, Task};
use jiuzhu_proto::{ErrorBody, ErrorCode};

use crate::auth::Caller;
use crate::db;
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
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
        (status = 422, description = "No reason", body = ErrorBody),
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
            let row = tasks::cancel(conn, &scope, &id.to_string(), &actor, &reason, db::now())?;
            tasks::to_api(row, crate::domain::time::today())
        })
        .await?;
    Ok(web::Json(task))
}
