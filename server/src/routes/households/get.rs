//! `GET /households/{id}`: one household with members (numbers masked) and status history.

use actix_web::{get, web};
use jiuzhu_proto::household::Household;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::domain::roles::STAFF;
use crate::error::{ApiError, ApiResult};
use crate::registry::read;
use crate::routes::parse_id;
use crate::state::AppState;

/// One household in scope.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Household id")),
    responses(
        (status = 200, description = "The household", body = Household),
        (status = 404, description = "No such household in scope", body = ErrorBody),
    )
)]
#[get("/households/{id}")]
pub async fn get_household(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<web::Json<Household>> {
    caller.require(STAFF)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let scope = caller.scope();
    let household = state
        .into_inner()
        .db(move |conn| {
            read::household(conn, &scope, &id.to_string())?
                .map(|h| crate::audit::household_viewed(conn, &scope, h))
                .transpose()
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(web::Json(household))
}
