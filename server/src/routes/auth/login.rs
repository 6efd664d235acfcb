//! `POST /auth/login`: password log-in, rate-limited and locked out before any hashing.

use actix_web::{post, web, HttpRequest};
use jiuzhu_proto::auth::{LoginRequest, TokenPair};
use jiuzhu_proto::{ErrorBody, ErrorCode};
use secrecy::SecretString;

use crate::auth::{limits, session};
use crate::db::{self, repo};
use crate::domain::account::Username;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn invalid_credentials() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidCredentials,
        "用户名或密码错误",
        "wrong username or password",
    )
}

/// The client's address as the socket saw it (a proxy in front must be configured to pass the
/// real one; headers are not trusted here).
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Log in with a username and password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 423, description = "Locked after too many failures", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody),
        (status = 503, description = "Log-ins queued too long", body = ErrorBody),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let state = state.into_inner();
    let LoginRequest {
        username,
        password,
        device_id,
    } = body.into_inner();
    let device_id = device_id.filter(|d| !d.trim().is_empty());
    if device_id.as_ref().is_some_and(|d| d.len() > 200) {
        return Err(ApiError::bad_request(
            ErrorCode::BadRequest,
            "设备标识过长",
            "device_id is too long",
        ));
    }
    // An ill-formed name still counts against the limits under its folded form, and is checked
    // against the dummy hash, so it answers like any unknown name.
    // A citizen logs in with their mobile number: their username is derived from it.
    let name = match crate::citizens::parse_mobile(&username) {
        Some(mobile) => crate::citizens::username_for(&state.cipher, &mobile),
        None => Username::parse(&username)
            .map(|u| u.as_str().to_owned())
            .unwrap_or_else(|_| username.trim().to_lowercase().chars().take(64).collect()),
    };
    let ip = client_ip(&req);

    let user = {
        let (state2, name, ip) = (state.clone(), name.clone(), ip.clone());
        state
            .db(move |conn| {
                let now = db::now();
                limits::check(conn, &state2.settings, &ip, &name, now)?;
                limits::record_attempt(conn, &ip, &name, now)?;
                Ok(repo::users::find_by_username(conn, &name)?)
            })
            .await?
    };

    let oversized = password.len() > 4 * crate::auth::password::MAX_LEN;
    let verified = state
        .hasher
        .verify(
            SecretString::from(if oversized { String::new() } else { password }),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;

    let Some(user) = user.filter(|_| verified.matches && !oversized) else {
        let (state2, name2) = (state.clone(), name.clone());
        state
            .db(move |conn| limits::record_failure(conn, &state2.settings, &name2, db::now()))
            .await?;
        return Err(invalid_credentials());
    };
    if user.disabled {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            ErrorCode::AccountDisabled,
            "账户已停用",
            "this account is disabled",
        ));
    }

    let state2 = state.clone();
    let pair = state
        .tx(move |conn| {
            let now = db::now();
            limits::record_success(conn, &name)?;
            if let Some(new_hash) = verified.rehashed {
                repo::users::update(
                    conn,
                    &user.id,
                    &repo::users::UserChanges {
                        password_hash: Some(new_hash),
                        updated_at: Some(now),
                        ..Default::default()
                    },
                )?;
            }
            session::token_pair(conn, &state2.tokens(), &user.id, device_id.as_deref(), now)
        })
        .await?;
    tracing::info!(user_id = %pair.user.id, "logged in");
    Ok(web::Json(pair))
}
