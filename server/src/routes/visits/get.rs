//! `GET /visits/{id}`.

use actix_web::{get, web};
use jiuzhu_proto::user::Role;
use jiuzhu_proto::visit::Visit;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::repo;
use crate::domain::roles::STAFF;
use crate::error::{ApiError, ApiResult};
use crate::routes::parse_id;
use crate::state::AppState;
use crate::visits;

/// One visit in scope, answers with ID and phone numbers masked. A grid worker sees only their
/// own visits.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Visit id")),
    responses(
        (status = 200, description = "The visit", body = Visit),
        (status = 404, description = "No such visit in scope", body = ErrorBody),
    )
)]
#[get("/visits/{id}")]
pub async fn get_visit(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<web::Json<Visit>> {
    caller.require(STAFF)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let scope = caller.scope();
    let reader = scope.clone();
    let own = (caller.role == Role::GridWorker).then(|| caller.user_id.to_string());
    let state = state.into_inner();
    let st = state.clone();
    let visit = state
        .db(move |conn| {
            let row = repo::visits::find_in_scope(conn, &scope, &id.to_string())?
                .filter(|v| own.as_ref().is_none_or(|me| &v.worker_id == me))
                .ok_or_else(ApiError::not_found)?;
            crate::audit::viewed(conn, "visit", &row.id, &row.org_path)?;
            visits::to_api(row, &st.cipher, &reader)
        })
        .await?;
    Ok(web::Json(visit))
}
