//! `GET /my/self-reports`, `GET /my/applications`.

use actix_web::{get, web};
use jiuzhu_proto::application::MyApplication;
use jiuzhu_proto::citizen::MySelfReport;

use jiuzhu_proto::ErrorBody;

use crate::applications;
use crate::auth::Caller;
use crate::db::repo::applications::{self as app_repo, ApplicationFilter};
use crate::db::repo::self_reports as repo;
use crate::domain::roles;
use crate::error::ApiResult;
use crate::scope::Scope;
use crate::self_reports;
use crate::state::AppState;

/// The caller's own self-reports: status and public notes only.
#[utoipa::path(
    tag = "citizen",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "My reports, newest first", body = Vec<MySelfReport>),
        (status = 403, description = "Citizens only", body = ErrorBody),
    )
)]
#[get("/my/self-reports")]
pub async fn my_self_reports(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<MySelfReport>>> {
    caller.require(roles::CITIZENS)?;
    let me = caller.user_id.to_string();
    let rows = state
        .into_inner()
        .db(move |conn| Ok(repo::of_citizen(conn, &me, 200)?))
        .await?;
    let items = rows
        .iter()
        .map(self_reports::to_mine)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(items))
}

/// Applications for the households the caller's reports led to: states and public notes,
/// never internal notes or anyone else's data.
#[utoipa::path(
    tag = "citizen",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "My applications", body = Vec<MyApplication>),
        (status = 403, description = "Citizens only", body = ErrorBody),
    )
)]
#[get("/my/applications")]
pub async fn my_applications(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<MyApplication>>> {
    caller.require(roles::CITIZENS)?;
    let me = caller.user_id.to_string();
    let apps = state
        .into_inner()
        .db(move |conn| {
            let households = repo::households_of_citizen(conn, &me)?;
            if households.is_empty() {
                return Ok(Vec::new());
            }
            let filter = ApplicationFilter {
                households: Some(households),
                limit: 200,
                ..Default::default()
            };
            let rows = app_repo::list_in_scope(conn, &Scope::everything(), &filter)?;
            applications::to_api(conn, rows)
        })
        .await?;
    Ok(web::Json(
        apps.into_iter().map(applications::to_mine).collect(),
    ))
}
