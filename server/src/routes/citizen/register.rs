//! `POST /citizen/register`, `POST /citizen/verify`.

use actix_web::{get, post, web};
use jiuzhu_proto::auth::TokenPair;
use jiuzhu_proto::citizen::{CodeSent, RegisterCitizen, VerifyCitizen};
use jiuzhu_proto::ErrorBody;
use secrecy::SecretString;

use crate::auth::password;
use crate::citizens::{self, invalid_mobile, parse_mobile};
use crate::db;
use crate::domain::id_number::mask_phone;
use crate::error::ApiResult;
use crate::state::AppState;

/// Registers a citizen with a mobile number and a password; a code is sent to the number.
/// Registering again before verifying sends a new code.
#[utoipa::path(
    tag = "citizen",
    request_body = RegisterCitizen,
    responses(
        (status = 200, description = "A code was sent", body = CodeSent),
        (status = 409, description = "The number is registered", body = ErrorBody),
        (status = 422, description = "Invalid number or password", body = ErrorBody),
    )
)]
#[post("/citizen/register")]
pub async fn register(
    state: web::Data<AppState>,
    body: web::Json<RegisterCitizen>,
) -> ApiResult<web::Json<CodeSent>> {
    let input = body.into_inner();
    let mobile = parse_mobile(&input.phone).ok_or_else(|| invalid_mobile("phone"))?;
    password::check_policy(&input.password)?;
    let state = state.into_inner();
    let hash = state
        .hasher
        .hash(SecretString::from(input.password))
        .await?;
    let st = state.clone();
    let m = mobile.clone();
    state
        .tx(move |conn| citizens::register(conn, &st.citizen_codes(), &m, hash, db::now()))
        .await?;
    Ok(web::Json(CodeSent {
        phone_masked: mask_phone(&mobile),
        expires_in_secs: u64::try_from(state.settings.discovery.sms_code_ttl_secs).unwrap_or(0),
    }))
}

/// Checks the code: the account becomes active and is logged in.
#[utoipa::path(
    tag = "citizen",
    request_body = VerifyCitizen,
    responses(
        (status = 200, description = "Verified and logged in", body = TokenPair),
        (status = 422, description = "Wrong or expired code (`verification_failed`)", body = ErrorBody),
    )
)]
#[post("/citizen/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    body: web::Json<VerifyCitizen>,
) -> ApiResult<web::Json<TokenPair>> {
    let input = body.into_inner();
    let mobile = parse_mobile(&input.phone).ok_or_else(|| invalid_mobile("phone"))?;
    let state = state.into_inner();
    let st = state.clone();
    let pair = state
        .tx(move |conn| {
            citizens::verify(
                conn,
                &st.citizen_codes(),
                &st.tokens(),
                &mobile,
                &input.code,
                db::now(),
            )
        })
        .await?;
    Ok(web::Json(pair))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DemoCodeQuery {
    /// The mobile number the code was sent to.
    pub phone: String,
}

/// The demo city only (`serve --demo`): the latest verification code sent to a number, as a
/// phone would have received it. Any other server answers 404: codes go by SMS.
#[utoipa::path(
    tag = "citizen",
    params(DemoCodeQuery),
    responses(
        (status = 200, description = "The latest code sent to the number", body = jiuzhu_proto::citizen::DemoCode),
        (status = 404, description = "Not a demo server, or no code sent to the number", body = ErrorBody),
        (status = 422, description = "Not a mobile number", body = ErrorBody),
    )
)]
#[get("/demo/sms-code")]
pub async fn demo_sms_code(
    state: web::Data<AppState>,
    query: web::Query<DemoCodeQuery>,
) -> ApiResult<web::Json<jiuzhu_proto::citizen::DemoCode>> {
    let mobile = parse_mobile(&query.phone).ok_or_else(|| invalid_mobile("phone"))?;
    let code = state
        .sms
        .demo_code(&mobile)
        .ok_or_else(crate::error::ApiError::not_found)?;
    Ok(web::Json(jiuzhu_proto::citizen::DemoCode { code }))
}
