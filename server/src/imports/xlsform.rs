//! XLSForm import: turns the `survey`, `choices` and `settings` sheets of an `.xlsx` workbook
//! into a checked [`FormDefinition`], translating ODK expressions into the form engine's language.
//!
//! Anything the engine cannot represent is refused with the cell it came from (`survey!D12`),
//! never dropped: an imported form must mean what its author wrote. The supported subset is
//! described in `fixtures/forms/README.md`.

use std::collections::HashMap;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use calamine::{DataRef, Reader, Xlsx};
use chrono::NaiveDate;
use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::form::{Bound, Choice, Field, FieldKind, FormDefinition, Label};

/// The `code` of each error this importer reports itself; errors from
/// [`FormDefinition::check`] keep the engine's codes.
pub mod code {
    /// The bytes are not a readable `.xlsx` workbook.
    pub const INVALID_WORKBOOK: &str = "invalid_workbook";
    /// The workbook passes one of the [`XlsLimits`](super::XlsLimits).
    pub const TOO_LARGE: &str = "too_large";
    /// A required sheet or column is missing.
    pub const MISSING_SHEET: &str = "missing_sheet";
    pub const MISSING_COLUMN: &str = "missing_column";
    /// A cell holds something that cannot be read (a bad number, an Excel error value…).
    pub const INVALID_VALUE: &str = "invalid_value";
    /// An XLSForm feature the engine does not have.
    pub const UNSUPPORTED: &str = "unsupported";
    /// `begin_*` / `end_*` rows that do not pair up.
    pub const UNBALANCED: &str = "unbalanced_group";
    pub const DUPLICATE_NAME: &str = "duplicate_name";
    pub const UNKNOWN_FIELD: &str = "unknown_field";
    pub const MISSING_CHOICES: &str = "missing_choices";
    pub const SYNTAX_ERROR: &str = "syntax_error";
}

/// Caps on what one import may read, so a hostile file costs bounded memory and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlsLimits {
    /// Size of the `.xlsx` file itself.
    pub max_bytes: usize,
    /// Total declared uncompressed size of the archive's entries (zip-bomb guard).
    pub max_uncompressed_bytes: u64,
    /// Entries in the archive.
    pub max_zip_entries: usize,
    /// Highest row number read in any sheet.
    pub max_rows: u32,
    /// Highest column number read in any sheet.
    pub max_columns: u32,
    /// Non-empty cells over all sheets read.
    pub max_cells: usize,
    /// Characters in one cell.
    pub max_cell_chars: usize,
}

impl Default for XlsLimits {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            max_uncompressed_bytes: 64 * 1024 * 1024,
            max_zip_entries: 1_000,
            max_rows: 5_000,
            max_columns: 64,
            max_cells: 100_000,
            max_cell_chars: 8_192,
        }
    }
}

/// Reads an XLSForm workbook and returns the form it defines, already checked by
/// [`FormDefinition::check`]; or every problem found, each pointing at a sheet cell
/// (`survey!D12`, `choices!B7`, `settings!A2`) where one is known.
pub fn parse_xlsform(bytes: &[u8], limits: &XlsLimits) -> Result<FormDefinition, Vec<FieldError>> {
    let book = read_workbook(bytes, limits).map_err(|e| vec![e])?;
    let mut import = Import::default();
    let def = import.build(&book);
    if !import.errors.is_empty() {
        return Err(import.errors);
    }
    let Some(def) = def else {
        return Err(vec![error(
            "survey",
            code::INVALID_WORKBOOK,
            "表单无法导入 / the form could not be imported",
        )]);
    };
    match def.check() {
        Ok(_) => Ok(def),
        Err(errors) => Err(errors.into_iter().map(|e| import.locate(e)).collect()),
    }
}

fn error(field: impl Into<String>, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        code: code.to_owned(),
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the workbook
// ---------------------------------------------------------------------------------------------

/// One sheet: its name and its non-empty cells as text, by 0-based (row, column).
#[derive(Debug, Default)]
struct Sheet {
    name: String,
    rows: Vec<(u32, Vec<(u32, String)>)>,
}

#[derive(Debug, Default)]
struct Workbook {
    survey: Option<Sheet>,
    choices: Option<Sheet>,
    settings: Option<Sheet>,
}

/// `D12` for 0-based (11, 3).
fn cell_ref(sheet: &str, row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut n = u64::from(col) + 1;
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(char::from(b'A' + rem));
        n = (n - 1) / 26;
    }
    let letters: String = letters.iter().rev().collect();
    format!("{sheet}!{letters}{}", u64::from(row) + 1)
}

fn read_workbook(bytes: &[u8], limits: &XlsLimits) -> Result<Workbook, FieldError> {
    if bytes.is_empty() {
        return Err(error(
            "",
            code::INVALID_WORKBOOK,
            "文件为空 / the file is empty; expected an .xlsx workbook",
        ));
    }
    if bytes.len() > limits.max_bytes {
        return Err(error(
            "",
            code::TOO_LARGE,
            format!(
                "文件过大 / the workbook is {} bytes; at most {}",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(error(
            "",
            code::INVALID_WORKBOOK,
            "不支持旧版 .xls / a legacy .xls (or encrypted) workbook; save it as .xlsx",
        ));
    }
    if !bytes.starts_with(b"PK") {
        return Err(error(
            "",
            code::INVALID_WORKBOOK,
            "不是 .xlsx 文件 / not an .xlsx workbook (not a zip archive)",
        ));
    }
    check_zip(bytes, limits)?;
    // The zip and XML readers are third-party code fed hostile bytes; a panic in them must
    // become a refused upload, not a dead worker.
    match catch_unwind(AssertUnwindSafe(|| read_sheets(bytes, limits))) {
        Ok(result) => result,
        Err(_) => Err(error(
            "",
            code::INVALID_WORKBOOK,
            "工作簿已损坏 / the workbook is damaged and cannot be read",
        )),
    }
}

fn le16(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u64::from(u16::from_le_bytes([s[0], s[1]])))
}

fn le32(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

/// Walks the zip central directory and refuses archives whose declared contents are too big,
/// too many, or compressed suspiciously well, before any entry is inflated.
fn check_zip(bytes: &[u8], limits: &XlsLimits) -> Result<(), FieldError> {
    let damaged = || {
        error(
            "",
            code::INVALID_WORKBOOK,
            "工作簿已损坏 / the workbook is not a valid zip archive",
        )
    };
    // The end-of-central-directory record is in the last 22 + 65,535 bytes.
    let floor = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (floor..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes.get(i..i + 4) == Some(&[0x50, 0x4B, 0x05, 0x06][..]))
        .ok_or_else(damaged)?;
    let entries = le16(bytes, eocd + 10).ok_or_else(damaged)?;
    let cd_offset = le32(bytes, eocd + 16).ok_or_else(damaged)?;
    if entries == 0xFFFF || cd_offset == 0xFFFF_FFFF {
        return Err(error(
            "",
            code::INVALID_WORKBOOK,
            "不支持 ZIP64 / zip64 archives are not accepted",
        ));
    }
    if usize::try_from(entries).map_or(true, |n| n > limits.max_zip_entries) {
        return Err(error(
            "",
            code::TOO_LARGE,
            format!(
                "压缩包条目过多 / the archive has {entries} entries; at most {}",
                limits.max_zip_entries
            ),
        ));
    }
    let mut at = usize::try_from(cd_offset).map_err(|_| damaged())?;
    let mut total: u64 = 0;
    for _ in 0..entries {
        if le32(bytes, at) != Some(0x0201_4B50) {
            return Err(damaged());
        }
        let compressed = le32(bytes, at + 20).ok_or_else(damaged)?;
        let uncompressed = le32(bytes, at + 24).ok_or_else(damaged)?;
        if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF {
            return Err(error(
                "",
                code::INVALID_WORKBOOK,
                "不支持 ZIP64 / zip64 archives are not accepted",
            ));
        }
        // Deflate of real spreadsheet XML stays far below 1:200; bombs go to 1:1000.
        if uncompressed > 1_000_000 && uncompressed / compressed.max(1) > 200 {
            return Err(error(
                "",
                code::TOO_LARGE,
                "压缩比异常 / an entry of the archive is compressed suspiciously well (zip bomb?)",
            ));
        }
        total = total.saturating_add(uncompressed);
        let name_len = le16(bytes, at + 28).ok_or_else(damaged)?;
        let extra_len = le16(bytes, at + 30).ok_or_else(damaged)?;
        let comment_len = le16(bytes, at + 32).ok_or_else(damaged)?;
        let step = 46 + name_len + extra_len + comment_len;
        at = at
            .checked_add(usize::try_from(step).map_err(|_| damaged())?)
            .ok_or_else(damaged)?;
    }
    if total > limits.max_uncompressed_bytes {
        return Err(error(
            "",
            code::TOO_LARGE,
            format!(
                "解压后过大 / the workbook unpacks to {total} bytes; at most {}",
                limits.max_uncompressed_bytes
            ),
        ));
    }
    Ok(())
}

fn read_sheets(bytes: &[u8], limits: &XlsLimits) -> Result<Workbook, FieldError> {
    let mut xlsx = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        error(
            "",
            code::INVALID_WORKBOOK,
            format!("无法读取工作簿 / cannot read the workbook: {e}"),
        )
    })?;
    let names = xlsx.sheet_names();
    let find = |wanted: &str| {
        names
            .iter()
            .find(|n| n.trim().eq_ignore_ascii_case(wanted))
            .cloned()
    };
    let mut book = Workbook::default();
    let mut budget = limits.max_cells;
    for (wanted, slot) in [
        ("survey", &mut book.survey),
        ("choices", &mut book.choices),
        ("settings", &mut book.settings),
    ] {
        if let Some(actual) = find(wanted) {
            *slot = Some(read_sheet(&mut xlsx, &actual, wanted, limits, &mut budget)?);
        }
    }
    Ok(book)
}

fn read_sheet(
    xlsx: &mut Xlsx<Cursor<&[u8]>>,
    actual: &str,
    name: &str,
    limits: &XlsLimits,
    budget: &mut usize,
) -> Result<Sheet, FieldError> {
    let unreadable = |e: calamine::XlsxError| {
        error(
            name,
            code::INVALID_WORKBOOK,
            format!("无法读取工作表 / cannot read sheet '{name}': {e}"),
        )
    };
    let mut reader = xlsx.worksheet_cells_reader(actual).map_err(unreadable)?;
    let mut cells: Vec<(u32, u32, String)> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let (row, col) = cell.get_position();
        let Some(text) = cell_text(cell.get_value()) else {
            return Err(error(
                cell_ref(name, row, col),
                code::INVALID_VALUE,
                "单元格为错误值 / the cell holds an Excel error value",
            ));
        };
        if text.trim().is_empty() {
            continue;
        }
        if row >= limits.max_rows {
            return Err(error(
                cell_ref(name, row, col),
                code::TOO_LARGE,
                format!(
                    "行数过多 / sheet '{name}' goes past row {}",
                    limits.max_rows
                ),
            ));
        }
        if col >= limits.max_columns {
            return Err(error(
                cell_ref(name, row, col),
                code::TOO_LARGE,
                format!(
                    "列数过多 / sheet '{name}' goes past column {}",
                    limits.max_columns
                ),
            ));
        }
        if text.chars().count() > limits.max_cell_chars {
            return Err(error(
                cell_ref(name, row, col),
                code::TOO_LARGE,
                format!(
                    "单元格过长 / the cell holds more than {} characters",
                    limits.max_cell_chars
                ),
            ));
        }
        if *budget == 0 {
            return Err(error(
                cell_ref(name, row, col),
                code::TOO_LARGE,
                format!(
                    "单元格过多 / the workbook has more than {} non-empty cells",
                    limits.max_cells
                ),
            ));
        }
        *budget -= 1;
        cells.push((row, col, text));
    }
    // Cells arrive in sheet order, which a hand-made file need not keep.
    cells.sort_by_key(|&(r, c, _)| (r, c));
    let mut rows: Vec<(u32, Vec<(u32, String)>)> = Vec::new();
    for (r, c, text) in cells {
        match rows.last_mut() {
            Some((last, row)) if *last == r => {
                if row.last().map(|(lc, _)| *lc) != Some(c) {
                    row.push((c, text));
                }
            }
            _ => rows.push((r, vec![(c, text)])),
        }
    }
    Ok(Sheet {
        name: name.to_owned(),
        rows,
    })
}

