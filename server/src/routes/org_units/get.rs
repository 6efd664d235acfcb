//! `GET /org-units/{id}`: one unit with its boundary.

use actix_web::{get, web};
use jiuzhu_proto::org::OrgUnit;
use jiuzhu_proto::{ErrorBody, OrgUnitId};

use crate::auth::Caller;
use crate::db::repo::org_units;
use crate::error::{ApiError, ApiResult};
use crate::routes::parse_id;
use crate::state::AppState;

/// One org unit in scope, boundary included (GeoJSON, WGS-84).
#[utoipa::path(
    tag = "org",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Org unit id")),
    responses(
        (status = 200, description = "The unit", body = OrgUnit),
        (status = 404, description = "No such unit in scope", body = ErrorBody),
    )
)]
#[get("/org-units/{id}")]
pub async fn get_org_unit(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<web::Json<OrgUnit>> {
    let id: OrgUnitId = parse_id(&path)?;
    let id = id.to_string();
    let scope = caller.scope();
    let row = state
        .into_inner()
        .db(move |conn| Ok(org_units::find_in_scope(conn, &scope, &id)?))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(web::Json(row.into_api(true)?))
}
