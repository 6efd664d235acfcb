//! Department data (CSV in UTF-8 or GBK, or JSON): rows matched to members through the ID
//! blind index, idempotent by the source's record id, every matched household run through the
//! rules with the department's signal; a finding opened this way gets a verify task for the
//! household's grid worker. Rows are read as a stream and committed in batches; bad rows are
//! reported by line and skipped; unmatched rows are kept (blind index and masked ID only) so the
//! sending department can download them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use jiuzhu_proto::department::{DepartmentImport, DepartmentSource};
use jiuzhu_proto::household::{DisabilityType, RowError, StudentStatus};
use jiuzhu_proto::task::TaskKind;
use serde_json::{json, Map, Value as Json};

use super::households::{decode, parse_yuan, EncodingChoice, ImportError};
use super::tuning::{ImportTuning, Runner};
use crate::db::repo::departments::{self as repo, RecordRow};
use crate::db::{self, AnyConnection};
use crate::domain::id_number::IdNumber;
use crate::error::{ApiError, ApiResult};
use crate::registry::ID_INDEX;
use crate::rules::evaluate::{self, Subject, Trigger};
use crate::rules::Engine;
use crate::scope::Scope;

/// Rows per write transaction of the first pass.
const MAX_KEPT_ERRORS: usize = 1000;
const MAX_FIELD_CHARS: usize = 200;

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// An array of objects keyed like the CSV header.
    Json,
}

/// Columns of each source: canonical name, Chinese header, required.
fn columns(source: DepartmentSource) -> &'static [(&'static str, &'static str, bool)] {
    match source {
        DepartmentSource::MedicalClaims => &[
            ("record_id", "结算单号", true),
            ("id_number", "身份证号", true),
            ("settlement_date", "结算日期", true),
            ("total_cost", "总费用", true),
            ("insurance_paid", "统筹支付", true),
            ("out_of_pocket", "个人自付", true),
            ("hospital", "医院", false),
        ],
        DepartmentSource::Disability => &[
            ("record_id", "证件编号", true),
            ("id_number", "身份证号", true),
            ("type", "残疾类别", true),
            ("level", "残疾等级", true),
            ("date", "发证日期", true),
        ],
        DepartmentSource::Education => &[
            ("record_id", "学籍号", true),
            ("id_number", "身份证号", true),
            ("school", "学校", true),
            ("stage", "学段", true),
        ],
        DepartmentSource::Unemployment => &[
            ("record_id", "登记编号", true),
            ("id_number", "身份证号", true),
            ("since", "失业日期", true),
        ],
        DepartmentSource::Deaths => &[
            ("record_id", "记录编号", true),
            ("id_number", "身份证号", true),
            ("date", "死亡日期", true),
        ],
    }
}

/// One valid row.
#[derive(Debug, Clone)]
struct Record {
    line: u64,
    record_id: String,
    id: IdNumber,
    event_date: NaiveDate,
    amount_fen: Option<i64>,
    detail: Map<String, Json>,
}

fn row_error(line: u64, code: &str, zh: &str, en: &str) -> RowError {
    RowError {
        row: line,
        code: code.into(),
        message: format!("{zh} / {en}"),
    }
}

fn date(line: u64, field: &str, text: &str, today: NaiveDate) -> Result<NaiveDate, RowError> {
    let d = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y/%m/%d"))
        .map_err(|_| {
            row_error(
                line,
                "invalid_date",
                &format!("{field} 日期格式应为 YYYY-MM-DD"),
                &format!("{field} is not a YYYY-MM-DD date"),
            )
        })?;
    if d > today {
        return Err(row_error(
            line,
            "future_date",
            &format!("{field} 不能是将来的日期"),
            &format!("{field} is in the future"),
        ));
    }
    Ok(d)
}

fn money(line: u64, field: &str, text: &str) -> Result<i64, RowError> {
    match parse_yuan(text) {
        Ok(fen) if fen >= 0 && !text.trim().is_empty() => Ok(fen),
        Ok(_) => Err(row_error(
            line,
            "out_of_range",
            &format!("{field} 须为非负金额"),
            &format!("{field} must be a non-negative amount"),
        )),
        Err(_) => Err(row_error(
            line,
            "invalid_amount",
            &format!("{field} 金额格式错误（元，至多两位小数，不含逗号）"),
            &format!("{field} is not an amount in yuan (two decimals at most, no separators)"),
        )),
    }
}

