//! `POST /forms`: a new form, published as version 1.

use actix_web::{post, web, HttpResponse};
use jiuzhu_proto::form::FormDefinition;
use jiuzhu_proto::task::FormVersion;

use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::domain::roles;
use crate::error::ApiResult;
use crate::forms;
use crate::state::AppState;

/// Create a form (admins). The definition is checked by the form engine; every problem is listed.
#[utoipa::path(
    tag = "forms",
    security(("bearer" = [])),
    request_body = FormDefinition,
    responses(
        (status = 201, description = "Published as version 1", body = FormVersion),
        (status = 409, description = "The key exists", body = ErrorBody),
        (status = 422, description = "The definition has problems", body = ErrorBody),
    )
)]
#[post("/forms")]
pub async fn create_form(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<FormDefinition>,
) -> ApiResult<HttpResponse> {
    caller.require(roles::ADMINS)?;
    let actor = caller.user_id.to_string();
    let definition = body.into_inner();
    let published = state
        .into_inner()
        .tx(move |conn| forms::publish(conn, definition, true, Some(&actor)))
        .await?;
    Ok(HttpResponse::Created().json(published))
}
