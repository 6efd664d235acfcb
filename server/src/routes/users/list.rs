//! `GET /users`: accounts in the caller's subtree, by username.

use actix_web::{get, web};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::user::User;
use jiuzhu_proto::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::db::repo;
use crate::error::ApiResult;
use crate::routes::{page_limit, users::MANAGERS};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListUsersQuery {
    /// The `next` of the previous page.
    pub after: Option<String>,
    pub limit: Option<i64>,
}

/// Accounts in scope.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(ListUsersQuery),
    responses(
        (status = 200, description = "A page of users", body = Page<User>),
        (status = 403, description = "Role may not list users", body = ErrorBody),
    )
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListUsersQuery>,
) -> ApiResult<web::Json<Page<User>>> {
    caller.require(MANAGERS)?;
    let scope = caller.scope();
    let limit = page_limit(query.limit);
    let after = query.into_inner().after;
    let rows = state
        .into_inner()
        .db(move |conn| {
            Ok(repo::users::list_in_scope(
                conn,
                &scope,
                after.as_deref(),
                limit,
            )?)
        })
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|(u, _)| u.username.clone()))
        .flatten();
    let items = rows
        .into_iter()
        .map(|(u, code)| u.into_api(code))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(Page { items, next }))
}
