//! `POST /auth/login`: password log-in, rate-limited and locked out before any hashing.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use jiuzhu_proto::auth::{LoginRequest, TokenPair};
use jiuzhu_proto::user::Role;
use jiuzhu_proto::{ErrorBody, ErrorCode};
use secrecy::SecretString;

use crate::auth::device::{self, DeviceSigner};
use crate::auth::{limits, second_factor, session};
use crate::db::{self, repo};
use crate::domain::account::Username;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
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
///
/// Failed log-ins lock the account for a while, except for a device that presents the device
/// token an earlier log-in of the same user returned (`device_token`, or the `jiuzhu_device`
/// cookie browsers keep): its failures count against that device alone.
///
/// An account with a second factor also sends `second_factor_code`; a wrong code counts as a
/// failed log-in. An admin without one, while the server requires it, gets a session marked
/// `second_factor_enrolment_required` that may only set one up.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "Wrong username or password (`invalid_credentials`); the account has a second factor and no code was sent (`second_factor_required`), or a wrong or spent code (`second_factor_invalid`)", body = ErrorBody),
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
) -> ApiResult<HttpResponse> {
    let state = state.into_inner();
    let LoginRequest {
        username,
        password,
        device_id,
        device_token,
        second_factor_code,
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
    // A trusted device is counted under its own key, apart from the account's lockout.
    let devices = DeviceSigner::new(&state.secrets.token_pepper);
    let presented =
        device_token.or_else(|| req.cookie(device::COOKIE).map(|c| c.value().to_owned()));
    let limit_key = presented
        .and_then(|t| devices.verify(&name, &t, db::now()))
        .map_or_else(|| name.clone(), |d| d.limit_key());

    let user = {
        let (state2, name, key, ip) = (state.clone(), name.clone(), limit_key.clone(), ip.clone());
        // One transaction (on SQLite, a turn at the write gate): the check and the attempt it
        // counts go together, and waiting for the writer holds no pooled connection.
        state
            .tx(move |conn| {
                let now = db::now();
                limits::check(conn, &state2.settings, &ip, &key, now)?;
                limits::record_attempt(conn, &ip, &key, now)?;
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
        failed(&state, &name, &limit_key).await?;
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

    if user.totp_enabled {
        let code = second_factor_code.filter(|c| !c.trim().is_empty());
        let Some(code) = code else {
            return Err(second_factor::required());
        };
        if !spend_code(&state, &user.id, code).await? {
            failed(&state, &name, &limit_key).await?;
            return Err(second_factor::invalid(StatusCode::UNAUTHORIZED));
        }
    }
    let pending = second_factor::enrolment_pending(
        state.settings.admin_second_factor_required(),
        Role::parse(&user.role).unwrap_or(Role::Citizen),
        user.totp_enabled,
    );

    let state2 = state.clone();
    let token = devices.issue(&name, db::now());
    let mut pair = state
        .tx(move |conn| {
            let now = db::now();
            // Clears the failures of what was counted: the device's, or (untrusted) the account's.
            limits::record_success(conn, &name, &limit_key)?;
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
    pair.device_token = Some(token.clone());
    pair.second_factor_enrolment_required = pending;
    Ok(HttpResponse::Ok().cookie(device::cookie(&token)).json(pair))
}

/// A failed log-in of the account `name`, counted against `limit_key`.
async fn failed(state: &Arc<AppState>, name: &str, limit_key: &str) -> ApiResult<()> {
    let (state2, name, key) = (state.clone(), name.to_owned(), limit_key.to_owned());
    state
        .db(move |conn| limits::record_failure(conn, &state2.settings, &name, &key, db::now()))
        .await?;
    Ok(())
}

/// Whether `code` is the account's current second-factor code, not spent before; spends it.
async fn spend_code(state: &Arc<AppState>, user_id: &str, code: String) -> ApiResult<bool> {
    let (state2, id) = (state.clone(), user_id.to_owned());
    state
        .tx(move |conn| {
            let Some(stored) = repo::users::second_factor_secret(conn, &id)? else {
                return Ok(false);
            };
            match second_factor::matching_step(&state2.cipher, &stored, &code, db::now())? {
                Some(step) => Ok(repo::users::spend_second_factor_step(conn, &id, step)?),
                None => Ok(false),
            }
        })
        .await
}
