//! `POST /org-units/import`: a GeoJSON FeatureCollection of units, all or nothing.

use actix_web::{post, web};
use jiuzhu_proto::geo::Crs as WireCrs;
use jiuzhu_proto::org::ImportReport;
use jiuzhu_proto::{ErrorBody, ErrorCode};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::domain::geo::BoundaryLimits;
use crate::domain::roles::EDITORS;
use crate::error::{ApiError, ApiResult};
use crate::grid_index;
use crate::imports::boundaries::{self, OnExisting};
use crate::routes::geo::domain_crs;
use crate::routes::read_body;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The coordinate system of the file: `wgs84` or `gcj02` (DataV/Amap exports).
    pub crs: WireCrs,
}

/// Import units from GeoJSON. Each feature carries `code` (or `adcode`) and `name`, optionally
/// `kind`; parents must exist or be in the same file. Existing codes are brought up to date.
#[utoipa::path(
    tag = "org",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = Object, content_type = "application/geo+json", description = "A GeoJSON FeatureCollection"),
    responses(
        (status = 200, description = "What changed", body = ImportReport),
        (status = 400, description = "Not UTF-8", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "Not GeoJSON, a parent missing, or invalid features (every one listed)", body = ErrorBody),
    )
)]
#[post("/org-units/import")]
pub async fn import_org_units(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ImportQuery>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> ApiResult<web::Json<ImportReport>> {
    caller.require(EDITORS)?;
    let state = state.into_inner();
    let crs = domain_crs(query.crs);
    if crs == crate::domain::geo::Crs::Bd09 {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidCrs,
            "边界只接受 wgs84 或 gcj02",
            "boundaries are accepted in wgs84 or gcj02",
        ));
    }
    let limits = BoundaryLimits {
        max_vertices: state.settings.max_boundary_vertices,
    };
    let body = read_body(&req, payload, state.settings.boundary_import_limit_bytes).await?;
    let text = String::from_utf8(body).map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidJson,
            "文件不是 UTF-8",
            "the body is not UTF-8",
        )
    })?;
    // Parsing and validating a large file is CPU work: keep it off the async workers.
    let span = tracing::Span::current();
    let specs = web::block(move || {
        let _entered = span.enter();
        boundaries::parse_collection(&text, crs, &limits)
    })
    .await??;
    let scope = caller.scope();
    let touches_grids = specs
        .iter()
        .any(|s| s.kind == jiuzhu_proto::org::OrgKind::Grid);
    let report = state
        .tx(move |conn| Ok(boundaries::apply(conn, &scope, &specs, OnExisting::Update)?.0))
        .await?;
    if touches_grids {
        grid_index::boundaries_changed(
            &state.database,
            &state.grids,
            Some(caller.user_id.to_string()),
        )
        .await?;
    }
    Ok(web::Json(report))
}
