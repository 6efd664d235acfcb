//! `POST /findings/{id}/convert`, `POST /findings/{id}/dismiss`.

use actix_web::{post, web};
use jiuzhu_proto::application::Application;
use jiuzhu_proto::finding::{ConvertFinding, DismissFinding, Finding};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db;
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::registry::validate::check_text;
use crate::routes::parse_id;
use crate::state::AppState;
use crate::{applications, findings};

/// Converts an open finding into an application, prefilled from the household and the
/// evidence (coordinators and above, in scope; audited).
#[utoipa::path(
    tag = "discovery",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Finding id")),
    request_body = ConvertFinding,
    responses(
        (status = 200, description = "The application", body = Application),
        (status = 404, description = "No such finding in scope", body = ErrorBody),
        (status = 409, description = "Already converted or dismissed", body = ErrorBody),
    )
)]
#[post("/findings/{id}/convert")]
pub async fn convert_finding(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<ConvertFinding>,
) -> ApiResult<web::Json<Application>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
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
            let app_id = findings::convert(
                conn,
                &scope,
                &id.to_string(),
                input.categories,
                &note,
                &actor,
                db::now(),
            )?;
            applications::read_one(conn, &app_id)
        })
        .await?;
    Ok(web::Json(app))
}

/// Dismisses an open finding; a reason is required (coordinators and above, in scope; audited).
#[utoipa::path(
    tag = "discovery",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Finding id")),
    request_body = DismissFinding,
    responses(
        (status = 200, description = "Dismissed", body = Finding),
        (status = 404, description = "No such finding in scope", body = ErrorBody),
        (status = 409, description = "Already converted or dismissed", body = ErrorBody),
        (status = 422, description = "A reason is required", body = ErrorBody),
    )
)]
#[post("/findings/{id}/dismiss")]
pub async fn dismiss_finding(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<DismissFinding>,
) -> ApiResult<web::Json<Finding>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let mut errors = Vec::new();
    let reason = check_text(&mut errors, "reason", &body.reason, 2000, true);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let scope = caller.scope();
    let actor = crate::applications::Actor::of(&caller);
    let finding = state
        .into_inner()
        .tx(move |conn| {
            let row = findings::dismiss(conn, &scope, &id.to_string(), &reason, &actor, db::now())?;
            findings::to_api(conn, row)
        })
        .await?;
    Ok(web::Json(finding))
}
