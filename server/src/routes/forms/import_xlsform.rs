//! `POST /forms/import-xlsform`: an XLSForm workbook, published as a new form or its next version.

use actix_web::{post, web, HttpRequest, HttpResponse};
use jiuzhu_proto::task::FormVersion;
use jiuzhu_proto::user::Role;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::repo::tasks as repo;
use crate::error::{ApiError, ApiResult};
use crate::forms;
use crate::imports::xlsform::{self, XlsLimits};
use crate::routes::read_body;
use crate::state::AppState;

/// Import an XLSForm (.xlsx: `survey`, `choices`, `settings` with `form_id`). Anything the engine
/// does not support is refused with its sheet and cell (e.g. `survey!D12`), never dropped.
#[utoipa::path(
    tag = "forms",
    security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses(
        (status = 201, description = "Published", body = FormVersion),
        (status = 413, description = "Workbook too large", body = ErrorBody),
        (status = 422, description = "Unsupported or invalid content, every cell listed", body = ErrorBody),
    )
)]
#[post("/forms/import-xlsform")]
pub async fn import_xlsform(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let state = state.into_inner();
    let limits = XlsLimits::default();
    let bytes = read_body(&req, payload, limits.max_bytes).await?;
    let span = tracing::Span::current();
    let definition = web::block(move || {
        let _entered = span.enter();
        xlsform::parse_xlsform(&bytes, &limits)
    })
    .await?
    .map_err(ApiError::validation)?;
    let actor = caller.user_id.to_string();
    let published = state
        .tx(move |conn| {
            let exists = repo::latest_form_version(conn, &definition.key)?.is_some();
            forms::publish(conn, definition, !exists, Some(&actor))
        })
        .await?;
    Ok(HttpResponse::Created().json(published))
}
