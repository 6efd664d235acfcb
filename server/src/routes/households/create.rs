//! `POST /households`: a new household with its members.

use actix_web::{post, web, HttpResponse};
use jiuzhu_proto::household::{CreateHousehold, Household};
use jiuzhu_proto::{ErrorBody, ErrorCode};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::auth::Caller;
use crate::db::{self, repo};
use crate::error::{ApiError, ApiResult};
use crate::registry::{self, read, validate, write};
use crate::routes::households::{COORDINATORS, STAFF};
use crate::state::AppState;

enum Outcome {
    Created(Box<Household>),
    Clashed(Vec<write::Clash>, String),
}

/// Register a household. The grid follows the location unless a coordinator names one. An ID
/// number already held by another household is refused (409) and recorded as a conflict.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    request_body = CreateHousehold,
    responses(
        (status = 201, description = "Created", body = Household),
        (status = 409, description = "An ID number or external id is already registered", body = ErrorBody),
        (status = 422, description = "Invalid fields, every one listed", body = ErrorBody),
    )
)]
#[post("/households")]
pub async fn create_household(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateHousehold>,
) -> ApiResult<HttpResponse> {
    caller.require(STAFF)?;
    let state = state.into_inner();
    let input = body.into_inner();
    if input.grid_id.is_some() {
        caller.require(COORDINATORS)?;
    }
    let valid = validate::household(input).map_err(ApiError::validation)?;
    let scope = caller.scope();
    let lookup = state.grids.get();
    let actor = caller.user_id.to_string();
    let st = state.clone();
    let (scope2, actor2) = (scope.clone(), actor.clone());
    let outcome = state
        .tx(move |conn| {
            // Before the external-id and ID-number checks, so concurrent creates cannot both pass.
            write::lock_id_numbers(conn)?;
            let grid = write::choose_grid(conn, &scope2, &lookup, valid.location, valid.grid_override.as_deref())?;
            if let Some(ext) = &valid.external_id {
                if repo::households::find_by_external_id(conn, ext)?.is_some() {
                    return Err(ApiError::conflict(
                        ErrorCode::Conflict,
                        "外部编号已存在",
                        "a household with this external_id exists",
                    ));
                }
            }
            let new = write::build(&st.cipher, &valid, &grid, Some(&actor2), db::now(), registry::today())?;
            let clashes = write::find_clashes(conn, &new.members, None)?;
            if !clashes.is_empty() {
                return Ok(Outcome::Clashed(clashes, grid.org_path));
            }
            write::insert_all(conn, std::slice::from_ref(&new))?;
            audit::record(
                conn,
                AuditEntry {
                    actor_id: Some(&actor2),
                    action: "household.create",
                    entity: "household",
                    entity_id: &new.row.id,
                    org_path: &new.row.org_path,
                    detail: json!({"members": new.members.len(), "grid_overridden": grid.overridden}),
                },
            )?;
            crate::rules::evaluate::household(
                conn,
                &st,
                &new.row.id,
                crate::rules::evaluate::Trigger::Household,
                &Default::default(),
                db::now(),
            )?;
            let mut household = read::household(conn, &scope2, &new.row.id)?.ok_or_else(ApiError::not_found)?;
            household.warnings = valid.warnings.clone();
            Ok(Outcome::Created(Box::new(household)))
        })
        .await?;
    match outcome {
        Outcome::Created(h) => Ok(HttpResponse::Created().json(h)),
        Outcome::Clashed(clashes, path) => Err(write::refuse_clashes(
            &state,
            clashes,
            &scope,
            "members",
            "household.create",
            path,
            actor,
        )
        .await),
    }
}