/// Checks one row given as field → text.
fn parse_record(
    source: DepartmentSource,
    line: u64,
    get: &dyn Fn(&str) -> String,
    today: NaiveDate,
) -> Result<Record, RowError> {
    for (name, _, required) in columns(source) {
        let v = get(name);
        if *required && v.trim().is_empty() {
            return Err(row_error(
                line,
                "missing_value",
                &format!("缺少 {name}"),
                &format!("{name} is empty"),
            ));
        }
        if v.chars().count() > MAX_FIELD_CHARS {
            return Err(row_error(
                line,
                "too_long",
                &format!("{name} 过长"),
                &format!("{name} is too long"),
            ));
        }
    }
    let record_id = get("record_id").trim().to_owned();
    let id = IdNumber::parse(&get("id_number"))
        .map_err(|e| row_error(line, "invalid_id_number", "身份证号无效", &e.to_string()))?
        .id;
    let mut detail = Map::new();
    let (event_date, amount_fen) = match source {
        DepartmentSource::MedicalClaims => {
            let d = date(
                line,
                "settlement_date",
                get("settlement_date").trim(),
                today,
            )?;
            let total = money(line, "total_cost", &get("total_cost"))?;
            let paid = money(line, "insurance_paid", &get("insurance_paid"))?;
            let oop = money(line, "out_of_pocket", &get("out_of_pocket"))?;
            if oop > total || paid > total {
                return Err(row_error(
                    line,
                    "inconsistent_amounts",
                    "自付或统筹金额超过总费用",
                    "out of pocket or insurance paid exceeds the total cost",
                ));
            }
            detail.insert("total_cost_fen".into(), json!(total));
            detail.insert("insurance_paid_fen".into(), json!(paid));
            detail.insert("hospital".into(), json!(get("hospital").trim()));
            (d, Some(oop))
        }
        DepartmentSource::Disability => {
            let kind = get("type").trim().to_owned();
            if DisabilityType::parse(&kind).is_none() {
                return Err(row_error(
                    line,
                    "invalid_value",
                    "残疾类别无效",
                    "unknown disability type",
                ));
            }
            let level: u8 = match get("level").trim().parse() {
                Ok(n @ 1..=4) => n,
                _ => {
                    return Err(row_error(
                        line,
                        "out_of_range",
                        "残疾等级为 1 到 4",
                        "disability level is 1 to 4",
                    ))
                }
            };
            detail.insert("type".into(), json!(kind));
            detail.insert("level".into(), json!(level));
            (date(line, "date", get("date").trim(), today)?, None)
        }
        DepartmentSource::Education => {
            let stage = get("stage").trim().to_owned();
            if StudentStatus::parse(&stage).is_none() {
                return Err(row_error(
                    line,
                    "invalid_value",
                    "学段无效",
                    "unknown school stage",
                ));
            }
            detail.insert("school".into(), json!(get("school").trim()));
            detail.insert("stage".into(), json!(stage));
            (today, None)
        }
        DepartmentSource::Unemployment => (date(line, "since", get("since").trim(), today)?, None),
        DepartmentSource::Deaths => (date(line, "date", get("date").trim(), today)?, None),
    };
    Ok(Record {
        line,
        record_id,
        id,
        event_date,
        amount_fen,
        detail,
    })
}

/// Where rows come from: a CSV reader or a parsed JSON array.
enum Rows {
    Csv {
        reader: csv::Reader<Box<dyn Read + Send>>,
        positions: HashMap<&'static str, usize>,
        record: csv::StringRecord,
    },
    Json(std::vec::IntoIter<Json>, u64),
}

/// Ok(None) at the end; Err for a row that cannot be read (its line is reported).
type RowResult = Result<Option<(u64, Box<dyn Fn(&str) -> String>)>, RowError>;

