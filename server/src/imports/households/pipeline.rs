//! The parsing stage and the two-stage pipeline: rows grouped into households, validated, placed in
//! grids and handed in batches to the writer.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use chrono::NaiveDate;
use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::household::{CreateHousehold, MemberInput, RowError};

use super::columns::{spec, Cells, Col, Header, HouseholdCells};
use super::encoding::{decode, io_failure, Encoding, EncodingChoice};
use super::scan::RecordScanner;
use super::write::Writer;
use super::{ImportContext, ImportError, ImportReport, Progress, Refusal};
use crate::db::{self, AnyConnection};
use crate::error::{ApiError, ApiResult};
use crate::registry::validate;
use crate::registry::write::{self, GridChoice, NewHousehold};
use crate::rules::evaluate::{self, Pending, Standards};
use crate::rules::RuleSet;

/// Batches the parser may run ahead of the writer (each in memory while it waits).
const PIPELINE_DEPTH: usize = 1;

/// A household's rows as read.
struct Group {
    external_id: String,
    first_line: u64,
    rows: u64,
    cells: HouseholdCells,
    /// Members that parsed, with their lines.
    members: Vec<(u64, MemberInput)>,
    errors: Vec<RowError>,
    /// The first row could not be read as cells, so the household columns are not to be trusted.
    broken_head: bool,
}

impl Group {
    fn reject(&mut self, line: u64, col: Col, code: &str, message: &str) {
        self.errors
            .push(row_error(line, spec(col).name, code, message));
    }
}

pub(super) fn row_error(line: u64, column: &str, code: &str, message: &str) -> RowError {
    RowError {
        row: line,
        code: code.to_owned(),
        message: format!("{column}: {message}"),
    }
}

/// The CSV column a validation field path points at.
fn column_of(field: &str) -> (Option<usize>, &str) {
    if let Some(rest) = field.strip_prefix("members[") {
        if let Some((index, path)) = rest.split_once("].") {
            let column = match path {
                p if p.starts_with("annual_income.") => {
                    match p.trim_start_matches("annual_income.") {
                        "wages_fen" => "income_wages",
                        "farming_fen" => "income_farming",
                        "business_fen" => "income_business",
                        "rent_fen" => "income_rent",
                        "pension_fen" => "income_pension",
                        "support_fen" => "income_support",
                        _ => "income_other",
                    }
                }
                "disability_type" => "disability_type",
                other => other,
            };
            return (index.parse().ok(), column);
        }
    }
    let column = match field {
        "members" => "relation",
        "external_id" => "household_external_id",
        "location" => "lat",
        "grid_id" => "grid_code",
        f if f.starts_with("tags") => "tags",
        f => f,
    };
    (None, column)
}

/// A household ready to insert, with where its rows are.
pub(super) struct Prepared {
    pub(super) new: NewHousehold,
    pub(super) external_id: String,
    pub(super) first_line: u64,
    pub(super) member_lines: Vec<u64>,
    /// The rules' findings on it, made by the rules stage for the writer to store with it;
    /// `None` when the stage found the household on file already (the writer evaluates it if it
    /// turns out new after all).
    pub(super) findings: Option<Pending>,
}

pub(super) enum Item {
    Ready(Box<Prepared>),
    Rejected { rows: u64, errors: Vec<RowError> },
}

/// What the parser hands the writer.
enum Message {
    Batch {
        items: Vec<Item>,
        rows_read: u64,
    },
    /// The rest of the file cannot be read; `error` says where and why.
    Stopped {
        rows_read: u64,
        error: RowError,
    },
    Failed(ApiError),
}

/// Grids by code and by id: (id, code, path).
pub(super) struct Grids {
    by_code: HashMap<String, (String, String)>,
    path_by_id: HashMap<String, String>,
}

impl Grids {
    /// The grids' org paths.
    fn paths(&self) -> impl Iterator<Item = &str> {
        self.path_by_id.values().map(String::as_str)
    }
}

