//! Department data (CSV in UTF-8 or GBK, or JSON): rows matched to members through the ID
//! blind index, idempotent by the source's record id, every matched household run through the
//! rules with the department's signal; a finding opened this way gets a verify task for the
//! household's grid worker. Rows are read as a stream and committed in batches; bad rows are
//! reported by line and skipped; unmatched rows are kept (blind index and masked ID only) so the
//! sending department can download them.
//!
//! `rows` reads the file, `record` checks each row, `store` writes the first pass (the records),
//! `evaluate` the second (the households they matched); this module runs the two.

mod evaluate;
mod record;
mod rows;
mod store;
mod unmatched;

use std::collections::{BTreeSet, HashSet};
use std::io::Read;

use chrono::NaiveDate;
use jiuzhu_proto::department::{DepartmentImport, DepartmentSource};
use jiuzhu_proto::household::RowError;
use serde_json::json;

use super::households::{EncodingChoice, ImportError};
use super::tuning::{ImportTuning, Runner};
use crate::db::repo::departments as repo;
use crate::db::{self, AnyConnection};
use crate::error::{ApiError, ApiResult};
use crate::rules::Engine;
use crate::scope::Scope;
use evaluate::evaluate_matched;
use record::{parse_record, Record};
use rows::Rows;
use store::write_batch;
pub use unmatched::unmatched_csv;

/// Row errors kept for the report; all are counted.
const MAX_KEPT_ERRORS: usize = 1000;

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// An array of objects keyed like the CSV header.
    Json,
}

/// How far an import got, reported after each committed batch and each evaluated chunk.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Progress {
    /// `records` (reading and storing the file), then `evaluating` (the matched households).
    pub phase: &'static str,
    pub rows: i64,
    pub matched: i64,
    pub unmatched: i64,
    pub duplicates: i64,
    pub rejected: i64,
    pub households_evaluated: i64,
    pub findings_opened: i64,
    pub tasks_created: i64,
}

/// Called with each [`Progress`]; an error stops the import (a background job that lost its
/// lease). Batches committed before stay.
pub type OnProgress<'a> = &'a mut dyn FnMut(&mut AnyConnection, &Progress) -> ApiResult<()>;

/// Who imports, over which area.
pub struct Importer<'a> {
    /// The rules the matched households are evaluated with (its cipher computes the blind index
    /// records are matched by).
    pub rules: Engine<'a>,
    /// The form of the verify tasks opened where a finding opened.
    pub verify_form: &'a str,
    pub scope: &'a Scope,
    pub actor: Option<&'a str>,
    /// Decides the size of the first pass's transactions and the connection's settings.
    pub runner: Runner,
}

#[derive(Debug, Default)]
struct Totals {
    /// Unfinished earlier imports whose households this one evaluated.
    resumed: Vec<String>,
    rows: i64,
    matched: i64,
    unmatched: i64,
    duplicates: i64,
    rejected: i64,
    findings_opened: i64,
    tasks_created: i64,
    /// Households evaluated so far.
    evaluated: i64,
    errors: Vec<RowError>,
}

impl Totals {
    fn progress(&self, phase: &'static str) -> Progress {
        Progress {
            phase,
            rows: self.rows,
            matched: self.matched,
            unmatched: self.unmatched,
            duplicates: self.duplicates,
            rejected: self.rejected,
            households_evaluated: self.evaluated,
            findings_opened: self.findings_opened,
            tasks_created: self.tasks_created,
        }
    }

    fn reject(&mut self, e: RowError) {
        self.rejected += 1;
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(e);
        }
    }
}