impl Rows {
    fn open(
        source: DepartmentSource,
        input: Box<dyn Read + Send>,
        format: Format,
        encoding: EncodingChoice,
    ) -> Result<Self, ImportError> {
        let refuse = |code: &'static str, zh: &str, en: &str| {
            ImportError::Failed(ApiError::invalid("file", code, zh, en))
        };
        match format {
            Format::Json => {
                let mut text = String::new();
                let (_, mut reader) = decode(input, encoding)?;
                reader.read_to_string(&mut text).map_err(|_| {
                    refuse("invalid_encoding", "文件编码错误", "the file is not text")
                })?;
                let items: Vec<Json> = serde_json::from_str(&text).map_err(|_| {
                    refuse(
                        "invalid_json",
                        "JSON 须为对象数组",
                        "the JSON must be an array of objects",
                    )
                })?;
                Ok(Rows::Json(items.into_iter(), 0))
            }
            Format::Csv => {
                let (_, reader) = decode(input, encoding)?;
                let mut reader = csv::ReaderBuilder::new()
                    .flexible(false)
                    .from_reader(reader);
                let headers = reader
                    .headers()
                    .map_err(|_| {
                        refuse(
                            "invalid_header",
                            "无法读取表头",
                            "the header cannot be read",
                        )
                    })?
                    .clone();
                let mut positions = HashMap::new();
                for (name, zh, required) in columns(source) {
                    let at = headers.iter().position(|h| {
                        let h = h.trim();
                        h == *name || h == *zh
                    });
                    match at {
                        Some(i) => {
                            positions.insert(*name, i);
                        }
                        None if *required => {
                            return Err(refuse(
                                "missing_column",
                                &format!("缺少列 {name}（{zh}）"),
                                &format!("the column {name} ({zh}) is missing"),
                            ))
                        }
                        None => {}
                    }
                }
                Ok(Rows::Csv {
                    reader,
                    positions,
                    record: csv::StringRecord::new(),
                })
            }
        }
    }

    fn next(&mut self) -> RowResult {
        match self {
            Rows::Json(items, line) => {
                *line += 1;
                let n = *line;
                match items.next() {
                    None => Ok(None),
                    Some(Json::Object(map)) => Ok(Some((
                        n,
                        Box::new(move |k: &str| match map.get(k) {
                            Some(Json::String(s)) => s.clone(),
                            Some(Json::Null) | None => String::new(),
                            Some(other) => other.to_string(),
                        }),
                    ))),
                    Some(_) => Err(row_error(n, "not_an_object", "不是对象", "not an object")),
                }
            }
            Rows::Csv {
                reader,
                positions,
                record,
            } => match reader.read_record(record) {
                Ok(false) => Ok(None),
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    let values: HashMap<&'static str, String> = positions
                        .iter()
                        .map(|(k, i)| (*k, record.get(*i).unwrap_or("").to_owned()))
                        .collect();
                    Ok(Some((
                        line,
                        Box::new(move |k: &str| values.get(k).cloned().unwrap_or_default()),
                    )))
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    Err(row_error(
                        line,
                        "malformed_row",
                        "行格式错误（列数不符、引号未闭合或编码错误）",
                        "malformed row (wrong number of fields, broken quoting or bad encoding)",
                    ))
                }
            },
        }
    }
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
///    per transaction ([`evaluate::households`]), with the signals read back from the stored
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

fn write_batch(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    source: DepartmentSource,
    import_id: &str,
    records: Vec<Record>,
    totals: &mut Totals,
    earlier: &mut BTreeSet<String>,
) -> ApiResult<()> {
    let now = db::now();
    // Already imported by an earlier file: left alone.
    let ids: Vec<&str> = records.iter().map(|r| r.record_id.as_str()).collect();
    let mut known: HashSet<String> = HashSet::new();
    for chunk in ids.chunks(QUERY_CHUNK) {
        let found = repo::known_records(conn, source.as_str(), chunk)?;
        for (record, import) in found {
            known.insert(record);
            earlier.insert(import);
        }
    }
    let fresh: Vec<Record> = records
        .into_iter()
        .filter(|r| {
            let dup = known.contains(&r.record_id);
            if dup {
                totals.duplicates += 1;
            }
            !dup
        })
        .collect();
    let blinds: Vec<Vec<u8>> = fresh
        .iter()
        .map(|r| {
            who.rules
                .cipher
                .blind_index(ID_INDEX, r.id.as_str())
                .to_vec()
        })
        .collect();
    let unique: Vec<Vec<u8>> = blinds
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut by_blind: HashMap<Vec<u8>, (String, String)> = HashMap::new();
    for chunk in unique.chunks(QUERY_CHUNK) {
        let found = crate::db::repo::households::members_by_blind_in_scope(conn, who.scope, chunk)?;
        by_blind.extend(found.into_iter().map(|(b, m, h)| (b, (m, h))));
    }
    let rows: Vec<RecordRow> = fresh
        .into_iter()
        .zip(blinds)
        .map(|(r, blind)| {
            let hit = by_blind.get(&blind);
            if hit.is_some() {
                totals.matched += 1;
            } else {
                totals.unmatched += 1;
            }
            RecordRow {
                source: source.as_str(),
                record_id: r.record_id,
                import_id,
                line: r.line as i64,
                id_masked: r.id.masked(),
                id_blind: blind,
                member_id: hit.map(|h| h.0.clone()),
                household_id: hit.map(|h| h.1.clone()),
                event_date: r.event_date,
                amount_fen: r.amount_fen,
                detail: Json::Object(r.detail).to_string(),
                imported_at: now,
            }
        })
        .collect();
    repo::insert_records(conn, &rows)?;
    Ok(())
}

