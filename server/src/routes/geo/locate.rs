//! `GET /geo/locate`: which grid a point falls in.

use actix_web::{get, web};
use jiuzhu_proto::geo::{Crs as WireCrs, GridRef, LocateResponse};
use jiuzhu_proto::{ErrorBody, ErrorCode};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::domain::geo::{self, LatLon};
use crate::error::{ApiError, ApiResult};
use crate::routes::geo::domain_crs;
use crate::routes::parse_id;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LocateQuery {
    pub lat: f64,
    pub lon: f64,
    /// `wgs84` (default, phone GPS), `gcj02` (WeChat, Amap, Tencent) or `bd09` (Baidu).
    pub crs: Option<WireCrs>,
}

/// The grid containing a point. A point on a border between grids resolves to the grid with the
/// smallest code, always.
#[utoipa::path(
    tag = "geo",
    security(("bearer" = [])),
    params(LocateQuery),
    responses(
        (status = 200, description = "The point in WGS-84 and its grid, if any", body = LocateResponse),
        (status = 400, description = "Not a valid coordinate", body = ErrorBody),
    )
)]
#[get("/geo/locate")]
pub async fn locate(
    state: web::Data<AppState>,
    _caller: Caller,
    query: web::Query<LocateQuery>,
) -> ApiResult<web::Json<LocateResponse>> {
    let crs = domain_crs(query.crs.unwrap_or(WireCrs::Wgs84));
    let point = LatLon::new(query.lat, query.lon).map_err(|e| {
        ApiError::bad_request(ErrorCode::InvalidCoordinate, "坐标无效", e.to_string())
    })?;
    let wgs = geo::to_wgs84(point, crs);
    let lookup = state.grids.get();
    let grid = match lookup.locate(wgs) {
        Some(entry) => Some(GridRef {
            id: parse_id(&entry.key.id)?,
            code: entry.code.clone(),
            name: entry.key.name.clone(),
        }),
        None => None,
    };
    Ok(web::Json(LocateResponse {
        lat: wgs.lat(),
        lon: wgs.lon(),
        grid,
    }))
}
