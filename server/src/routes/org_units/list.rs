//! `GET /org-units`: units in scope, in path order (parents before their children).

use actix_web::{get, web};
use jiuzhu_proto::org::{OrgKind, OrgUnit};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::{ErrorBody, OrgUnitId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::db::repo::org_units::{self, OrgUnitFilter};
use crate::error::ApiResult;
use crate::routes::page_limit;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListOrgUnitsQuery {
    pub parent_id: Option<OrgUnitId>,
    pub kind: Option<OrgKind>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    pub limit: Option<i64>,
    /// Include each unit's boundary (GeoJSON, WGS-84): a map draws a page of grids from one
    /// answer instead of one request per grid.
    pub boundary: Option<bool>,
}

/// Org units in scope.
#[utoipa::path(
    tag = "org",
    security(("bearer" = [])),
    params(ListOrgUnitsQuery),
    responses(
        (status = 200, description = "A page of units (with boundaries when asked for)", body = Page<OrgUnit>),
        (status = 401, description = "Not logged in", body = ErrorBody),
    )
)]
#[get("/org-units")]
pub async fn list_org_units(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListOrgUnitsQuery>,
) -> ApiResult<web::Json<Page<OrgUnit>>> {
    let scope = caller.scope();
    let query = query.into_inner();
    let with_boundary = query.boundary.unwrap_or(false);
    let filter = OrgUnitFilter {
        parent_id: query.parent_id.map(|p| p.to_string()),
        kind: query.kind.map(|k| k.as_str().to_owned()),
        after_path: query.after,
        limit: page_limit(query.limit),
    };
    let limit = filter.limit;
    let rows = state
        .into_inner()
        .db(move |conn| Ok(org_units::list_in_scope(conn, &scope, &filter)?))
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.path.clone()))
        .flatten();
    let items = rows
        .into_iter()
        .map(|r| r.into_api(with_boundary))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(Page { items, next }))
}
