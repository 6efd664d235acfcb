//! `POST /households/import` (a CSV upload that becomes a background job) and
//! `GET /households/imports/{id}` (how far the job got).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use jiuzhu_proto::household::{ImportJob, JobStatus, RowError};
use jiuzhu_proto::{ErrorBody, ErrorCode};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::db;
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::imports::households::{
    self as engine, EncodingChoice, ImportContext, ImportError, ImportJobRow, ImportReport,
};
use crate::imports::tuning::Runner;
use crate::routes::parse_id;
use crate::scope::Scope;
use crate::state::AppState;

/// Largest upload accepted. There is no households-specific setting yet; 2 GiB is several
/// million households, far beyond a city's registry.
pub const MAX_UPLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Upload bytes gathered before each write to disk.
const WRITE_CHUNK: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileEncoding {
    /// UTF-8 when the file starts with a BOM or is valid UTF-8, GBK when it decodes as GBK.
    #[default]
    Auto,
    Utf8,
    Gbk,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The file's encoding; `auto` by default.
    #[param(inline)]
    pub encoding: Option<FileEncoding>,
}

fn choice(e: Option<FileEncoding>) -> EncodingChoice {
    match e.unwrap_or_default() {
        FileEncoding::Auto => EncodingChoice::Auto,
        FileEncoding::Utf8 => EncodingChoice::Utf8,
        FileEncoding::Gbk => EncodingChoice::Gbk,
    }
}

/// The uploaded file; removed when dropped unless a job took it over (so an upload cut short or
/// refused leaves nothing behind).
struct Upload {
    path: PathBuf,
    keep: bool,
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        "文件过大",
        format!("the file exceeds {MAX_UPLOAD_BYTES} bytes"),
    )
}

/// Streams the body to `path`, never holding more than one chunk in memory.
async fn save_body(req: &HttpRequest, mut payload: web::Payload, path: &Path) -> ApiResult<u64> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES) {
        return Err(too_large());
    }
    let target = path.to_path_buf();
    let mut file = web::block(move || -> std::io::Result<std::fs::File> {
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::File::create(&target)
    })
    .await?
    .map_err(ApiError::internal)?;
    let mut total = 0u64;
    let mut pending: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
    loop {
        let chunk = payload.next().await;
        let done = chunk.is_none();
        if let Some(chunk) = chunk {
            let chunk = chunk.map_err(|e| {
                ApiError::bad_request(ErrorCode::BadRequest, "无法读取上传内容", e.to_string())
            })?;
            total += chunk.len() as u64;
            if total > MAX_UPLOAD_BYTES {
                return Err(too_large());
            }
            pending.extend_from_slice(&chunk);
        }
        if pending.len() >= WRITE_CHUNK || (done && !pending.is_empty()) {
            let (f, mut buf) = web::block(move || -> std::io::Result<_> {
                file.write_all(&pending)?;
                Ok((file, pending))
            })
            .await?
            .map_err(ApiError::internal)?;
            buf.clear();
            file = f;
            pending = buf;
        }
        if done {
            break;
        }
    }
    web::block(move || file.sync_all())
        .await?
        .map_err(ApiError::internal)?;
    Ok(total)
}

/// Import households from CSV (UTF-8 or GBK; header and rules in `fixtures/households/README.md`).
/// The file is checked (encoding, header) and saved, then imported in the background: poll
/// `GET /households/imports/{id}`. Bad rows are listed with their line numbers and skipped;
/// households already on file (same `household_external_id`) are left unchanged.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "One row per member, grouped by household_external_id"),
    responses(
        (status = 202, description = "Accepted: the job, queued", body = ImportJob),
        (status = 403, description = "Role may not import", body = ErrorBody),
        (status = 413, description = "Larger than 2 GiB", body = ErrorBody),
        (status = 422, description = "Not UTF-8 or GBK text, or the header is wrong (every problem listed)", body = ErrorBody),
    )
)]
#[post("/households/import")]
pub async fn import_households(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.require(COORDINATORS)?;
    let state = state.into_inner();
    let encoding = choice(query.into_inner().encoding);
    let job_id = uuid::Uuid::now_v7().to_string();
    let mut upload = Upload {
        path: state
            .settings
            .data_dir
            .join("imports")
            .join(format!("{job_id}.csv")),
        keep: false,
    };
    save_body(&req, payload, &upload.path).await?;

    let path = upload.path.clone();
    let checked = web::block(move || {
        let file =
            std::fs::File::open(&path).map_err(|e| ImportError::Failed(ApiError::internal(e)))?;
        engine::check_file(std::io::BufReader::new(file), encoding)
    })
    .await?;
    match checked {
        Ok(_) => {}
        Err(ImportError::Refused(r)) => return Err(r.into_api_error()),
        Err(ImportError::Failed(e)) => return Err(e),
    }

    let row = ImportJobRow::queued(&job_id, &caller.org_path, Some(&caller.user_id.to_string()));
    let inserted = row.clone();
    state
        .db(move |conn| Ok(engine::insert_job(conn, &inserted)?))
        .await?;
    let job = row.into_api()?;

    let work = JobWork {
        state: state.clone(),
        job_id: job_id.clone(),
        path: upload.path.clone(),
        scope: caller.scope(),
        actor: caller.user_id.to_string(),
        encoding,
    };
    let span = tracing::info_span!("household_import", job = %job_id);
    // The records the import writes are chained under the server's audit key with this request's
    // id and caller, on the import's own thread too.
    let audit = crate::audit::Context::new(state.database.audit_key.clone());
    // A thread of its own: an import runs for minutes and must not hold an async worker or a
    // slot of the blocking pool that requests use.
    let spawned = std::thread::Builder::new()
        .name("household-import".into())
        .spawn(move || {
            let _entered = span.enter();
            audit.enter(|| work.run());
        });
    match spawned {
        Ok(_) => upload.keep = true,
        Err(e) => {
            let failed = job_id.clone();
            let _ = state
                .db(move |conn| {
                    engine::update_job(
                        conn,
                        &failed,
                        JobStatus::Failed,
                        &ImportReport::default(),
                        Some(&[failure("the import could not be started")]),
                    )
                })
                .await;
            return Err(ApiError::internal(e));
        }
    }
    Ok(HttpResponse::Accepted().json(job))
}

