//! `POST /households/{id}/evaluate`.

use actix_web::{post, web};
use jiuzhu_proto::rule::RuleOutcome;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db;
use crate::domain::roles::COORDINATORS;
use crate::error::ApiResult;
use crate::registry;
use crate::routes::parse_id;
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
    let st = state.clone().into_inner();
    let outcomes = state
        .tx(move |conn| {
            registry::evaluate(conn, &st.rule_engine(), &scope, &id.to_string(), db::now())
        })
        .await?;
    Ok(web::Json(outcomes))
}
