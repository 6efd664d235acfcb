//! `GET /geo/locate`: where a point is: its grid and the units above it.

use actix_web::{get, web};
use jiuzhu_proto::geo::{Crs as WireCrs, LocateResponse};
use jiuzhu_proto::{ErrorBody, ErrorCode};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::domain::geo::{self, LatLon};
use crate::error::{ApiError, ApiResult};
use crate::places;
use crate::routes::geo::domain_crs;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LocateQuery {
    pub lat: f64,
    pub lon: f64,
    /// `wgs84` (default, phone GPS), `gcj02` (WeChat, Amap, Tencent) or `bd09` (Baidu).
    pub crs: Option<WireCrs>,
}

/// The grid containing a point and the units above it, or, outside every grid, the units whose
/// boundary holds it; `inside_city: false` when no unit does. A point on a border between grids
/// resolves to the grid with the smallest code, always.
#[utoipa::path(
    tag = "geo",
    security(("bearer" = [])),
    params(LocateQuery),
    responses(
        (status = 200, description = "The point in WGS-84 and the units around it", body = LocateResponse),
        (status = 422, description = "Not a valid coordinate", body = ErrorBody),
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
    let grid_id = state.grids.get().locate(wgs).map(|e| e.key.id.clone());
    let place = state
        .into_inner()
        .db(move |conn| places::around(conn, wgs, grid_id.as_deref()))
        .await?;
    Ok(web::Json(LocateResponse {
        lat: wgs.lat(),
        lon: wgs.lon(),
        grid: place.grid,
        community: place.community,
        street: place.street,
        district: place.district,
        city: place.city,
        inside_city: place.inside_city,
    }))
}
