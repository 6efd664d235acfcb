//! `PATCH /users/{id}`: rename, re-bind, change role, disable, or set a new password.

use actix_web::{patch, web};
use jiuzhu_proto::user::{Role, UpdateUser, User};
use jiuzhu_proto::{ErrorBody, UserId};
use secrecy::SecretString;

use crate::accounts::check_binding;
use crate::auth::{password, Caller};
use crate::db::{self, repo};
use crate::domain::roles::{may_manage, MANAGERS};
use crate::error::{ApiError, ApiResult};
use crate::routes::parse_id;
use crate::state::AppState;

/// Change an account in scope. A new password, a new role or unit, or disabling revokes every
/// token the user holds.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "Updated", body = User),
        (status = 422, description = "Bad display name, password or role binding", body = ErrorBody),
        (status = 403, description = "Role may not change this user", body = ErrorBody),
        (status = 404, description = "No such user in scope", body = ErrorBody),
        (status = 409, description = "It would leave no active admin", body = ErrorBody),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UpdateUser>,
) -> ApiResult<web::Json<User>> {
    caller.require(MANAGERS)?;
    let state = state.into_inner();
    let id: UserId = parse_id(&path)?;
    let id = id.to_string();
    let input = body.into_inner();
    let scope = caller.scope();

    let (target, _) = {
        let (scope, id) = (scope.clone(), id.clone());
        state
            .db(move |conn| Ok(repo::users::find_in_scope(conn, &scope, &id)?))
            .await?
            .ok_or_else(ApiError::not_found)?
    };
    let current_role =
        Role::parse(&target.role).ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad role")))?;
    let new_role = input.role.unwrap_or(current_role);
    if !may_manage(caller.role, current_role) || !may_manage(caller.role, new_role) {
        return Err(ApiError::forbidden());
    }
    // Nobody changes their own role or unit, or disables themselves: another manager must, so
    // that one account can never lock the city out of its own administration.
    let own = target.id == caller.user_id.to_string();
    if own
        && (new_role != current_role || input.org_unit_id.is_some() || input.disabled == Some(true))
    {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            jiuzhu_proto::ErrorCode::Forbidden,
            "不能更改自己的角色、单位或停用自己，请由另一名管理员操作",
            "you cannot change your own role or unit or disable yourself: another manager must",
        ));
    }
    let display_name = input
        .display_name
        .as_deref()
        .map(crate::imports::boundaries::check_name)
        .transpose()
        .map_err(|m| {
            ApiError::bad_request(jiuzhu_proto::ErrorCode::ValidationFailed, "姓名不合规", m)
        })?;
    let password_hash = match input.password {
        Some(p) => {
            password::check_policy(&p)?;
            Some(state.hasher.hash(SecretString::from(p)).await?)
        }
        None => None,
    };

    let new_unit = input.org_unit_id.map(|u| u.to_string());
    let disabled = input.disabled;
    let updated = state
        .tx(move |conn| {
            let now = db::now();
            let unit = match &new_unit {
                Some(unit_id) => Some(
                    repo::org_units::find_in_scope(conn, &scope, unit_id)?
                        .ok_or_else(ApiError::not_found)?,
                ),
                None => None,
            };
            let binding = match &unit {
                Some(u) => u.clone(),
                None => repo::org_units::find_by_id(conn, &target.org_unit_id)?
                    .ok_or_else(ApiError::not_found)?,
            };
            check_binding(new_role, &binding)?;
            let revoke = password_hash.is_some()
                || unit.is_some()
                || new_role != current_role
                || disabled == Some(true);
            let changes = repo::users::UserChanges {
                display_name,
                role: Some(new_role.as_str().to_owned()),
                org_unit_id: unit.as_ref().map(|u| u.id.clone()),
                org_path: unit.as_ref().map(|u| u.path.clone()),
                password_hash,
                disabled,
                updated_at: Some(now),
            };
            if current_role == Role::Admin {
                // Two admins changing each other at once must not both pass the check below.
                crate::db::locks::key(conn, "users.admins")?;
            }
            repo::users::update(conn, &target.id, &changes)?;
            crate::audit::user_changed(conn, &target, &changes)?;
            // No change may leave the system without an active admin (the write rolls back).
            if current_role == Role::Admin && repo::users::active_admins(conn)? == 0 {
                return Err(ApiError::conflict(
                    jiuzhu_proto::ErrorCode::Conflict,
                    "系统须至少保留一名在用的管理员",
                    "the system must keep at least one active admin",
                ));
            }
            if revoke {
                repo::tokens::revoke_user(conn, &target.id, now)?;
            }
            let (row, code) =
                repo::users::find_with_code(conn, &target.id)?.ok_or_else(ApiError::not_found)?;
            row.into_api(code)
        })
        .await?;
    Ok(web::Json(updated))
}
