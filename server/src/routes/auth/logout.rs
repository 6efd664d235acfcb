//! `POST /auth/logout`: revokes the caller's token family (access and refresh tokens alike).

use actix_web::{post, web, HttpResponse};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::{self, repo};
use crate::error::ApiResult;
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
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let family = caller.token_family.clone();
    state
        .into_inner()
        .db(move |conn| Ok(repo::tokens::revoke_family(conn, &family, db::now())?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