/// Rows per `IN (…)` list.
const QUERY_CHUNK: usize = 1000;
/// Households per evaluation transaction.
const EVALUATION_CHUNK: usize = 1000;

/// The second pass: every household the imports matched, evaluated once, in chunks (keyset on
/// the household id, served by `department_records_import`).
fn evaluate_matched(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    imports: &[String],
    totals: &mut Totals,
    today: NaiveDate,
    progress: OnProgress<'_>,
) -> ApiResult<()> {
    let mut after = String::new();
    // Evaluation reads the open findings and verify tasks of each chunk, tables it grows.
    let mut written = db::GrowingTables::new(&["findings", "tasks"]);
    loop {
        let chunk = repo::matched_households_after(conn, imports, &after, EVALUATION_CHUNK as i64)?;
        let Some(last) = chunk.last() else {
            return Ok(());
        };
        after = last.clone();
        db::write_transaction(conn, |conn| {
            evaluate_chunk(conn, who, imports, &chunk, totals, today)
        })?;
        totals.evaluated += chunk.len() as i64;
        written.grown_to(conn, totals.evaluated as u64)?;
        progress(conn, &totals.progress("evaluating"))?;
    }
}

/// Signals for a chunk of households from their stored records, then the rules, then verify
/// tasks where a finding opened.
fn evaluate_chunk(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    imports: &[String],
    households_ids: &[String],
    totals: &mut Totals,
    today: NaiveDate,
) -> ApiResult<()> {
    let now = db::now();
    let since = today - Duration::days(365);
    let mut signals: HashMap<String, Map<String, Json>> = HashMap::new();
    // Twelve months of out-of-pocket spending from every claim on file, in yuan: summed by the
    // database (a row per household, not one per claim).
    let claims = repo::amounts_since(
        conn,
        households_ids,
        DepartmentSource::MedicalClaims.as_str(),
        since,
    )?;
    for (household, fen) in claims {
        if let (Some(h), Some(fen)) = (household, fen) {
            if fen > 0 {
                signals
                    .entry(h)
                    .or_default()
                    .insert("medical_oop_12m".into(), json!(fen as f64 / 100.0));
            }
        }
    }
    // What these imports brought: the record named as the finding's source (the first by
    // `source:record_id`), and which sources carry signals of their own.
    let brought = repo::brought(conn, households_ids, imports)?;
    let mut first_record: HashMap<String, (String, String)> = HashMap::new();
    let mut signalling = false;
    for (household, source, record_id) in brought {
        let Some(household) = household else { continue };
        signalling |= matches!(
            DepartmentSource::parse(&source),
            Some(DepartmentSource::Disability | DepartmentSource::Deaths)
        );
        match first_record.get_mut(&household) {
            Some(t) => {
                if trigger_text(&source, &record_id).lt(trigger_text(&t.0, &t.1)) {
                    *t = (source, record_id);
                }
            }
            None => {
                first_record.insert(household, (source, record_id));
            }
        }
    }
    if signalling {
        signal_records(conn, imports, households_ids, since, &mut signals)?;
    }
    let none = Map::new();
    let triggers: Vec<String> = households_ids
        .iter()
        .map(|h| {
            first_record
                .get(h)
                .map(|(source, record)| format!("{source}:{record}"))
                .unwrap_or_default()
        })
        .collect();
    let subjects: Vec<Subject<'_>> = households_ids
        .iter()
        .zip(&triggers)
        .map(|(h, t)| Subject {
            household_id: h,
            trigger: Trigger::Department(t),
            signals: signals.get(h).unwrap_or(&none),
        })
        .collect();
    let evaluations = evaluate::households(conn, &who.rules, &subjects, now)?;
    let opened: Vec<&str> = households_ids
        .iter()
        .zip(&evaluations)
        .filter_map(|(h, e)| {
            let e = e.as_ref()?;
            totals.findings_opened += e.opened.len() as i64;
            (!e.opened.is_empty()).then_some(h.as_str())
        })
        .collect();
    totals.tasks_created += verify_tasks(conn, who, &opened, now)?;
    Ok(())
}

