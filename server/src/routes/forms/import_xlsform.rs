//! `POST /forms/import-xlsform`: an XLSForm workbook, published as a new form or its next version.

use actix_web::{post, web, HttpRequest, HttpResponse};
use jiuzhu_proto::form::ImportedForm;

use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::repo::tasks as repo;
use crate::domain::roles;
use crate::error::{ApiError, ApiResult};
use crate::forms;
use crate::imports::xlsform::{self, XlsLimits};
use crate::routes::read_body;
use crate::state::AppState;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The workbook's file name: without a `settings` sheet (or its `form_id`) it names the
    /// form, as pyxform does.
    pub file_name: Option<String>,
}

/// Import an XLSForm (.xlsx: `survey`, `choices`, `settings` with `form_id`). Anything the engine
/// does not support is refused with its sheet and cell (e.g. `survey!D12`), never dropped.
#[utoipa::path(
    tag = "forms",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses(
        (status = 201, description = "Published, with notices of what was left out", body = ImportedForm),
        (status = 413, description = "Workbook too large", body = ErrorBody),
        (status = 422, description = "Unsupported or invalid content, every cell listed", body = ErrorBody),
    )
)]
#[post("/forms/import-xlsform")]
pub async fn import_xlsform(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.require(roles::ADMINS)?;
    let state = state.into_inner();
    let limits = XlsLimits::default();
    let file_name = query.into_inner().file_name;
    let bytes = read_body(&req, payload, limits.max_bytes).await?;
    let span = tracing::Span::current();
    let imported = web::block(move || {
        let _entered = span.enter();
        xlsform::import_xlsform(&bytes, &limits, file_name.as_deref())
    })
    .await?
    .map_err(ApiError::validation)?;
    let actor = caller.user_id.to_string();
    let definition = imported.definition;
    let published = state
        .tx(move |conn| {
            let exists = repo::latest_form_version(conn, &definition.key)?.is_some();
            forms::publish(conn, definition, !exists, Some(&actor))
        })
        .await?;
    Ok(HttpResponse::Created().json(ImportedForm {
        published,
        notices: imported.notices,
    }))
}
