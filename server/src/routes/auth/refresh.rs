//! `POST /auth/refresh`: trade a refresh token for a new pair. Each refresh token works once;
//! presenting one that was already used revokes its whole family (someone copied it).

use actix_web::{post, web};
use jiuzhu_proto::auth::{RefreshRequest, TokenPair};
use jiuzhu_proto::{ErrorBody, ErrorCode};

use crate::audit;
use crate::auth::session::{self, IssuedPair};
use crate::auth::token::{self, TokenKind};
use crate::db::{self, repo};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

enum Outcome {
    Issued(Box<(IssuedPair, jiuzhu_proto::user::User)>),
    Refused(ErrorCode),
}

fn refused(code: ErrorCode) -> ApiError {
    let (zh, en) = match code {
        ErrorCode::TokenReused => (
            "令牌已被使用，已全部注销，请重新登录",
            "this refresh token was already used; the session is revoked, log in again",
        ),
        ErrorCode::TokenExpired => (
            "令牌已过期，请重新登录",
            "the refresh token has expired; log in again",
        ),
        ErrorCode::DeviceMismatch => (
            "令牌不属于此设备，请重新登录",
            "the refresh token belongs to another device; the session is revoked",
        ),
        _ => ("令牌无效", "invalid refresh token"),
    };
    ApiError::new(actix_web::http::StatusCode::UNAUTHORIZED, code, zh, en)
}

/// Rotate a refresh token.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 401, description = "Unknown, expired, reused or other-device token", body = ErrorBody),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let state = state.into_inner();
    let RefreshRequest {
        refresh_token,
        device_id,
    } = body.into_inner();
    if !token::looks_like(TokenKind::Refresh, &refresh_token) {
        return Err(refused(ErrorCode::Unauthorized));
    }
    let hash = state.tokens().hash(&refresh_token);
    let state2 = state.clone();
    // Refusals that revoke a family still commit: the closure returns Ok(Refused).
    let outcome = state
        .tx(move |conn| {
            let now = db::now();
            let Some(tok) = repo::tokens::find_any(conn, &hash)? else {
                return Ok(Outcome::Refused(ErrorCode::Unauthorized));
            };
            if tok.kind != "refresh" {
                return Ok(Outcome::Refused(ErrorCode::Unauthorized));
            }
            if tok.used_at.is_some() || tok.revoked_at.is_some() {
                repo::tokens::revoke_family(conn, &tok.family_id, now)?;
                refused_audit(conn, &tok, ErrorCode::TokenReused)?;
                return Ok(Outcome::Refused(ErrorCode::TokenReused));
            }
            if tok.expires_at <= now {
                return Ok(Outcome::Refused(ErrorCode::TokenExpired));
            }
            if tok.device_id.is_some() && tok.device_id != device_id {
                repo::tokens::revoke_family(conn, &tok.family_id, now)?;
                refused_audit(conn, &tok, ErrorCode::DeviceMismatch)?;
                return Ok(Outcome::Refused(ErrorCode::DeviceMismatch));
            }
            if !repo::tokens::mark_used(conn, &tok.id, now)? {
                repo::tokens::revoke_family(conn, &tok.family_id, now)?;
                refused_audit(conn, &tok, ErrorCode::TokenReused)?;
                return Ok(Outcome::Refused(ErrorCode::TokenReused));
            }
            let Some((user, code)) = repo::users::find_with_code(conn, &tok.user_id)? else {
                return Ok(Outcome::Refused(ErrorCode::Unauthorized));
            };
            if user.disabled {
                repo::tokens::revoke_family(conn, &tok.family_id, now)?;
                return Ok(Outcome::Refused(ErrorCode::Unauthorized));
            }
            let pair = session::issue_pair(
                conn,
                &state2.tokens(),
                &tok.user_id,
                &tok.family_id,
                tok.device_id.as_deref(),
                now,
            )?;
            audit::journal(
                conn,
                audit::AuditEntry {
                    actor_id: Some(&user.id),
                    action: "auth.refresh",
                    entity: "user",
                    entity_id: &user.id,
                    org_path: &user.org_path,
                    detail: serde_json::json!({ "device": tok.device_id }),
                },
                audit::Outcome::Success,
            )?;
            Ok(Outcome::Issued(Box::new((pair, user.into_api(code)?))))
        })
        .await?;
    match outcome {
        Outcome::Refused(code) => Err(refused(code)),
        Outcome::Issued(issued) => {
            let (pair, user) = *issued;
            let pending = crate::auth::second_factor::enrolment_pending(
                state.settings.admin_second_factor_required(),
                user.role,
                user.second_factor,
            );
            Ok(web::Json(TokenPair {
                access_token: pair.access_token,
                access_expires_at: pair.access_expires_at.and_utc(),
                refresh_token: pair.refresh_token,
                refresh_expires_at: pair.refresh_expires_at.and_utc(),
                token_type: "Bearer".into(),
                user,
                device_token: None,
                second_factor_enrolment_required: pending,
            }))
        }
    }
}

/// A refresh refused in a way that revokes the session (a token used twice, or presented by
/// another device): a possible theft, so it is audited with the account it names.
fn refused_audit(
    conn: &mut crate::db::AnyConnection,
    tok: &repo::tokens::TokenRow,
    code: ErrorCode,
) -> ApiResult<()> {
    let Some((user, _)) = repo::users::find_with_code(conn, &tok.user_id)? else {
        return Ok(());
    };
    audit::journal(
        conn,
        audit::AuditEntry {
            actor_id: None,
            action: "auth.refresh",
            entity: "user",
            entity_id: &user.id,
            org_path: &user.org_path,
            detail: serde_json::json!({ "refused": code, "device": tok.device_id }),
        },
        audit::Outcome::Failure,
    )
}
