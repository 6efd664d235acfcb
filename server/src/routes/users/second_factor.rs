//! `DELETE /users/{id}/second-factor`: an admin removes another account's second factor (a
//! lost or replaced phone); the account logs in with its password alone until it sets one up
//! again. One's own needs another admin, as a change of one's own role does.

use actix_web::http::StatusCode;
use actix_web::{delete, web};
use jiuzhu_proto::user::User;
use jiuzhu_proto::{ErrorBody, ErrorCode, UserId};

use crate::accounts;
use crate::auth::Caller;
use crate::db::repo;
use crate::domain::roles::ADMINS;
use crate::error::{ApiError, ApiResult};
use crate::routes::parse_id;
use crate::state::AppState;

/// Remove an account's second factor. Its sessions end, so that whoever holds the lost phone
/// and a session cannot go on.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Removed", body = User),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Not an admin, or one's own account", body = ErrorBody),
        (status = 404, description = "No such user in scope", body = ErrorBody),
    )
)]
#[delete("/users/{id}/second-factor")]
pub async fn reset_second_factor(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<web::Json<User>> {
    caller.require(ADMINS)?;
    let id: UserId = parse_id(&path)?;
    let id = id.to_string();
    let scope = caller.scope();
    let own = id == caller.user_id.to_string();
    let user = state
        .into_inner()
        .tx(move |conn| {
            let (target, _) =
                repo::users::find_in_scope(conn, &scope, &id)?.ok_or_else(ApiError::not_found)?;
            if own {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::Forbidden,
                    "不能重置自己的两步验证，请由另一名管理员操作",
                    "you cannot reset your own two-step verification: another admin must",
                ));
            }
            accounts::remove_second_factor(conn, &target)?;
            let (row, code) =
                repo::users::find_with_code(conn, &id)?.ok_or_else(ApiError::not_found)?;
            row.into_api(code)
        })
        .await?;
    Ok(web::Json(user))
}