pub(super) fn load_grids(conn: &mut AnyConnection) -> ApiResult<Grids> {
    let rows = crate::db::repo::org_units::grids(conn)?;
    let mut grids = Grids {
        by_code: HashMap::with_capacity(rows.len()),
        path_by_id: HashMap::with_capacity(rows.len()),
    };
    for (id, code, path) in rows {
        grids.path_by_id.insert(id.clone(), path.clone());
        grids.by_code.insert(code, (id, path));
    }
    Ok(grids)
}

/// The parsing stage: file → households ready to insert, in batches.
struct Parser<'a> {
    ctx: &'a ImportContext<'a>,
    grids: &'a Grids,
    header: Header,
    today: NaiveDate,
    /// Hashes of the external ids seen so far, to tell a household split across the file from
    /// a new one (8 bytes per household: the one thing that grows with the file).
    seen: HashSet<u64>,
    hasher: std::collections::hash_map::RandomState,
}

impl Parser<'_> {
    fn seen_before(&mut self, external_id: &str) -> bool {
        !self.seen.insert(self.hasher.hash_one(external_id))
    }

    fn start_group(&mut self, external_id: String, line: u64, cells: &Cells<'_>) -> Group {
        let mut group = Group {
            first_line: line,
            rows: 0,
            cells: HouseholdCells::from_row(cells),
            members: Vec::new(),
            errors: Vec::new(),
            broken_head: false,
            external_id,
        };
        if self.seen_before(&group.external_id) {
            group.reject(
                line,
                Col::HouseholdExternalId,
                "household_not_contiguous",
                "本户各行须相邻；此户编号在前面已出现 / a household's rows must be together; this household_external_id appeared earlier in the file",
            );
        }
        group
    }

    /// Adds a data row to its household.
    fn add_row(&mut self, group: &mut Group, line: u64, cells: &Cells<'_>) {
        group.rows += 1;
        if group.rows > 1 {
            if let Some(col) = group.cells.differs(cells) {
                group.reject(
                    line,
                    col,
                    "household_fields_differ",
                    "同户各行的家庭信息须一致（或留空） / household columns must repeat the first row's values or be blank",
                );
            }
        }
        if group.members.len() + group.errors.len() > validate::MAX_MEMBERS + 1 {
            // Far too many rows for one household: count them, keep nothing more.
            return;
        }
        let mut errors = Vec::new();
        match cells.member(&mut errors) {
            Some(m) if errors.is_empty() => group.members.push((line, m)),
            _ => {
                for e in errors {
                    group.reject(line, e.col, e.code, &e.message);
                }
            }
        }
    }

    /// Turns a complete household into rows to insert, or into row errors.
    fn finish(&mut self, group: Group) -> Item {
        let Group {
            external_id,
            first_line,
            rows,
            cells,
            members,
            mut errors,
            broken_head,
        } = group;
        let mut cell_errors = Vec::new();
        let fields = if broken_head {
            HouseholdCells::default().parse(&mut Vec::new())
        } else {
            cells.parse(&mut cell_errors)
        };
        errors.extend(
            cell_errors
                .into_iter()
                .map(|e| row_error(first_line, spec(e.col).name, e.code, &e.message)),
        );
        let member_lines: Vec<u64> = members.iter().map(|(l, _)| *l).collect();
        let reject = |mut errors: Vec<RowError>| {
            errors.sort_by_key(|e| e.row);
            Item::Rejected { rows, errors }
        };
        let to_row_error = |e: FieldError| {
            let (index, column) = column_of(&e.field);
            let line = index
                .and_then(|i| member_lines.get(i).copied())
                .unwrap_or(first_line);
            row_error(line, column, &e.code, &e.message)
        };
        if !errors.is_empty() {
            // Still check the members that parsed, so one pass reports every problem.
            let mut field_errors = Vec::new();
            let mut warnings = Vec::new();
            for (i, (_, m)) in members.into_iter().enumerate() {
                let _ = validate::member(
                    &mut field_errors,
                    &mut warnings,
                    &format!("members[{i}]."),
                    m,
                );
            }
            errors.extend(field_errors.into_iter().map(to_row_error));
            return reject(errors);
        }
        let input = CreateHousehold {
            external_id: Some(external_id.clone()),
            address: fields.address,
            location: fields.location,
            grid_id: None,
            status: fields.status,
            status_since: fields.status_since,
            tags: fields.tags,
            notes: fields.notes,
            members: members.into_iter().map(|(_, m)| m).collect(),
        };
        let valid = match validate::household(input) {
            Ok(v) => v,
            Err(field_errors) => {
                return reject(field_errors.into_iter().map(to_row_error).collect())
            }
        };
        let grid = match self.grid(valid.location, fields.grid_code.as_deref()) {
            Ok(g) => g,
            Err((column, code, message)) => {
                return reject(vec![row_error(first_line, column, code, message)])
            }
        };
        match write::build(
            self.ctx.cipher,
            &valid,
            &grid,
            self.ctx.actor,
            db::now(),
            self.today,
        ) {
            Ok(new) => Item::Ready(Box::new(Prepared {
                new,
                external_id,
                first_line,
                member_lines,
                findings: None,
            })),
            Err(_) => reject(vec![row_error(
                first_line,
                "household_external_id",
                "internal",
                "无法加密保存此户 / this household could not be sealed",
            )]),
        }
    }

    /// The grid, as `write::choose_grid` picks it, from the in-memory lookup and grid list.
    fn grid(
        &self,
        location: Option<crate::domain::geo::LatLon>,
        code: Option<&str>,
    ) -> Result<GridChoice, (&'static str, &'static str, &'static str)> {
        if let Some(code) = code {
            return match self.grids.by_code.get(code) {
                Some((id, path)) if self.ctx.scope.contains(path) => Ok(GridChoice {
                    grid_id: id.clone(),
                    org_path: path.clone(),
                    overridden: true,
                }),
                _ => Err((
                    "grid_code",
                    "unknown_grid",
                    "网格不存在或不在权限范围内 / no such grid in your area",
                )),
            };
        }
        let Some(point) = location else {
            return Err((
                "lat",
                "required",
                "需要位置或网格 / a location or a grid_code is required",
            ));
        };
        let entry = self.ctx.lookup.locate(point).ok_or((
            "lat",
            "outside_all_grids",
            "该位置不在任何网格内，请填写 grid_code / the location is outside every grid; give a grid_code",
        ))?;
        match self.grids.path_by_id.get(&entry.key.id) {
            Some(path) if self.ctx.scope.contains(path) => Ok(GridChoice {
                grid_id: entry.key.id.clone(),
                org_path: path.clone(),
                overridden: false,
            }),
            _ => Err((
                "lat",
                "outside_scope",
                "该位置不在您的辖区内 / the location is outside your area",
            )),
        }
    }

    /// Reads the whole file, sending batches to the writer. Returns when the file ends, the
    /// writer hangs up, or the file cannot be read further.
    fn run(
        &mut self,
        mut reader: csv::Reader<RecordScanner<Box<dyn Read + Send>>>,
        tx: &mpsc::SyncSender<Message>,
    ) {
        let mut record = csv::ByteRecord::new();
        // Slow start: the first batch is an eighth of the full size and each next one twice the
        // last, so the rules and the writer get to work while the parser reads on (a file of
        // 100,000 households is two full batches: the stages would take turns).
        let full = self.ctx.runner.households_per_batch();
        let mut target = (full / 8).max(1);
        let mut items = Vec::with_capacity(target);
        let mut rows_read = 0u64;
        let mut group: Option<Group> = None;
        let mut last_line = 1u64;
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let scanner = reader.get_ref();
                    let error = match (scanner.overflow, e.kind()) {
                        (Some((line, quoted)), _) => {
                            let (code, message) = if quoted {
                                ("unbalanced_quote", "引号未闭合，其后内容未读取 / a quoted field is never closed; the file was not read past this line")
                            } else {
                                ("record_too_long", "此行过长，其后内容未读取 / this line is far too long for this format; the file was not read past it")
                            };
                            row_error(line, "row", code, message)
                        }
                        (None, csv::ErrorKind::Io(io)) => {
                            let _ = tx.send(Message::Failed(ApiError::internal(anyhow::anyhow!(
                                "reading the import file: {io}"
                            ))));
                            return;
                        }
                        (None, _) => row_error(
                            last_line + 1,
                            "row",
                            "unreadable_row",
                            "无法解析此行，其后内容未读取 / this row cannot be parsed; the file was not read past it",
                        ),
                    };
                    // The household being read may continue in the unread part: never store
                    // it half.
                    if let Some(mut g) = group.take() {
                        g.errors.push(row_error(
                            g.first_line,
                            "row",
                            "household_incomplete",
                            "文件在此户读完之前中断，此户未导入 / the file could not be read to the end of this household; it was skipped",
                        ));
                        items.push(Item::Rejected {
                            rows: g.rows,
                            errors: g.errors,
                        });
                    }
                    let _ = tx.send(Message::Batch {
                        items: std::mem::take(&mut items),
                        rows_read,
                    });
                    let _ = tx.send(Message::Stopped {
                        rows_read: rows_read + 1,
                        error,
                    });
                    return;
                }
            }
            rows_read += 1;
            let line = reader.get_mut().next_start().unwrap_or(last_line + 1);
            last_line = line;
            let (item, next) = self.row(&record, line, group.take());
            group = next;
            if let Some(item) = item {
                items.push(item);
                if items.len() >= target {
                    target = (target * 2).min(full);
                    let batch = Message::Batch {
                        items: std::mem::replace(&mut items, Vec::with_capacity(target)),
                        rows_read: rows_read - group.as_ref().map_or(0, |g| g.rows),
                    };
                    if tx.send(batch).is_err() {
                        return;
                    }
                }
            }
        }
        if let Some(g) = group.take() {
            items.push(self.finish(g));
        }
        let _ = tx.send(Message::Batch { items, rows_read });
    }

    /// Handles one data row: returns a finished household (when this row starts another one)
    /// and the household now being read.
    fn row(
        &mut self,
        record: &csv::ByteRecord,
        line: u64,
        current: Option<Group>,
    ) -> (Option<Item>, Option<Group>) {
        let header = self.header;
        let cells = Cells {
            header: &header,
            record,
        };
        // Rows that cannot be read as cells at all.
        let broken = if std::str::from_utf8(record.as_slice()).is_err() {
            Some((
                "invalid_encoding",
                if self.ctx.encoding == EncodingChoice::Gbk {
                    "此行含无法识别的字符 / this row has bytes that are not GBK"
                } else {
                    "此行不是 UTF-8 文本（混合编码？） / this row is not UTF-8 (mixed encodings?)"
                },
            ))
        } else if record
            .as_slice()
            .windows(3)
            .any(|w| w == "\u{fffd}".as_bytes())
        {
            Some((
                "invalid_encoding",
                "此行含无法识别的字符 / this row has bytes that do not decode (mixed encodings?)",
            ))
        } else if record.len() != self.header.width {
            let multiline = record
                .iter()
                .any(|f| f.contains(&b'\n') || f.contains(&b'\r'));
            Some(if multiline {
                (
                    "unbalanced_quote",
                    "引号未闭合，字段跨行 / a quote is not closed: this record runs over several lines",
                )
            } else {
                (
                    "wrong_field_count",
                    "列数与表头不一致 / this row has a different number of fields than the header",
                )
            })
        } else {
            None
        };
        let mut external_id = cells.get(Col::HouseholdExternalId);
        if external_id.contains('\u{fffd}') {
            external_id = "";
        }
        // A row without a readable household id most likely belongs to the household being read
        // (a merged cell exports as blank): it spoils that household rather than letting it be
        // stored without a member.
        if external_id.is_empty() {
            let (column, code, message) = match broken {
                Some((code, message)) => ("row", code, message),
                None => (
                    "household_external_id",
                    "required",
                    "每行都须填写户编号（合并单元格导出后为空） / every row needs its household_external_id (merged cells export as blank)",
                ),
            };
            return match current {
                Some(mut g) => {
                    g.rows += 1;
                    g.errors.push(row_error(line, column, code, message));
                    (None, Some(g))
                }
                None => (
                    Some(Item::Rejected {
                        rows: 1,
                        errors: vec![row_error(line, column, code, message)],
                    }),
                    None,
                ),
            };
        }
        let (finished, mut group) = match current {
            Some(g) if g.external_id == external_id => (None, g),
            other => {
                let finished = other.map(|g| self.finish(g));
                let g = self.start_group(external_id.to_owned(), line, &cells);
                (finished, g)
            }
        };
        match broken {
            Some((code, message)) => {
                group.broken_head |= group.rows == 0;
                group.rows += 1;
                group.errors.push(row_error(line, "row", code, message));
            }
            None => self.add_row(&mut group, line, &cells),
        }
        (finished, Some(group))
    }
}

