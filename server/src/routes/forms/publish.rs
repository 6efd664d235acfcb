//! `POST /forms/{key}/versions`: publish the next version of a form.

use actix_web::{post, web, HttpResponse};
use jiuzhu_proto::form::FormDefinition;
use jiuzhu_proto::task::FormVersion;

use jiuzhu_proto::{ErrorBody, ErrorCode};

use crate::auth::Caller;
use crate::domain::roles;
use crate::error::{ApiError, ApiResult};
use crate::forms;
use crate::state::AppState;

/// Publish a new version (admins). Earlier versions stay as they were: tasks pinned to them keep
/// validating against them.
#[utoipa::path(
    tag = "forms",
    security(("bearer" = [])),
    params(("key" = String, Path, description = "Form key")),
    request_body = FormDefinition,
    responses(
        (status = 201, description = "Published", body = FormVersion),
        (status = 404, description = "No such form", body = ErrorBody),
        (status = 422, description = "The definition has problems", body = ErrorBody),
    )
)]
#[post("/forms/{key}/versions")]
pub async fn publish_version(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<FormDefinition>,
) -> ApiResult<HttpResponse> {
    caller.require(roles::ADMINS)?;
    let definition = body.into_inner();
    if definition.key != *path {
        return Err(ApiError::bad_request(
            ErrorCode::ValidationFailed,
            "表单键与路径不符",
            "the definition's key differs from the path's",
        ));
    }
    let actor = caller.user_id.to_string();
    let published = state
        .into_inner()
        .tx(move |conn| forms::publish(conn, definition, false, Some(&actor)))
        .await?;
    Ok(HttpResponse::Created().json(published))
}
