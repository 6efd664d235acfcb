//! Households from CSV (one row per member, a household's rows together), streamed: the file is
//! never in memory, bad rows are reported by line and skipped with their household, good households
//! are committed in batches, and a household whose external id is already on file is left alone, so
//! importing the same file twice changes nothing. The CLI (`jiuzhu import households`) and the API
//! job (`POST /households/import`) both call [`import`].
//!
//! The work is a two-stage pipeline: one thread decodes, parses, validates, places and seals
//! households (CPU-bound), the calling thread checks them against the database, inserts them and
//! runs the rules on them (`registry::facts_changed`, a batch at a time).
//! The file format is documented in `fixtures/households/README.md`.

use std::io::Read;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use diesel::prelude::*;
use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::household::{ImportJob, JobStatus, RowError};

use super::tuning::{ImportTuning, Runner};
use crate::crypto::FieldCipher;
use crate::db::repo::import_jobs;
use crate::db::{self, AnyConnection};
use crate::domain::geo::GridKey;
use crate::domain::geo::GridLookup;
use crate::error::{ApiError, ApiResult};
use crate::rules::Engine;
use crate::scope::Scope;

mod columns;
mod encoding;
mod pipeline;
mod scan;
#[cfg(test)]
mod tests;
mod write;

pub use columns::{header_names, parse_yuan, BadAmount};
pub(crate) use encoding::decode;
use encoding::CountingReader;
pub use encoding::{Encoding, EncodingChoice};
use pipeline::{load_grids, open_csv, run_pipeline};

/// Row errors kept for the report; all are counted.
pub const MAX_KEPT_ERRORS: usize = 1000;
/// A record longer than this is not a row of this format but an unclosed quote or binary data;
/// the cap keeps memory flat whatever the file holds.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// A file that cannot be imported at all; nothing was written.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code,
            details: vec![FieldError {
                field: "file".into(),
                code: code.into(),
                message: message.clone(),
            }],
            message,
        }
    }

    /// 422 with the reasons as field details.
    pub fn into_api_error(self) -> ApiError {
        ApiError::validation(self.details)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        for d in &self.details {
            if d.message != self.message {
                write!(f, "; {}", d.message)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum ImportError {
    /// The file as a whole is unusable (encoding, header); nothing was written.
    Refused(Refusal),
    /// A failure of ours (database, disk); batches committed before it stay.
    Failed(ApiError),
}

impl From<ApiError> for ImportError {
    fn from(e: ApiError) -> Self {
        ImportError::Failed(e)
    }
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError::Failed(e.into())
    }
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::Refused(r) => r.fmt(f),
            ImportError::Failed(e) => e.fmt(f),
        }
    }
}

/// Everything the import needs besides the connection and the file.
pub struct ImportContext<'a> {
    pub cipher: &'a FieldCipher,
    pub lookup: &'a GridLookup<GridKey>,
    /// The rules, run on each batch of new households.
    pub rules: Engine<'a>,
    /// Households must land in grids inside it.
    pub scope: &'a Scope,
    /// Recorded on status history, conflicts and the audit log.
    pub actor: Option<&'a str>,
    /// Names the import in the audit log (the job id, or a fresh id for the CLI).
    pub run_id: &'a str,
    pub encoding: EncodingChoice,
    /// Decides the size of the write transactions and the connection's settings.
    pub runner: Runner,
    /// Where the rules stage may read beside the writer (which households are on file already,
    /// so as not to evaluate them); without it every new-looking household is evaluated.
    pub readers: Option<&'a crate::db::DbPool>,
}

/// How far the import got. Counts are of what is committed (plus rows already judged bad).
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub encoding: Option<Encoding>,
    pub bytes_read: u64,
    /// Data rows (not the header).
    pub rows_read: u64,
    pub households_created: u64,
    pub households_unchanged: u64,
    pub households_rejected: u64,
    /// Rows skipped: bad rows and the other rows of their households.
    pub rows_rejected: u64,
    /// Conflicts recorded for ID numbers already held by another household.
    pub conflicts_recorded: u64,
    /// Findings the rules opened on the new households.
    pub findings_opened: u64,
    /// The first [`MAX_KEPT_ERRORS`] row errors, in file order.
    pub errors: Vec<RowError>,
    pub errors_total: u64,
}

