//! `POST /tasks`: one task for one household.

use actix_web::{post, web, HttpResponse};
use jiuzhu_proto::task::{CreateTask, Task};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::{self, repo};
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::routes::tasks::{check_due, check_note};
use crate::state::AppState;
use crate::tasks::{self, NewTask};

/// Create a task (coordinators and above, for a household in scope).
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    request_body = CreateTask,
    responses(
        (status = 201, description = "Created", body = Task),
        (status = 404, description = "No such household in scope", body = ErrorBody),
        (status = 422, description = "Past due date, unknown form, or an assignee outside the household's community", body = ErrorBody),
    )
)]
#[post("/tasks")]
pub async fn create_task(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateTask>,
) -> ApiResult<HttpResponse> {
    caller.require(COORDINATORS)?;
    let input = body.into_inner();
    check_due(input.due_date)?;
    let note = check_note(&input.note)?;
    let scope = caller.scope();
    let actor = caller.user_id.to_string();
    let task = state
        .into_inner()
        .tx(move |conn| {
            let (household, _) =
                repo::households::find_in_scope(conn, &scope, &input.household_id.to_string())?
                    .ok_or_else(ApiError::not_found)?;
            let assignee = input.assignee_id.map(|a| a.to_string());
            let row = tasks::create(
                conn,
                NewTask {
                    kind: input.kind,
                    household_id: &household.id,
                    household_path: &household.org_path,
                    form_key: &input.form_key,
                    assignee: assignee.as_deref(),
                    due_date: input.due_date,
                    priority: input.priority,
                    note: &note,
                    actor: Some(&actor),
                },
                db::now(),
            )?;
            tasks::to_api(row, crate::domain::time::today())
        })
        .await?;
    Ok(HttpResponse::Created().json(task))
}
