//! Households from CSV (one row per member, a household's rows together), streamed: the file is
//! never in memory, bad rows are reported by line and skipped with their household, good households
//! are committed in batches, and a household whose external id is already on file is left alone, so
//! importing the same file twice changes nothing. The CLI (`jiuzhu import households`) and the API
//! job (`POST /households/import`) both call [`import`].
//!
//! The work is a two-stage pipeline: one thread decodes, parses, validates, places and seals
//! households (CPU-bound), the calling thread checks them against the database and inserts them.
//! The file format is documented in `fixtures/households/README.md`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::geo::Crs;
use jiuzhu_proto::household::{
    AssistanceStatus, CreateHousehold, DailyLiving, DisabilityType, Gender, Health, ImportJob,
    Income, JobStatus, Location, MemberInput, Relation, RowError, StudentStatus, WorkStatus,
};

use super::tuning::{ImportTuning, Runner};
use crate::audit::{self, AuditEntry};
use crate::crypto::FieldCipher;
use crate::db::limit::FirstRow;
use crate::db::repo::households::{self as repo, HouseholdRow, MemberRow, StatusRow};
use crate::db::schema::{households, id_conflicts, import_jobs, org_units};
use crate::db::{self, AnyConnection};
use crate::domain::geo::GridLookup;
use crate::error::{ApiError, ApiResult};
use crate::in_scope;
use crate::registry::write::{self, Clash, GridChoice, NewHousehold};
use crate::registry::{self, validate};
use crate::scope::Scope;
use crate::state::GridKey;

/// Row errors kept for the report; all are counted.
pub const MAX_KEPT_ERRORS: usize = 1000;
/// A record longer than this is not a row of this format but an unclosed quote or binary data;
/// the cap keeps memory flat whatever the file holds.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// How much of the file decides the encoding when it starts with plain ASCII for a while.
const SNIFF_MIN: usize = 64 * 1024;
const SNIFF_MAX: usize = 4 * 1024 * 1024;
/// Values per `IN (…)` lookup: well under SQLite's limit of 32,766 bound parameters.
const LOOKUP_CHUNK: usize = 5000;
/// Batches the parser may run ahead of the writer (each in memory while it waits).
const PIPELINE_DEPTH: usize = 1;

// ---------------------------------------------------------------------------------------------
// Encoding

/// The encoding the caller says the file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodingChoice {
    /// A BOM or valid UTF-8 means UTF-8, anything else that decodes cleanly as GBK is GBK.
    #[default]
    Auto,
    Utf8,
    Gbk,
}

/// The encoding the file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// GBK, read with the GB18030 decoder (a superset, so four-byte characters also come through).
    Gbk,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Gbk => "gbk",
        }
    }
}

/// Counts the bytes read from the file, for progress and ETA.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Decodes GBK (GB18030) to UTF-8 chunk by chunk. Malformed sequences become U+FFFD, which GBK
/// cannot encode, so a row holding one is reported as badly encoded.
struct GbkToUtf8<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    input_done: bool,
    output: Box<[u8]>,
    out_pos: usize,
    out_len: usize,
    finished: bool,
}

impl<R: Read> GbkToUtf8<R> {
    fn new(inner: R) -> Self {
        const CHUNK: usize = 64 * 1024;
        Self {
            inner,
            decoder: encoding_rs::GB18030.new_decoder_without_bom_handling(),
            input: vec![0; CHUNK].into_boxed_slice(),
            in_pos: 0,
            in_len: 0,
            input_done: false,
            // A GBK byte never becomes more than 3 UTF-8 bytes; the decoder copes with less.
            output: vec![0; CHUNK * 3 + 16].into_boxed_slice(),
            out_pos: 0,
            out_len: 0,
            finished: false,
        }
    }
}

impl<R: Read> Read for GbkToUtf8<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_pos < self.out_len {
                let n = buf.len().min(self.out_len - self.out_pos);
                buf[..n].copy_from_slice(&self.output[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            if self.in_pos == self.in_len && !self.input_done {
                let n = loop {
                    match self.inner.read(&mut self.input) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                self.in_pos = 0;
                self.in_len = n;
                self.input_done = n == 0;
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.in_pos..self.in_len],
                &mut self.output,
                self.input_done,
            );
            self.in_pos += read;
            self.out_pos = 0;
            self.out_len = written;
            if self.input_done && result == encoding_rs::CoderResult::InputEmpty {
                self.finished = true;
            }
        }
    }
}

/// Mirrors the CSV reader's quoting rules byte by byte to know where each record starts (the line
/// numbers reported to people; the CSV reader's own count lags on CRLF files and blank lines) and
/// to stop a record that grows past [`MAX_RECORD_BYTES`] (an unclosed quote would otherwise
/// swallow the rest of the file into one field, in memory).
struct RecordScanner<R> {
    inner: R,
    state: ScanState,
    line: u64,
    record_len: usize,
    /// Start lines of records the CSV reader has not taken yet (it reads ahead by a buffer).
    starts: VecDeque<u64>,
    /// The line of the record that grew too long, once that happened.
    overflow: Option<(u64, bool)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanState {
    RecordStart,
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl<R: Read> RecordScanner<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            state: ScanState::RecordStart,
            line: 1,
            record_len: 0,
            starts: VecDeque::new(),
            overflow: None,
        }
    }

    /// The start line of the next record the CSV reader hands out.
    fn next_start(&mut self) -> Option<u64> {
        self.starts.pop_front()
    }

    fn scan(&mut self, bytes: &[u8]) -> Result<(), ()> {
        use ScanState::*;
        for &b in bytes {
            let terminator = b == b'\n' || b == b'\r';
            if self.state == RecordStart {
                if terminator {
                    self.line += u64::from(b == b'\n');
                    continue;
                }
                self.starts.push_back(self.line);
                self.record_len = 0;
                self.state = FieldStart;
            }
            self.record_len += 1;
            if self.record_len > MAX_RECORD_BYTES {
                let start = self.starts.back().copied().unwrap_or(self.line);
                let quoted = matches!(self.state, Quoted);
                self.overflow = Some((start, quoted));
                return Err(());
            }
            self.line += u64::from(b == b'\n');
            self.state = match (self.state, b) {
                // A quote opens a quoted field only at the start of the field.
                (FieldStart, b'"') => Quoted,
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                // `""` inside quotes is an escaped quote.
                (QuoteInQuoted, b'"') => Quoted,
                (_, b',') => FieldStart,
                _ if terminator => RecordStart,
                // Anything else (including a quote inside an unquoted field, or text after a
                // closing quote) is literal, as the CSV reader takes it.
                _ => Unquoted,
            };
        }
        Ok(())
    }
}

impl<R: Read> Read for RecordScanner<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.overflow.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "record too long",
            ));
        }
        let n = self.inner.read(buf)?;
        if self.scan(&buf[..n]).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "record too long",
            ));
        }
        Ok(n)
    }
}

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

fn read_full(r: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let start = buf.len();
    buf.resize(start + want, 0);
    let mut filled = start;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => {
                buf.truncate(filled);
                return Ok(true);
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(filled);
                return Err(e);
            }
        }
    }
    Ok(false)
}

fn io_failure(e: io::Error) -> ImportError {
    ImportError::Failed(ApiError::internal(anyhow::anyhow!(
        "reading the import file: {e}"
    )))
}

