//! `POST /tasks/{id}/accept`: the assigned worker takes the task on.

use actix_web::{post, web};
use jiuzhu_proto::task::Task;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db;
use crate::error::ApiResult;
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
            let row = tasks::accept(conn, &scope, &id.to_string(), &me, db::now())?;
            tasks::to_api(row, crate::domain::time::today())
        })
        .await?;
    Ok(web::Json(task))
}
