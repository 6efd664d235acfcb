//! `POST /applications`.

use actix_web::{post, web};
use jiuzhu_proto::application::{Application, CreateApplication};
use jiuzhu_proto::ErrorBody;

use crate::applications;
use crate::auth::Caller;
use crate::db::{self, repo};
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::registry::validate::check_text;
use crate::state::AppState;

/// Files an application on a family's behalf (coordinators and above, household in scope).
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    request_body = CreateApplication,
    responses(
        (status = 200, description = "Submitted", body = Application),
        (status = 404, description = "No such household in scope", body = ErrorBody),
        (status = 422, description = "Invalid categories", body = ErrorBody),
    )
)]
#[post("/applications")]
pub async fn create_application(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateApplication>,
) -> ApiResult<web::Json<Application>> {
    caller.require(COORDINATORS)?;
    let input = body.into_inner();
    let mut errors = Vec::new();
    let note = check_text(&mut errors, "note", &input.note, 2000, false);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let scope = caller.scope();
    let actor = crate::applications::Actor::of(&caller);
    let app = state
        .into_inner()
        .tx(move |conn| {
            let (household, _) =
                repo::households::find_in_scope(conn, &scope, &input.household_id.to_string())?
                    .ok_or_else(ApiError::not_found)?;
            let id = applications::create(
                conn,
                &household,
                &input.categories,
                None,
                &actor,
                &note,
                db::now(),
            )?;
            applications::read_one(conn, &id)
        })
        .await?;
    Ok(web::Json(app))
}
