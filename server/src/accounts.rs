//! Creating accounts: one path for the API, the command line and the demo city.

use jiuzhu_proto::org::OrgKind;
use jiuzhu_proto::user::{Role, User};
use jiuzhu_proto::ErrorCode;

use crate::db::repo::org_units::OrgUnitRow;
use crate::db::{self, repo, AnyConnection};
use crate::domain::account::{Username, UsernameError};
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::scope::Scope;

/// An account whose fields have been checked and whose password is already hashed (hashing
/// happens outside the transaction, on the bounded pool).
pub struct NewAccount {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    /// The unit the account is bound to, by id or by code.
    pub org_unit: UnitRef,
    pub password_hash: String,
}

pub enum UnitRef {
    Id(String),
    Code(String),
}

pub fn duplicate_username() -> ApiError {
    ApiError::conflict(
        ErrorCode::DuplicateUsername,
        "用户名已存在",
        "this username is taken (names are compared ignoring case and surrounding spaces)",
    )
}

pub fn invalid_username(e: UsernameError) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidUsername, "用户名不合规", e.to_string())
}

/// Inserts the account if its unit is inside `scope` and fits its role.
pub fn create(conn: &mut AnyConnection, scope: &Scope, account: NewAccount) -> ApiResult<User> {
    let unit = match &account.org_unit {
        UnitRef::Id(id) => repo::org_units::find_in_scope(conn, scope, id)?,
        UnitRef::Code(code) => {
            repo::org_units::find_by_code(conn, code)?.filter(|u| scope.contains(&u.path))
        }
    }
    .ok_or_else(ApiError::not_found)?;
    check_binding(account.role, &unit)?;
    let now = db::now();
    let new = repo::users::NewUser {
        id: uuid::Uuid::now_v7().to_string(),
        username: account.username.as_str().to_owned(),
        display_name: account.display_name,
        role: account.role.as_str().to_owned(),
        org_unit_id: unit.id.clone(),
        org_path: unit.path.clone(),
        password_hash: account.password_hash,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    match repo::users::insert(conn, &new) {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(duplicate_username()),
        Err(e) => return Err(e.into()),
    }
    crate::audit::acted(
        conn,
        "user.create",
        "user",
        &new.id,
        &new.org_path,
        serde_json::json!({ "role": new.role }),
    )?;
    let (row, code) =
        repo::users::find_with_code(conn, &new.id)?.ok_or_else(ApiError::not_found)?;
    row.into_api(code)
}

/// A role may only be bound to units of the kinds it works at.
pub fn check_binding(role: Role, unit: &OrgUnitRow) -> ApiResult<()> {
    let kind = OrgKind::parse(&unit.kind);
    if kind.is_some_and(|k| role.allowed_org_kinds().contains(&k)) {
        return Ok(());
    }
    let kinds: Vec<&str> = role
        .allowed_org_kinds()
        .iter()
        .map(|k| k.as_str())
        .collect();
    Err(ApiError::bad_request(
        ErrorCode::RoleNotAllowed,
        format!("角色 {} 只能绑定到 {}", role.as_str(), kinds.join("/")),
        format!(
            "a {} must be bound to a {}",
            role.as_str(),
            kinds.join(" or ")
        ),
    ))
}

/// Removes an account's second factor (audited); when it had one, its sessions end too, so that
/// whoever holds the lost phone and a session cannot go on.
pub fn remove_second_factor(
    conn: &mut AnyConnection,
    target: &repo::users::UserRow,
) -> ApiResult<()> {
    let now = db::now();
    repo::users::clear_second_factor(conn, &target.id, now)?;
    if target.totp_enabled {
        repo::tokens::revoke_user(conn, &target.id, now)?;
    }
    crate::audit::acted(
        conn,
        "user.second_factor.reset",
        "user",
        &target.id,
        &target.org_path,
        serde_json::json!({ "was_on": target.totp_enabled }),
    )
}

/// `jiuzhu user reset-second-factor`: the same by username, for the last admin.
pub fn reset_second_factor(conn: &mut AnyConnection, username: &Username) -> ApiResult<()> {
    db::write_transaction(conn, |conn| {
        let user = repo::users::find_by_username(conn, username.as_str())?.ok_or_else(|| {
            ApiError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "无此用户名的账户",
                "no account has this username",
            )
        })?;
        remove_second_factor(conn, &user)
    })
}
