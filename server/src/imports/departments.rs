//! Department data (CSV in UTF-8 or GBK, or JSON): rows matched to members through the ID
//! blind index, idempotent by the source's record id, every matched household run through the
//! rules with the department's signal; a finding opened this way gets a verify task for the
//! household's grid worker. Rows are read as a stream and committed in batches; bad rows are
//! reported by line and skipped; unmatched rows are kept (blind index and masked ID only) so the
//! sending department can download them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiuzhu_proto::department::{DepartmentImport, DepartmentSource};
use jiuzhu_proto::household::{DisabilityType, RowError, StudentStatus};
use jiuzhu_proto::task::TaskKind;
use serde_json::{json, Map, Value as Json};

use super::households::{decode, parse_yuan, EncodingChoice, ImportError};
use crate::db::schema::{department_imports, department_records, members, tasks as task_table};
use crate::db::{self, AnyConnection};
use crate::domain::id_number::IdNumber;
use crate::error::{ApiError, ApiResult};
use crate::registry::ID_INDEX;
use crate::rules::evaluate::{self, Trigger};
use crate::scope::Scope;
use crate::state::AppState;

/// Rows per write transaction.
pub const BATCH_ROWS: usize = 1000;
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

/// Who imports, over which area.
pub struct Importer<'a> {
    pub state: &'a AppState,
    pub scope: &'a Scope,
    pub actor: Option<&'a str>,
}

#[derive(Debug, Default)]
struct Totals {
    rows: i64,
    matched: i64,
    unmatched: i64,
    duplicates: i64,
    rejected: i64,
    findings_opened: i64,
    tasks_created: i64,
    errors: Vec<RowError>,
}

impl Totals {
    fn reject(&mut self, e: RowError) {
        self.rejected += 1;
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(e);
        }
    }
}