/// Decides the encoding from the start of the file and returns a reader of UTF-8 text (BOM
/// stripped) that yields the whole file.
pub(crate) fn decode<R: Read + Send + 'static>(
    mut raw: R,
    choice: EncodingChoice,
) -> Result<(Encoding, Box<dyn Read + Send>), ImportError> {
    let mut prefix = Vec::new();
    let mut eof = read_full(&mut raw, &mut prefix, SNIFF_MIN).map_err(io_failure)?;
    // An ASCII start says nothing; read on to the first non-ASCII byte (bounded).
    while !eof && prefix.len() < SNIFF_MAX && prefix.is_ascii() {
        eof = read_full(&mut raw, &mut prefix, SNIFF_MIN).map_err(io_failure)?;
    }
    if prefix.starts_with(&[0xFF, 0xFE]) || prefix.starts_with(&[0xFE, 0xFF]) {
        return Err(ImportError::Refused(Refusal::new(
            "utf16_not_supported",
            "文件为 UTF-16 编码，请另存为 CSV UTF-8 / the file is UTF-16; save it as \"CSV UTF-8\" or GBK CSV",
        )));
    }
    let bom = prefix.starts_with(&[0xEF, 0xBB, 0xBF]);
    let body = if bom { &prefix[3..] } else { &prefix[..] };
    let encoding = match choice {
        _ if bom => Encoding::Utf8,
        EncodingChoice::Utf8 => Encoding::Utf8,
        EncodingChoice::Gbk => Encoding::Gbk,
        EncodingChoice::Auto => match std::str::from_utf8(body) {
            Ok(_) => Encoding::Utf8,
            // Cut in the middle of a character at the end of the sample: still UTF-8.
            Err(e) if e.error_len().is_none() && !eof => Encoding::Utf8,
            Err(_) => {
                let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
                let mut out = vec![0u8; body.len() * 3 + 16];
                let (_, _, _, replaced) = decoder.decode_to_utf8(body, &mut out, eof);
                if replaced {
                    return Err(ImportError::Refused(Refusal::new(
                        "unrecognised_encoding",
                        "文件既不是 UTF-8 也不是 GBK 文本 / the file is neither UTF-8 nor GBK text",
                    )));
                }
                Encoding::Gbk
            }
        },
    };
    let mut head = io::Cursor::new(prefix);
    head.set_position(if bom { 3 } else { 0 });
    let chained = head.chain(raw);
    let reader: Box<dyn Read + Send> = match encoding {
        Encoding::Utf8 => Box::new(chained),
        Encoding::Gbk => Box::new(GbkToUtf8::new(chained)),
    };
    Ok((encoding, reader))
}

// ---------------------------------------------------------------------------------------------
// Columns

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    HouseholdExternalId,
    Address,
    Lat,
    Lon,
    Crs,
    GridCode,
    Status,
    StatusSince,
    Tags,
    Notes,
    Name,
    Relation,
    IdNumber,
    BirthDate,
    Gender,
    Health,
    DisabilityType,
    DisabilityLevel,
    DailyLivingUnable,
    WorkStatus,
    StudentStatus,
    IncomeWages,
    IncomeFarming,
    IncomeBusiness,
    IncomeRent,
    IncomePension,
    IncomeSupport,
    IncomeOther,
    Phone,
}

struct ColumnSpec {
    col: Col,
    name: &'static str,
    /// Chinese header names accepted for the same column.
    aliases: &'static [&'static str],
    required: bool,
}

macro_rules! columns {
    ($(($col:ident, $name:literal, [$($alias:literal),*], $required:literal)),+ $(,)?) => {
        const COLUMNS: &[ColumnSpec] = &[$(ColumnSpec {
            col: Col::$col,
            name: $name,
            aliases: &[$($alias),*],
            required: $required,
        }),+];
    };
}

columns!(
    (
        HouseholdExternalId,
        "household_external_id",
        ["户编号", "家庭编号"],
        true
    ),
    (Address, "address", ["地址", "家庭住址"], true),
    (Lat, "lat", ["纬度"], false),
    (Lon, "lon", ["经度"], false),
    (Crs, "crs", ["坐标系"], false),
    (GridCode, "grid_code", ["网格编码"], false),
    (Status, "status", ["救助类别"], false),
    (StatusSince, "status_since", ["救助起始日期"], false),
    (Tags, "tags", ["标签"], false),
    (Notes, "notes", ["备注"], false),
    (Name, "name", ["姓名"], true),
    (Relation, "relation", ["与户主关系"], true),
    (IdNumber, "id_number", ["身份证号", "公民身份号码"], true),
    (BirthDate, "birth_date", ["出生日期"], false),
    (Gender, "gender", ["性别"], false),
    (Health, "health", ["健康状况"], true),
    (DisabilityType, "disability_type", ["残疾类别"], false),
    (DisabilityLevel, "disability_level", ["残疾等级"], false),
    (
        DailyLivingUnable,
        "daily_living_unable",
        ["生活不能自理项"],
        false
    ),
    (WorkStatus, "work_status", ["就业状况"], true),
    (StudentStatus, "student_status", ["在学情况"], false),
    (IncomeWages, "income_wages", ["工资性收入"], false),
    (IncomeFarming, "income_farming", ["农业收入"], false),
    (IncomeBusiness, "income_business", ["经营性收入"], false),
    (IncomeRent, "income_rent", ["财产性收入"], false),
    (IncomePension, "income_pension", ["养老金"], false),
    (IncomeSupport, "income_support", ["赡养扶养收入"], false),
    (IncomeOther, "income_other", ["其他收入"], false),
    (Phone, "phone", ["电话", "联系电话"], false),
);

/// The documented header, in the documented order.
pub fn header_names() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.name).collect()
}

fn spec(col: Col) -> &'static ColumnSpec {
    // COLUMNS lists every Col in declaration order.
    &COLUMNS[col as usize]
}

/// Where each known column is in this file.
#[derive(Debug, Clone, Copy)]
struct Header {
    index: [Option<usize>; COLUMNS.len()],
    width: usize,
}

