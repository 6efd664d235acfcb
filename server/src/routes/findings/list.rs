//! `GET /findings`, `GET /findings/{id}`.

use actix_web::{get, web};
use jiuzhu_proto::finding::{Finding, FindingState};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::db::repo::findings::{self as repo, FindingFilter};
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::findings;
use crate::routes::{page_limit, parse_id};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListFindingsQuery {
    pub household_id: Option<uuid::Uuid>,
    /// The finding type (a rule id, or `self_report`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub state: Option<FindingState>,
    pub after: Option<String>,
    pub limit: Option<i64>,
}

/// Findings in scope, by id (coordinators and above). Reports outside every grid wait in the
/// city's queue, seen by city-level staff.
#[utoipa::path(
    tag = "discovery",
    security(("bearer" = [])),
    params(ListFindingsQuery),
    responses(
        (status = 200, description = "A page of findings", body = Page<Finding>),
        (status = 403, description = "Coordinators and above", body = ErrorBody),
    )
)]
#[get("/findings")]
pub async fn list_findings(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListFindingsQuery>,
) -> ApiResult<web::Json<Page<Finding>>> {
    caller.require(COORDINATORS)?;
    let q = query.into_inner();
    let filter = FindingFilter {
        household_id: q.household_id.map(|h| h.to_string()),
        kind: q.kind,
        state: q.state.map(|s| s.as_str().to_owned()),
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
            let items = rows
                .into_iter()
                .map(|r| findings::to_api(conn, r))
                .collect::<ApiResult<Vec<_>>>()?;
            Ok((items, next))
        })
        .await?;
    Ok(web::Json(Page { items, next }))
}

/// One finding in scope.
#[utoipa::path(
    tag = "discovery",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Finding id")),
    responses(
        (status = 200, description = "The finding", body = Finding),
        (status = 404, description = "No such finding in scope", body = ErrorBody),
    )
)]
#[get("/findings/{id}")]
pub async fn get_finding(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<web::Json<Finding>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let scope = caller.scope();
    let finding = state
        .into_inner()
        .db(move |conn| {
            let row = repo::find_in_scope(conn, &scope, &id.to_string())?
                .ok_or_else(ApiError::not_found)?;
            findings::to_api(conn, row)
        })
        .await?;
    Ok(web::Json(finding))
}
