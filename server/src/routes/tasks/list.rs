//! `GET /tasks`: tasks in scope; a grid worker sees only their own.

use actix_web::{get, web};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::task::{Task, TaskState};
use jiuzhu_proto::user::Role;
use jiuzhu_proto::{ErrorBody, UserId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::db::repo::tasks::{self as repo, TaskFilter};
use crate::domain::roles::STAFF;
use crate::error::ApiResult;
use crate::routes::page_limit;
use crate::state::AppState;
use crate::tasks;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListTasksQuery {
    pub assignee_id: Option<UserId>,
    pub state: Option<TaskState>,
    pub household_id: Option<uuid::Uuid>,
    pub after: Option<String>,
    pub limit: Option<i64>,
}

/// Tasks in scope, oldest first, each with its `overdue` flag.
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    params(ListTasksQuery),
    responses(
        (status = 200, description = "A page of tasks", body = Page<Task>),
        (status = 403, description = "Citizens have no tasks", body = ErrorBody),
    )
)]
#[get("/tasks")]
pub async fn list_tasks(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListTasksQuery>,
) -> ApiResult<web::Json<Page<Task>>> {
    caller.require(STAFF)?;
    let q = query.into_inner();
    let own = caller.role == Role::GridWorker;
    let filter = TaskFilter {
        assignee_id: if own {
            Some(caller.user_id.to_string())
        } else {
            q.assignee_id.map(|a| a.to_string())
        },
        state: q.state.map(|s| s.as_str().to_owned()),
        household_id: q.household_id.map(|h| h.to_string()),
        after: q.after,
        limit: page_limit(q.limit),
    };
    let scope = caller.scope();
    let limit = filter.limit;
    let rows = state
        .into_inner()
        .db(move |conn| Ok(repo::list_in_scope(conn, &scope, &filter)?))
        .await?;
    let next = crate::routes::next_after(&rows, limit, |r| &r.id);
    let today = crate::domain::time::today();
    let items = rows
        .into_iter()
        .map(|r| tasks::to_api(r, today))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(Page { items, next }))
}