impl Header {
    fn parse(fields: &csv::ByteRecord) -> Result<Header, Refusal> {
        let mut index = [None; COLUMNS.len()];
        let mut unknown = Vec::new();
        let mut duplicate = Vec::new();
        for (position, raw) in fields.iter().enumerate() {
            let Ok(text) = std::str::from_utf8(raw) else {
                unknown.push(position + 1);
                continue;
            };
            let text = text.trim().trim_start_matches('\u{feff}').trim();
            let lower = text.to_ascii_lowercase();
            match COLUMNS
                .iter()
                .find(|c| c.name == lower || c.aliases.contains(&text))
            {
                Some(c) if index[c.col as usize].is_some() => duplicate.push(c.name),
                Some(c) => index[c.col as usize] = Some(position),
                None => unknown.push(position + 1),
            }
        }
        let missing: Vec<&str> = COLUMNS
            .iter()
            .filter(|c| c.required && index[c.col as usize].is_none())
            .map(|c| c.name)
            .collect();
        let has = |c: Col| index[c as usize].is_some();
        let located = (has(Col::Lat) && has(Col::Lon)) || has(Col::GridCode);
        let mut details = Vec::new();
        if !missing.is_empty() {
            details.push(FieldError {
                field: "header".into(),
                code: "missing_column".into(),
                message: format!("缺少列 / missing columns: {}", missing.join(", ")),
            });
        }
        if !located {
            details.push(FieldError {
                field: "header".into(),
                code: "missing_column".into(),
                message:
                    "需要 lat 与 lon 列或 grid_code 列 / the header needs lat and lon, or grid_code"
                        .into(),
            });
        }
        if !unknown.is_empty() {
            // Positions only: a file without a header row has personal data where names belong.
            let list: Vec<String> = unknown.iter().map(|p| p.to_string()).collect();
            details.push(FieldError {
                field: "header".into(),
                code: "unknown_column".into(),
                message: format!(
                    "未知列（第 {} 列） / unknown columns at positions {}; the first line must be the documented header",
                    list.join(", "),
                    list.join(", ")
                ),
            });
        }
        if !duplicate.is_empty() {
            details.push(FieldError {
                field: "header".into(),
                code: "duplicate_column".into(),
                message: format!("重复列 / columns given twice: {}", duplicate.join(", ")),
            });
        }
        if !details.is_empty() {
            return Err(Refusal {
                code: "bad_header",
                message: "表头不符合格式 / the header does not match the documented columns".into(),
                details,
            });
        }
        Ok(Header {
            index,
            width: fields.len(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Cells

/// A problem with one cell; the message never repeats the cell's content.
struct CellError {
    col: Col,
    code: &'static str,
    message: String,
}

fn cell_error(col: Col, code: &'static str, message: impl Into<String>) -> CellError {
    CellError {
        col,
        code,
        message: message.into(),
    }
}

/// An amount that is not yuan with at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadAmount;

/// Yuan with at most two decimals (`1234.50`), no separators or exponents, into fen. Empty is 0.
/// A minus sign is read so the range check can name the problem (`out_of_range`).
pub fn parse_yuan(text: &str) -> Result<i64, BadAmount> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) if !f.is_empty() => (w, f),
        Some(_) => return Err(BadAmount),
        None => (digits, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 13 || !all_digits(whole) {
        return Err(BadAmount);
    }
    if fraction.len() > 2 || !all_digits(fraction) {
        return Err(BadAmount);
    }
    let whole: i64 = whole.parse().map_err(|_| BadAmount)?;
    let mut cents: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| BadAmount)?
    };
    if fraction.len() == 1 {
        cents *= 10;
    }
    let fen = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .ok_or(BadAmount)?;
    Ok(if negative { -fen } else { fen })
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y/%m/%d"))
        .ok()
}

fn parse_label<T: Copy>(
    text: &str,
    wire: fn(&str) -> Option<T>,
    labels: &[(&str, T)],
) -> Option<T> {
    wire(&text.to_ascii_lowercase())
        .or_else(|| labels.iter().find(|(l, _)| *l == text).map(|(_, v)| *v))
}

const RELATION_LABELS: &[(&str, Relation)] = &[
    ("户主", Relation::Head),
    ("本人", Relation::Head),
    ("配偶", Relation::Spouse),
    ("妻子", Relation::Spouse),
    ("丈夫", Relation::Spouse),
    ("子女", Relation::Child),
    ("儿子", Relation::Child),
    ("女儿", Relation::Child),
    ("子", Relation::Child),
    ("女", Relation::Child),
    ("儿媳", Relation::ChildInLaw),
    ("女婿", Relation::ChildInLaw),
    ("孙子女", Relation::Grandchild),
    ("孙子", Relation::Grandchild),
    ("孙女", Relation::Grandchild),
    ("外孙子女", Relation::Grandchild),
    ("父母", Relation::Parent),
    ("父亲", Relation::Parent),
    ("母亲", Relation::Parent),
    ("祖父母", Relation::Grandparent),
    ("外祖父母", Relation::Grandparent),
    ("兄弟姐妹", Relation::Sibling),
    ("其他", Relation::Other),
];

const HEALTH_LABELS: &[(&str, Health)] = &[
    ("健康", Health::Healthy),
    ("慢性病", Health::Chronic),
    ("重病", Health::GraveIllness),
    ("大病", Health::GraveIllness),
    ("重大疾病", Health::GraveIllness),
];

const DISABILITY_LABELS: &[(&str, DisabilityType)] = &[
    ("视力", DisabilityType::Visual),
    ("听力", DisabilityType::Hearing),
    ("言语", DisabilityType::Speech),
    ("肢体", DisabilityType::Physical),
    ("智力", DisabilityType::Intellectual),
    ("精神", DisabilityType::Mental),
    ("多重", DisabilityType::Multiple),
];

const WORK_LABELS: &[(&str, WorkStatus)] = &[
    ("就业", WorkStatus::Employed),
    ("在职", WorkStatus::Employed),
    ("灵活就业", WorkStatus::SelfEmployed),
    ("个体", WorkStatus::SelfEmployed),
    ("务农", WorkStatus::Farming),
    ("失业", WorkStatus::Unemployed),
    ("无业", WorkStatus::Unemployed),
    ("退休", WorkStatus::Retired),
    ("丧失劳动能力", WorkStatus::UnableToWork),
    ("无劳动能力", WorkStatus::UnableToWork),
    ("非劳动年龄", WorkStatus::NotWorkingAge),
];

const STUDENT_LABELS: &[(&str, StudentStatus)] = &[
    ("非在校", StudentStatus::NotStudent),
    ("否", StudentStatus::NotStudent),
    ("学前", StudentStatus::Preschool),
    ("小学", StudentStatus::Primary),
    ("初中", StudentStatus::JuniorSecondary),
    ("高中", StudentStatus::SeniorSecondary),
    ("中职", StudentStatus::Vocational),
    ("职业教育", StudentStatus::Vocational),
    ("大学", StudentStatus::Tertiary),
    ("高等教育", StudentStatus::Tertiary),
];

const STATUS_LABELS: &[(&str, AssistanceStatus)] = &[
    ("低保", AssistanceStatus::Dibao),
    ("特困", AssistanceStatus::Tekun),
    ("低保边缘", AssistanceStatus::Edge),
    ("刚性支出困难", AssistanceStatus::RigidExpense),
    ("防返贫监测", AssistanceStatus::RelapseMonitoring),
    ("无", AssistanceStatus::None),
];

const GENDER_LABELS: &[(&str, Gender)] = &[("男", Gender::Male), ("女", Gender::Female)];

const DAILY_LIVING_ITEMS: &[(&str, &str)] = &[
    ("eating", "进食"),
    ("dressing", "穿衣"),
    ("getting_in_and_out_of_bed", "上下床"),
    ("toileting", "如厕"),
    ("walking_indoors", "室内行走"),
    ("bathing", "洗澡"),
];

fn list_items(text: &str) -> impl Iterator<Item = &str> {
    text.split([';', '；', '|', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn unknown_value<T: Copy>(col: Col, all: &[T], as_str: fn(T) -> &'static str) -> CellError {
    let names: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
    cell_error(
        col,
        "unknown_value",
        format!("取值无效 / not one of {}", names.join(", ")),
    )
}

/// One row's cells, by column.
struct Cells<'r> {
    header: &'r Header,
    record: &'r csv::ByteRecord,
}

impl Cells<'_> {
    /// The trimmed text of a column; empty when the column is absent. Rows were checked to be UTF-8.
    fn get(&self, col: Col) -> &str {
        self.header.index[col as usize]
            .and_then(|i| self.record.get(i))
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::trim)
            .unwrap_or("")
    }

    fn member(&self, errors: &mut Vec<CellError>) -> Option<MemberInput> {
        let before = errors.len();
        let required = |errors: &mut Vec<CellError>, col: Col| {
            let text = self.get(col);
            if text.is_empty() {
                errors.push(cell_error(col, "required", "不能为空 / must not be empty"));
            }
            text
        };
        let name = required(errors, Col::Name).to_owned();
        let id_number = required(errors, Col::IdNumber).to_owned();
        let relation = match required(errors, Col::Relation) {
            "" => None,
            t => parse_label(t, Relation::parse, RELATION_LABELS).or_else(|| {
                errors.push(unknown_value(
                    Col::Relation,
                    Relation::ALL,
                    Relation::as_str,
                ));
                None
            }),
        };
        let health = match required(errors, Col::Health) {
            "" => None,
            t => parse_label(t, Health::parse, HEALTH_LABELS).or_else(|| {
                errors.push(unknown_value(Col::Health, Health::ALL, Health::as_str));
                None
            }),
        };
        let work_status = match required(errors, Col::WorkStatus) {
            "" => None,
            t => parse_label(t, WorkStatus::parse, WORK_LABELS).or_else(|| {
                errors.push(unknown_value(
                    Col::WorkStatus,
                    WorkStatus::ALL,
                    WorkStatus::as_str,
                ));
                None
            }),
        };
        let student_status = match self.get(Col::StudentStatus) {
            "" => StudentStatus::NotStudent,
            t => parse_label(t, StudentStatus::parse, STUDENT_LABELS).unwrap_or_else(|| {
                errors.push(unknown_value(
                    Col::StudentStatus,
                    StudentStatus::ALL,
                    StudentStatus::as_str,
                ));
                StudentStatus::NotStudent
            }),
        };
        let disability_type = match self.get(Col::DisabilityType) {
            "" | "无" => None,
            t => {
                let t = t.strip_suffix("残疾").unwrap_or(t);
                parse_label(t, DisabilityType::parse, DISABILITY_LABELS).or_else(|| {
                    errors.push(unknown_value(
                        Col::DisabilityType,
                        DisabilityType::ALL,
                        DisabilityType::as_str,
                    ));
                    None
                })
            }
        };
        let disability_level = match self.get(Col::DisabilityLevel) {
            "" | "无" => None,
            t => {
                let t = t.strip_suffix('级').unwrap_or(t);
                let n = match t {
                    "一" => Some(1),
                    "二" => Some(2),
                    "三" => Some(3),
                    "四" => Some(4),
                    other => other.parse::<u8>().ok(),
                };
                if n.is_none() {
                    errors.push(cell_error(
                        Col::DisabilityLevel,
                        "invalid_number",
                        "残疾等级为 1 到 4 / disability level is 1 to 4",
                    ));
                }
                n
            }
        };
        let birth_date = match self.get(Col::BirthDate) {
            "" => None,
            t => parse_date(t).or_else(|| {
                errors.push(cell_error(
                    Col::BirthDate,
                    "invalid_date",
                    "日期格式为 YYYY-MM-DD / a date is YYYY-MM-DD",
                ));
                None
            }),
        };
        let gender = match self.get(Col::Gender) {
            "" => None,
            t => parse_label(t, Gender::parse, GENDER_LABELS).or_else(|| {
                errors.push(unknown_value(Col::Gender, Gender::ALL, Gender::as_str));
                None
            }),
        };
        let mut daily_living = DailyLiving::default();
        for item in list_items(self.get(Col::DailyLivingUnable)) {
            let lower = item.to_ascii_lowercase();
            match DAILY_LIVING_ITEMS
                .iter()
                .position(|(en, zh)| *en == lower || *zh == item)
            {
                Some(0) => daily_living.eating = false,
                Some(1) => daily_living.dressing = false,
                Some(2) => daily_living.getting_in_and_out_of_bed = false,
                Some(3) => daily_living.toileting = false,
                Some(4) => daily_living.walking_indoors = false,
                Some(_) => daily_living.bathing = false,
                None => {
                    let names: Vec<&str> = DAILY_LIVING_ITEMS.iter().map(|(en, _)| *en).collect();
                    errors.push(cell_error(
                        Col::DailyLivingUnable,
                        "unknown_value",
                        format!("取值无效 / items are {}", names.join(", ")),
                    ));
                    break;
                }
            }
        }
        let mut money = |col: Col| match parse_yuan(self.get(col)) {
            Ok(fen) => fen,
            Err(BadAmount) => {
                errors.push(cell_error(
                    col,
                    "invalid_amount",
                    "金额以元为单位，最多两位小数，如 1234.50 / an amount is yuan with at most 2 decimals, e.g. 1234.50, without separators",
                ));
                0
            }
        };
        let annual_income = Income {
            wages_fen: money(Col::IncomeWages),
            farming_fen: money(Col::IncomeFarming),
            business_fen: money(Col::IncomeBusiness),
            rent_fen: money(Col::IncomeRent),
            pension_fen: money(Col::IncomePension),
            support_fen: money(Col::IncomeSupport),
            other_fen: money(Col::IncomeOther),
        };
        let phone = Some(self.get(Col::Phone).to_owned()).filter(|p| !p.is_empty());
        if errors.len() > before {
            return None;
        }
        Some(MemberInput {
            name,
            relation: relation?,
            id_number,
            birth_date,
            gender,
            health: health?,
            disability_type,
            disability_level,
            daily_living,
            work_status: work_status?,
            student_status,
            annual_income,
            phone,
        })
    }
}

/// The household's own columns, as on its first row.
#[derive(Debug, Clone, Default, PartialEq)]
struct HouseholdCells {
    values: Vec<String>,
}

const HOUSEHOLD_COLS: [Col; 9] = [
    Col::Address,
    Col::Lat,
    Col::Lon,
    Col::Crs,
    Col::GridCode,
    Col::Status,
    Col::StatusSince,
    Col::Tags,
    Col::Notes,
];

impl HouseholdCells {
    fn from_row(cells: &Cells<'_>) -> Self {
        Self {
            values: HOUSEHOLD_COLS
                .iter()
                .map(|c| cells.get(*c).to_owned())
                .collect(),
        }
    }

    fn get(&self, col: Col) -> &str {
        HOUSEHOLD_COLS
            .iter()
            .position(|c| *c == col)
            .and_then(|i| self.values.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The first household column a later row fills differently, if any.
    fn differs(&self, cells: &Cells<'_>) -> Option<Col> {
        HOUSEHOLD_COLS
            .iter()
            .zip(&self.values)
            .find(|(c, v)| {
                let t = cells.get(**c);
                !t.is_empty() && t != v.as_str()
            })
            .map(|(c, _)| *c)
    }

    /// The household's fields, or what is wrong with them.
    fn parse(&self, errors: &mut Vec<CellError>) -> HouseholdFields {
        let lat = self.get(Col::Lat);
        let lon = self.get(Col::Lon);
        let coordinate = |col: Col, text: &str, errors: &mut Vec<CellError>| {
            let v = text.parse::<f64>().ok().filter(|v| v.is_finite());
            if v.is_none() {
                errors.push(cell_error(
                    col,
                    "invalid_number",
                    "须为十进制度数 / decimal degrees expected",
                ));
            }
            v
        };
        let location = match (lat.is_empty(), lon.is_empty()) {
            (true, true) => None,
            (false, false) => {
                let crs = match self.get(Col::Crs).to_ascii_lowercase().as_str() {
                    "" | "wgs84" => Some(Crs::Wgs84),
                    "gcj02" => Some(Crs::Gcj02),
                    "bd09" => Some(Crs::Bd09),
                    _ => {
                        errors.push(cell_error(
                            Col::Crs,
                            "unknown_value",
                            "取值无效 / not one of wgs84, gcj02, bd09",
                        ));
                        None
                    }
                };
                match (
                    coordinate(Col::Lat, lat, errors),
                    coordinate(Col::Lon, lon, errors),
                    crs,
                ) {
                    (Some(lat), Some(lon), Some(crs)) => Some(Location {
                        lat,
                        lon,
                        crs: Some(crs),
                    }),
                    _ => None,
                }
            }
            _ => {
                errors.push(cell_error(
                    Col::Lat,
                    "incomplete",
                    "lat 与 lon 须同时填写 / lat and lon go together",
                ));
                None
            }
        };
        let grid_code = Some(self.get(Col::GridCode).to_owned()).filter(|g| !g.is_empty());
        if location.is_none() && grid_code.is_none() && errors.is_empty() {
            errors.push(cell_error(
                Col::Lat,
                "required",
                "需要位置（lat, lon）或 grid_code / a location (lat, lon) or a grid_code is required",
            ));
        }
        let status = match self.get(Col::Status) {
            "" => None,
            t => parse_label(t, AssistanceStatus::parse, STATUS_LABELS).or_else(|| {
                errors.push(unknown_value(
                    Col::Status,
                    AssistanceStatus::ALL,
                    AssistanceStatus::as_str,
                ));
                None
            }),
        };
        let status_since = match self.get(Col::StatusSince) {
            "" => None,
            t => parse_date(t).or_else(|| {
                errors.push(cell_error(
                    Col::StatusSince,
                    "invalid_date",
                    "日期格式为 YYYY-MM-DD / a date is YYYY-MM-DD",
                ));
                None
            }),
        };
        HouseholdFields {
            address: self.get(Col::Address).to_owned(),
            location,
            grid_code,
            status,
            status_since,
            tags: list_items(self.get(Col::Tags)).map(str::to_owned).collect(),
            notes: self.get(Col::Notes).to_owned(),
        }
    }
}

struct HouseholdFields {
    address: String,
    location: Option<Location>,
    grid_code: Option<String>,
    status: Option<AssistanceStatus>,
    status_since: Option<NaiveDate>,
    tags: Vec<String>,
    notes: String,
}

// ---------------------------------------------------------------------------------------------
// Households

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

fn row_error(line: u64, column: &str, code: &str, message: &str) -> RowError {
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
struct Prepared {
    new: NewHousehold,
    external_id: String,
    first_line: u64,
    member_lines: Vec<u64>,
}

enum Item {
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
struct Grids {
    by_code: HashMap<String, (String, String)>,
    path_by_id: HashMap<String, String>,
}

fn load_grids(conn: &mut AnyConnection) -> ApiResult<Grids> {
    let rows: Vec<(String, String, String)> = org_units::table
        .filter(org_units::kind.eq("grid"))
        .select((org_units::id, org_units::code, org_units::path))
        .load(conn)?;
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

/// Everything the import needs besides the connection and the file.
pub struct ImportContext<'a> {
    pub cipher: &'a FieldCipher,
    pub lookup: &'a GridLookup<GridKey>,
    /// Households must land in grids inside it.
    pub scope: &'a Scope,
    /// Recorded on status history, conflicts and the audit log.
    pub actor: Option<&'a str>,
    /// Names the import in the audit log (the job id, or a fresh id for the CLI).
    pub run_id: &'a str,
    pub encoding: EncodingChoice,
    /// Decides the size of the write transactions and the connection's settings.
    pub runner: Runner,
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
        let mut items = Vec::with_capacity(self.ctx.runner.households_per_batch());
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
                if items.len() >= self.ctx.runner.households_per_batch() {
                    let batch = Message::Batch {
                        items: std::mem::replace(
                            &mut items,
                            Vec::with_capacity(self.ctx.runner.households_per_batch()),
                        ),
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
fn open_csv<R: Read + Send + 'static>(
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

#[allow(clippy::too_many_arguments)]
fn run_pipeline(
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
    let (tx, rx) = mpsc::sync_channel::<Message>(PIPELINE_DEPTH);
    let outcome = std::thread::scope(|s| -> Result<(), ImportError> {
        let parse_ctx = &parse_ctx;
        let span = tracing::Span::current();
        let parser = std::thread::Builder::new()
            .name("household-import-parse".into())
            .spawn_scoped(s, move || {
                let _entered = span.enter();
                let mut parser = Parser {
                    ctx: parse_ctx,
                    grids,
                    header,
                    today: registry::today(),
                    seen: HashSet::new(),
                    hasher: Default::default(),
                };
                parser.run(reader, &tx);
            })
            .map_err(|e| ImportError::Failed(ApiError::internal(e)))?;
        let mut writer = Writer {
            ctx,
            existing_conflicts: HashSet::new(),
            statistics: db::GrowingTables::new(&["households", "members"]),
        };
        // Dropping `rx` on an error stops the parser at its next send.
        let result = (|| {
            for message in rx.iter() {
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
        drop(rx);
        if parser.join().is_err() {
            return Err(ImportError::Failed(ApiError::internal(anyhow::anyhow!(
                "the import parser stopped unexpectedly"
            ))));
        }
        result
    });
    outcome?;
    report.bytes_read = bytes.load(Ordering::Relaxed);
    Ok(report)
}

/// The writing stage: the database checks and the batch inserts.
struct Writer<'a> {
    ctx: &'a ImportContext<'a>,
    /// Conflicts already recorded in this run (id blind, existing household, attempted).
    existing_conflicts: HashSet<(Vec<u8>, String, String)>,
    /// PostgreSQL's planner statistics, refreshed as the tables grow.
    statistics: db::GrowingTables,
}

impl Writer<'_> {
    fn write(
        &mut self,
        conn: &mut AnyConnection,
        items: Vec<Item>,
        report: &mut ImportReport,
        progress: &mut Progress<'_>,
    ) -> Result<(), ImportError> {
        self.statistics.grown_to(conn, report.households_created)?;
        // The checks and the inserts in one write transaction: on SQLite it holds the write lock,
        // so no other writer can register the same household or number in between; on
        // PostgreSQL an advisory lock does the same for concurrent imports.
        db::write_transaction(conn, |conn| {
            self.write_locked(conn, items, report, progress)
        })
    }

    fn write_locked(
        &mut self,
        conn: &mut AnyConnection,
        items: Vec<Item>,
        report: &mut ImportReport,
        progress: &mut Progress<'_>,
    ) -> Result<(), ImportError> {
        crate::registry::write::lock_id_numbers(conn)?;
        let external_ids: Vec<String> = items
            .iter()
            .filter_map(|i| match i {
                Item::Ready(p) => Some(p.external_id.clone()),
                Item::Rejected { .. } => None,
            })
            .collect();
        let mut existing: HashMap<String, String> = HashMap::new();
        for chunk in external_ids.chunks(LOOKUP_CHUNK) {
            existing.extend(
                households::table
                    .filter(households::external_id.eq_any(chunk))
                    .select((
                        households::external_id.assume_not_null(),
                        households::org_path,
                    ))
                    .load::<(String, String)>(conn)?,
            );
        }
        let blinds: Vec<Vec<u8>> = items
            .iter()
            .filter_map(|i| match i {
                Item::Ready(p) if !existing.contains_key(&p.external_id) => Some(p),
                _ => None,
            })
            .flat_map(|p| p.new.members.iter().map(|m| m.id_blind.clone()))
            .collect();
        let mut holders: HashMap<Vec<u8>, (String, String)> = HashMap::new();
        for chunk in blinds.chunks(LOOKUP_CHUNK) {
            for (blind, household, path) in repo::holders_of(conn, chunk, None)? {
                holders.entry(blind).or_insert((household, path));
            }
        }
        let mut accepted: Vec<NewHousehold> = Vec::new();
        let mut clashes: Vec<(Vec<Clash>, String, String)> = Vec::new();
        for item in items {
            let p = match item {
                Item::Rejected { rows, errors } => {
                    report.reject(rows, errors);
                    continue;
                }
                Item::Ready(p) => *p,
            };
            let rows = p.member_lines.len() as u64;
            if let Some(path) = existing.get(&p.external_id) {
                if self.ctx.scope.contains(path) {
                    report.households_unchanged += 1;
                } else {
                    report.reject(
                        rows,
                        vec![row_error(
                            p.first_line,
                            "household_external_id",
                            "external_id_taken",
                            "此户编号已被辖区外的户使用 / this household_external_id belongs to a household outside your area",
                        )],
                    );
                }
                continue;
            }
            let found: Vec<Clash> = p
                .new
                .members
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    holders.get(&m.id_blind).map(|(h, path)| Clash {
                        member_index: i,
                        id_blind: m.id_blind.clone(),
                        id_masked: m.id_masked.clone(),
                        existing_household_id: h.clone(),
                        existing_org_path: path.clone(),
                    })
                })
                .collect();
            if !found.is_empty() {
                let errors = found
                    .iter()
                    .map(|c| {
                        row_error(
                            p.member_lines.get(c.member_index).copied().unwrap_or(p.first_line),
                            "id_number",
                            "id_number_conflict",
                            "该身份证号已登记在另一户，已记为冲突待社工处理 / this ID number is already in another household; recorded as a conflict for the coordinators",
                        )
                    })
                    .collect();
                report.reject(rows, errors);
                let attempted = format!("household.import {}", p.external_id);
                clashes.push((found, attempted, p.new.row.org_path.clone()));
                continue;
            }
            // Later households in this file clash with this one.
            for m in &p.new.members {
                holders.insert(
                    m.id_blind.clone(),
                    (p.new.row.id.clone(), p.new.row.org_path.clone()),
                );
            }
            accepted.push(p.new);
        }
        report.households_created += accepted.len() as u64;
        let rows = Rows::from(accepted);
        let ctx = self.ctx;
        // The two large tables the fastest way each backend offers: SQLite re-runs one prepared
        // single-row INSERT (no 11,500-parameter statement to build and parse per 500 rows);
        // PostgreSQL takes COPY.
        match &mut *conn {
            AnyConnection::Sqlite(c) => {
                sqlite_rows::households(c, &rows.households)?;
                sqlite_rows::members(c, &rows.members)?;
            }
            AnyConnection::Postgresql(c) => {
                pg_copy::households(c, &rows.households)?;
                pg_copy::members(c, &rows.members)?;
            }
        }
        repo::insert_tag_rows(conn, &rows.tags)?;
        repo::insert_statuses(conn, &rows.statuses)?;
        for (found, attempted, path) in &clashes {
            let fresh = new_conflicts(conn, &mut self.existing_conflicts, found, attempted)?;
            if !fresh.is_empty() {
                write::record_clashes(conn, &fresh, attempted, path, ctx.actor)?;
                report.conflicts_recorded += fresh.len() as u64;
            }
        }
        if !rows.households.is_empty() {
            audit::record(
                conn,
                AuditEntry {
                    actor_id: ctx.actor,
                    action: "household.import",
                    entity: "import",
                    entity_id: ctx.run_id,
                    org_path: ctx.scope.path(),
                    detail: serde_json::json!({
                        "households": rows.households.len(),
                        "members": rows.members.len(),
                    }),
                },
            )?;
        }
        progress(conn, report)?;
        Ok(())
    }
}

/// SQLite's writes of the two large tables: one fixed INSERT per table, prepared once and re-run
/// per row ([`bulk::insert`]), its dates formatted here rather than by diesel's query builder per
/// row (which walked each row's 23 values three times and hashed its SQL for the statement cache).
mod sqlite_rows {
    use diesel::sql_types::{BigInt, Binary, Bool, Double, Integer, Nullable, Text};
    use diesel::sqlite::SqliteConnection;
    use diesel::QueryResult;

    use crate::db::bulk::{self, Binds, SqliteRow};
    use crate::db::repo::households::{HouseholdRow, MemberRow};
    use crate::db::schema::{households, members};

    /// `created_at` and `updated_at` as text; the second only where it differs from the first
    /// (never, for a new row).
    struct Stamps {
        created: String,
        updated: Option<String>,
    }

    impl Stamps {
        fn of(created: chrono::NaiveDateTime, updated: chrono::NaiveDateTime) -> Self {
            Self {
                created: bulk::timestamp_text(created),
                updated: (updated != created).then(|| bulk::timestamp_text(updated)),
            }
        }

        fn bind<'b>(&'b self, out: &mut Binds<'_, '_, 'b>) -> QueryResult<()> {
            out.value::<Text, _>(&self.created)?;
            out.value::<Text, _>(self.updated.as_ref().unwrap_or(&self.created))
        }
    }

    struct Household<'r> {
        r: &'r HouseholdRow,
        stamps: Stamps,
    }

    impl SqliteRow for Household<'_> {
        type Key = households::table;
        const INSERT: &'static str = "INSERT INTO households (id, external_id, address, lat, \
            lon, grid_id, org_path, grid_overridden, status, notes, head_member_id, head_name, \
            member_count, version, created_at, updated_at) VALUES ";

        fn bind<'b>(&'b self, out: &mut Binds<'_, '_, 'b>) -> QueryResult<()> {
            let r = self.r;
            out.value::<Text, _>(&r.id)?;
            out.value::<Nullable<Text>, _>(&r.external_id)?;
            out.value::<Text, _>(&r.address)?;
            out.value::<Nullable<Double>, _>(&r.lat)?;
            out.value::<Nullable<Double>, _>(&r.lon)?;
            out.value::<Text, _>(&r.grid_id)?;
            out.value::<Text, _>(&r.org_path)?;
            out.value::<Bool, _>(&r.grid_overridden)?;
            out.value::<Text, _>(&r.status)?;
            out.value::<Text, _>(&r.notes)?;
            out.value::<Nullable<Text>, _>(&r.head_member_id)?;
            out.value::<Nullable<Text>, _>(&r.head_name)?;
            out.value::<Integer, _>(&r.member_count)?;
            out.value::<BigInt, _>(&r.version)?;
            self.stamps.bind(out)
        }
    }

    struct Member<'r> {
        r: &'r MemberRow,
        birth_date: String,
        stamps: Stamps,
    }

    impl SqliteRow for Member<'_> {
        type Key = members::table;
        const INSERT: &'static str = "INSERT INTO members (id, household_id, position, name, \
            relation, id_cipher, id_key_id, id_blind, id_masked, birth_date, gender, health, \
            disability_type, disability_level, daily_living, work_status, student_status, income, \
            annual_income_fen, phone_cipher, phone_masked, created_at, updated_at) VALUES ";

        fn bind<'b>(&'b self, out: &mut Binds<'_, '_, 'b>) -> QueryResult<()> {
            let r = self.r;
            out.value::<Text, _>(&r.id)?;
            out.value::<Text, _>(&r.household_id)?;
            out.value::<Integer, _>(&r.position)?;
            out.value::<Text, _>(&r.name)?;
            out.value::<Text, _>(&r.relation)?;
            out.value::<Text, _>(&r.id_cipher)?;
            out.value::<Text, _>(&r.id_key_id)?;
            out.value::<Binary, _>(&r.id_blind)?;
            out.value::<Text, _>(&r.id_masked)?;
            out.value::<Text, _>(&self.birth_date)?;
            out.value::<Text, _>(&r.gender)?;
            out.value::<Text, _>(&r.health)?;
            out.value::<Nullable<Text>, _>(&r.disability_type)?;
            out.value::<Nullable<Integer>, _>(&r.disability_level)?;
            out.value::<Text, _>(&r.daily_living)?;
            out.value::<Text, _>(&r.work_status)?;
            out.value::<Text, _>(&r.student_status)?;
            out.value::<Text, _>(&r.income)?;
            out.value::<BigInt, _>(&r.annual_income_fen)?;
            out.value::<Nullable<Text>, _>(&r.phone_cipher)?;
            out.value::<Nullable<Text>, _>(&r.phone_masked)?;
            self.stamps.bind(out)
        }
    }

    pub fn households(conn: &mut SqliteConnection, rows: &[HouseholdRow]) -> QueryResult<usize> {
        let rows: Vec<Household<'_>> = rows
            .iter()
            .map(|r| Household {
                r,
                stamps: Stamps::of(r.created_at, r.updated_at),
            })
            .collect();
        bulk::insert(conn, &rows)
    }

    pub fn members(conn: &mut SqliteConnection, rows: &[MemberRow]) -> QueryResult<usize> {
        let rows: Vec<Member<'_>> = rows
            .iter()
            .map(|r| Member {
                r,
                birth_date: bulk::date_text(r.birth_date),
                stamps: Stamps::of(r.created_at, r.updated_at),
            })
            .collect();
        bulk::insert(conn, &rows)
    }
}

/// PostgreSQL's `COPY … FROM STDIN (FORMAT csv)` for the two large tables: no statement to parse
/// and plan per 500 rows, no per-value bind. Every text is quoted, so an empty string stays an empty
/// string and an unquoted empty field is NULL.
mod pg_copy {
    use diesel::pg::CopyFormat;
    use diesel::prelude::*;
    use diesel::result::Error;