/// Imports one file in two passes, each committed in batches:
///
/// 1. the records: parsed, matched to members through the blind index and stored (one query per
///    batch for the records already on file, one for the matching members; the rows by the
///    fastest path each backend has);
/// 2. the households they matched: each evaluated once for the whole file, a chunk of households
///    per transaction ([`crate::rules::evaluate::households`]), with the signals read back from the stored
///    records (12 months of out-of-pocket claims, a new severe disability, the death of the
///    earner), and a verify task for the grid worker where a finding opened.
///
/// The import's row is written first and marked finished last. If the process dies half-way,
/// sending the file again finds its records on file (duplicates, left alone) and evaluates the
/// households of that unfinished import as well as its own: evaluation is idempotent (one open
/// finding per household and type, a verify task only where none is open), so nothing doubles.
pub fn import(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    source: DepartmentSource,
    input: Box<dyn Read + Send>,
    format: Format,
    encoding: EncodingChoice,
    progress: OnProgress<'_>,
) -> Result<DepartmentImport, ImportError> {
    let id = uuid::Uuid::now_v7().to_string();
    let started = db::now();
    let today = crate::domain::time::today();
    let mut rows = Rows::open(source, input, format, encoding)?;
    db::write_transaction(conn, |conn| -> ApiResult<()> {
        repo::insert_import(
            conn,
            repo::NewImport {
                id: &id,
                source: source.as_str(),
                org_path: who.scope.path(),
                created_by: who.actor,
                created_at: started,
            },
        )?;
        Ok(())
    })?;
    let tuning = ImportTuning::apply(conn, who.runner)?;
    let result = run(conn, who, source, &id, &mut rows, today, progress);
    let restored = tuning.restore(conn);
    let totals = result?;
    restored?;
    let finished = db::now();
    let report = DepartmentImport {
        id: id
            .parse()
            .map_err(|_| ApiError::internal(anyhow::anyhow!("bad id")))?,
        source,
        rows: totals.rows,
        matched: totals.matched,
        unmatched: totals.unmatched,
        duplicates: totals.duplicates,
        rejected: totals.rejected,
        findings_opened: totals.findings_opened,
        tasks_created: totals.tasks_created,
        errors: totals.errors,
        created_at: started.and_utc(),
        finished_at: Some(finished.and_utc()),
    };
    let errors = serde_json::to_string(&report.errors).map_err(ApiError::internal)?;
    db::write_transaction(conn, |conn| -> ApiResult<()> {
        // With the unfinished imports this one completed.
        repo::finish_import(conn, &id, &report, &errors, &totals.resumed, finished)?;
        crate::audit::record(
            conn,
            crate::audit::AuditEntry {
                actor_id: who.actor,
                action: "department.import",
                entity: "department_import",
                entity_id: &id,
                org_path: who.scope.path(),
                detail: json!({ "source": source.as_str(), "rows": report.rows, "matched": report.matched }),
            },
        )?;
        Ok(())
    })?;
    Ok(report)
}

/// Both passes; the counts for the import's row.
fn run(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    source: DepartmentSource,
    import_id: &str,
    rows: &mut Rows,
    today: NaiveDate,
    progress: OnProgress<'_>,
) -> Result<Totals, ImportError> {
    let mut totals = Totals::default();
    let batch_rows = who.runner.records_per_batch();
    let mut batch: Vec<Record> = Vec::with_capacity(batch_rows);
    // Record ids of the batch being gathered: a record twice in one file is a duplicate. Across
    // batches the records on file catch it.
    let mut in_batch: HashSet<String> = HashSet::with_capacity(batch_rows);
    let mut earlier: BTreeSet<String> = BTreeSet::new();
    // The records already on file are looked up by id per batch: planned with the statistics of
    // the table before this file, PostgreSQL scans it all per lookup.
    let mut stored = db::GrowingTables::new(&["department_records"]);
    loop {
        let next = rows.next();
        let done = matches!(next, Ok(None));
        match next {
            Ok(Some((line, get))) => {
                totals.rows += 1;
                match parse_record(source, line, &*get, today) {
                    Ok(r) if !in_batch.insert(r.record_id.clone()) => totals.duplicates += 1,
                    Ok(r) => batch.push(r),
                    Err(e) => totals.reject(e),
                }
            }
            Ok(None) => {}
            Err(e) => {
                totals.rows += 1;
                totals.reject(e);
            }
        }
        if batch.len() >= batch_rows || (done && !batch.is_empty()) {
            let records = std::mem::take(&mut batch);
            in_batch.clear();
            db::write_transaction(conn, |conn| {
                write_batch(
                    conn,
                    who,
                    source,
                    import_id,
                    records,
                    &mut totals,
                    &mut earlier,
                )
            })?;
            progress(conn, &totals.progress("records"))?;
            stored.grown_to(conn, (totals.matched + totals.unmatched) as u64)?;
        }
        if done {
            break;
        }
    }
    // The second pass reads the records back by household; planned with the statistics of the
    // table before the first pass, PostgreSQL would scan all of it per chunk.
    db::refresh_statistics(conn, &["department_records"])?;
    // Earlier imports of these records that never finished: their households are evaluated too.
    let mut imports = vec![import_id.to_owned()];
    if !earlier.is_empty() {
        let earlier: Vec<String> = earlier.into_iter().collect();
        let unfinished = repo::unfinished_of(conn, &earlier)?;
        totals.resumed = unfinished.clone();
        imports.extend(unfinished);
    }
    evaluate_matched(conn, who, &imports, &mut totals, today, progress)?;
    Ok(totals)
}
