//! `POST /households/{id}/evaluate`.

use actix_web::{post, web};
use jiuzhu_proto::rule::RuleOutcome;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::{self, repo};
use crate::error::{ApiError, ApiResult};
use crate::routes::households::COORDINATORS;
use crate::routes::parse_id;
use crate::rules::evaluate::{self, Trigger};
use crate::state::AppState;

/// Runs the rule table on a household now and says, rule by rule, whether it fired, did not,
/// or could not run because a standard is missing (coordinators and above, in scope).
#[utoipa::path(
    tag = "discovery",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Household id")),
    responses(
        (status = 200, description = "Each rule's outcome", body = Vec<RuleOutcome>),
        (status = 404, description = "No such household in scope", body = ErrorBody),
    )
)]
#[post("/households/{id}/evaluate")]
pub async fn evaluate_household(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<web::Json<Vec<RuleOutcome>>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let scope = caller.scope();
    let state = state.into_inner();
    let st = state.clone();
    let outcomes = state
        .tx(move |conn| {
            let id = id.to_string();
            repo::households::find_in_scope(conn, &scope, &id)?.ok_or_else(ApiError::not_found)?;
            let done = evaluate::household(
                conn,
                &st,
                &id,
                Trigger::Household,
                &Default::default(),
                db::now(),
            )?;
            Ok(done.outcomes)
        })
        .await?;
    Ok(web::Json(outcomes))
}