    use super::super::pg_copy::{bytea, optional, plain, text, write_all, TIMESTAMP};
    use crate::db::repo::households::{HouseholdRow, MemberRow};
    use crate::db::schema::{households, members};

    pub fn households(
        conn: &mut diesel::PgConnection,
        rows: &[HouseholdRow],
    ) -> Result<usize, Error> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::copy_from(households::table)
            .from_raw_data(households::table, |out: &mut dyn std::io::Write| {
                write_all(out, rows.len(), |i, l| {
                    let r = &rows[i];
                    text(l, &r.id);
                    optional(l, r.external_id.as_deref());
                    text(l, &r.address);
                    match r.lat {
                        Some(v) => plain(l, v),
                        None => l.push(','),
                    }
                    match r.lon {
                        Some(v) => plain(l, v),
                        None => l.push(','),
                    }
                    text(l, &r.grid_id);
                    text(l, &r.org_path);
                    plain(l, if r.grid_overridden { "t" } else { "f" });
                    text(l, &r.status);
                    text(l, &r.notes);
                    optional(l, r.head_member_id.as_deref());
                    optional(l, r.head_name.as_deref());
                    plain(l, r.member_count);
                    plain(l, r.version);
                    plain(l, r.created_at.format(TIMESTAMP));
                    plain(l, r.updated_at.format(TIMESTAMP));
                })
            })
            .with_format(CopyFormat::Csv)
            .execute(conn)
    }

