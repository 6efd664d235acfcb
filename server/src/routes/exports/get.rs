//! `GET /exports/{kind}`: a streamed CSV or GeoJSON of households or visits in scope.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use bytes::Bytes;
use jiuzhu_proto::ErrorBody;
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::auth::Caller;
use crate::domain::roles::COORDINATORS;
use crate::error::ApiResult;
use crate::exports::{self, Export, ExportQuery, CHANNEL_CHUNKS};
use crate::state::AppState;

/// Export households or visits in scope (coordinators and above), masked, as CSV (UTF-8 with a
/// BOM, or `encoding=gbk`) or GeoJSON (`format=geojson`). Times are shown in Asia/Shanghai. The
/// body is streamed (chunked) as it is read; a failure after the first bytes cuts the response
/// short instead of finishing it. Recorded in the audit log.
#[utoipa::path(
    tag = "exports",
    security(("bearer" = [])),
    params(
        ("kind" = String, Path, description = "`households`, `visits`, `findings` or `applications`"),
        ExportQuery,
    ),
    responses(
        (status = 200, description = "The export, streamed", content_type = "text/csv", body = String),
        (status = 422, description = "A filter the kind does not have, or GeoJSON in GBK", body = ErrorBody),
        (status = 403, description = "Role may not export", body = ErrorBody),
        (status = 404, description = "Unknown or unavailable kind (`unknown_export_kind`), or `org` outside the scope", body = ErrorBody),
    )
)]
#[get("/exports/{kind}")]
pub async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(COORDINATORS)?;
    let kind = exports::kind(&path)?;
    let q = query.into_inner();
    let mut export = Export::new(kind, &q, caller.scope())?;
    let state: Arc<AppState> = state.into_inner();
    let actor = caller.user_id.to_string();
    let scope = export.scope.clone();
    let org = q.org.clone();
    let detail = json!({
        "kind": kind.name(),
        "format": format!("{:?}", export.format).to_lowercase(),
        "encoding": format!("{:?}", export.encoding).to_lowercase(),
        "org": org,
        "filters": format!("{:?}", export.filters),
    });
    export.scope = state
        .tx(move |conn| {
            let scope = match org {
                Some(code) => exports::narrow(conn, &scope, &code)?,
                None => scope,
            };
            audit::record(
                conn,
                AuditEntry {
                    actor_id: Some(&actor),
                    action: "export",
                    entity: "export",
                    entity_id: kind.name(),
                    org_path: scope.path(),
                    detail,
                },
            )?;
            Ok(scope)
        })
        .await?;

    let content_type = export.content_type();
    let file_name = export.file_name();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(CHANNEL_CHUNKS);
    let pool = state.database.pool.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let started = std::time::Instant::now();
        // A send fails once the response is dropped (the client went away): stop reading.
        let mut send = |chunk: Bytes| tx.blocking_send(Ok(chunk)).is_ok();
        match export.produce(&pool, &mut send) {
            Ok(outcome) => tracing::info!(
                kind = export.kind.name(),
                rows = outcome.rows,
                bytes = outcome.bytes,
                cancelled = outcome.cancelled,
                seconds = started.elapsed().as_secs_f64(),
                "export finished"
            ),
            Err(e) => {
                tracing::error!(kind = export.kind.name(), error = ?e, "export failed");
                let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}
