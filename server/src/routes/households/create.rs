//! `POST /households`: a new household with its members.

use actix_web::{post, web, HttpResponse};
use jiuzhu_proto::household::{CreateHousehold, Household};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::domain::roles::{COORDINATORS, STAFF};
use crate::error::{ApiError, ApiResult};
use crate::registry::{self, validate, Written};
use crate::state::AppState;

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
    let input = body.into_inner();
    if input.grid_id.is_some() {
        caller.require(COORDINATORS)?;
    }
    let valid = validate::household(input).map_err(ApiError::validation)?;
    let (scope, actor) = (caller.scope(), caller.user_id.to_string());
    let st = state.clone().into_inner();
    let written = state
        .tx(move |conn| {
            let grids = st.grids.get();
            registry::create(conn, &st.registrar(&grids), &scope, &actor, valid)
        })
        .await?;
    match written {
        Written::Done(h) => Ok(HttpResponse::Created().json(h)),
        Written::Clashed(clashed) => Err(clashed.refuse(&state.database).await),
    }
}
