//! `PATCH /households/{id}`: versioned changes; a stale version answers 409 and changes nothing.

use actix_web::{patch, web};
use jiuzhu_proto::household::{Household, UpdateHousehold};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::domain::roles::{COORDINATORS, STAFF};
use crate::error::ApiResult;
use crate::registry::{self, Written};
use crate::routes::parse_id;
use crate::state::AppState;

/// Change a household. `version` must be the one you read.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Household id")),
    request_body = UpdateHousehold,
    responses(
        (status = 200, description = "Updated", body = Household),
        (status = 404, description = "No such household in scope", body = ErrorBody),
        (status = 409, description = "Stale version, or an ID number held elsewhere", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
#[patch("/households/{id}")]
pub async fn update_household(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UpdateHousehold>,
) -> ApiResult<web::Json<Household>> {
    caller.require(STAFF)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let input = body.into_inner();
    if input.grid_id.is_some() || input.clear_grid_override {
        caller.require(COORDINATORS)?;
    }
    let checked = registry::check_update(input)?;
    let (scope, actor) = (caller.scope(), caller.user_id.to_string());
    let st = state.clone().into_inner();
    let written = state
        .tx(move |conn| {
            let grids = st.grids.get();
            let registrar = st.registrar(&grids);
            registry::update(conn, &registrar, &scope, &actor, &id.to_string(), checked)
        })
        .await?;
    match written {
        Written::Done(h) => Ok(web::Json(*h)),
        Written::Clashed(clashed) => Err(clashed.refuse(&state.database).await),
    }
}
