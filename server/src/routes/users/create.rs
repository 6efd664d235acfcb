//! `POST /users`: a new account, bound to a unit in the caller's subtree.

use actix_web::{post, web, HttpResponse};
use jiuzhu_proto::user::{CreateUser, User};
use jiuzhu_proto::{ErrorBody, ErrorCode};
use secrecy::SecretString;

use crate::accounts::{self, invalid_username, NewAccount, UnitRef};
use crate::auth::{password, Caller};
use crate::domain::account::Username;
use crate::domain::roles::{may_manage, MANAGERS};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Create an account.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 422, description = "Bad username, display name, password or role binding", body = ErrorBody),
        (status = 403, description = "Role may not create this role", body = ErrorBody),
        (status = 404, description = "Org unit not found in scope", body = ErrorBody),
        (status = 409, description = "Username taken", body = ErrorBody),
    )
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateUser>,
) -> ApiResult<HttpResponse> {
    caller.require(MANAGERS)?;
    let state = state.into_inner();
    let input = body.into_inner();
    if !may_manage(caller.role, input.role) {
        return Err(ApiError::forbidden());
    }
    let username = Username::parse(&input.username).map_err(invalid_username)?;
    let display_name = crate::imports::boundaries::check_name(&input.display_name)
        .map_err(|m| ApiError::bad_request(ErrorCode::ValidationFailed, "姓名不合规", m))?;
    password::check_policy(&input.password)?;
    let password_hash = state
        .hasher
        .hash(SecretString::from(input.password))
        .await?;
    let account = NewAccount {
        username,
        display_name,
        role: input.role,
        org_unit: UnitRef::Id(input.org_unit_id.to_string()),
        password_hash,
    };
    let scope = caller.scope();
    let created = state
        .tx(move |conn| accounts::create(conn, &scope, account))
        .await?;
    tracing::info!(user_id = %created.id, role = created.role.as_str(), "user created");
    Ok(HttpResponse::Created().json(created))
}
