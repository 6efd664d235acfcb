//! XLSForm import: turns the `survey`, `choices` and `settings` sheets of an `.xlsx` workbook
//! into a checked [`FormDefinition`], translating ODK expressions into the form engine's language.
//!
//! Workbooks are read as ODK, Kobo and pyxform write them. What the engine cannot mean is
//! refused with the cell it came from (`survey!D12`): an imported form must mean what its author
//! wrote. What means nothing here (display hints, media, server settings, languages other than
//! Chinese and English, metadata questions) is left out with an [`ImportNotice`] naming its cell,
//! so the caller sees it. The supported subset is in `fixtures/forms/README.md`.

mod choices;
mod columns;
mod expr;
mod origins;
mod settings;
mod survey;
#[cfg(test)]
mod tests;
mod workbook;

use std::collections::HashMap;

use jiuzhu_proto::error::FieldError;
pub use jiuzhu_proto::form::ImportNotice;
use jiuzhu_proto::form::{Field, FormDefinition};

use columns::Col;
use workbook::{read_workbook, Workbook};

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

/// The `code` of each [`ImportNotice`]: what was left out, and why it could be.
pub mod notice {
    /// A column that means nothing to the engine (appearance, media, notes for readers…).
    pub const IGNORED_COLUMN: &str = "ignored_column";
    /// A language other than Chinese and English.
    pub const DROPPED_LANGUAGE: &str = "dropped_language";
    /// A `settings` column for ODK, Kobo or pyxform (`public_key`, `submission_url`…).
    pub const IGNORED_SETTING: &str = "ignored_setting";
    /// A metadata question (`start`, `end`, `deviceid`…) the visit record keeps itself.
    pub const IGNORED_QUESTION: &str = "ignored_question";
    /// The form key was made from the file name or from a `form_id` that is not a key.
    pub const FORM_KEY: &str = "form_key";
    /// A row of the `settings` sheet past the first.
    pub const IGNORED_ROW: &str = "ignored_row";
    /// A choice with no label (a picture-only choice in ODK): its name is shown instead.
    pub const LABEL_FROM_NAME: &str = "label_from_name";
}

/// A form read from a workbook, not yet published, with what was left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct XlsImport {
    pub definition: FormDefinition,
    pub notices: Vec<ImportNotice>,
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
///
/// The workbook must name its form (`form_id` in `settings`); [`import_xlsform`] also takes the
/// file name, and says what was left out.
pub fn parse_xlsform(bytes: &[u8], limits: &XlsLimits) -> Result<FormDefinition, Vec<FieldError>> {
    import_xlsform(bytes, limits, None).map(|import| import.definition)
}

/// As [`parse_xlsform`], with the notices of what was left out. `file_name` is the workbook's
/// name as uploaded (`household_survey.xlsx`): as pyxform does, it gives the form key and title
/// when the workbook has no `settings` sheet or no `form_id`.
pub fn import_xlsform(
    bytes: &[u8],
    limits: &XlsLimits,
    file_name: Option<&str>,
) -> Result<XlsImport, Vec<FieldError>> {
    let book = read_workbook(bytes, limits).map_err(|e| vec![e])?;
    let mut import = Import {
        file_name: file_name.map(str::to_owned),
        ..Import::default()
    };
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
        Ok(_) => Ok(XlsImport {
            definition: def,
            notices: import.notices,
        }),
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
    notices: Vec<ImportNotice>,
    /// The workbook's file name, when the caller knows it.
    file_name: Option<String>,
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

    fn notice(&mut self, cell: String, code: &str, message: impl Into<String>) {
        if self.notices.len() < MAX_IMPORT_ERRORS {
            self.notices.push(ImportNotice {
                cell,
                code: code.to_owned(),
                message: message.into(),
            });
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
        let mut readable = true;
        for needed in [Col::Type, Col::Name] {
            if !survey.cols.contains_key(&needed) {
                let name = if needed == Col::Type { "type" } else { "name" };
                self.error(
                    "survey".into(),
                    code::MISSING_COLUMN,
                    format!("survey 缺少列 / the survey sheet has no '{name}' column"),
                );
                readable = false;
            }
        }
        if !readable {
            return None;
        }
        // Every row is read and every expression translated even after a refusal, so that
        // one answer lists every cell to fix.
        let roots = self.survey(&survey, &choices);
        let scopes = self.scopes(&roots);
        let fields = self.finish(roots, "", &scopes);
        if !self.errors.is_empty() {
            return None;
        }
        Some(FormDefinition {
            key,
            title,
            version,
            fields,
        })
    }
}
