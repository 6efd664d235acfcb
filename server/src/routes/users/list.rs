//! `GET /users`: accounts in the caller's subtree, by username.

use actix_web::{get, web};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::user::{Role, User};
use jiuzhu_proto::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::db::repo;
use crate::domain::roles::MANAGERS;
use crate::error::{ApiError, ApiResult};
use crate::routes::{page_limit, parse_id};
use crate::scope::Scope;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListUsersQuery {
    /// The `next` of the previous page.
    pub after: Option<String>,
    pub limit: Option<i64>,
    /// Only accounts of this role.
    pub role: Option<Role>,
    /// Only accounts of this unit and the units under it (404 when the unit is out of scope).
    pub org_unit_id: Option<String>,
    /// Only the accounts a task of this household may be assigned to: active grid workers of
    /// its community (404 when the household is out of scope).
    pub assignable_for: Option<String>,
}

/// Accounts in scope, optionally by role, by unit, or those a household's task may go to.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(ListUsersQuery),
    responses(
        (status = 200, description = "A page of users", body = Page<User>),
        (status = 403, description = "Role may not list users", body = ErrorBody),
        (status = 404, description = "The unit or household is not in scope", body = ErrorBody),
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
    let query = query.into_inner();
    let unit: Option<uuid::Uuid> = query.org_unit_id.as_deref().map(parse_id).transpose()?;
    let household: Option<uuid::Uuid> =
        query.assignable_for.as_deref().map(parse_id).transpose()?;
    let mut filter = repo::users::UserFilter {
        role: query.role.map(|r| r.as_str().to_owned()),
        active_only: false,
        after_username: query.after,
        limit,
    };
    let rows = state
        .into_inner()
        .db(move |conn| {
            let mut scope = scope;
            if let Some(unit) = unit {
                let row = repo::org_units::find_in_scope(conn, &scope, &unit.to_string())?
                    .ok_or_else(ApiError::not_found)?;
                scope = Scope::subtree(&row.path);
            }
            if let Some(household) = household {
                let path =
                    repo::households::org_path_in_scope(conn, &scope, &household.to_string())?
                        .ok_or_else(ApiError::not_found)?;
                scope = Scope::subtree(crate::tasks::community_path(&path));
                filter.role = Some(Role::GridWorker.as_str().to_owned());
                filter.active_only = true;
            }
            Ok(repo::users::list_in_scope(conn, &scope, &filter)?)
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