    pub fn members(conn: &mut diesel::PgConnection, rows: &[MemberRow]) -> Result<usize, Error> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::copy_from(members::table)
            .from_raw_data(members::table, |out: &mut dyn std::io::Write| {
                write_all(out, rows.len(), |i, l| {
                    let r = &rows[i];
                    text(l, &r.id);
                    text(l, &r.household_id);
                    plain(l, r.position);
                    text(l, &r.name);
                    text(l, &r.relation);
                    text(l, &r.id_cipher);
                    text(l, &r.id_key_id);
                    bytea(l, &r.id_blind);
                    text(l, &r.id_masked);
                    plain(l, r.birth_date.format("%Y-%m-%d"));
                    text(l, &r.gender);
                    text(l, &r.health);
                    optional(l, r.disability_type.as_deref());
                    match r.disability_level {
                        Some(v) => plain(l, v),
                        None => l.push(','),
                    }
                    text(l, &r.daily_living);
                    text(l, &r.work_status);
                    text(l, &r.student_status);
                    text(l, &r.income);
                    plain(l, r.annual_income_fen);
                    optional(l, r.phone_cipher.as_deref());
                    optional(l, r.phone_masked.as_deref());
                    plain(l, r.created_at.format(TIMESTAMP));
                    plain(l, r.updated_at.format(TIMESTAMP));
                })
            })
            .with_format(CopyFormat::Csv)
            .execute(conn)
    }
}

