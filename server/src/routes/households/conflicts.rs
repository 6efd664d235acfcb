//! `GET /households/conflicts`: ID numbers found in two households, for coordinators.

use actix_web::{get, web};
use jiuzhu_proto::household::IdConflict;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::repo::households as repo;
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Open and resolved ID-number conflicts in scope, newest first.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Conflicts", body = Vec<IdConflict>),
        (status = 403, description = "Role may not see conflicts", body = ErrorBody),
    )
)]
#[get("/households/conflicts")]
pub async fn list_conflicts(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<IdConflict>>> {
    caller.require(COORDINATORS)?;
    let scope = caller.scope();
    let rows = state
        .into_inner()
        .db(move |conn| Ok(repo::conflicts_in_scope(conn, &scope, 500)?))
        .await?;
    let out = rows
        .into_iter()
        .map(|r| {
            Ok(IdConflict {
                id: r.id.parse().map_err(ApiError::internal)?,
                id_number_masked: r.id_masked,
                existing_household_id: r
                    .existing_household_id
                    .parse()
                    .map_err(ApiError::internal)?,
                attempted: r.attempted,
                created_at: r.created_at.and_utc(),
                resolved: r.resolved,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(out))
}
