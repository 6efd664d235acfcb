//! `GET /forms/{key}/versions/{version}`: one published version.

use actix_web::{get, web};
use jiuzhu_proto::task::FormVersion;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::domain::roles::STAFF;
use crate::error::{ApiError, ApiResult};
use crate::forms;
use crate::state::AppState;

/// A published version of a form.
#[utoipa::path(
    tag = "forms",
    security(("bearer" = [])),
    params(
        ("key" = String, Path, description = "Form key"),
        ("version" = i32, Path, description = "Version"),
    ),
    responses(
        (status = 200, description = "The version", body = FormVersion),
        (status = 404, description = "No such version", body = ErrorBody),
    )
)]
#[get("/forms/{key}/versions/{version}")]
pub async fn get_form_version(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, i32)>,
) -> ApiResult<web::Json<FormVersion>> {
    caller.require(STAFF)?;
    let (key, version) = path.into_inner();
    let found = state
        .into_inner()
        .db(move |conn| forms::version(conn, &key, version))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(web::Json(found))
}