/// A batch's rows by table, moved (not copied) out of the built households.
#[derive(Default)]
struct Rows {
    households: Vec<HouseholdRow>,
    members: Vec<MemberRow>,
    tags: Vec<(String, String)>,
    statuses: Vec<StatusRow>,
}

impl From<Vec<NewHousehold>> for Rows {
    fn from(batch: Vec<NewHousehold>) -> Self {
        let mut rows = Rows {
            households: Vec::with_capacity(batch.len()),
            members: Vec::with_capacity(batch.len() * 3),
            ..Default::default()
        };
        for n in batch {
            rows.tags
                .extend(n.tags.into_iter().map(|t| (n.row.id.clone(), t)));
            rows.statuses.extend(n.status);
            rows.members.extend(n.members);
            rows.households.push(n.row);
        }
        rows
    }
}

/// The clashes not yet on file as open conflicts for the same import row, so importing a file
/// again does not record the same conflict twice.
fn new_conflicts(
    conn: &mut AnyConnection,
    known: &mut HashSet<(Vec<u8>, String, String)>,
    found: &[Clash],
    attempted: &str,
) -> ApiResult<Vec<Clash>> {
    let blinds: Vec<&[u8]> = found.iter().map(|c| c.id_blind.as_slice()).collect();
    let on_file: Vec<(Vec<u8>, String)> = id_conflicts::table
        .filter(id_conflicts::attempted.eq(attempted))
        .filter(id_conflicts::resolved.eq(false))
        .filter(id_conflicts::id_blind.eq_any(&blinds))
        .select((id_conflicts::id_blind, id_conflicts::existing_household_id))
        .load(conn)?;
    let mut fresh = Vec::new();
    for c in found {
        let key = (
            c.id_blind.clone(),
            c.existing_household_id.clone(),
            attempted.to_owned(),
        );
        let stored = on_file
            .iter()
            .any(|(b, h)| *b == c.id_blind && *h == c.existing_household_id);
        if !stored && known.insert(key) {
            fresh.push(c.clone());
        }
    }
    Ok(fresh)
}

