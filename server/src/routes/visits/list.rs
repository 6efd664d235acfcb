//! `GET /visits`.

use actix_web::{get, web};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::user::Role;
use jiuzhu_proto::visit::{ReviewState, Visit};
use jiuzhu_proto::{ErrorBody, UserId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::db::repo::visits::{self as repo, VisitFilter};
use crate::domain::roles::STAFF;
use crate::error::ApiResult;
use crate::routes::page_limit;
use crate::state::AppState;
use crate::visits;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListVisitsQuery {
    pub household_id: Option<uuid::Uuid>,
    pub worker_id: Option<UserId>,
    /// Only visits with (true) or without (false) flags.
    pub flagged: Option<bool>,
    pub review_state: Option<ReviewState>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    pub limit: Option<i64>,
}

/// Visits in scope, by id. A grid worker sees only their own.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    params(ListVisitsQuery),
    responses(
        (status = 200, description = "A page of visits", body = Page<Visit>),
        (status = 403, description = "Citizens have no visits", body = ErrorBody),
    )
)]
#[get("/visits")]
pub async fn list_visits(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListVisitsQuery>,
) -> ApiResult<web::Json<Page<Visit>>> {
    caller.require(STAFF)?;
    let q = query.into_inner();
    let filter = VisitFilter {
        household_id: q.household_id.map(|h| h.to_string()),
        worker_id: if caller.role == Role::GridWorker {
            Some(caller.user_id.to_string())
        } else {
            q.worker_id.map(|w| w.to_string())
        },
        flagged: q.flagged,
        review_state: q.review_state.map(|s| s.as_str().to_owned()),
        after: q.after,
        limit: page_limit(q.limit),
    };
    let scope = caller.scope();
    let limit = filter.limit;
    let state = state.into_inner();
    let st = state.clone();
    let rows = state
        .db(move |conn| Ok(repo::list_in_scope(conn, &scope, &filter)?))
        .await?;
    let next = crate::routes::next_after(&rows, limit, |r| &r.id);
    let items = rows
        .into_iter()
        .map(|r| visits::to_api(r, &st.cipher))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(Page { items, next }))
}
