//! `POST /imports/{source}`, `GET /imports/{source}/{id}/unmatched`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use jiuzhu_proto::department::{DepartmentImport, DepartmentSource};
use jiuzhu_proto::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::domain::roles::IMPORTERS;
use crate::error::{ApiError, ApiResult};
use crate::imports::departments::{self, Format, Importer};
use crate::imports::households::{EncodingChoice, ImportError};
use crate::imports::tuning::Runner;
use crate::routes::{parse_id, read_body};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `csv` (default) or `json` (an array of objects with the CSV's column names).
    pub format: Option<String>,
    /// `auto` (default), `utf8` or `gbk`.
    pub encoding: Option<String>,
    /// Queue the import as a background job (202 with the job; `GET /jobs/{id}` for its
    /// progress and report) instead of answering when it is done.
    pub background: Option<bool>,
}

fn source_of(slug: &str) -> ApiResult<DepartmentSource> {
    DepartmentSource::from_slug(slug).ok_or_else(ApiError::not_found)
}

/// Imports a department's file (CSV in UTF-8 or GBK, or JSON). Rows are matched to members in
/// the caller's area by ID number; a record id seen before is skipped; bad rows are reported by
/// line; each matched household is run through the rules, and a finding raised this way gets a
/// verify task for the grid worker.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(
        ("source" = String, Path, description = "medical-claims, disability, education, unemployment or deaths"),
        ImportQuery
    ),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "What the import did", body = DepartmentImport),
        (status = 202, description = "Queued as a background job", body = jiuzhu_proto::stats::Job),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "The file cannot be read at all", body = ErrorBody),
    )
)]
#[post("/imports/{source}")]
pub async fn import_department(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.require(IMPORTERS)?;
    let source = source_of(&path)?;
    let format = match query.format.as_deref() {
        None | Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        Some(_) => {
            return Err(ApiError::invalid(
                "format",
                "invalid",
                "格式须为 csv 或 json",
                "format is csv or json",
            ))
        }
    };
    let encoding = match query.encoding.as_deref() {
        None | Some("auto") => EncodingChoice::Auto,
        Some("utf8") => EncodingChoice::Utf8,
        Some("gbk") => EncodingChoice::Gbk,
        Some(_) => {
            return Err(ApiError::invalid(
                "encoding",
                "invalid",
                "编码须为 auto、utf8 或 gbk",
                "encoding is auto, utf8 or gbk",
            ))
        }
    };
    let state = state.into_inner();
    let body = read_body(&req, payload, state.settings.boundary_import_limit_bytes).await?;
    let scope = caller.scope();
    let actor = caller.user_id.to_string();
    if query.background == Some(true) {
        let job = queue_import(
            &state,
            scope,
            actor,
            source,
            body,
            format,
            query.encoding.clone(),
        )
        .await?;
        return Ok(HttpResponse::Accepted().json(job));
    }
    let st = state.clone();
    let report = state
        .db(move |conn| {
            let who = Importer {
                rules: st.rule_engine(),
                verify_form: &st.settings.recheck.form_key,
                scope: &scope,
                actor: Some(&actor),
                runner: Runner::Job,
            };
            let input = Box::new(std::io::Cursor::new(body));
            departments::import(conn, &who, source, input, format, encoding, &mut |_, _| {
                Ok(())
            })
            .map_err(|e| match e {
                ImportError::Refused(r) => r.into_api_error(),
                ImportError::Failed(e) => e,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Spools the upload (fsynced) and queues its import.
async fn queue_import(
    state: &std::sync::Arc<AppState>,
    scope: crate::scope::Scope,
    actor: String,
    source: DepartmentSource,
    body: Vec<u8>,
    format: Format,
    encoding: Option<String>,
) -> ApiResult<jiuzhu_proto::stats::Job> {
    use crate::jobs::queue::{self, Work};
    let id = uuid::Uuid::now_v7().to_string();
    let dir = queue::spool_dir(state);
    let file = dir.join(format!("{id}.upload"));
    let path = file.clone();
    web::block(move || -> std::io::Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&dir)?;
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&body)?;
        f.sync_all()
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::unavailable)?;
    let work = Work::DepartmentImport {
        source,
        file,
        json: format == Format::Json,
        encoding: encoding.unwrap_or_else(|| "auto".into()),
        actor: Some(actor.clone()),
    };
    state
        .tx(move |conn| {
            queue::enqueue(
                conn,
                &id,
                &work,
                scope.path(),
                Some(&actor),
                crate::db::now(),
            )?;
            queue::to_api(queue::find_in_scope(conn, &scope, &id)?)
        })
        .await
}

/// The rows of an import that matched no member, as CSV (UTF-8 with a BOM) for the sending
/// department: record id, masked ID number, line.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(
        ("source" = String, Path, description = "The source"),
        ("id" = String, Path, description = "Import id")
    ),
    responses(
        (status = 200, description = "CSV", content_type = "text/csv"),
        (status = 404, description = "No such import of yours", body = ErrorBody),
    )
)]
#[get("/imports/{source}/{id}/unmatched")]
pub async fn unmatched_rows(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    caller.require(IMPORTERS)?;
    let (slug, id) = path.into_inner();
    let source = source_of(&slug)?;
    let id: uuid::Uuid = parse_id(&id)?;
    let scope = caller.scope();
    let csv = state
        .into_inner()
        .db(move |conn| departments::unmatched_csv(conn, &scope, source, &id.to_string()))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"unmatched-{}.csv\"", source.slug()),
        ))
        .body(csv))
}
