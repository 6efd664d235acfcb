//! Header cells: which column means what, in which language, and the rows of a sheet keyed by
//! those meanings. Headers are read as pyxform reads them: `label::English (en)`, the older
//! `label:English`, `bind::relevant`, `bind:jr:constraintMsg`, and pyxform's aliases.

use std::collections::HashMap;

use jiuzhu_proto::form::Label;

use super::workbook::{cell_ref, Sheet};
use super::{code, notice, Import};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Lang {
    Zh,
    En,
    /// A plain `label` column (or `label::default`): used for both languages unless a specific
    /// one is given.
    Both,
    /// The first language that is neither Chinese nor English: its text stands in only where
    /// a row has no Chinese, English or plain text. Further languages are dropped.
    Other,
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

/// What a header says about the cells below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Header {
    Col(Col),
    /// Means nothing to the form engine (display hints, media, server settings, other
    /// languages): its values are left out with one notice of this code and reason.
    Ignored(&'static str, String),
    /// An XLSForm feature the engine cannot mean: every value is refused. With `allows_no`, a
    /// value saying no (`no`, `false`, `0`) is harmless.
    Refused {
        what: String,
        allows_no: bool,
    },
}

/// A language written after a column name: `English (en)`, `english`, `中文 (zh)`, `zh-CN`.
fn parse_lang(s: &str) -> Lang {
    let s = s.trim().to_lowercase();
    let (name, code) = match (s.rfind('('), s.strip_suffix(')')) {
        (Some(open), Some(inner)) => (
            s.get(..open).unwrap_or("").trim(),
            inner.get(open + 1..).unwrap_or("").trim(),
        ),
        _ => (s.as_str(), s.as_str()),
    };
    let is = |set: &[&str]| set.contains(&code) || set.contains(&name);
    if is(&[
        "zh",
        "zh-cn",
        "zh_cn",
        "zh-hans",
        "zh-hant",
        "zh-tw",
        "chinese",
        "中文",
        "简体中文",
        "汉语",
        "普通话",
    ]) {
        Lang::Zh
    } else if is(&["en", "en-us", "en-gb", "english", "英文", "英语"]) {
        Lang::En
    } else if is(&["default"]) {
        Lang::Both
    } else {
        Lang::Other
    }
}

/// A name part of a header as pyxform compares it: lower case, spaces and dashes as `_`.
fn norm(s: &str) -> String {
    s.trim().to_lowercase().replace([' ', '-'], "_")
}

fn ignored_display(header: &str) -> Header {
    Header::Ignored(
        notice::IGNORED_COLUMN,
        format!("'{header}' only changes how the form looks in ODK or Kobo"),
    )
}

/// Reads a header of the `sheet` (`survey`, `choices` or `settings`).
pub(super) fn parse_header(sheet: &str, header: &str) -> Header {
    let text = header.trim();
    let parts: Vec<&str> = if text.contains("::") {
        text.split("::").collect()
    } else {
        text.split(':').collect()
    };
    let first = norm(parts.first().copied().unwrap_or(""));
    let rest = parts.get(1..).unwrap_or(&[]).join(":");
    // `bind::jr:constraintMsg`, `control::appearance`, `jr:count`: the attribute names the column.
    let (base, lang) = match first.as_str() {
        "bind" | "control" | "body" | "jr" if !rest.is_empty() => {
            let inner = norm(&rest);
            (inner.trim_start_matches("jr:").to_owned(), None)
        }
        _ => (first, (!rest.is_empty()).then_some(rest)),
    };
    if matches!(
        base.as_str(),
        "media" | "image" | "audio" | "video" | "big_image"
    ) {
        return ignored_display(text);
    }
    if base == "instance" {
        return Header::Ignored(
            notice::IGNORED_COLUMN,
            format!("'{text}' sets attributes of the ODK submission's XML"),
        );
    }
    let with_lang = |make: fn(Lang) -> Col| match &lang {
        None => Header::Col(make(Lang::Both)),
        Some(l) => Header::Col(make(parse_lang(l))),
    };
    let plain = |col: Col| match &lang {
        None => Header::Col(col),
        Some(_) => Header::Refused {
            what: format!("column '{text}' (it does not take a language)"),
            allows_no: false,
        },
    };
    let refused = |allows_no: bool| Header::Refused {
        what: format!("column '{text}'"),
        allows_no,
    };
    match (sheet, base.as_str()) {
        ("survey", "type" | "command") => plain(Col::Type),
        ("survey" | "choices", "name" | "value") | ("survey", "tag") => plain(Col::Name),
        ("survey" | "choices", "label" | "caption") => with_lang(Col::Label),
        ("survey", "hint") => with_lang(Col::Hint),
        ("survey", "required") => plain(Col::Required),
        ("survey", "relevant" | "relevance") => plain(Col::Relevant),
        ("survey", "constraint") => plain(Col::Constraint),
        ("survey", "constraint_message" | "constraining_message" | "constraintmsg") => {
            with_lang(Col::ConstraintMessage)
        }
        ("survey", "calculation" | "calculate") => plain(Col::Calculation),
        ("survey", "min") => plain(Col::Min),
        ("survey", "max") => plain(Col::Max),
        ("survey", "pattern") => plain(Col::Pattern),
        ("survey", "read_only" | "readonly") => refused(true),
        (
            "survey",
            "default" | "choice_filter" | "repeat_count" | "count" | "trigger" | "parameters"
            | "body" | "saveincomplete",
        ) => refused(false),
        ("survey", "required_message" | "requiredmsg" | "required_msg") => Header::Ignored(
            notice::IGNORED_COLUMN,
            format!("'{text}': the form engine gives its own message for a missing answer"),
        ),
        ("survey", "guidance_hint") => Header::Ignored(
            notice::IGNORED_COLUMN,
            format!("'{text}': guidance hints are not shown by the Jiuzhu app"),
        ),
        (
            "survey",
            "appearance"
            | "autoplay"
            | "rows"
            | "noapperrorstring"
            | "no_app_error_string"
            | "style",
        ) => ignored_display(text),
        ("survey" | "choices", "sms_field" | "sms_option") => Header::Ignored(
            notice::IGNORED_COLUMN,
            format!("'{text}' is for ODK's SMS submissions"),
        ),
        ("survey", _) if text.to_lowercase().starts_with("bind") => refused(false),
        ("survey", _) => Header::Ignored(
            notice::IGNORED_COLUMN,
            format!("'{text}' is not an XLSForm column (a note for readers?)"),
        ),
        ("choices", "list_name") => plain(Col::ListName),
        ("choices", _) => Header::Ignored(
            notice::IGNORED_COLUMN,
            format!(
                "'{text}' would be a choice property, used only by a choice_filter, which the \
                 form engine does not have"
            ),
        ),
        ("settings", "form_id" | "id_string" | "set_form_id") => plain(Col::FormId),
        ("settings", "form_title" | "title" | "set_form_title") => with_lang(Col::FormTitle),
        ("settings", "version") => plain(Col::Version),
        ("settings", "add_none_option") => refused(true),
        (_, _) => Header::Ignored(
            notice::IGNORED_SETTING,
            format!("setting '{text}' means nothing to Jiuzhu (it is for ODK, Kobo or pyxform)"),
        ),
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
        let both = self
            .get(make(Lang::Both))
            .or_else(
                || match (self.get(make(Lang::Zh)), self.get(make(Lang::En))) {
                    (None, None) => self.get(make(Lang::Other)),
                    _ => None,
                },
            )
            .unwrap_or("");
        Label::new(
            self.get(make(Lang::Zh)).unwrap_or(both),
            self.get(make(Lang::En)).unwrap_or(both),
        )
    }

    /// Where the row's text for `make` is, preferring Chinese.
    pub(super) fn text_col(&self, make: fn(Lang) -> Col) -> Option<u32> {
        [Lang::Zh, Lang::Both, Lang::En, Lang::Other]
            .iter()
            .find_map(|l| self.cells.get(&make(*l)).map(|(c, _)| *c))
    }
}

fn says_no(value: &str) -> bool {
    matches!(
        value.trim().to_lowercase().as_str(),
        "no" | "false" | "false()" | "0" | "n"
    )
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
        let meaning = self.headers(name, *header_row, header, &mut table.cols);
        // Columns with values left out, noticed once each: (notice code, why, cells).
        let mut left_out: HashMap<u32, (&'static str, String, usize)> = HashMap::new();
        for (row, cells) in data {
            let mut r = Row {
                row: *row,
                cells: HashMap::new(),
            };
            for (col, text) in cells {
                match meaning.get(col) {
                    Some(Header::Col(c)) => {
                        r.cells.insert(*c, (*col, text.as_str()));
                    }
                    Some(Header::Refused {
                        allows_no: true, ..
                    }) if says_no(text) => {}
                    Some(Header::Refused { what, .. }) => self.error(
                        cell_ref(name, *row, *col),
                        code::UNSUPPORTED,
                        format!(
                            "不支持 / {what}: the form engine cannot do this; remove it or leave \
                             it empty"
                        ),
                    ),
                    Some(Header::Ignored(code, why)) => {
                        left_out.entry(*col).or_insert((code, why.clone(), 0)).2 += 1;
                    }
                    None => {
                        left_out
                            .entry(*col)
                            .or_insert((
                                notice::IGNORED_COLUMN,
                                format!(
                                    "a column without a header (first value at {})",
                                    cell_ref(name, *row, *col)
                                ),
                                0,
                            ))
                            .2 += 1;
                    }
                }
            }
            // A row whose only values were left out is no row (pyxform's comment rows).
            if !r.cells.is_empty() {
                table.rows.push(r);
            }
        }
        let mut left_out: Vec<_> = left_out.into_iter().collect();
        left_out.sort_by_key(|(col, _)| *col);
        for (col, (code, why, cells)) in left_out {
            self.notice(
                cell_ref(name, *header_row, col),
                code,
                format!("已忽略 / left out: {why} ({cells} cell(s))"),
            );
        }
        table
    }

    /// Column number → what its header means; supported columns also into `cols`.
    fn headers(
        &mut self,
        sheet: &str,
        header_row: u32,
        header: &[(u32, String)],
        cols: &mut HashMap<Col, u32>,
    ) -> HashMap<u32, Header> {
        let mut meaning = HashMap::new();
        for (col, text) in header {
            let mut parsed = parse_header(sheet, text);
            if let Header::Col(c) = parsed {
                match cols.get(&c) {
                    Some(_)
                        if matches!(
                            c,
                            Col::Label(Lang::Other)
                                | Col::Hint(Lang::Other)
                                | Col::ConstraintMessage(Lang::Other)
                                | Col::FormTitle(Lang::Other)
                        ) =>
                    {
                        parsed = Header::Ignored(
                            notice::DROPPED_LANGUAGE,
                            format!(
                                "'{}': only Chinese and English are kept, and one other \
                                 language where a row has neither",
                                text.trim()
                            ),
                        );
                    }
                    Some(&first) => {
                        self.error(
                            cell_ref(sheet, header_row, *col),
                            code::DUPLICATE_NAME,
                            format!(
                                "列重复 / column '{}' repeats {}",
                                text.trim(),
                                cell_ref(sheet, header_row, first)
                            ),
                        );
                        parsed = Header::Refused {
                            what: format!("duplicate column '{}'", text.trim()),
                            allows_no: false,
                        };
                    }
                    None => {
                        cols.insert(c, *col);
                        if matches!(
                            c,
                            Col::Label(Lang::Other)
                                | Col::Hint(Lang::Other)
                                | Col::ConstraintMessage(Lang::Other)
                                | Col::FormTitle(Lang::Other)
                        ) {
                            self.notice(
                                cell_ref(sheet, header_row, *col),
                                notice::DROPPED_LANGUAGE,
                                format!(
                                    "语言未保留 / '{}': the form engine keeps Chinese and \
                                     English; this language is used only where a row has \
                                     neither nor a plain text",
                                    text.trim()
                                ),
                            );
                        }
                    }
                }
            }
            meaning.insert(*col, parsed);
        }
        meaning
    }
}