/// The bytes of `source:record_id`, to compare triggers as that text without making it per row.
fn trigger_text<'a>(source: &'a str, record_id: &'a str) -> impl Iterator<Item = u8> + 'a {
    source
        .as_bytes()
        .iter()
        .chain(b":")
        .chain(record_id.as_bytes())
        .copied()
}

/// The signals of the disability and death records these imports brought: a new severe
/// disability (levels 1–2, or 3 for intellectual and mental disability, within the year) and the
/// death of the household's main earner.
fn signal_records(
    conn: &mut AnyConnection,
    imports: &[String],
    households_ids: &[String],
    since: NaiveDate,
    signals: &mut HashMap<String, Map<String, Json>>,
) -> ApiResult<()> {
    let rows = repo::brought_of_sources(
        conn,
        households_ids,
        imports,
        [
            DepartmentSource::Disability.as_str(),
            DepartmentSource::Deaths.as_str(),
        ],
    )?;
    for (household, member, source, date, detail) in rows {
        let Some(household) = household else { continue };
        match DepartmentSource::parse(&source) {
            Some(DepartmentSource::Disability) => {
                let detail: Map<String, Json> = serde_json::from_str(&detail).unwrap_or_default();
                let level = detail.get("level").and_then(Json::as_u64).unwrap_or(4);
                let kind = detail.get("type").and_then(Json::as_str).unwrap_or("");
                let severe =
                    level <= 2 || (level == 3 && matches!(kind, "intellectual" | "mental"));
                if severe && date >= since {
                    signals
                        .entry(household)
                        .or_default()
                        .insert("new_severe_disability".into(), Json::Bool(true));
                }
            }
            Some(DepartmentSource::Deaths) => {
                let earner = crate::db::repo::households::main_earner(conn, &household)?;
                if earner.is_some() && earner == member {
                    signals
                        .entry(household)
                        .or_default()
                        .insert("earner_died".into(), Json::Bool(true));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A verify task for each household's grid worker, unless one is open already.
fn verify_tasks(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    household_ids: &[&str],
    now: NaiveDateTime,
) -> ApiResult<i64> {
    if household_ids.is_empty() {
        return Ok(0);
    }
    let busy: HashSet<String> = crate::db::repo::tasks::with_any_open_task(conn, household_ids)?
        .into_iter()
        .collect();
    let idle: Vec<&str> = household_ids
        .iter()
        .copied()
        .filter(|h| !busy.contains(*h))
        .collect();
    let paths: HashMap<String, String> = crate::db::repo::households::paths_of(conn, &idle)?
        .into_iter()
        .collect();
    let mut workers: HashMap<&str, Option<String>> = HashMap::new();
    for household_id in &idle {
        let Some(path) = paths.get(*household_id) else {
            continue;
        };
        if !workers.contains_key(path.as_str()) {
            let w = crate::db::repo::tasks::grid_workers(conn, path)?
                .into_iter()
                .next();
            workers.insert(path, w);
        }
    }
    let due = crate::domain::time::today() + Duration::days(7);
    let new: Vec<crate::tasks::NewTask<'_>> = idle
        .iter()
        .filter_map(|household_id| {
            let path = paths.get(*household_id)?;
            Some(crate::tasks::NewTask {
                kind: TaskKind::Verify,
                household_id,
                household_path: path,
                form_key: who.verify_form,
                assignee: workers.get(path.as_str()).and_then(|w| w.as_deref()),
                due_date: due,
                priority: 1,
                note: "部门数据预警，请入户核实 / an alert from department data: visit and verify",
                actor: who.actor,
            })
        })
        .collect();
    Ok(crate::tasks::create_many(conn, &new, now)?.len() as i64)
}

/// The unmatched rows of an import, as CSV for the sending department (record id, masked ID
/// number, line).
pub fn unmatched_csv(
    conn: &mut AnyConnection,
    scope: &Scope,
    source: DepartmentSource,
    import_id: &str,
) -> ApiResult<Vec<u8>> {
    if !repo::import_exists(conn, import_id, source.as_str(), scope.path())? {
        return Err(ApiError::not_found());
    }
    let rows = repo::unmatched_of(conn, import_id)?;
    let mut out = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let failed = |_| ApiError::internal(anyhow::anyhow!("writing CSV"));
    out.write_record(["record_id", "id_number_masked", "line"])
        .map_err(failed)?;
    for (record, masked, line) in rows {
        out.write_record([record, masked, line.to_string()])
            .map_err(failed)?;
    }
    out.into_inner()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("writing CSV")))
}