/// The decoded encoding, the header, and the reader positioned after it.
type CsvStage = (
    Encoding,
    Header,
    csv::Reader<RecordScanner<Box<dyn Read + Send>>>,
);

/// Opens the CSV stage: encoding, scanner and header.
pub(super) fn open_csv<R: Read + Send + 'static>(
    raw: R,
    choice: EncodingChoice,
) -> Result<CsvStage, ImportError> {
    let (encoding, text) = decode(raw, choice)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(RecordScanner::new(text));
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => {
            return Err(ImportError::Refused(Refusal::new(
                "empty_file",
                "文件为空 / the file is empty",
            )))
        }
        Err(e)
            if reader.get_ref().overflow.is_some()
                || !matches!(e.kind(), csv::ErrorKind::Io(_)) =>
        {
            return Err(ImportError::Refused(Refusal::new(
                "bad_header",
                "第一行不是表头 / the first line is not a CSV header",
            )))
        }
        Err(e) => return Err(io_failure(io::Error::other(e.to_string()))),
    }
    reader.get_mut().next_start();
    let header = Header::parse(&record).map_err(ImportError::Refused)?;
    Ok((encoding, header, reader))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run_pipeline(
    conn: &mut AnyConnection,
    ctx: &ImportContext<'_>,
    encoding: Encoding,
    header: Header,
    reader: csv::Reader<RecordScanner<Box<dyn Read + Send>>>,
    grids: &Grids,
    bytes: &AtomicU64,
    progress: &mut Progress<'_>,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport {
        encoding: Some(encoding),
        ..Default::default()
    };
    let parse_ctx = ImportContext {
        encoding: match encoding {
            Encoding::Utf8 => EncodingChoice::Utf8,
            Encoding::Gbk => EncodingChoice::Gbk,
        },
        ..*ctx
    };
    // Three stages, each on its own thread: parse and seal, run the rules on the new households
    // (from their rows: nothing of theirs is stored yet), write. The findings are written in the
    // transaction that stores their households, so a household on file has been evaluated.
    let today = crate::domain::time::today();
    let rules = evaluate::rule_set(conn, &ctx.rules)?;
    let standards = Standards::load(conn, grids.paths(), today)?;
    let (tx, rx) = mpsc::sync_channel::<Message>(PIPELINE_DEPTH);
    let (tx_judged, rx_judged) = mpsc::sync_channel::<Message>(PIPELINE_DEPTH);
    let outcome = std::thread::scope(|s| -> Result<(), ImportError> {
        let parse_ctx = &parse_ctx;
        let span = tracing::Span::current();
        let parser = std::thread::Builder::new()
            .name("household-import-parse".into())
            .spawn_scoped(s, {
                let span = span.clone();
                move || {
                    let _entered = span.enter();
                    behind_the_writer();
                    let mut parser = Parser {
                        ctx: parse_ctx,
                        grids,
                        header,
                        today,
                        seen: HashSet::new(),
                        hasher: Default::default(),
                    };
                    parser.run(reader, &tx);
                }
            })
            .map_err(|e| ImportError::Failed(ApiError::internal(e)))?;
        let judge = Judge {
            rules: &rules,
            standards: &standards,
            today,
        };
        let readers = ctx.readers;
        let judging = std::thread::Builder::new()
            .name("household-import-rules".into())
            .spawn_scoped(s, move || {
                let _entered = span.enter();
                behind_the_writer();
                judge.batches(readers, rx, &tx_judged);
            })
            .map_err(|e| ImportError::Failed(ApiError::internal(e)))?;
        let mut writer = Writer {
            ctx,
            judge,
            existing_conflicts: HashSet::new(),
            statistics: db::GrowingTables::new(&["households", "members"]),
        };
        // Dropping `rx_judged` on an error stops the rules stage at its next send, and with it
        // the parser.
        let result = (|| {
            for message in rx_judged.iter() {
                match message {
                    Message::Batch { items, rows_read } => {
                        report.rows_read = report.rows_read.max(rows_read);
                        report.bytes_read = bytes.load(Ordering::Relaxed);
                        writer.write(conn, items, &mut report, progress)?;
                    }
                    Message::Stopped { rows_read, error } => {
                        report.rows_read = report.rows_read.max(rows_read);
                        report.rows_rejected += 1;
                        report.note_errors(vec![error]);
                    }
                    Message::Failed(e) => return Err(ImportError::Failed(e)),
                }
            }
            Ok(())
        })();
        drop(rx_judged);
        if parser.join().is_err() || judging.join().is_err() {
            return Err(ImportError::Failed(ApiError::internal(anyhow::anyhow!(
                "a stage of the import stopped unexpectedly"
            ))));
        }
        result
    });
    outcome?;
    report.bytes_read = bytes.load(Ordering::Relaxed);
    Ok(report)
}

