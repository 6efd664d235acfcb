//! `GET /rules`.

use actix_web::{get, web};
use jiuzhu_proto::rule::Rule;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::repo::standards as repo;
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A stored version as the API shows it.
pub fn to_api(state: &AppState, row: &repo::RuleRow) -> ApiResult<Rule> {
    let version = u32::try_from(row.version).unwrap_or(0);
    let compiled = state
        .rules
        .get(&row.id, version, &row.definition)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("a stored rule does not compile")))?;
    Ok(Rule {
        version,
        definition: compiled.definition.clone(),
        needs_standards: compiled.needs.clone(),
        created_at: row.created_at.and_utc(),
    })
}

/// The latest version of every rule (coordinators and above).
#[utoipa::path(
    tag = "discovery",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Rules", body = Vec<Rule>),
        (status = 403, description = "Coordinators and above", body = ErrorBody),
    )
)]
#[get("/rules")]
pub async fn list_rules(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<Rule>>> {
    caller.require(COORDINATORS)?;
    let state = state.into_inner();
    let rows = state.db(|conn| Ok(repo::latest_rules(conn)?)).await?;
    let rules = rows
        .iter()
        .map(|r| to_api(&state, r))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(rules))
}
