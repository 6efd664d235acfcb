//! `POST /applications/{id}/transition`.

use actix_web::{post, web};
use jiuzhu_proto::application::{Application, Transition};
use jiuzhu_proto::ErrorBody;

use crate::applications;
use crate::auth::Caller;
use crate::db;
use crate::domain::roles::COORDINATORS;
use crate::error::ApiResult;
use crate::routes::parse_id;
use crate::state::AppState;

/// Takes one step of the workflow. The step must follow from the current state, be taken by
/// the right role at the right level, in scope, with the note the rules demand; two steps at
/// once: exactly one wins, the other answers 409 `invalid_transition`.
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id")),
    request_body = Transition,
    responses(
        (status = 200, description = "The application after the step", body = Application),
        (status = 403, description = "Not for this role or level", body = ErrorBody),
        (status = 404, description = "No such application in scope", body = ErrorBody),
        (status = 409, description = "Not possible from the current state", body = ErrorBody),
        (status = 422, description = "A note, reason or precondition is missing", body = ErrorBody),
    )
)]
#[post("/applications/{id}/transition")]
pub async fn transition_application(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Transition>,
) -> ApiResult<web::Json<Application>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let input = body.into_inner();
    let scope = caller.scope();
    let actor = crate::applications::Actor::of(&caller);
    let state = state.into_inner();
    let st = state.clone();
    let app = state
        .tx(move |conn| {
            let id = id.to_string();
            applications::transition(conn, &st.calendar, &scope, &id, &actor, &input, db::now())?;
            applications::read_one(conn, &id)
        })
        .await?;
    Ok(web::Json(applications::with_allowed_actions(
        app,
        caller.role,
    )))
}