/// What the rules need to evaluate a new household away from the database.
#[derive(Clone, Copy)]
pub(super) struct Judge<'a> {
    pub(super) rules: &'a RuleSet,
    pub(super) standards: &'a Standards,
    pub(super) today: NaiveDate,
}

impl Judge<'_> {
    /// The rules' findings on a new household.
    pub(super) fn judge(&self, new: &NewHousehold) -> ApiResult<Pending> {
        let mut findings = Pending::default();
        evaluate::new_household(
            self.rules,
            self.standards,
            &new.row,
            &new.members,
            self.today,
            db::now(),
            &mut findings,
        )?;
        Ok(findings)
    }

    /// The rules stage: evaluates each household of a batch that is not on file already (the
    /// writer, not this, decides what is new: it evaluates itself one this stage left), and
    /// passes the batch on.
    fn batches(
        &self,
        readers: Option<&db::DbPool>,
        rx: mpsc::Receiver<Message>,
        tx: &mpsc::SyncSender<Message>,
    ) {
        // A failed read only costs evaluating households the writer then finds on file.
        let mut reader = readers.and_then(|pool| pool.get().ok());
        for mut message in rx {
            if let Message::Batch { items, .. } = &mut message {
                let on_file = match reader.as_mut() {
                    Some(conn) => on_file(conn, items),
                    None => HashSet::new(),
                };
                for item in items.iter_mut() {
                    let Item::Ready(p) = item else { continue };
                    if on_file.contains(&p.external_id) {
                        continue;
                    }
                    match self.judge(&p.new) {
                        Ok(findings) => p.findings = Some(findings),
                        Err(e) => {
                            message = Message::Failed(e);
                            break;
                        }
                    }
                }
            }
            if tx.send(message).is_err() {
                return;
            }
        }
    }
}

/// The external ids of a batch's households that are on file now (empty if it cannot tell).
fn on_file(conn: &mut AnyConnection, items: &[Item]) -> HashSet<String> {
    let ids: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Item::Ready(p) => Some(p.external_id.clone()),
            Item::Rejected { .. } => None,
        })
        .collect();
    let mut found = HashSet::new();
    for chunk in ids.chunks(super::write::LOOKUP_CHUNK) {
        match crate::db::repo::households::paths_of_external_ids(conn, chunk) {
            Ok(rows) => found.extend(rows.into_iter().map(|(id, _)| id)),
            Err(_) => return HashSet::new(),
        }
    }
    found
}

/// The writer is the import's critical path; the two stages that feed it run ahead of it by a
/// batch. On a machine with fewer cores than stages they yield to it (nice + 5 for their own
/// threads), so it is never the one kept waiting for a core.
fn behind_the_writer() {
    #[cfg(target_os = "linux")]
    {
        let me = Some(rustix::thread::gettid());
        if let Ok(nice) = rustix::process::getpriority_process(me) {
            let _ = rustix::process::setpriority_process(me, (nice + 5).min(19));
        }
    }
}