/// Imports one file. Batches committed before a failure stay (and are skipped as duplicates
/// when the file is sent again).
pub fn import(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    source: DepartmentSource,
    input: Box<dyn Read + Send>,
    format: Format,
    encoding: EncodingChoice,
) -> Result<DepartmentImport, ImportError> {
    let id = uuid::Uuid::now_v7().to_string();
    let started = db::now();
    let today = crate::registry::today();
    let mut rows = Rows::open(source, input, format, encoding)?;
    let mut totals = Totals::default();
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH_ROWS);
    let mut seen_in_file: BTreeSet<String> = BTreeSet::new();
    loop {
        let next = rows.next();
        let done = matches!(next, Ok(None));
        match next {
            Ok(Some((line, get))) => {
                totals.rows += 1;
                match parse_record(source, line, &*get, today) {
                    Ok(r) if !seen_in_file.insert(r.record_id.clone()) => {
                        let _ = r;
                        totals.duplicates += 1;
                    }
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
        if batch.len() >= BATCH_ROWS || (done && !batch.is_empty()) {
            let records = std::mem::take(&mut batch);
            db::write_transaction(conn, |conn| {
                write_batch(conn, who, source, &id, records, &mut totals, today)
            })?;
        }
        if done {
            break;
        }
    }
    let finished = db::now();
    let errors = serde_json::to_string(&totals.errors).map_err(ApiError::internal)?;
    db::write_transaction(conn, |conn| -> ApiResult<()> {
        diesel::insert_into(department_imports::table)
            .values((
                department_imports::id.eq(&id),
                department_imports::source.eq(source.as_str()),
                department_imports::org_path.eq(who.scope.path()),
                department_imports::rows_read.eq(totals.rows),
                department_imports::matched.eq(totals.matched),
                department_imports::unmatched.eq(totals.unmatched),
                department_imports::duplicates.eq(totals.duplicates),
                department_imports::rejected.eq(totals.rejected),
                department_imports::findings_opened.eq(totals.findings_opened),
                department_imports::tasks_created.eq(totals.tasks_created),
                department_imports::errors.eq(&errors),
                department_imports::created_by.eq(who.actor),
                department_imports::created_at.eq(started),
                department_imports::finished_at.eq(Some(finished)),
            ))
            .execute(conn)?;
        crate::audit::record(
            conn,
            crate::audit::AuditEntry {
                actor_id: who.actor,
                action: "department.import",
                entity: "department_import",
                entity_id: &id,
                org_path: who.scope.path(),
                detail: json!({ "source": source.as_str(), "rows": totals.rows, "matched": totals.matched }),
            },
        )?;
        Ok(())
    })?;
    Ok(DepartmentImport {
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
    })
}

fn write_batch(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    source: DepartmentSource,
    import_id: &str,
    records: Vec<Record>,
    totals: &mut Totals,
    today: NaiveDate,
) -> ApiResult<()> {
    let now = db::now();
    // Already imported by an earlier file: left alone.
    let ids: Vec<&str> = records.iter().map(|r| r.record_id.as_str()).collect();
    let known: BTreeSet<String> = department_records::table
        .filter(department_records::source.eq(source.as_str()))
        .filter(department_records::record_id.eq_any(&ids))
        .select(department_records::record_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
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
            who.state
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
    let lower = who.scope.lower();
    let upper = who.scope.upper();
    let found: Vec<(Vec<u8>, String, String, i64)> = members::table
        .inner_join(crate::db::schema::households::table)
        .filter(members::id_blind.eq_any(&unique))
        .filter(crate::db::schema::households::org_path.ge(&lower))
        .filter(crate::db::schema::households::org_path.lt(&upper))
        .select((
            members::id_blind,
            members::id,
            members::household_id,
            members::annual_income_fen,
        ))
        .load(conn)?;
    let by_blind: HashMap<Vec<u8>, (String, String, i64)> = found
        .into_iter()
        .map(|(b, m, h, inc)| (b, (m, h, inc)))
        .collect();
    // Per household: the signals this batch brings.
    let mut touched: BTreeMap<String, (String, Map<String, Json>)> = BTreeMap::new();
    for (r, blind) in fresh.iter().zip(blinds) {
        let hit = by_blind.get(&blind);
        diesel::insert_into(department_records::table)
            .values((
                department_records::source.eq(source.as_str()),
                department_records::record_id.eq(&r.record_id),
                department_records::import_id.eq(import_id),
                department_records::line.eq(r.line as i64),
                department_records::id_blind.eq(&blind),
                department_records::id_masked.eq(r.id.masked()),
                department_records::member_id.eq(hit.map(|h| h.0.clone())),
                department_records::household_id.eq(hit.map(|h| h.1.clone())),
                department_records::event_date.eq(r.event_date),
                department_records::amount_fen.eq(r.amount_fen),
                department_records::detail.eq(Json::Object(r.detail.clone()).to_string()),
                department_records::imported_at.eq(now),
            ))
            .execute(conn)?;
        let Some((member_id, household_id, _)) = hit else {
            totals.unmatched += 1;
            continue;
        };
        totals.matched += 1;
        let entry = touched
            .entry(household_id.clone())
            .or_insert_with(|| (r.record_id.clone(), Map::new()));
        let signals = &mut entry.1;
        match source {
            DepartmentSource::Disability => {
                let level = r.detail.get("level").and_then(Json::as_u64).unwrap_or(4);
                let kind = r.detail.get("type").and_then(Json::as_str).unwrap_or("");
                let severe =
                    level <= 2 || (level == 3 && matches!(kind, "intellectual" | "mental"));
                if severe && r.event_date >= today - Duration::days(365) {
                    signals.insert("new_severe_disability".into(), Json::Bool(true));
                }
            }
            DepartmentSource::Deaths => {
                let earner: Option<String> = members::table
                    .filter(members::household_id.eq(household_id))
                    .filter(members::annual_income_fen.gt(0))
                    .order(members::annual_income_fen.desc())
                    .select(members::id)
                    .first(conn)
                    .optional()?;
                if earner.as_deref() == Some(member_id.as_str()) {
                    signals.insert("earner_died".into(), Json::Bool(true));
                }
            }
            _ => {}
        }
    }
    for (household_id, (record_id, mut signals)) in touched {
        // Twelve months of out-of-pocket spending from the claims on file, in yuan.
        let since = today - Duration::days(365);
        let amounts: Vec<Option<i64>> = department_records::table
            .filter(department_records::household_id.eq(&household_id))
            .filter(department_records::source.eq(DepartmentSource::MedicalClaims.as_str()))
            .filter(department_records::event_date.ge(since))
            .select(department_records::amount_fen)
            .load(conn)?;
        let oop: Option<i64> = Some(amounts.into_iter().flatten().sum());
        if let Some(fen) = oop.filter(|f| *f > 0) {
            signals.insert("medical_oop_12m".into(), json!(fen as f64 / 100.0));
        }
        let done = evaluate::household(
            conn,
            who.state,
            &household_id,
            Trigger::Department(&format!("{}:{record_id}", source.as_str())),
            &signals,
            now,
        )?;
        totals.findings_opened += done.opened.len() as i64;
        if !done.opened.is_empty() && verify_task(conn, who, &household_id, now)? {
            totals.tasks_created += 1;
        }
    }
    Ok(())
}

/// A verify task for the household's grid worker, unless one is open already.
fn verify_task(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    household_id: &str,
    now: NaiveDateTime,
) -> ApiResult<bool> {
    let open: i64 = task_table::table
        .filter(task_table::household_id.eq(household_id))
        .filter(task_table::state.eq_any(["pending", "assigned", "accepted"]))
        .count()
        .get_result(conn)?;
    if open > 0 {
        return Ok(false);
    }
    let path: String = crate::db::schema::households::table
        .find(household_id)
        .select(crate::db::schema::households::org_path)
        .first(conn)?;
    let worker = crate::db::repo::tasks::grid_workers(conn, &path)?
        .into_iter()
        .next();
    crate::tasks::create(
        conn,
        crate::tasks::NewTask {
            kind: TaskKind::Verify,
            household_id,
            household_path: &path,
            form_key: &who.state.settings.recheck.form_key,
            assignee: worker.as_deref(),
            due_date: crate::registry::today() + Duration::days(7),
            priority: 1,
            note: "部门数据预警，请入户核实 / an alert from department data: visit and verify",
            actor: who.actor,
        },
        now,
    )?;
    Ok(true)
}

/// The unmatched rows of an import, as CSV for the sending department (record id, masked ID
/// number, line).
pub fn unmatched_csv(
    conn: &mut AnyConnection,
    scope: &Scope,
    source: DepartmentSource,
    import_id: &str,
) -> ApiResult<Vec<u8>> {
    let exists: i64 = department_imports::table
        .filter(department_imports::id.eq(import_id))
        .filter(department_imports::source.eq(source.as_str()))
        .filter(department_imports::org_path.eq(scope.path()))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Err(ApiError::not_found());
    }
    let rows: Vec<(String, String, i64)> = department_records::table
        .filter(department_records::import_id.eq(import_id))
        .filter(department_records::household_id.is_null())
        .order(department_records::line.asc())
        .select((
            department_records::record_id,
            department_records::id_masked,
            department_records::line,
        ))
        .load(conn)?;
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