/// A cell as text; `None` for an Excel error value.
fn cell_text(value: &DataRef<'_>) -> Option<String> {
    Some(match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => float_text(*f),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => {
            let serial = d.as_f64();
            // Excel's day 0 is 1899-12-30 once past its fictitious 1900-02-29.
            let days = serial.floor();
            let date = NaiveDate::from_ymd_opt(1899, 12, 30).and_then(|base| {
                if days.is_finite() && (0.0..3_000_000.0).contains(&days) {
                    base.checked_add_days(chrono::Days::new(days as u64))
                } else {
                    None
                }
            });
            match date {
                Some(d) => d.format("%Y-%m-%d").to_string(),
                None => float_text(serial),
            }
        }
        DataRef::Error(_) => return None,
    })
}

fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Columns
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Lang {
    Zh,
    En,
    /// A plain `label` column: used for both languages unless a specific one is given.
    Both,
}

/// What a header cell names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    Type,
    Name,
    Label(Lang),
    Hint(Lang),
    Required,
    Relevant,
    Constraint,
    ConstraintMessage(Lang),
    Calculation,
    Min,
    Max,
    Pattern,
    ListName,
    FormId,
    FormTitle(Lang),
    Version,
}

fn parse_lang(s: &str) -> Option<Lang> {
    let s = s.trim().to_lowercase();
    // `Chinese (zh)` → `zh`.
    let code = match (s.rfind('('), s.strip_suffix(')')) {
        (Some(open), Some(inner)) => inner.get(open + 1..).unwrap_or("").trim().to_owned(),
        _ => s.clone(),
    };
    match code.as_str() {
        "zh" | "zh-cn" | "zh_cn" | "zh-hans" | "chinese" | "中文" => Some(Lang::Zh),
        "en" | "en-us" | "en-gb" | "english" => Some(Lang::En),
        _ => None,
    }
}

/// Reads a header; `Err` carries why it is not supported.
fn parse_header(sheet: &str, header: &str) -> Result<Col, String> {
    let (base, lang) = match header.split_once("::") {
        Some((b, l)) => (b, Some(l)),
        None => (header, None),
    };
    let base = base.trim().to_lowercase().replace(' ', "_");
    let with_lang = |make: fn(Lang) -> Col| match lang {
        None => Ok(make(Lang::Both)),
        Some(l) => parse_lang(l)
            .map(make)
            .ok_or_else(|| format!("language '{l}' (only Chinese `zh` and English `en` are kept)")),
    };
    let plain = |col: Col| match lang {
        None => Ok(col),
        Some(_) => Err(format!("column '{header}' does not take a language")),
    };
    match (sheet, base.as_str()) {
        ("survey", "type") => plain(Col::Type),
        ("survey" | "choices", "name") => plain(Col::Name),
        ("survey" | "choices", "label") => with_lang(Col::Label),
        ("survey", "hint") => with_lang(Col::Hint),
        ("survey", "required") => plain(Col::Required),
        ("survey", "relevant") => plain(Col::Relevant),
        ("survey", "constraint") => plain(Col::Constraint),
        ("survey", "constraint_message") => with_lang(Col::ConstraintMessage),
        ("survey", "calculation") => plain(Col::Calculation),
        ("survey", "min") => plain(Col::Min),
        ("survey", "max") => plain(Col::Max),
        ("survey", "pattern") => plain(Col::Pattern),
        ("choices", "list_name") => plain(Col::ListName),
        ("settings", "form_id") => plain(Col::FormId),
        ("settings", "form_title") => with_lang(Col::FormTitle),
        ("settings", "version") => plain(Col::Version),
        _ => Err(format!("column '{header}'")),
    }
}

/// A sheet's header row and its data rows, each cell keyed by what its column means.
struct Table<'a> {
    sheet: &'a str,
    /// Column number of each supported header.
    cols: HashMap<Col, u32>,
    rows: Vec<Row<'a>>,
}

struct Row<'a> {
    /// 0-based row number.
    row: u32,
    cells: HashMap<Col, (u32, &'a str)>,
}

impl Row<'_> {
    fn get(&self, col: Col) -> Option<&str> {
        self.cells
            .get(&col)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn label(&self, make: fn(Lang) -> Col) -> Label {
        let both = self.get(make(Lang::Both)).unwrap_or("");
        Label::new(
            self.get(make(Lang::Zh)).unwrap_or(both),
            self.get(make(Lang::En)).unwrap_or(both),
        )
    }
}

impl<'a> Import {
    fn table(&mut self, sheet: &'a Sheet) -> Table<'a> {
        let name = sheet.name.as_str();
        let mut table = Table {
            sheet: name,
            cols: HashMap::new(),
            rows: Vec::new(),
        };
        let Some(((header_row, header), data)) = sheet.rows.split_first() else {
            return table;
        };
        // Column → meaning; unsupported columns are only an error when a row uses them.
        let mut meaning: HashMap<u32, Result<Col, String>> = HashMap::new();
        for (col, text) in header {
            let parsed = parse_header(name, text);
            if let Ok(c) = parsed {
                if let Some(&first) = table.cols.get(&c) {
                    self.error(
                        cell_ref(name, *header_row, *col),
                        code::DUPLICATE_NAME,
                        format!(
                            "列重复 / column '{}' repeats {}",
                            text.trim(),
                            cell_ref(name, *header_row, first)
                        ),
                    );
                    meaning.insert(*col, Err(format!("duplicate column '{}'", text.trim())));
                    continue;
                }
                table.cols.insert(c, *col);
            }
            meaning.insert(*col, parsed);
        }
        for (row, cells) in data {
            let mut r = Row {
                row: *row,
                cells: HashMap::new(),
            };
            for (col, text) in cells {
                match meaning.get(col) {
                    Some(Ok(c)) => {
                        r.cells.insert(*c, (*col, text.as_str()));
                    }
                    Some(Err(what)) => self.error(
                        cell_ref(name, *row, *col),
                        code::UNSUPPORTED,
                        format!("不支持 / {what} is not supported; remove it or leave it empty"),
                    ),
                    None => self.error(
                        cell_ref(name, *row, *col),
                        code::UNSUPPORTED,
                        "列无表头 / a value in a column without a header",
                    ),
                }
            }
            table.rows.push(r);
        }
        table
    }
}

