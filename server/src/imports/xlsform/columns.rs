//! Header cells: which column means what, in which language, and the rows of a sheet keyed by
//! those meanings.

use std::collections::HashMap;

use jiuzhu_proto::form::Label;

use super::workbook::{cell_ref, Sheet};
use super::{code, Import};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Lang {
    Zh,
    En,
    /// A plain `label` column: used for both languages unless a specific one is given.
    Both,
}

/// What a header cell names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Col {
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
pub(super) fn parse_header(sheet: &str, header: &str) -> Result<Col, String> {
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
pub(super) struct Table<'a> {
    pub(super) sheet: &'a str,
    /// Column number of each supported header.
    pub(super) cols: HashMap<Col, u32>,
    pub(super) rows: Vec<Row<'a>>,
}

pub(super) struct Row<'a> {
    /// 0-based row number.
    pub(super) row: u32,
    pub(super) cells: HashMap<Col, (u32, &'a str)>,
}

impl Row<'_> {
    pub(super) fn get(&self, col: Col) -> Option<&str> {
        self.cells
            .get(&col)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn label(&self, make: fn(Lang) -> Col) -> Label {
        let both = self.get(make(Lang::Both)).unwrap_or("");
        Label::new(
            self.get(make(Lang::Zh)).unwrap_or(both),
            self.get(make(Lang::En)).unwrap_or(both),
        )
    }
}

impl<'a> Import {
    pub(super) fn table(&mut self, sheet: &'a Sheet) -> Table<'a> {
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