// ---------------------------------------------------------------------------------------------
// Jobs

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_jobs)]
pub struct ImportJobRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub org_path: String,
    pub created_by: Option<String>,
    pub rows_read: i64,
    pub households_created: i64,
    pub households_unchanged: i64,
    pub rows_rejected: i64,
    pub errors: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

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
    diesel::insert_into(import_jobs::table)
        .values(row)
        .execute(conn)
}

pub fn find_job_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<ImportJobRow>> {
    in_scope!(
        import_jobs::table
            .find(id)
            .filter(import_jobs::kind.eq(JOB_KIND)),
        import_jobs::org_path,
        scope
    )
    .select(ImportJobRow::as_select())
    .first_row(conn)
    .optional()
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
    let target = import_jobs::table.find(id);
    let counts = (
        import_jobs::status.eq(status.as_str()),
        import_jobs::rows_read.eq(as_i64(report.rows_read)),
        import_jobs::households_created.eq(as_i64(report.households_created)),
        import_jobs::households_unchanged.eq(as_i64(report.households_unchanged)),
        import_jobs::rows_rejected.eq(as_i64(report.rows_rejected)),
        import_jobs::updated_at.eq(db::now()),
    );
    match errors {
        Some(errors) => {
            let text = serde_json::to_string(errors).map_err(ApiError::internal)?;
            diesel::update(target)
                .set((counts, import_jobs::errors.eq(text)))
                .execute(conn)?
        }
        None => diesel::update(target).set(counts).execute(conn)?,
    };
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn scan_lines(text: &[u8]) -> Vec<u64> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(RecordScanner::new(text));
        let mut record = csv::ByteRecord::new();
        let mut lines = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            lines.push(reader.get_mut().next_start().unwrap());
        }
        lines
    }

    #[test]
    fn record_lines_follow_the_file() {
        assert_eq!(scan_lines(b"a,b\n1,2\n3,4\n"), vec![1, 2, 3]);
        assert_eq!(scan_lines(b"a,b\r\n1,2\r\n3,4\r\n"), vec![1, 2, 3]);
        assert_eq!(scan_lines(b"a,b\n\n1,2\n\r\n3,4"), vec![1, 3, 5]);
        assert_eq!(scan_lines(b"a,b\n\"x\ny\",2\n3,4\n"), vec![1, 2, 4]);
        assert_eq!(scan_lines(b"a,b\n\"x\"\"\ny\",2\n3,4\n"), vec![1, 2, 4]);
        // A quote inside an unquoted field is literal; after a closing quote too.
        assert_eq!(
            scan_lines(b"a,b\nx\"y,2\n\"q\"r,4\n5,6\n"),
            vec![1, 2, 3, 4]
        );
    }

    #[test]
    fn an_unclosed_quote_stops_at_the_cap() {
        let mut text = b"a,b\n1,\"never closed\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(RecordScanner::new(&text[..]));
        let mut record = csv::ByteRecord::new();
        assert!(reader.read_byte_record(&mut record).unwrap());
        assert!(reader.read_byte_record(&mut record).is_err());
        assert_eq!(reader.get_ref().overflow, Some((2, true)));
    }

    #[test]
    fn yuan_to_fen() {
        assert_eq!(parse_yuan("1234.50"), Ok(123_450));
        assert_eq!(parse_yuan("1234.5"), Ok(123_450));
        assert_eq!(parse_yuan("1234"), Ok(123_400));
        assert_eq!(parse_yuan(" 0.01 "), Ok(1));
        assert_eq!(parse_yuan(""), Ok(0));
        assert_eq!(parse_yuan("-5"), Ok(-500));
        for bad in [
            "1,000", "NaN", "nan", "1e3", "1.234", "12.", ".5", "abc", "１２", "inf", "--1",
        ] {
            assert_eq!(parse_yuan(bad), Err(BadAmount), "{bad}");
        }
    }

    #[test]
    fn gbk_decodes_across_chunk_boundaries() {
        let text = "户主,张三,𠀀,€\n".repeat(20_000);
        let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
        assert!(!unmappable);
        // One byte at a time from the inner reader exercises every split.
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(buf.len()).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        for step in [1, 7, 65_536] {
            let mut out = String::new();
            GbkToUtf8::new(Trickle(&bytes, step))
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, text, "step {step}");
        }
    }

    fn sniff(bytes: &[u8], choice: EncodingChoice) -> Result<(Encoding, String), String> {
        match decode(io::Cursor::new(bytes.to_vec()), choice) {
            Ok((e, mut r)) => {
                let mut s = String::new();
                r.read_to_string(&mut s).map_err(|e| e.to_string())?;
                Ok((e, s))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn encodings_are_told_apart() {
        assert_eq!(
            sniff("名,x\n".as_bytes(), EncodingChoice::Auto).unwrap(),
            (Encoding::Utf8, "名,x\n".into())
        );
        assert_eq!(
            sniff(b"\xEF\xBB\xBFa,b\n", EncodingChoice::Auto).unwrap(),
            (Encoding::Utf8, "a,b\n".into())
        );
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,地址\n张三,常州\n");
        assert_eq!(
            sniff(&gbk, EncodingChoice::Auto).unwrap(),
            (Encoding::Gbk, "姓名,地址\n张三,常州\n".into())
        );
        // ASCII for longer than one sample, then GBK.
        let mut late = "a,b\n".repeat(40_000).into_bytes();
        late.extend_from_slice(&gbk);
        assert_eq!(sniff(&late, EncodingChoice::Auto).unwrap().0, Encoding::Gbk);
        let random: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(sniff(&random, EncodingChoice::Auto)
            .unwrap_err()
            .starts_with("unrecognised_encoding"));
        assert!(sniff(b"\xFF\xFEa\0", EncodingChoice::Auto)
            .unwrap_err()
            .starts_with("utf16"));
    }

    #[test]
    fn header_problems_are_listed() {
        let rec = csv::ByteRecord::from(vec![
            "household_external_id",
            "地址",
            "name",
            "colour",
            "name",
        ]);
        let err = Header::parse(&rec).unwrap_err();
        let codes: Vec<&str> = err.details.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "missing_column",
                "missing_column",
                "unknown_column",
                "duplicate_column"
            ]
        );
        assert!(err.details[0].message.contains("id_number"));
        assert!(err.details[2].message.contains('4'));
        assert!(!err.to_string().contains("colour"));
        let full = csv::ByteRecord::from(header_names());
        assert!(Header::parse(&full).is_ok());
    }

    #[test]
    fn columns_are_in_declaration_order() {
        for (i, c) in COLUMNS.iter().enumerate() {
            assert_eq!(c.col as usize, i, "{}", c.name);
            // The household's own columns come first, then the member's.
            let household = i < COLUMNS.iter().position(|c| c.col == Col::Name).unwrap();
            let own = c.col == Col::HouseholdExternalId;
            assert_eq!(
                HOUSEHOLD_COLS.contains(&c.col),
                household && !own,
                "{}",
                c.name
            );
        }
    }

    fn write_fixture(name: &str, bytes: &[u8]) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/households")
            .join(name);
        std::fs::write(path, bytes).unwrap();
    }

    /// `sample-gbk.csv` is `sample-utf8.csv` encoded as GBK. `JIUZHU_WRITE_FIXTURES=1 cargo test
    /// -p jiuzhu-server sample_files` rewrites it after the UTF-8 sample changes.
    #[test]
    fn sample_files_match() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/households");
        let utf8 = std::fs::read_to_string(dir.join("sample-utf8.csv")).unwrap();
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(&utf8);
        assert!(!unmappable, "the sample must be GBK-representable");
        if std::env::var("JIUZHU_WRITE_FIXTURES").is_ok() {
            write_fixture("sample-gbk.csv", &gbk);
        }
        assert_eq!(
            std::fs::read(dir.join("sample-gbk.csv")).unwrap(),
            gbk.to_vec()
        );
        assert_eq!(
            sniff(&gbk, EncodingChoice::Auto).unwrap(),
            (Encoding::Gbk, utf8.clone())
        );
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(utf8.as_bytes());
        let mut record = csv::ByteRecord::new();
        assert!(reader.read_byte_record(&mut record).unwrap());
        assert!(Header::parse(&record).is_ok());
    }
}