// ---------------------------------------------------------------------------------------------
// Building the definition
// ---------------------------------------------------------------------------------------------

/// Where a field of the definition came from, so the engine's errors can point at cells.
#[derive(Debug, Default, Clone)]
struct Origin {
    row: u32,
    type_col: u32,
    cols: HashMap<&'static str, u32>,
    /// Choices sheet rows of the field's choices, in order.
    choice_rows: Vec<(u32, u32)>,
    /// Expression attribute → the translated text, when it differs from the source.
    translated: HashMap<&'static str, String>,
}

/// A field as read, with its expressions still in ODK syntax.
struct Pending {
    field: Field,
    origin: Origin,
    /// Repeat names enclosing the field, outermost first.
    scope: Vec<String>,
    /// (attribute, source, column) to translate.
    exprs: Vec<(&'static str, String, u32)>,
    children: Vec<Pending>,
}

enum Open {
    Repeat(Box<Pending>),
    Group {
        row: u32,
        col: u32,
        relevant: Option<String>,
    },
}

#[derive(Default)]
struct Import {
    errors: Vec<FieldError>,
    /// Definition path (`fields[3].fields[2]`) → origin.
    origins: HashMap<String, Origin>,
    settings_cells: HashMap<&'static str, String>,
}

const MAX_IMPORT_ERRORS: usize = 1_000;

impl Import {
    fn error(&mut self, field: String, code: &str, message: impl Into<String>) {
        if self.errors.len() < MAX_IMPORT_ERRORS {
            self.errors.push(error(field, code, message));
        }
    }

    fn build(&mut self, book: &Workbook) -> Option<FormDefinition> {
        let Some(survey) = &book.survey else {
            self.error(
                "survey".into(),
                code::MISSING_SHEET,
                "缺少 survey 工作表 / the workbook has no 'survey' sheet",
            );
            return None;
        };
        let (key, title, version) = self.settings(book.settings.as_ref());
        let choices = self.choices(book.choices.as_ref());
        let survey = self.table(survey);
        for needed in [Col::Type, Col::Name] {
            if !survey.cols.contains_key(&needed) {
                let name = if needed == Col::Type { "type" } else { "name" };
                self.error(
                    "survey".into(),
                    code::MISSING_COLUMN,
                    format!("survey 缺少列 / the survey sheet has no '{name}' column"),
                );
            }
        }
        if !self.errors.is_empty() {
            return None;
        }
        let roots = self.survey(&survey, &choices);
        let scopes = self.scopes(&roots);
        if !self.errors.is_empty() {
            return None;
        }
        let fields = self.finish(roots, "", &scopes);
        Some(FormDefinition {
            key,
            title,
            version,
            fields,
        })
    }

    fn settings(&mut self, sheet: Option<&Sheet>) -> (String, Label, u32) {
        let Some(sheet) = sheet else {
            self.error(
                "settings".into(),
                code::MISSING_SHEET,
                "缺少 settings 工作表 / a 'settings' sheet with form_id (the form key) is needed",
            );
            return (String::new(), Label::new("", ""), 1);
        };
        let table = self.table(sheet);
        let Some(row) = table.rows.first() else {
            self.error(
                "settings".into(),
                code::MISSING_COLUMN,
                "settings 为空 / the settings sheet needs a row with form_id",
            );
            return (String::new(), Label::new("", ""), 1);
        };
        for extra in table.rows.iter().skip(1) {
            if let Some((_, (col, _))) = extra.cells.iter().next() {
                self.error(
                    cell_ref(table.sheet, extra.row, *col),
                    code::UNSUPPORTED,
                    "settings 只读取第一行 / settings has one row of values",
                );
            }
        }
        let at = |c: Col| {
            row.cells
                .get(&c)
                .map(|(col, _)| cell_ref(table.sheet, row.row, *col))
                .or_else(|| {
                    table
                        .cols
                        .get(&c)
                        .map(|col| cell_ref(table.sheet, row.row, *col))
                })
                .unwrap_or_else(|| "settings".to_owned())
        };
        self.settings_cells.insert("key", at(Col::FormId));
        self.settings_cells.insert("version", at(Col::Version));
        self.settings_cells
            .insert("title", at(Col::FormTitle(Lang::Both)));
        let key = row.get(Col::FormId).unwrap_or("").to_owned();
        if key.is_empty() {
            self.error(
                at(Col::FormId),
                code::MISSING_COLUMN,
                "缺少 form_id / settings needs form_id, the form key",
            );
        }
        let mut title = row.label(Col::FormTitle);
        if title.zh.is_empty() && title.en.is_empty() {
            title = Label::new(key.clone(), key.clone());
        }
        let version = match row.get(Col::Version) {
            None => 1,
            Some(v) => match v.parse::<u32>() {
                Ok(n) => n,
                Err(_) => {
                    self.error(
                        at(Col::Version),
                        code::INVALID_VALUE,
                        format!("版本号无效 / version '{v}' must be a whole number from 1"),
                    );
                    1
                }
            },
        };
        (key, title, version)
    }

    /// Choice lists by name: their choices and where each came from.
    fn choices(&mut self, sheet: Option<&Sheet>) -> HashMap<String, Vec<(Choice, u32, u32)>> {
        let mut lists: HashMap<String, Vec<(Choice, u32, u32)>> = HashMap::new();
        let Some(sheet) = sheet else {
            return lists;
        };
        let table = self.table(sheet);
        for (needed, name) in [(Col::ListName, "list_name"), (Col::Name, "name")] {
            if !table.cols.contains_key(&needed) && !table.rows.is_empty() {
                self.error(
                    "choices".into(),
                    code::MISSING_COLUMN,
                    format!("choices 缺少列 / the choices sheet has no '{name}' column"),
                );
                return lists;
            }
        }
        for row in &table.rows {
            let Some(list) = row.get(Col::ListName) else {
                let col = row.cells.values().map(|(c, _)| *c).min().unwrap_or(0);
                self.error(
                    cell_ref(table.sheet, row.row, col),
                    code::MISSING_COLUMN,
                    "缺少 list_name / this choice has no list_name",
                );
                continue;
            };
            let name_col = table.cols.get(&Col::Name).copied().unwrap_or(1);
            let value = row.get(Col::Name).unwrap_or("").to_owned();
            lists.entry(list.to_owned()).or_default().push((
                Choice {
                    value,
                    label: row.label(Col::Label),
                },
                row.row,
                name_col,
            ));
        }
        lists
    }

