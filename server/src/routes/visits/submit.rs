//! `POST /visits`: a visit report from a phone, stored once whatever the number of tries.

use actix_web::{post, web, HttpResponse};

use jiuzhu_proto::visit::{SubmitVisit, Visit};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::domain::roles;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::visits;

/// Submit a visit report. The id is the phone's UUID: sending the same report again answers 200
/// with what was stored; the same id with a different body answers 409. Answers are checked
/// against the form version the task pinned; the server's own checks add flags for review.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    request_body = SubmitVisit,
    responses(
        (status = 201, description = "Stored", body = Visit),
        (status = 200, description = "Stored before (a replay): nothing new written", body = Visit),
        (status = 404, description = "No such task of yours", body = ErrorBody),
        (status = 409, description = "The id was used for another body, or the task was reassigned, cancelled or already submitted", body = ErrorBody),
        (status = 422, description = "Invalid answers or fields, every one listed", body = ErrorBody),
    )
)]
#[post("/visits")]
pub async fn submit_visit(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<SubmitVisit>,
) -> ApiResult<HttpResponse> {
    caller.require(roles::GRID_WORKERS)?;
    let (visit, replay) = visits::receive(
        &state.visit_desk(),
        caller.user_id.to_string(),
        caller.scope(),
        body.into_inner(),
        chrono::Utc::now(),
    )
    .await?;
    Ok(if replay {
        HttpResponse::Ok().json(visit)
    } else {
        HttpResponse::Created().json(visit)
    })
}
