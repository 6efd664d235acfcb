//! `POST /visits/{id}/review`.

use actix_web::{post, web};
use jiuzhu_proto::visit::{ReviewDecision, ReviewVisit, Visit};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db;
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::routes::parse_id;
use crate::state::AppState;
use crate::visits;

/// Review a visit (coordinators and above, in scope). `has_issues` sends the task back to the
/// worker on their next sync; `has_issues` and `rejected` need a note.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Visit id")),
    request_body = ReviewVisit,
    responses(
        (status = 200, description = "Reviewed", body = Visit),
        (status = 404, description = "No such visit in scope", body = ErrorBody),
        (status = 409, description = "Already reviewed or corrected", body = ErrorBody),
        (status = 422, description = "A note is needed", body = ErrorBody),
    )
)]
#[post("/visits/{id}/review")]
pub async fn review_visit(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<ReviewVisit>,
) -> ApiResult<web::Json<Visit>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let input = body.into_inner();
    let mut errors = Vec::new();
    let note = crate::registry::validate::check_text(&mut errors, "note", &input.note, 1000, false);
    if note.is_empty() && input.decision != ReviewDecision::Approved {
        errors.push(jiuzhu_proto::error::FieldError {
            field: "note".into(),
            code: "required".into(),
            message: "退回或驳回须说明原因 / a reason is required unless approved".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let scope = caller.scope();
    let reviewer = caller.user_id.to_string();
    let state = state.into_inner();
    let st = state.clone();
    let visit = state
        .tx(move |conn| {
            let row = visits::decide(
                conn,
                &st.rule_engine(),
                &scope,
                &id.to_string(),
                input.decision,
                &note,
                &reviewer,
                db::now(),
            )?;
            visits::to_api(row, &st.cipher)
        })
        .await?;
    Ok(web::Json(visit))
}