    /// Reads the survey rows into a tree of pending fields.
    fn survey(
        &mut self,
        table: &Table<'_>,
        lists: &HashMap<String, Vec<(Choice, u32, u32)>>,
    ) -> Vec<Pending> {
        let sheet = table.sheet;
        let mut roots: Vec<Pending> = Vec::new();
        let mut open: Vec<Open> = Vec::new();
        for row in &table.rows {
            let Some(&(type_col, raw_type)) = row.cells.get(&Col::Type) else {
                let col = row.cells.values().map(|(c, _)| *c).min().unwrap_or(0);
                self.error(
                    cell_ref(sheet, row.row, col),
                    code::MISSING_COLUMN,
                    "缺少类型 / this row has no type",
                );
                continue;
            };
            let at = |col: u32| cell_ref(sheet, row.row, col);
            let words: Vec<&str> = raw_type.split_whitespace().collect();
            let ty = words.first().map(|w| w.to_lowercase()).unwrap_or_default();
            let ty = match (ty.as_str(), words.get(1).map(|w| w.to_lowercase())) {
                ("begin" | "end", Some(second)) if words.len() == 2 => format!("{ty}_{second}"),
                _ => ty,
            };
            match ty.as_str() {
                "end_repeat" | "end_group" => {
                    let closes_repeat = ty == "end_repeat";
                    match open.pop() {
                        Some(Open::Repeat(p)) if closes_repeat => {
                            push_field(&mut open, &mut roots, *p);
                        }
                        Some(Open::Group { .. }) if !closes_repeat => {}
                        other => {
                            if let Some(o) = other {
                                open.push(o);
                            }
                            self.error(
                                at(type_col),
                                code::UNBALANCED,
                                format!("'{raw_type}' 不匹配 / '{raw_type}' closes nothing open"),
                            );
                        }
                    }
                    continue;
                }
                "begin_group" => {
                    for (c, what) in [
                        (Col::Required, "required"),
                        (Col::Constraint, "constraint"),
                        (Col::Calculation, "calculation"),
                    ] {
                        if let Some(&(col, _)) = row.cells.get(&c) {
                            self.error(
                                at(col),
                                code::UNSUPPORTED,
                                format!("组不支持 / '{what}' on a group is not supported"),
                            );
                        }
                    }
                    let relevant = row
                        .cells
                        .get(&Col::Relevant)
                        .map(|&(col, v)| (col, v.trim().to_owned()));
                    open.push(Open::Group {
                        row: row.row,
                        col: relevant.as_ref().map_or(type_col, |(c, _)| *c),
                        relevant: relevant.map(|(_, v)| v),
                    });
                    continue;
                }
                _ => {}
            }
            let (kind, list) = match (ty.as_str(), words.len()) {
                ("text", 1) => (FieldKind::Text, None),
                ("integer" | "int", 1) => (FieldKind::Integer, None),
                ("decimal", 1) => (FieldKind::Decimal, None),
                ("date", 1) => (FieldKind::Date, None),
                ("geopoint", 1) => (FieldKind::Geopoint, None),
                ("image", 1) => (FieldKind::Photo, None),
                ("note", 1) => (FieldKind::Note, None),
                ("calculate", 1) => (FieldKind::Calculate, None),
                ("acknowledge", 1) => (FieldKind::Boolean, None),
                ("begin_repeat", 1) => (FieldKind::Repeat, None),
                ("select_one", 2) => (FieldKind::SelectOne, words.get(1).copied()),
                ("select_multiple", 2) => (FieldKind::SelectMultiple, words.get(1).copied()),
                ("select_one" | "select_multiple", _) => {
                    self.error(
                        at(type_col),
                        code::UNSUPPORTED,
                        format!(
                            "不支持 / '{raw_type}': write '{ty} LIST' (or_other and other \
                             options are not supported)"
                        ),
                    );
                    continue;
                }
                _ => {
                    self.error(
                        at(type_col),
                        code::UNSUPPORTED,
                        format!("不支持的类型 / type '{raw_type}' is not supported"),
                    );
                    continue;
                }
            };
            let name = row.get(Col::Name).unwrap_or("").to_owned();
            let mut field = Field::new(name, kind, row.label(Col::Label));
            let mut origin = Origin {
                row: row.row,
                type_col,
                ..Origin::default()
            };
            for (c, attr) in [
                (Col::Name, "name"),
                (Col::Required, "required"),
                (Col::Relevant, "relevant"),
                (Col::Constraint, "constraint"),
                (Col::Calculation, "calculate"),
                (Col::Min, "min"),
                (Col::Max, "max"),
                (Col::Pattern, "pattern"),
            ] {
                if let Some(&(col, _)) = row.cells.get(&c) {
                    origin.cols.insert(attr, col);
                }
            }
            for (make, attr) in [
                (Col::Label as fn(Lang) -> Col, "label"),
                (Col::Hint, "hint"),
                (Col::ConstraintMessage, "constraint_message"),
            ] {
                if let Some(&(col, _)) = [Lang::Zh, Lang::Both, Lang::En]
                    .iter()
                    .find_map(|l| row.cells.get(&make(*l)))
                {
                    origin.cols.insert(attr, col);
                }
            }
            let hint = row.label(Col::Hint);
            if !hint.zh.is_empty() || !hint.en.is_empty() {
                field.hint = Some(hint);
            }
            let message = row.label(Col::ConstraintMessage);
            if !message.zh.is_empty() || !message.en.is_empty() {
                field.constraint_message = Some(message);
            }
            if let Some(&(col, v)) = row.cells.get(&Col::Required) {
                match v.trim().to_lowercase().as_str() {
                    "yes" | "true" | "true()" | "1" | "y" => field.required = true,
                    "no" | "false" | "false()" | "0" | "n" | "" => {}
                    _ => self.error(
                        at(col),
                        code::UNSUPPORTED,
                        format!(
                            "不支持条件必填 / required '{}' : only yes/no is supported \
                             (use relevant for conditions)",
                            v.trim()
                        ),
                    ),
                }
            }
            for (c, is_min) in [(Col::Min, true), (Col::Max, false)] {
                if let Some(&(col, v)) = row.cells.get(&c) {
                    match parse_bound(kind, v.trim()) {
                        Some(b) if is_min => field.min = Some(b),
                        Some(b) => field.max = Some(b),
                        None => self.error(
                            at(col),
                            code::INVALID_VALUE,
                            format!(
                                "界限无效 / '{}' is not a valid bound for a {} field",
                                v.trim(),
                                kind.as_str()
                            ),
                        ),
                    }
                }
            }
            field.pattern = row.get(Col::Pattern).map(str::to_owned);
            if let Some(list) = list {
                match lists.get(list) {
                    Some(choices) => {
                        field.choices = choices.iter().map(|(c, _, _)| c.clone()).collect();
                        origin.choice_rows = choices.iter().map(|(_, r, c)| (*r, *c)).collect();
                    }
                    None => self.error(
                        at(type_col),
                        code::MISSING_CHOICES,
                        format!(
                            "选项列表不存在 / choice list '{list}' is not in the choices sheet"
                        ),
                    ),
                }
            }
            // Groups between this field and its repeat make it relevant only when they are.
            let mut relevant: Vec<String> = Vec::new();
            let mut relevant_col = None;
            for o in open.iter().rev() {
                match o {
                    Open::Repeat(_) => break,
                    Open::Group {
                        relevant: Some(r),
                        col,
                        ..
                    } => {
                        relevant.push(r.clone());
                        relevant_col.get_or_insert(*col);
                    }
                    Open::Group { .. } => {}
                }
            }
            relevant.reverse();
            let mut exprs = Vec::new();
            if let Some(&(col, v)) = row.cells.get(&Col::Relevant) {
                relevant.push(v.trim().to_owned());
                relevant_col = Some(col);
            }
            if let Some(col) = relevant_col {
                let joined = if relevant.len() == 1 {
                    relevant.concat()
                } else {
                    relevant
                        .iter()
                        .map(|r| format!("({r})"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                };
                exprs.push(("relevant", joined, col));
            }
            if let Some(&(col, v)) = row.cells.get(&Col::Constraint) {
                exprs.push(("constraint", v.trim().to_owned(), col));
            }
            if let Some(&(col, v)) = row.cells.get(&Col::Calculation) {
                exprs.push(("calculate", v.trim().to_owned(), col));
            }
            let scope = open
                .iter()
                .filter_map(|o| match o {
                    Open::Repeat(p) => Some(p.field.name.clone()),
                    Open::Group { .. } => None,
                })
                .collect();
            let pending = Pending {
                field,
                origin,
                scope,
                exprs,
                children: Vec::new(),
            };
            if kind == FieldKind::Repeat {
                open.push(Open::Repeat(Box::new(pending)));
            } else {
                push_field(&mut open, &mut roots, pending);
            }
        }
        while let Some(o) = open.pop() {
            let (row, col) = match &o {
                Open::Repeat(p) => (p.origin.row, p.origin.type_col),
                Open::Group { row, .. } => (*row, table.cols.get(&Col::Type).copied().unwrap_or(0)),
            };
            self.error(
                cell_ref(sheet, row, col),
                code::UNBALANCED,
                "未结束 / this begin_repeat / begin_group has no matching end",
            );
        }
        roots
    }

    /// Translates expressions and records origins, producing the definition's fields.
    fn finish(
        &mut self,
        pending: Vec<Pending>,
        prefix: &str,
        scopes: &HashMap<String, (Vec<String>, u32, u32)>,
    ) -> Vec<Field> {
        let mut out = Vec::with_capacity(pending.len());
        for (slot, p) in pending.into_iter().enumerate() {
            let path = format!("{prefix}fields[{slot}]");
            let Pending {
                mut field,
                mut origin,
                scope,
                exprs,
                children,
            } = p;
            for (attr, src, col) in exprs {
                let place = cell_ref("survey", origin.row, col);
                match translate(&src, &scope, scopes) {
                    Ok(t) => {
                        if t != src {
                            origin.translated.insert(attr, t.clone());
                        }
                        origin.cols.insert(attr, col);
                        match attr {
                            "relevant" => field.relevant = Some(t),
                            "constraint" => field.constraint = Some(t),
                            _ => field.calculate = Some(t),
                        }
                    }
                    Err(e) => self.error(
                        place,
                        e.code,
                        format!(
                            "{} ({attr}, character {}): {}",
                            e.label(),
                            e.column,
                            e.message
                        ),
                    ),
                }
            }
            field.fields = self.finish(children, &format!("{path}."), scopes);
            self.origins.insert(path, origin);
            out.push(field);
        }
        out
    }

    /// Points an engine error at the sheet cell it came from.
    fn locate(&self, e: FieldError) -> FieldError {
        let FieldError {
            field,
            code,
            message,
        } = e;
        if let Some(cell) = self.settings_cells.get(field.as_str()) {
            return error(cell.clone(), &code, message);
        }
        if field == "fields" {
            return error("survey", &code, message);
        }
        // Longest `fields[i](.fields[j])*` prefix that names a field, then the attribute.
        let mut best: Option<(&str, &Origin)> = None;
        for (path, origin) in &self.origins {
            let matches = field == *path
                || field
                    .strip_prefix(path.as_str())
                    .is_some_and(|rest| rest.starts_with('.'));
            if matches && best.is_none_or(|(b, _)| b.len() < path.len()) {
                best = Some((path.as_str(), origin));
            }
        }
        let Some((path, origin)) = best else {
            return error(field, &code, message);
        };
        let rest = field
            .get(path.len()..)
            .unwrap_or("")
            .trim_start_matches('.');
        let attr = rest.split(['.', '[']).next().unwrap_or("");
        if attr == "choices" {
            let index = rest
                .strip_prefix("choices[")
                .and_then(|r| r.split(']').next())
                .and_then(|i| i.parse::<usize>().ok());
            if let Some(&(row, col)) = index.and_then(|i| origin.choice_rows.get(i)) {
                return error(cell_ref("choices", row, col), &code, message);
            }
        }
        let col = origin.cols.get(attr).copied().unwrap_or(origin.type_col);
        let message = match origin.translated.get(attr) {
            Some(t) => format!("{message} — translated expression: {t}"),
            None => message,
        };
        error(cell_ref("survey", origin.row, col), &code, message)
    }
}

fn push_field(open: &mut [Open], roots: &mut Vec<Pending>, p: Pending) {
    match open.iter_mut().rev().find_map(|o| match o {
        Open::Repeat(r) => Some(r),
        Open::Group { .. } => None,
    }) {
        Some(parent) => parent.children.push(p),
        None => roots.push(p),
    }
}

fn parse_bound(kind: FieldKind, v: &str) -> Option<Bound> {
    let number = || {
        v.parse::<i64>().ok().map(Bound::Integer).or_else(|| {
            v.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Bound::Decimal)
        })
    };
    let date = || {
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .ok()
            .map(Bound::Date)
    };
    match kind {
        FieldKind::Date => date(),
        FieldKind::Decimal => number(),
        FieldKind::Integer | FieldKind::Text | FieldKind::SelectMultiple | FieldKind::Repeat => {
            v.parse::<i64>().ok().map(Bound::Integer)
        }
        // Let the engine say the bound does not apply.
        _ => number().or_else(date),
    }
}

impl Import {
    /// Every field name → (the repeats enclosing it, its row, its name column). XLSForm names
    /// are unique across the whole form, which is what lets `${name}` be resolved from anywhere;
    /// a name used twice is reported at each later use.
    fn scopes(&mut self, roots: &[Pending]) -> HashMap<String, (Vec<String>, u32, u32)> {
        let mut out: HashMap<String, (Vec<String>, u32, u32)> = HashMap::new();
        let mut all: Vec<&Pending> = Vec::new();
        let mut stack: Vec<&Pending> = roots.iter().rev().collect();
        while let Some(p) = stack.pop() {
            all.push(p);
            stack.extend(p.children.iter().rev());
        }
        all.sort_by_key(|p| p.origin.row);
        for p in all {
            let col = p
                .origin
                .cols
                .get("name")
                .copied()
                .unwrap_or(p.origin.type_col);
            if p.field.name.is_empty() {
                continue;
            }
            if let Some((_, row, first_col)) = out.get(&p.field.name) {
                let first = cell_ref("survey", *row, *first_col);
                self.error(
                    cell_ref("survey", p.origin.row, col),
                    code::DUPLICATE_NAME,
                    format!(
                        "名称重复 / name '{}' is already used at {first}",
                        p.field.name
                    ),
                );
                continue;
            }
            out.insert(p.field.name.clone(), (p.scope.clone(), p.origin.row, col));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct TranslateError {
    column: usize,
    code: &'static str,
    message: String,
}

impl TranslateError {
    fn label(&self) -> &'static str {
        match self.code {
            code::UNSUPPORTED => "不支持",
            code::UNKNOWN_FIELD => "未知字段",
            _ => "表达式错误",
        }
    }
}

fn unsupported(column: usize, message: impl Into<String>) -> TranslateError {
    TranslateError {
        column,
        code: code::UNSUPPORTED,
        message: message.into(),
    }
}

fn syntax(column: usize, message: impl Into<String>) -> TranslateError {
    TranslateError {
        column,
        code: code::SYNTAX_ERROR,
        message: message.into(),
    }
}

/// Longest expression source accepted before translation (the engine's own cap applies after).
const MAX_SOURCE_CHARS: usize = 4_096;

/// Translates one ODK expression written at `scope` (enclosing repeats) into the engine's
/// language. Token by token: the two languages share operators, literals and `${name}`.
fn translate(
    src: &str,
    scope: &[String],
    scopes: &HashMap<String, (Vec<String>, u32, u32)>,
) -> Result<String, TranslateError> {
    let chars: Vec<char> = src.chars().collect();
    if chars.len() > MAX_SOURCE_CHARS {
        return Err(syntax(
            1,
            format!("expression longer than {MAX_SOURCE_CHARS} characters"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '$' if next == Some('{') => {
                let Some(len) = chars[i + 2..].iter().position(|&d| d == '}') else {
                    return Err(syntax(column, "reference is not closed with '}'"));
                };
                let mut name: String = chars[i + 2..i + 2 + len].iter().collect();
                i += len + 3;
                // `${repeat}/${field}`: the field of every instance, as ODK writes it in sums.
                while chars.get(i) == Some(&'/')
                    && chars.get(i + 1) == Some(&'$')
                    && chars.get(i + 2) == Some(&'{')
                {
                    let Some(len) = chars[i + 3..].iter().position(|&d| d == '}') else {
                        return Err(syntax(i + 2, "reference is not closed with '}'"));
                    };
                    name = chars[i + 3..i + 3 + len].iter().collect();
                    i += len + 4;
                }
                out.push(reference(&name, column, scope, scopes)?);
            }
            '$' => return Err(syntax(column, "a reference is written ${name}")),
            '\'' | '"' => {
                let Some(len) = chars[i + 1..].iter().position(|&d| d == c) else {
                    return Err(syntax(column, "string is not closed"));
                };
                out.push(chars[i..i + len + 2].iter().collect());
                i += len + 2;
            }
            '.' if next == Some('.') => {
                return Err(unsupported(column, "'..' (parent paths)"));
            }
            '.' if next.is_some_and(|d| d.is_ascii_digit()) => {
                let end = scan(&chars, i + 1, |d| d.is_ascii_digit());
                out.push(format!("0{}", chars[i..end].iter().collect::<String>()));
                i = end;
            }
            '.' => {
                out.push(".".into());
                i += 1;
            }
            c if c.is_ascii_digit() => {
                let mut end = scan(&chars, i, |d| d.is_ascii_digit());
                if chars.get(end) == Some(&'.')
                    && chars.get(end + 1).is_some_and(char::is_ascii_digit)
                {
                    end = scan(&chars, end + 1, |d| d.is_ascii_digit());
                }
                out.push(chars[i..end].iter().collect());
                i = end;
            }
            '/' => {
                return Err(unsupported(
                    column,
                    "'/' (XPath paths, or division: ODK divides with 'div'; write ${name} \
                     for fields)",
                ))
            }
            '|' => return Err(unsupported(column, "'|' (node-set union)")),
            '[' | ']' => return Err(unsupported(column, "'[…]' (XPath predicates)")),
            '@' => return Err(unsupported(column, "'@' (attributes)")),
            '(' | ')' | ',' | '+' | '-' | '*' => {
                out.push(c.to_string());
                i += 1;
            }
            '!' | '<' | '>' if next == Some('=') => {
                out.push(format!("{c}="));
                i += 2;
            }
            '=' | '<' | '>' => {
                out.push(c.to_string());
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = word_end(&chars, i);
                let word: String = chars[i..end].iter().collect();
                i = end;
                if matches!(word.as_str(), "and" | "or" | "div" | "mod") {
                    out.push(word);
                    continue;
                }
                let call = chars[i..].iter().find(|d| !d.is_whitespace()) == Some(&'(');
                if !call {
                    match word.as_str() {
                        "true" | "false" => out.push(word),
                        _ => {
                            return Err(unsupported(
                                column,
                                format!(
                                    "bare name '{word}' (XPath paths); refer to fields as \
                                     ${{name}}"
                                ),
                            ))
                        }
                    }
                    continue;
                }
                let open = chars[i..]
                    .iter()
                    .position(|&d| d == '(')
                    .map_or(i, |p| i + p);
                match word.as_str() {
                    "true" | "false" => {
                        let close = scan(&chars, open + 1, char::is_whitespace);
                        if chars.get(close) != Some(&')') {
                            return Err(syntax(column, format!("{word}() takes no argument")));
                        }
                        out.push(word);
                        i = close + 1;
                    }
                    "position" => {
                        // ODK writes position(..); the engine's position() means the same.
                        let after = scan(&chars, open + 1, char::is_whitespace);
                        let after = if chars.get(after) == Some(&'.')
                            && chars.get(after + 1) == Some(&'.')
                        {
                            scan(&chars, after + 2, char::is_whitespace)
                        } else {
                            after
                        };
                        if chars.get(after) != Some(&')') {
                            return Err(unsupported(
                                column,
                                "position() of anything but the current instance (..)",
                            ));
                        }
                        out.push("position".into());
                        out.push("(".into());
                        out.push(")".into());
                        i = after + 1;
                    }
                    _ => {
                        out.push(function(&word, column)?.to_owned());
                    }
                }
            }
            other => {
                return Err(syntax(column, format!("unexpected character '{other}'")));
            }
        }
    }
    Ok(join(&out))
}

fn scan(chars: &[char], from: usize, keep: impl Fn(char) -> bool) -> usize {
    let mut end = from;
    while chars.get(end).is_some_and(|c| keep(*c)) {
        end += 1;
    }
    end
}

/// End of an XPath-ish name: letters, digits, `_`, `.`, `:`, and `-` when a letter follows
/// (`count-selected`, `jr:choice-name`; `x-1` stays a subtraction).
fn word_end(chars: &[char], from: usize) -> usize {
    let mut end = from;
    while let Some(&c) = chars.get(end) {
        let ok = c.is_ascii_alphanumeric()
            || c == '_'
            || c == ':'
            || (c == '.' && chars.get(end + 1).is_some_and(char::is_ascii_alphabetic))
            || (c == '-' && chars.get(end + 1).is_some_and(char::is_ascii_alphabetic));
        if !ok {
            break;
        }
        end += 1;
    }
    end
}

/// The engine's name for an ODK function, or why it is refused.
fn function(name: &str, column: usize) -> Result<&'static str, TranslateError> {
    Ok(match name {
        "if" => "if",
        "not" => "not",
        "coalesce" => "coalesce",
        "selected" => "selected",
        "count-selected" => "count_selected",
        "count" => "count",
        "sum" => "sum",
        "min" => "min",
        "max" => "max",
        "today" => "today",
        "date" => "date",
        "int" => "int",
        "round" => "round",
        "string-length" => "string_length",
        // Jiuzhu extension: whole years since a date.
        "age" => "age",
        "regex" => {
            return Err(unsupported(
                column,
                "regex() — use the Jiuzhu 'pattern' column for text patterns",
            ))
        }
        "instance" => {
            return Err(unsupported(
                column,
                "instance(…) (secondary instances and external data)",
            ))
        }
        n if n.starts_with("jr:") || n.contains(':') => {
            return Err(unsupported(
                column,
                format!("{n}() (jr: and prefixed functions)"),
            ))
        }
        n => {
            return Err(unsupported(
                column,
                format!("function {n}() (the form engine does not have it)"),
            ))
        }
    })
}

/// `${name}` as the engine must see it from `scope`: fields in repeats the expression is not
/// inside are reached by a path from the first repeat it is not inside (`${members.income}`).
fn reference(
    name: &str,
    column: usize,
    scope: &[String],
    scopes: &HashMap<String, (Vec<String>, u32, u32)>,
) -> Result<String, TranslateError> {
    let Some((target_scope, _, _)) = scopes.get(name) else {
        return Err(TranslateError {
            column,
            code: code::UNKNOWN_FIELD,
            message: format!("${{{name}}} names no field of the survey"),
        });
    };
    let shared = scope
        .iter()
        .zip(target_scope)
        .take_while(|(a, b)| a == b)
        .count();
    let mut path: Vec<&str> = target_scope[shared..].iter().map(String::as_str).collect();
    path.push(name);
    Ok(format!("${{{}}}", path.join(".")))
}

/// Tokens back to text: spaced, except around parentheses and before commas.
fn join(tokens: &[String]) -> String {
    let mut out = String::new();
    let mut prev: Option<&str> = None;
    for t in tokens {
        let tight = match prev {
            None => true,
            Some("(") => true,
            Some(p) => {
                t == ")"
                    || t == ","
                    || (t == "("
                        && p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && !matches!(p, "and" | "or" | "div" | "mod"))
            }
        };
        if !tight {
            out.push(' ');
        }
        out.push_str(t);
        prev = Some(t.as_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use chrono::NaiveDate;
    use jiuzhu_proto::form::FieldKind;
    use serde_json::{json, Value as Json};

    use super::*;

    type TestResult = Result<(), Box<dyn Error>>;

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/forms/home_visit.xlsx"
    );

    fn fixture() -> Result<Vec<u8>, Box<dyn Error>> {
        Ok(std::fs::read(FIXTURE)?)
    }

    /// A workbook with the given sheets; each row a list of cells ("" leaves a cell empty).
    fn workbook(sheets: &[(&str, &[&[&str]])]) -> Result<Vec<u8>, Box<dyn Error>> {
        let mut book = rust_xlsxwriter::Workbook::new();
        for (name, rows) in sheets {
            let sheet = book.add_worksheet();
            sheet.set_name(*name)?;
            for (r, row) in rows.iter().enumerate() {
                for (c, text) in row.iter().enumerate() {
                    if !text.is_empty() {
                        sheet.write_string(u32::try_from(r)?, u16::try_from(c)?, *text)?;
                    }
                }
            }
        }
        Ok(book.save_to_buffer()?)
    }

    const SETTINGS: &[&[&str]] = &[&["form_id", "form_title"], &["t", "Test"]];

    /// A form whose survey has the columns `type, name, label` plus `extra_header` columns.
    fn survey_with(header: &[&str], rows: &[&[&str]]) -> Result<Vec<u8>, Box<dyn Error>> {
        let mut all: Vec<&[&str]> = vec![header];
        all.extend_from_slice(rows);
        let choices: &[&[&str]] = &[
            &["list_name", "name", "label"],
            &["yn", "yes", "Yes"],
            &["yn", "no", "No"],
        ];
        workbook(&[
            ("survey", &all),
            ("choices", choices),
            ("settings", SETTINGS),
        ])
    }

    fn parse(bytes: &[u8]) -> Result<FormDefinition, Vec<FieldError>> {
        parse_xlsform(bytes, &XlsLimits::default())
    }

    fn errors(bytes: &[u8]) -> Vec<FieldError> {
        parse(bytes).err().unwrap_or_default()
    }

    fn has(errors: &[FieldError], field: &str, code: &str) -> bool {
        errors.iter().any(|e| e.field == field && e.code == code)
    }

    fn day(s: &str) -> Result<NaiveDate, Box<dyn Error>> {
        Ok(NaiveDate::parse_from_str(s, "%Y-%m-%d")?)
    }

    const PHOTO: &str = "0190a6e2-7c1b-7d4e-9a3f-2b5c6d7e8f90";

    fn member(name: &str, relation: &str, born: &str, wages: i64) -> Json {
        json!({
            "member_name": name,
            "relation": relation,
            "id_number": "32040219800101123X",
            "birth_date": born,
            "health": "healthy",
            "disability_level": "none",
            "work_status": "employed",
            "income_wages": wages,
        })
    }

    fn answers() -> Json {
        json!({
            "visit_date": "2026-11-20",
            "dibao_investigation": "yes",
            "staff_present": ["staff_01", "staff_03"],
            "location": {"lat": 31.81, "lon": 119.97},
            "members": [
                member("张伟", "head", "1975-03-02", 24000),
                member("刘丽", "spouse", "1978-11-20", 12000),
                {
                    "member_name": "张奶奶",
                    "relation": "parent",
                    "id_number": "320402194801011234",
                    "birth_date": "1948-01-01",
                    "health": "grave_illness",
                    "disability_level": "level_2",
                    "disability_type": "physical",
                    "adl_eating": "able",
                    "adl_dressing": "unable",
                    "adl_transfer": "unable",
                    "adl_toileting": "able",
                    "adl_walking": "unable",
                    "adl_bathing": "unable",
                    "work_status": "unable_to_work",
                    "income_pension": 6000
                }
            ],
            "supporters": [
                {"supporter_name": "张强", "supporter_relation": "child",
                 "supporter_means": "limited", "supporter_monthly": 300}
            ],
            "housing_type": "owned",
            "housing_area": 62.5,
            "safety_grade": "c",
            "vehicles": 0,
            "savings": 3000,
            "medical_oop_12m": 18000,
            "school_oop_12m": 0,
            "hardship_causes": ["illness", "disability"],
            "illness_detail": "老人脑梗后长期卧床",
            "house_photo": PHOTO,
            "staff_signature": PHOTO,
            "family_signature": PHOTO,
        })
    }

    #[test]
    fn the_fixture_parses_and_checks() -> TestResult {
        let def = parse(&fixture()?).map_err(|e| format!("{e:#?}"))?;
        assert_eq!(def.key, "home_visit");
        assert_eq!(def.version, 1);
        assert_eq!(def.title.zh, "入户走访核查表");
        assert_eq!(def.title.en, "Home visit verification");
        let members = def
            .fields
            .iter()
            .find(|f| f.name == "members")
            .ok_or("no members repeat")?;
        assert_eq!(members.kind, FieldKind::Repeat);
        let names: Vec<&str> = members.fields.iter().map(|f| f.name.as_str()).collect();
        for expected in [
            "id_number",
            "health",
            "disability_type",
            "adl_bathing",
            "work_status",
            "student_status",
            "income_wages",
            "income_farming",
            "income_business",
            "income_rent",
            "income_pension",
            "income_support",
        ] {
            assert!(names.contains(&expected), "members lacks {expected}");
        }
        // The daily-living group is flattened; its condition lands on each item.
        let adl = members
            .fields
            .iter()
            .find(|f| f.name == "adl_eating")
            .ok_or("no adl_eating")?;
        assert_eq!(
            adl.relevant.as_deref(),
            Some("${disability_level} != 'none' or ${health} = 'grave_illness' or ${age} >= 60")
        );
        let total = def
            .fields
            .iter()
            .find(|f| f.name == "household_income")
            .ok_or("no household_income")?;
        assert_eq!(
            total.calculate.as_deref(),
            Some("sum(${members.member_income})")
        );
        let id = members
            .fields
            .iter()
            .find(|f| f.name == "id_number")
            .ok_or("no id_number")?;
        assert_eq!(id.pattern.as_deref(), Some("[0-9]{17}[0-9Xx]"));
        let staff = def
            .fields
            .iter()
            .find(|f| f.name == "staff_present")
            .ok_or("no staff_present")?;
        assert_eq!(
            staff.constraint.as_deref(),
            Some("${dibao_investigation} = 'no' or count_selected(.) >= 2")
        );
        for photo in ["house_photo", "staff_signature", "family_signature"] {
            assert!(def
                .fields
                .iter()
                .any(|f| f.name == photo && f.kind == FieldKind::Photo));
        }
        Ok(())
    }

    #[test]
    fn the_fixture_validates_a_realistic_visit() -> TestResult {
        let form = parse(&fixture()?)
            .map_err(|e| format!("{e:#?}"))?
            .check()
            .map_err(|e| format!("{e:#?}"))?;
        let outcome = form.validate_at(&answers(), day("2026-11-28")?);
        assert!(outcome.is_valid(), "{:#?}", outcome.errors);
        let calc = &outcome.calculated;
        assert_eq!(calc.get("member_count"), Some(&json!(3)));
        assert_eq!(calc.get("household_income"), Some(&json!(42000)));
        let pc = calc
            .get("per_capita_monthly_income")
            .and_then(Json::as_f64)
            .ok_or("no per-capita income")?;
        assert!((pc - 42000.0 / 3.0 / 12.0).abs() < 1e-9);
        assert_eq!(calc.get("oop_share"), Some(&json!(0.43)));
        let grandma = calc
            .get("members")
            .and_then(|m| m.get(2))
            .ok_or("no members calculations")?;
        assert_eq!(grandma.get("adl_failed"), Some(&json!(4)));
        Ok(())
    }

    #[test]
    fn the_fixture_reports_a_bad_visit() -> TestResult {
        let form = parse(&fixture()?)
            .map_err(|e| format!("{e:#?}"))?
            .check()
            .map_err(|e| format!("{e:#?}"))?;
        let mut bad = answers();
        bad["staff_present"] = json!(["staff_01"]);
        bad["members"][0]["id_number"] = json!("1234");
        bad["members"][2]["adl_eating"] = Json::Null;
        bad["safety_grade"] = json!("e");
        bad["hardship_causes"] = json!(["living_alone"]);
        if let Some(obj) = bad.as_object_mut() {
            obj.remove("family_signature");
        }
        let outcome = form.validate_at(&bad, day("2026-11-28")?);
        let codes: Vec<(&str, &str)> = outcome
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        for expected in [
            ("staff_present", "constraint_failed"),
            ("members[0].id_number", "pattern_mismatch"),
            ("members[2].adl_eating", "required"),
            ("safety_grade", "not_a_choice"),
            ("hardship_causes", "constraint_failed"),
            ("family_signature", "required"),
        ] {
            assert!(codes.contains(&expected), "{expected:?} not in {codes:?}");
        }
        // Not a dibao investigation: one staff member is enough.
        let mut routine = answers();
        routine["dibao_investigation"] = json!("no");
        routine["staff_present"] = json!(["staff_02"]);
        let outcome = form.validate_at(&routine, day("2026-11-28")?);
        assert!(outcome.is_valid(), "{:#?}", outcome.errors);
        Ok(())
    }

    const HEADER: &[&str] = &["type", "name", "label", "relevant", "calculation"];

    #[test]
    fn odk_expressions_are_translated() -> TestResult {
        let bytes = survey_with(
            &[
                "type",
                "name",
                "label::English (en)",
                "label::中文",
                "relevant",
                "constraint",
                "calculation",
            ],
            &[
                &["text", "who", "Who", "谁", "", "string-length(.) <= 10", ""],
                &["select_multiple yn", "pick", "Pick", "选", "true()", "", ""],
                &["begin_repeat", "jobs", "Jobs", "工作", "", "", ""],
                &[
                    "integer",
                    "wage",
                    "Wage",
                    "工资",
                    "",
                    ". >= 0 and . mod 2 = 0",
                    "",
                ],
                &["calculate", "nth", "Nth", "序", "", "", "position(..)"],
                &["end_repeat", "", "", "", "", "", ""],
                &[
                    "calculate",
                    "total",
                    "Total",
                    "合计",
                    "",
                    "",
                    "sum(${wage})",
                ],
                &[
                    "calculate",
                    "total2",
                    "Total",
                    "合计",
                    "",
                    "",
                    "sum(${jobs}/${wage})",
                ],
                &["calculate", "n", "N", "数", "", "", "count(${jobs})"],
                &[
                    "calculate",
                    "avg",
                    "Avg",
                    "均",
                    "${n} > 0",
                    "",
                    "${total} div ${n}",
                ],
                &[
                    "calculate",
                    "k",
                    "K",
                    "选数",
                    "not(selected(${pick}, 'no'))",
                    "",
                    "if(count-selected(${pick}) > .5, 1, 0)",
                ],
                &["calculate", "d", "D", "日", "", "", "today()"],
            ],
        )?;
        let def = parse(&bytes).map_err(|e| format!("{e:#?}"))?;
        let get = |name: &str| def.fields.iter().find(|f| f.name == name);
        assert_eq!(
            get("who").and_then(|f| f.constraint.as_deref()),
            Some("string_length(.) <= 10")
        );
        assert_eq!(get("who").map(|f| f.label.zh.as_str()), Some("谁"));
        assert_eq!(get("who").map(|f| f.label.en.as_str()), Some("Who"));
        assert_eq!(
            get("pick").and_then(|f| f.relevant.as_deref()),
            Some("true")
        );
        assert_eq!(
            get("total").and_then(|f| f.calculate.as_deref()),
            Some("sum(${jobs.wage})")
        );
        assert_eq!(
            get("total2").and_then(|f| f.calculate.as_deref()),
            Some("sum(${jobs.wage})")
        );
        assert_eq!(
            get("k").and_then(|f| f.calculate.as_deref()),
            Some("if(count_selected(${pick}) > 0.5, 1, 0)")
        );
        let jobs = get("jobs").ok_or("no jobs")?;
        assert_eq!(
            jobs.fields.get(1).and_then(|f| f.calculate.as_deref()),
            Some("position()")
        );
        Ok(())
    }

    #[test]
    fn unsupported_types_are_refused_at_their_cell() -> TestResult {
        for ty in [
            "audio",
            "rank yn",
            "range",
            "start",
            "select_one_from_file x.csv",
            "select_one yn or_other",
        ] {
            let bytes = survey_with(
                HEADER,
                &[&["text", "a", "A", "", ""], &[ty, "b", "B", "", ""]],
            )?;
            let errs = errors(&bytes);
            assert!(
                has(&errs, "survey!A3", code::UNSUPPORTED),
                "{ty}: {errs:#?}"
            );
        }
        Ok(())
    }

    #[test]
    fn unsupported_columns_are_refused_at_their_cell() -> TestResult {
        for column in [
            "choice_filter",
            "repeat_count",
            "appearance",
            "default",
            "label::fr",
        ] {
            let bytes = survey_with(
                &["type", "name", "label", column],
                &[&["text", "a", "A", ""], &["select_one yn", "b", "B", "x"]],
            )?;
            let errs = errors(&bytes);
            assert!(
                has(&errs, "survey!D3", code::UNSUPPORTED),
                "{column}: {errs:#?}"
            );
        }
        // An empty unsupported column is harmless.
        let bytes = survey_with(
            &["type", "name", "label", "appearance"],
            &[&["text", "a", "A", ""]],
        )?;
        assert!(parse(&bytes).is_ok());
        Ok(())
    }

    #[test]
    fn unsupported_expressions_are_refused_at_their_cell() -> TestResult {
        for (relevant, calculation, cell) in [
            ("pulldata('f', 'c', 'k', ${a})", "", "survey!D3"),
            ("", "instance('yn')/root/item", "survey!E3"),
            ("", "jr:choice-name(${a}, '${a}')", "survey!E3"),
            ("", "${a} / 2", "survey!E3"),
            ("", "concat(${a}, 'x')", "survey!E3"),
            ("", "regex(${a}, 'x')", "survey!E3"),
            ("/data/a = 'x'", "", "survey!D3"),
            ("${a} = 'x' | ${a} = 'y'", "", "survey!D3"),
            ("../a = 'x'", "", "survey!D3"),
            ("a = 'x'", "", "survey!D3"),
        ] {
            let ty = if calculation.is_empty() {
                "text"
            } else {
                "calculate"
            };
            let bytes = survey_with(
                HEADER,
                &[
                    &["text", "a", "A", "", ""],
                    &[ty, "b", "B", relevant, calculation],
                ],
            )?;
            let errs = errors(&bytes);
            assert!(
                has(&errs, cell, code::UNSUPPORTED),
                "{relevant}{calculation}: {errs:#?}"
            );
        }
        let bytes = survey_with(HEADER, &[&["calculate", "b", "B", "", "${nope} + 1"]])?;
        assert!(has(&errors(&bytes), "survey!E2", code::UNKNOWN_FIELD));
        let bytes = survey_with(
            &["type", "name", "label", "required"],
            &[&["text", "a", "A", "${x} = 'y'"]],
        )?;
        assert!(has(&errors(&bytes), "survey!D2", code::UNSUPPORTED));
        Ok(())
    }

    #[test]
    fn engine_errors_point_at_cells() -> TestResult {
        // A text field used in arithmetic: the engine's type error lands on the calculation.
        let bytes = survey_with(
            HEADER,
            &[
                &["text", "a", "A", "", ""],
                &["calculate", "b", "B", "", "${a} + 1"],
            ],
        )?;
        let errs = errors(&bytes);
        assert!(
            errs.iter()
                .any(|e| e.field == "survey!E3" && e.code == "type_mismatch"),
            "{errs:#?}"
        );
        // A bad choice value is reported on the choices sheet.
        let survey: &[&[&str]] = &[&["type", "name", "label"], &["select_one c", "a", "A"]];
        let choices: &[&[&str]] = &[
            &["list_name", "name", "label"],
            &["c", "ok", "OK"],
            &["c", "not ok", "Bad"],
        ];
        let bytes = workbook(&[
            ("survey", survey),
            ("choices", choices),
            ("settings", SETTINGS),
        ])?;
        let errs = errors(&bytes);
        assert!(
            errs.iter()
                .any(|e| e.field == "choices!B3" && e.code == "invalid_choice_value"),
            "{errs:#?}"
        );
        // An invalid name, and a form key the engine refuses.
        let bad_key: &[&[&str]] = &[&["form_id", "version"], &["Home Visit", "1"]];
        let survey: &[&[&str]] = &[&["type", "name", "label"], &["text", "Name", "A"]];
        let bytes = workbook(&[("survey", survey), ("settings", bad_key)])?;
        let errs = errors(&bytes);
        assert!(has(&errs, "survey!B2", "invalid_name"), "{errs:#?}");
        assert!(has(&errs, "settings!A2", "invalid_key"), "{errs:#?}");
        Ok(())
    }

    #[test]
    fn structure_problems_are_reported() -> TestResult {
        let bytes = survey_with(
            HEADER,
            &[
                &["begin_repeat", "r", "R", "", ""],
                &["text", "a", "A", "", ""],
            ],
        )?;
        assert!(has(&errors(&bytes), "survey!A2", code::UNBALANCED));
        let bytes = survey_with(
            HEADER,
            &[&["text", "a", "A", "", ""], &["end_group", "", "", "", ""]],
        )?;
        assert!(has(&errors(&bytes), "survey!A3", code::UNBALANCED));
        let bytes = survey_with(
            HEADER,
            &[
                &["text", "a", "A", "", ""],
                &["begin_repeat", "r", "R", "", ""],
                &["text", "a", "A again", "", ""],
                &["end_repeat", "", "", "", ""],
            ],
        )?;
        assert!(has(&errors(&bytes), "survey!B4", code::DUPLICATE_NAME));
        let bytes = survey_with(HEADER, &[&["select_one missing", "a", "A", "", ""]])?;
        assert!(has(&errors(&bytes), "survey!A2", code::MISSING_CHOICES));
        let no_settings =
            workbook(&[("survey", &[&["type", "name", "label"], &["text", "a", "A"]])])?;
        assert!(has(&errors(&no_settings), "settings", code::MISSING_SHEET));
        let no_survey = workbook(&[("settings", SETTINGS)])?;
        assert!(has(&errors(&no_survey), "survey", code::MISSING_SHEET));
        // Groups flatten, and their relevance is joined to each field's own.
        let bytes = survey_with(
            HEADER,
            &[
                &["integer", "n", "N", "", ""],
                &["begin group", "g", "G", "${n} > 1", ""],
                &["text", "a", "A", "${n} < 9", ""],
                &["end group", "", "", "", ""],
            ],
        )?;
        let def = parse(&bytes).map_err(|e| format!("{e:#?}"))?;
        assert_eq!(def.fields.len(), 2);
        assert_eq!(
            def.fields.get(1).and_then(|f| f.relevant.as_deref()),
            Some("(${n} > 1) and (${n} < 9)")
        );
        Ok(())
    }

    #[test]
    fn bad_files_give_clear_errors() -> TestResult {
        let code_of = |bytes: &[u8], limits: &XlsLimits| {
            parse_xlsform(bytes, limits)
                .err()
                .and_then(|e| e.first().map(|e| e.code.clone()))
        };
        let limits = XlsLimits::default();
        assert_eq!(
            code_of(b"", &limits).as_deref(),
            Some(code::INVALID_WORKBOOK)
        );
        assert_eq!(
            code_of(b"type,name,label\ntext,a,A\n", &limits).as_deref(),
            Some(code::INVALID_WORKBOOK)
        );
        assert_eq!(
            code_of(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], &limits).as_deref(),
            Some(code::INVALID_WORKBOOK)
        );
        let good = fixture()?;
        for cut in [10, good.len() / 2, good.len() - 10] {
            let truncated = good.get(..cut).ok_or("short fixture")?;
            assert_eq!(
                code_of(truncated, &limits).as_deref(),
                Some(code::INVALID_WORKBOOK),
                "cut at {cut}"
            );
        }
        // Flipping bytes in the middle must never panic, whatever it gives.
        for at in (100..good.len()).step_by(997) {
            let mut damaged = good.clone();
            if let Some(b) = damaged.get_mut(at) {
                *b ^= 0x5A;
            }
            let _ = parse_xlsform(&damaged, &limits);
        }
        let small = XlsLimits {
            max_bytes: 1_000,
            ..XlsLimits::default()
        };
        assert_eq!(code_of(&good, &small).as_deref(), Some(code::TOO_LARGE));
        let few_rows = XlsLimits {
            max_rows: 10,
            ..XlsLimits::default()
        };
        assert_eq!(code_of(&good, &few_rows).as_deref(), Some(code::TOO_LARGE));
        let few_cells = XlsLimits {
            max_cells: 50,
            ..XlsLimits::default()
        };
        assert_eq!(code_of(&good, &few_cells).as_deref(), Some(code::TOO_LARGE));
        let unpacked = XlsLimits {
            max_uncompressed_bytes: 2_000,
            ..XlsLimits::default()
        };
        assert_eq!(code_of(&good, &unpacked).as_deref(), Some(code::TOO_LARGE));
        Ok(())
    }

    /// 4,999 fields, each with an expression: past the engine's field cap, refused quickly.
    #[test]
    fn a_survey_at_the_row_cap_is_refused_in_bounded_time() -> TestResult {
        let names: Vec<String> = (0..4_999).map(|i| format!("f{i}")).collect();
        let relevants: Vec<String> = (0..4_999)
            .map(|i| format!("${{f{}}} != ''", i.max(1) - 1))
            .collect();
        let rows: Vec<Vec<&str>> = names
            .iter()
            .zip(&relevants)
            .map(|(n, r)| vec!["text", n.as_str(), "L", r.as_str(), ""])
            .collect();
        let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
        let bytes = survey_with(HEADER, &rows)?;
        let started = std::time::Instant::now();
        let errs = errors(&bytes);
        assert!(
            has(&errs, "survey", "too_many_fields"),
            "{:?}",
            errs.first()
        );
        assert!(started.elapsed().as_secs() < 10);
        Ok(())
    }

    /// Cells placed far away must be refused from their position, not allocated up to it.
    #[test]
    fn far_and_long_cells_are_refused() -> TestResult {
        let limits = XlsLimits::default();
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("survey")?;
        sheet.write_string(0, 0, "type")?;
        sheet.write_string(1_048_575, 16_383, "text")?;
        let bytes = book.save_to_buffer()?;
        let errs = parse_xlsform(&bytes, &limits).err().unwrap_or_default();
        assert!(
            has(&errs, "survey!XFD1048576", code::TOO_LARGE),
            "{errs:#?}"
        );

        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("survey")?;
        sheet.write_string(0, 200, "type")?;
        let bytes = book.save_to_buffer()?;
        let errs = parse_xlsform(&bytes, &limits).err().unwrap_or_default();
        assert!(has(&errs, "survey!GS1", code::TOO_LARGE), "{errs:#?}");

        let long = "x".repeat(limits.max_cell_chars + 1);
        let bytes = survey_with(HEADER, &[&["text", "a", &long, "", ""]])?;
        assert!(has(&errors(&bytes), "survey!C2", code::TOO_LARGE));
        Ok(())
    }

    /// A zip whose one entry claims to inflate 4 GB from 100 bytes: refused from the directory.
    #[test]
    fn a_zip_bomb_is_refused_before_inflating() {
        let mut zip = Vec::new();
        zip.extend_from_slice(b"PK\x03\x04");
        zip.extend_from_slice(&[0; 26]);
        zip.extend_from_slice(&[0; 100]);
        let cd = zip.len() as u32;
        zip.extend_from_slice(b"PK\x01\x02");
        zip.extend_from_slice(&[0; 16]);
        zip.extend_from_slice(&100u32.to_le_bytes());
        zip.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        zip.extend_from_slice(&1u16.to_le_bytes());
        zip.extend_from_slice(&[0; 16]);
        zip.push(b'x');
        let cd_len = zip.len() as u32 - cd;
        zip.extend_from_slice(b"PK\x05\x06");
        zip.extend_from_slice(&[0; 4]);
        zip.extend_from_slice(&1u16.to_le_bytes());
        zip.extend_from_slice(&1u16.to_le_bytes());
        zip.extend_from_slice(&cd_len.to_le_bytes());
        zip.extend_from_slice(&cd.to_le_bytes());
        zip.extend_from_slice(&[0; 2]);
        let errs = parse(&zip).err().unwrap_or_default();
        assert_eq!(errs.first().map(|e| e.code.as_str()), Some(code::TOO_LARGE));
    }

    #[test]
    fn translation_never_panics_on_odd_input() {
        let scopes = HashMap::new();
        for src in [
            "",
            "${",
            "${}",
            "'",
            "\"",
            "((((",
            "position(",
            "true(",
            ".",
            "..",
            "1.",
            "$",
            "${a}/",
            "${a}/${",
            "count-",
            "a:b:c(",
            "é",
            "\u{0}",
            "1 - -1",
        ] {
            let _ = translate(src, &[], &scopes);
        }
    }
}
