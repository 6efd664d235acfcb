//! `POST /tasks/{id}/assign`: assign or reassign; the old worker's phone gets a tombstone.

use actix_web::{post, web};
use jiuzhu_proto::task::{AssignTask, Task};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::{self, repo};
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::routes::parse_id;
use crate::state::AppState;
use crate::tasks;

/// Assign a task to a grid worker of the household's community.
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Task id")),
    request_body = AssignTask,
    responses(
        (status = 200, description = "Assigned", body = Task),
        (status = 404, description = "No such task in scope", body = ErrorBody),
        (status = 409, description = "The task is closed", body = ErrorBody),
        (status = 422, description = "Assignee outside the household's community", body = ErrorBody),
    )
)]
#[post("/tasks/{id}/assign")]
pub async fn assign_task(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<AssignTask>,
) -> ApiResult<web::Json<Task>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let assignee = body.into_inner().assignee_id.to_string();
    let scope = caller.scope();
    let actor = caller.user_id.to_string();
    let task = state
        .into_inner()
        .tx(move |conn| {
            let task = repo::tasks::find_in_scope(conn, &scope, &id.to_string())?
                .ok_or_else(ApiError::not_found)?;
            tasks::assign(conn, &task, &assignee, Some(&actor), db::now())?;
            let row = repo::tasks::find(conn, &task.id)?.ok_or_else(ApiError::not_found)?;
            tasks::to_api(row, crate::domain::time::today())
        })
        .await?;
    Ok(web::Json(task))
}
