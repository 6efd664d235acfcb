//! `POST /tasks/{id}/accept`: the assigned worker takes the task on.

use actix_web::{post, web};
use jiuzhu_proto::task::Task;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::changes;
use crate::db::{self, repo};
use crate::error::{ApiError, ApiResult};
use crate::routes::parse_id;
use crate::state::AppState;
use crate::tasks;

/// Accept your own assigned task. Someone else's task answers 404.
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "Accepted", body = Task),
        (status = 404, description = "Not your task", body = ErrorBody),
        (status = 409, description = "Not in the assigned state", body = ErrorBody),
    )
)]
#[post("/tasks/{id}/accept")]
pub async fn accept_task(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<web::Json<Task>> {
    let id: uuid::Uuid = parse_id(&path)?;
    let me = caller.user_id.to_string();
    let scope = caller.scope();
    let task = state
        .into_inner()
        .tx(move |conn| {
            let task = repo::tasks::find_in_scope(conn, &scope, &id.to_string())?
                .filter(|t| t.assignee_id.as_deref() == Some(me.as_str()))
                .ok_or_else(ApiError::not_found)?;
            let now = db::now();
            if !repo::tasks::transition(conn, &task.id, &["assigned"], "accepted", None, None, now)?
            {
                return Err(tasks::not_open());
            }
            repo::tasks::record_event(
                conn,
                &task.id,
                Some(&task.state),
                "accepted",
                Some(&me),
                "",
                now,
            )?;
            changes::record(conn, "task", &task.id, Some(&me), changes::UPSERT)?;
            let row = repo::tasks::find(conn, &task.id)?.ok_or_else(ApiError::not_found)?;
            tasks::to_api(row, crate::registry::today())
        })
        .await?;
    Ok(web::Json(task))
}
