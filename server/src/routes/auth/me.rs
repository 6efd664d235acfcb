//! `GET /me`: the caller's own account.

use actix_web::{get, web};
use jiuzhu_proto::user::User;
use jiuzhu_proto::ErrorBody;

use crate::db::repo;
use crate::error::{ApiError, ApiResult};
use crate::routes::extract::Enrolling;
use crate::state::AppState;

/// The account the token belongs to.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = User),
        (status = 401, description = "Not logged in", body = ErrorBody),
    )
)]
#[get("/me")]
pub async fn me(
    state: web::Data<AppState>,
    Enrolling(caller): Enrolling,
) -> ApiResult<web::Json<User>> {
    let id = caller.user_id.to_string();
    let found = state
        .into_inner()
        .db(move |conn| Ok(repo::users::find_with_code(conn, &id)?))
        .await?;
    let (row, code) = found.ok_or_else(ApiError::unauthorized)?;
    Ok(web::Json(row.into_api(code)?))
}
