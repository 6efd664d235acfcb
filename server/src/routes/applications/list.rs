//! `GET /applications`, `GET /applications/{id}`.

use actix_web::{get, web};
use jiuzhu_proto::application::{Application, ApplicationState};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::applications;
use crate::auth::Caller;
use crate::db::repo::applications::{self as repo, ApplicationFilter};
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::routes::{page_limit, parse_id};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListApplicationsQuery {
    pub household_id: Option<uuid::Uuid>,
    pub state: Option<ApplicationState>,
    /// Only overdue (true) or not overdue (false) applications of the page.
    pub overdue: Option<bool>,
    pub after: Option<String>,
    pub limit: Option<i64>,
}

/// Applications in scope, by id, each with its overdue flag (coordinators and above).
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    params(ListApplicationsQuery),
    responses(
        (status = 200, description = "A page of applications", body = Page<Application>),
        (status = 403, description = "Coordinators and above", body = ErrorBody),
    )
)]
#[get("/applications")]
pub async fn list_applications(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListApplicationsQuery>,
) -> ApiResult<web::Json<Page<Application>>> {
    caller.require(COORDINATORS)?;
    let q = query.into_inner();
    let filter = ApplicationFilter {
        household_id: q.household_id.map(|h| h.to_string()),
        state: q.state.map(|s| s.as_str().to_owned()),
        households: None,
        after: q.after,
        limit: page_limit(q.limit),
    };
    let scope = caller.scope();
    let limit = filter.limit;
    let (items, next) = state
        .into_inner()
        .db(move |conn| {
            let rows = repo::list_in_scope(conn, &scope, &filter)?;
            let next = crate::routes::next_after(&rows, limit, |r| &r.id);
            Ok((applications::to_api(conn, rows)?, next))
        })
        .await?;
    let items = items
        .into_iter()
        .filter(|a| q.overdue.is_none_or(|o| a.overdue == o))
        .collect();
    Ok(web::Json(Page { items, next }))
}

/// One application in scope, with its categories and timeline.
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id")),
    responses(
        (status = 200, description = "The application", body = Application),
        (status = 404, description = "No such application in scope", body = ErrorBody),
    )
)]
#[get("/applications/{id}")]
pub async fn get_application(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<web::Json<Application>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let scope = caller.scope();
    let app = state
        .into_inner()
        .db(move |conn| {
            let row = repo::find_in_scope(conn, &scope, &id.to_string())?
                .ok_or_else(ApiError::not_found)?;
            applications::to_api(conn, vec![row])?
                .pop()
                .ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(web::Json(applications::with_allowed_actions(
        app,
        caller.role,
    )))
}
