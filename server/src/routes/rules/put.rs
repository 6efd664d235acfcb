//! `PUT /rules/{id}`.

use actix_web::{put, web};
use jiuzhu_proto::rule::{Rule, RuleDefinition};

use jiuzhu_proto::ErrorBody;

use crate::audit::{self, AuditEntry};
use crate::auth::Caller;
use crate::db;
use crate::db::repo::standards as repo;
use crate::domain::roles;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Publishes a new version of a rule (admins). The rule is checked against the household facts
/// like a form: an unknown field, a type error or a cycle among values answers 422 with every
/// problem, and nothing is stored.
#[utoipa::path(
    tag = "discovery",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Rule id (the finding type)")),
    request_body = RuleDefinition,
    responses(
        (status = 200, description = "The new version", body = Rule),
        (status = 422, description = "The rule does not check", body = ErrorBody),
    )
)]
#[put("/rules/{id}")]
pub async fn put_rule(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<RuleDefinition>,
) -> ApiResult<web::Json<Rule>> {
    caller.require(roles::ADMINS)?;
    let definition = body.into_inner();
    if definition.id != *path {
        return Err(ApiError::invalid(
            "id",
            "mismatch",
            "规则编号与路径不符",
            "the rule id differs from the path",
        ));
    }
    // Checked before any write; the version number is fixed inside the transaction.
    let checked = crate::rules::compile(definition, 1).map_err(ApiError::validation)?;
    let definition = checked.definition;
    let actor = caller.user_id.to_string();
    let state = state.into_inner();
    let st = state.clone();
    let row = state
        .tx(move |conn| {
            let version = repo::latest_version(conn, &definition.id)?.unwrap_or(0) + 1;
            let row = repo::RuleRow {
                id: definition.id.clone(),
                version,
                definition: serde_json::to_string(&definition).map_err(ApiError::internal)?,
                created_by: Some(actor.clone()),
                created_at: db::now(),
            };
            repo::insert_rule(conn, &row)?;
            audit::record(
                conn,
                AuditEntry {
                    actor_id: Some(&actor),
                    action: "rule.put",
                    entity: "rule",
                    entity_id: &format!("{}@{}", row.id, row.version),
                    org_path: "/",
                    detail: serde_json::json!({}),
                },
            )?;
            Ok(row)
        })
        .await?;
    Ok(web::Json(super::list::to_api(&st, &row)?))
}
