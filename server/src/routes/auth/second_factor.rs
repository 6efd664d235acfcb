//! `POST /auth/second-factor` and `POST /auth/second-factor/confirm`: an office officer (a
//! coordinator or above) sets up a second factor (an authenticator app) for their own account.
//! An admin the server requires one of may do this (and nothing else) before setting it up.
//! Grid workers' phones log in offline-first through the field app and the SDK, which ask for
//! no code, so a grid worker cannot lock themselves out of their phone this way; citizens log in
//! with their mobile number.

use actix_web::http::StatusCode;
use actix_web::{post, web};
use jiuzhu_proto::auth::{ConfirmSecondFactor, SecondFactorEnrolment};
use jiuzhu_proto::user::User;
use jiuzhu_proto::{ErrorBody, ErrorCode};

use crate::audit;
use crate::auth::second_factor;
use crate::db::{self, repo};
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::routes::extract::Enrolling;
use crate::state::AppState;

fn already_enabled() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::SecondFactorEnabled,
        "已开启两步验证；如需更换，请由管理员重置",
        "two-step verification is already on: an admin can reset it",
    )
}

/// Start setting up a second factor: a new secret for the caller's authenticator app, as a QR
/// code and as text. Shown once, kept sealed on the server; calling again starts over with a
/// new secret. It takes effect when confirmed with a code.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Scan or type this into the app, then confirm with its code", body = SecondFactorEnrolment),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Grid workers and citizens", body = ErrorBody),
        (status = 409, description = "Already on (`second_factor_enabled`)", body = ErrorBody),
    )
)]
#[post("/auth/second-factor")]
pub async fn start(
    state: web::Data<AppState>,
    Enrolling(caller): Enrolling,
) -> ApiResult<web::Json<SecondFactorEnrolment>> {
    caller.require(COORDINATORS)?;
    let state = state.into_inner();
    let state2 = state.clone();
    let id = caller.user_id.to_string();
    let enrolment = state
        .tx(move |conn| {
            let (user, _) =
                repo::users::find_with_code(conn, &id)?.ok_or_else(ApiError::unauthorized)?;
            let enrolment = second_factor::enrol(&state2.cipher, &user.username)?;
            if !repo::users::start_second_factor(conn, &id, &enrolment.stored, db::now())? {
                return Err(already_enabled());
            }
            audit::acted(
                conn,
                "user.second_factor.start",
                "user",
                &id,
                &user.org_path,
                serde_json::json!({}),
            )?;
            Ok(enrolment)
        })
        .await?;
    Ok(web::Json(SecondFactorEnrolment {
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
        qr_svg: enrolment.qr_svg,
    }))
}

/// Turn the second factor on with the first code the app shows. From then on every log-in of
/// this account needs a code; the session goes on (an admin who had to set it up may now use
/// everything).
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = ConfirmSecondFactor,
    responses(
        (status = 200, description = "On", body = User),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Grid workers and citizens", body = ErrorBody),
        (status = 409, description = "Already on (`second_factor_enabled`), or never started (`second_factor_not_started`)", body = ErrorBody),
        (status = 422, description = "Wrong code (`second_factor_invalid`)", body = ErrorBody),
    )
)]
#[post("/auth/second-factor/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    Enrolling(caller): Enrolling,
    body: web::Json<ConfirmSecondFactor>,
) -> ApiResult<web::Json<User>> {
    caller.require(COORDINATORS)?;
    let state = state.into_inner();
    let state2 = state.clone();
    let id = caller.user_id.to_string();
    let code = body.into_inner().code;
    let user = state
        .tx(move |conn| {
            let (user, unit) =
                repo::users::find_with_code(conn, &id)?.ok_or_else(ApiError::unauthorized)?;
            if user.totp_enabled {
                return Err(already_enabled());
            }
            let stored = repo::users::second_factor_secret(conn, &id)?.ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    ErrorCode::SecondFactorNotStarted,
                    "请先开始设置两步验证",
                    "start setting up two-step verification first",
                )
            })?;
            let step = second_factor::matching_step(&state2.cipher, &stored, &code, db::now())?
                .ok_or_else(|| second_factor::invalid(StatusCode::UNPROCESSABLE_ENTITY))?;
            if !repo::users::confirm_second_factor(conn, &id, &stored, step, db::now())? {
                // Started again meanwhile (another tab): this code is of the older secret.
                return Err(second_factor::invalid(StatusCode::UNPROCESSABLE_ENTITY));
            }
            audit::acted(
                conn,
                "user.second_factor.enable",
                "user",
                &id,
                &user.org_path,
                serde_json::json!({}),
            )?;
            let mut api = user.into_api(unit)?;
            api.second_factor = true;
            Ok(api)
        })
        .await?;
    Ok(web::Json(user))
}
