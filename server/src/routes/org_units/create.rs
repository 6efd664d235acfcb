//! `POST /org-units`: one unit under a parent in the caller's subtree.

use actix_web::{post, web, HttpResponse};
use jiuzhu_proto::geo::Crs as WireCrs;
use jiuzhu_proto::org::{CreateOrgUnit, OrgUnit};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::repo::org_units;
use crate::domain::geo::BoundaryLimits;
use crate::domain::roles::EDITORS;
use crate::error::{ApiError, ApiResult};
use crate::grid_index;
use crate::imports::boundaries::{self, OnExisting};
use crate::routes::geo::domain_crs;
use crate::state::AppState;

/// Create an org unit. Its code must extend its parent's (docs/domain.md); a grid needs a boundary.
#[utoipa::path(
    tag = "org",
    security(("bearer" = [])),
    request_body = CreateOrgUnit,
    responses(
        (status = 201, description = "Created", body = OrgUnit),
        (status = 404, description = "Parent not found in scope", body = ErrorBody),
        (status = 409, description = "Code taken", body = ErrorBody),
        (status = 422, description = "Invalid fields: a bad code, parent kind or boundary", body = ErrorBody),
    )
)]
#[post("/org-units")]
pub async fn create_org_unit(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateOrgUnit>,
) -> ApiResult<HttpResponse> {
    caller.require(EDITORS)?;
    let state = state.into_inner();
    let input = body.into_inner();
    let limits = BoundaryLimits {
        max_vertices: state.settings.max_boundary_vertices,
    };
    let crs = domain_crs(input.crs.unwrap_or(WireCrs::Wgs84));
    let geometry = match input.boundary {
        Some(value) => Some(geojson::Geometry::from_json_value(value).map_err(|e| {
            ApiError::bad_request(
                jiuzhu_proto::ErrorCode::InvalidGeometry,
                "边界不是有效的 GeoJSON 几何",
                format!("the boundary is not a GeoJSON geometry: {e}"),
            )
        })?),
        None => None,
    };
    let scope = caller.scope();
    let is_grid = input.kind == jiuzhu_proto::org::OrgKind::Grid;
    let created = state
        .tx(move |conn| {
            let mut errors = Vec::new();
            let raw = boundaries::RawUnit {
                kind: Some(input.kind),
                code: input.code.trim(),
                name: &input.name,
                geometry: geometry.as_ref(),
            };
            let spec = boundaries::unit_spec("", raw, crs, &limits, &mut errors);
            let Some(spec) = spec.filter(|_| errors.is_empty()) else {
                let geometry_problem = errors
                    .iter()
                    .any(|e| e.field == "geometry" && e.code != "boundary_required");
                let mut err = ApiError::validation(errors);
                if geometry_problem {
                    err.code = jiuzhu_proto::ErrorCode::InvalidGeometry;
                }
                return Err(err);
            };
            match input.parent_id {
                Some(parent_id) => {
                    let parent = org_units::find_in_scope(conn, &scope, &parent_id.to_string())?
                        .ok_or_else(ApiError::not_found)?;
                    boundaries::check_parent(&spec, &parent)?;
                }
                None if spec.parent_code.is_some() => {
                    return Err(ApiError::bad_request(
                        jiuzhu_proto::ErrorCode::ParentNotFound,
                        "缺少上级单位",
                        "parent_id is required for every unit below a city",
                    ))
                }
                None => return Err(ApiError::forbidden()),
            }
            let (_, mut rows) = boundaries::apply(conn, &scope, &[spec], OnExisting::Refuse)?;
            rows.pop().ok_or_else(ApiError::not_found)?.into_api(true)
        })
        .await?;
    if is_grid {
        grid_index::boundaries_changed(
            &state.database,
            &state.grids,
            Some(caller.user_id.to_string()),
        )
        .await?;
    }
    Ok(HttpResponse::Created().json(created))
}