fn failure(message: &str) -> RowError {
    RowError {
        row: 0,
        code: "import_failed".into(),
        message: format!("导入失败 / {message}"),
    }
}

/// One background import.
struct JobWork {
    state: Arc<AppState>,
    job_id: String,
    path: PathBuf,
    scope: Scope,
    actor: String,
    encoding: EncodingChoice,
}

impl JobWork {
    // The import's error carries its refusal report; it is matched right here, never passed on.
    #[allow(clippy::result_large_err)]
    fn run(self) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.import()));
        let (status, report, errors) = match outcome {
            Ok(Ok(report)) => {
                tracing::info!(
                    rows = report.rows_read,
                    created = report.households_created,
                    unchanged = report.households_unchanged,
                    rows_rejected = report.rows_rejected,
                    "household import done"
                );
                let errors = report.errors.clone();
                (JobStatus::Done, report, errors)
            }
            Ok(Err((report, ImportError::Refused(r)))) => {
                let mut errors = report.errors.clone();
                errors.push(RowError {
                    row: 1,
                    code: r.code.into(),
                    message: r.to_string(),
                });
                (JobStatus::Failed, report, errors)
            }
            Ok(Err((report, ImportError::Failed(e)))) => {
                // Logged with its cause, as 5xx causes are: database errors name tables and columns.
                tracing::error!(error = ?e, "household import failed");
                let mut errors = report.errors.clone();
                errors.push(failure(
                    "a server or database error stopped the import; households committed before it stay",
                ));
                (JobStatus::Failed, report, errors)
            }
            Err(_) => {
                tracing::error!("household import panicked");
                (
                    JobStatus::Failed,
                    ImportReport::default(),
                    vec![failure("an internal error stopped the import")],
                )
            }
        };
        let finished = self
            .state
            .database
            .pool
            .get()
            .map_err(ApiError::from)
            .and_then(|mut conn| {
                engine::update_job(&mut conn, &self.job_id, status, &report, Some(&errors))
            });
        if let Err(e) = finished {
            tracing::error!(error = %e, "cannot record the end of a household import");
        }
        let _ = std::fs::remove_file(&self.path);
    }

    #[allow(clippy::result_large_err)]
    fn import(&self) -> Result<ImportReport, (ImportReport, ImportError)> {
        let fail = |e: ImportError| (ImportReport::default(), e);
        let mut conn = self
            .state
            .database
            .pool
            .get()
            .map_err(|e| fail(ImportError::Failed(e.into())))?;
        engine::update_job(
            &mut conn,
            &self.job_id,
            JobStatus::Running,
            &ImportReport::default(),
            None,
        )
        .map_err(|e| fail(e.into()))?;
        let file = std::fs::File::open(&self.path)
            .map_err(|e| fail(ImportError::Failed(ApiError::internal(e))))?;
        let lookup = self.state.grids.get();
        let ctx = ImportContext {
            cipher: &self.state.cipher,
            lookup: &lookup,
            rules: self.state.rule_engine(),
            scope: &self.scope,
            actor: Some(&self.actor),
            run_id: &self.job_id,
            encoding: self.encoding,
            runner: Runner::Job,
            readers: Some(&self.state.database.pool),
        };
        let job_id = self.job_id.clone();
        let mut errors_written = 0usize;
        let mut last = ImportReport::default();
        let result = engine::import(
            &mut conn,
            &ctx,
            std::io::BufReader::with_capacity(256 * 1024, file),
            &mut |conn: &mut db::AnyConnection, report: &ImportReport| {
                // The error list only when it grew: it is up to a thousand entries.
                let errors = (report.errors.len() != errors_written).then_some(&report.errors[..]);
                errors_written = report.errors.len();
                last = report.clone();
                engine::update_job(conn, &job_id, JobStatus::Running, report, errors)
            },
        );
        result.map_err(|e| (last, e))
    }
}

/// How far an import job got, with the first rejected rows.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Import job id")),
    responses(
        (status = 200, description = "The job", body = ImportJob),
        (status = 404, description = "No such job in scope", body = ErrorBody),
    )
)]
#[get("/households/imports/{id}")]
pub async fn get_import_job(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<web::Json<ImportJob>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let scope = caller.scope();
    let row = state
        .into_inner()
        .db(move |conn| Ok(engine::find_job_in_scope(conn, &scope, &id.to_string())?))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(web::Json(row.into_api()?))
}