impl ImportReport {
    fn reject(&mut self, rows: u64, errors: Vec<RowError>) {
        self.households_rejected += 1;
        self.rows_rejected += rows;
        self.note_errors(errors);
    }

    fn note_errors(&mut self, errors: Vec<RowError>) {
        self.errors_total += errors.len() as u64;
        let room = MAX_KEPT_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(errors.into_iter().take(room));
    }
}

/// Per-batch callback, run inside the batch's write transaction (so what it writes, such as a job's
/// progress row, commits with the batch).
pub type Progress<'p> = dyn FnMut(&mut AnyConnection, &ImportReport) -> ApiResult<()> + 'p;

/// Checks that a file can be imported (encoding and header) without importing it: for the API to
/// refuse a bad upload at once.
pub fn check_file<R: Read + Send + 'static>(
    raw: R,
    choice: EncodingChoice,
) -> Result<Encoding, ImportError> {
    open_csv(raw, choice).map(|(encoding, _, _)| encoding)
}

/// Imports households from a CSV stream. Good households are committed in batches as they come;
/// bad rows are reported and skipped; a file-level problem (encoding, header) refuses the file
/// before anything is written.
pub fn import<R: Read + Send + 'static>(
    conn: &mut AnyConnection,
    ctx: &ImportContext<'_>,
    raw: R,
    progress: &mut Progress<'_>,
) -> Result<ImportReport, ImportError> {
    let bytes = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: raw,
        count: bytes.clone(),
    };
    let (encoding, header, reader) = open_csv(counted, ctx.encoding)?;
    let grids = load_grids(conn)?;
    let tuning = ImportTuning::apply(conn, ctx.runner)?;
    let result = run_pipeline(
        conn, ctx, encoding, header, reader, &grids, &bytes, progress,
    );
    let restored = tuning.restore(conn);
    let report = result?;
    restored?;
    if report.households_created > 0 {
        db::refresh_statistics(conn, db::HOUSEHOLD_TABLES)?;
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Jobs

pub use crate::db::repo::import_jobs::ImportJobRow;

pub const JOB_KIND: &str = "households";

impl ImportJobRow {
    pub fn queued(id: &str, org_path: &str, created_by: Option<&str>) -> Self {
        let now = db::now();
        Self {
            id: id.to_owned(),
            kind: JOB_KIND.into(),
            status: JobStatus::Queued.as_str().into(),
            org_path: org_path.to_owned(),
            created_by: created_by.map(str::to_owned),
            rows_read: 0,
            households_created: 0,
            households_unchanged: 0,
            rows_rejected: 0,
            errors: "[]".into(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn into_api(self) -> ApiResult<ImportJob> {
        let bad = || ApiError::internal(anyhow::anyhow!("unreadable import job row"));
        Ok(ImportJob {
            id: self.id.parse().map_err(|_| bad())?,
            status: JobStatus::parse(&self.status).ok_or_else(bad)?,
            rows_read: self.rows_read,
            households_created: self.households_created,
            households_unchanged: self.households_unchanged,
            rows_rejected: self.rows_rejected,
            errors: serde_json::from_str(&self.errors).map_err(|_| bad())?,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

pub fn insert_job(conn: &mut AnyConnection, row: &ImportJobRow) -> QueryResult<usize> {
    import_jobs::insert(conn, row)
}

pub fn find_job_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<ImportJobRow>> {
    import_jobs::find_in_scope(conn, scope, JOB_KIND, id)
}

/// Writes a job's status and counts; the error list only when `errors` is given.
pub fn update_job(
    conn: &mut AnyConnection,
    id: &str,
    status: JobStatus,
    report: &ImportReport,
    errors: Option<&[RowError]>,
) -> ApiResult<()> {
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let counts = import_jobs::JobCounts {
        status: status.as_str(),
        rows_read: as_i64(report.rows_read),
        households_created: as_i64(report.households_created),
        households_unchanged: as_i64(report.households_unchanged),
        rows_rejected: as_i64(report.rows_rejected),
        updated_at: db::now(),
    };
    let text = errors
        .map(serde_json::to_string)
        .transpose()
        .map_err(ApiError::internal)?;
    import_jobs::update(conn, id, counts, text.as_deref())?;
    Ok(())
}
