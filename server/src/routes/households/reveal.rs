//! `POST /households/{id}/reveal`: the full ID numbers, with a stated reason, audited.

use actix_web::{post, web};
use jiuzhu_proto::household::{RevealRequest, RevealResponse, RevealedId};
use jiuzhu_proto::{ErrorBody, ErrorCode};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::auth::Caller;
use crate::db::repo::households as repo;
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::registry::ID_CONTEXT;
use crate::routes::parse_id;
use crate::state::AppState;

/// Reveal members' full ID numbers (coordinators and above, in scope). The reason and who asked
/// are written to the audit log; the numbers are not.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Household id")),
    request_body = RevealRequest,
    responses(
        (status = 200, description = "The full numbers", body = RevealResponse),
        (status = 422, description = "No reason given", body = ErrorBody),
        (status = 403, description = "Role may not reveal", body = ErrorBody),
        (status = 404, description = "No such household or member in scope", body = ErrorBody),
    )
)]
#[post("/households/{id}/reveal")]
pub async fn reveal_ids(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<RevealRequest>,
) -> ApiResult<web::Json<RevealResponse>> {
    caller.require(COORDINATORS)?;
    let state = state.into_inner();
    let id: uuid::Uuid = parse_id(&path)?;
    let RevealRequest { reason, member_id } = body.into_inner();
    let reason = reason.trim().to_owned();
    if reason.chars().count() < 2
        || reason.chars().count() > 500
        || reason.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            ErrorCode::ValidationFailed,
            "须说明查看理由（2 到 500 字）",
            "state why the full number is needed (2 to 500 characters)",
        ));
    }
    let scope = caller.scope();
    let actor = caller.user_id.to_string();
    let st = state.clone();
    let revealed = state
        .tx(move |conn| {
            let (household, _) = repo::find_in_scope(conn, &scope, &id.to_string())?
                .ok_or_else(ApiError::not_found)?;
            let members: Vec<_> = repo::members_of(conn, &household.id)?
                .into_iter()
                .filter(|m| member_id.is_none_or(|want| m.id == want.to_string()))
                .collect();
            if members.is_empty() {
                return Err(ApiError::not_found());
            }
            let mut out = Vec::with_capacity(members.len());
            for m in &members {
                let number = st
                    .cipher
                    .decrypt(&m.id_key_id, &m.id_cipher, ID_CONTEXT)
                    .map_err(ApiError::internal)?;
                out.push(RevealedId {
                    member_id: m.id.parse().map_err(ApiError::internal)?,
                    name: m.name.clone(),
                    id_number: number,
                });
            }
            audit::record(
                conn,
                AuditEntry {
                    actor_id: Some(&actor),
                    action: "household.reveal_id",
                    entity: "household",
                    entity_id: &household.id,
                    org_path: &household.org_path,
                    detail: json!({
                        "reason": reason,
                        "members": members.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
                    }),
                },
            )?;
            Ok(out)
        })
        .await?;
    tracing::info!(household_id = %id, count = revealed.len(), "ID numbers revealed");
    Ok(web::Json(RevealResponse { members: revealed }))
}
