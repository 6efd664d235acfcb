//! `POST /auth/logout`: revokes the caller's token family (access and refresh tokens alike).

use actix_web::{post, web, HttpResponse};
use jiuzhu_proto::ErrorBody;

use crate::audit;
use crate::db::{self, repo};
use crate::error::ApiResult;
use crate::routes::extract::Enrolling;
use crate::state::AppState;

/// Log out: every token of this session stops working, on every instance.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Not logged in", body = ErrorBody),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    Enrolling(caller): Enrolling,
) -> ApiResult<HttpResponse> {
    state
        .into_inner()
        .tx(move |conn| {
            repo::tokens::revoke_family(conn, &caller.token_family, db::now())?;
            let user = caller.user_id.to_string();
            audit::journal(
                conn,
                audit::AuditEntry {
                    actor_id: Some(&user),
                    action: "auth.logout",
                    entity: "user",
                    entity_id: &user,
                    org_path: &caller.org_path,
                    detail: serde_json::json!({}),
                },
                audit::Outcome::Success,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
