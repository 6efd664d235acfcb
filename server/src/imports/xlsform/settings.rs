//! The `settings` sheet: the form key, its title and version. As in pyxform the sheet may be
//! missing, and then the file name names the form; columns for ODK, Kobo or pyxform are left
//! out with a notice.

use jiuzhu_proto::form::Label;

use super::columns::{Col, Lang, Row};
use super::workbook::{cell_ref, Sheet};
use super::{code, notice, Import};

/// Longest form key the engine takes.
const MAX_KEY_CHARS: usize = 64;

/// `Spec test` → `spec_test`, `2024 survey` → `form_2024_survey`; `None` when nothing of it
/// is a letter or digit a key may hold.
fn key_from(text: &str) -> Option<String> {
    let mut key = String::new();
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            key.push(c);
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    let key = key.trim_end_matches('_');
    if key.is_empty() {
        return None;
    }
    let key = if key.starts_with(|c: char| c.is_ascii_digit()) {
        format!("form_{key}")
    } else {
        key.to_owned()
    };
    Some(key.chars().take(MAX_KEY_CHARS).collect::<String>())
}

/// `uploads/Household Survey (2).xlsx` → `Household Survey (2)`.
fn file_stem(name: &str) -> &str {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base.rfind('.') {
        Some(dot) if dot > 0 => base.get(..dot).unwrap_or(base),
        _ => base,
    }
}

impl Import {
    pub(super) fn settings(&mut self, sheet: Option<&Sheet>) -> (String, Label, u32) {
        let table = sheet.map(|s| self.table(s));
        let row = table.as_ref().and_then(|t| t.rows.first());
        if let Some(table) = &table {
            for extra in table.rows.iter().skip(1) {
                if let Some(col) = extra.cells.values().map(|(c, _)| *c).min() {
                    self.notice(
                        cell_ref(table.sheet, extra.row, col),
                        notice::IGNORED_ROW,
                        "已忽略 / left out: settings has one row of values; this row is not read",
                    );
                }
            }
        }
        let at = |c: Col| match (&table, row) {
            (Some(t), Some(r)) => r
                .cells
                .get(&c)
                .map(|(col, _)| cell_ref(t.sheet, r.row, *col))
                .or_else(|| t.cols.get(&c).map(|col| cell_ref(t.sheet, r.row, *col)))
                .unwrap_or_else(|| "settings".to_owned()),
            _ => "settings".to_owned(),
        };
        self.settings_cells.insert("key", at(Col::FormId));
        self.settings_cells.insert("version", at(Col::Version));
        self.settings_cells
            .insert("title", at(Col::FormTitle(Lang::Both)));
        let (key, name) = self.key(row, at(Col::FormId));
        let mut title = row.map_or(Label::new("", ""), |r| r.label(Col::FormTitle));
        if title.zh.is_empty() && title.en.is_empty() {
            title = Label::new(name.clone(), name);
        }
        let version = self.version(row, at(Col::Version));
        (key, title, version)
    }

    /// The form key, and the text it was made from (the default title): `form_id`, else the
    /// file name, as pyxform does.
    fn key(&mut self, row: Option<&Row<'_>>, cell: String) -> (String, String) {
        let given = row.and_then(|r| r.get(Col::FormId));
        let file = self.file_name.as_deref().map(file_stem).map(str::to_owned);
        let (source, cell) = match (given, file) {
            (Some(id), _) => (id.to_owned(), cell),
            (None, Some(stem)) => (stem, "settings".to_owned()),
            (None, None) => {
                self.error(
                    cell,
                    code::MISSING_COLUMN,
                    "缺少 form_id / name the form: add a 'settings' sheet with form_id (the form \
                     key)",
                );
                return (String::new(), String::new());
            }
        };
        match key_from(&source) {
            Some(key) if key == source => (key, source),
            Some(key) => {
                let from = if given.is_some() {
                    format!("form_id '{source}'")
                } else {
                    format!("the file name '{source}'")
                };
                self.notice(
                    cell,
                    notice::FORM_KEY,
                    format!(
                        "表单键 / the form key is '{key}', made from {from} (a key is a–z, 0–9 \
                         and _)"
                    ),
                );
                (key, source)
            }
            None => {
                self.error(
                    cell,
                    code::INVALID_VALUE,
                    format!(
                        "表单键无效 / '{source}' gives no form key: write form_id with letters \
                         a–z, digits and _"
                    ),
                );
                (String::new(), source)
            }
        }
    }

    /// The `version` cell; the published version is numbered by Jiuzhu, so one that is not a
    /// whole number is only noticed.
    fn version(&mut self, row: Option<&Row<'_>>, cell: String) -> u32 {
        let Some(v) = row.and_then(|r| r.get(Col::Version)) else {
            return 1;
        };
        match v.parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                self.notice(
                    cell,
                    notice::IGNORED_SETTING,
                    format!(
                        "已忽略 / left out: version '{v}'; Jiuzhu numbers the published versions \
                         of a form itself (1, 2, 3…)"
                    ),
                );
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{file_stem, key_from};

    #[test]
    fn keys_are_made_as_a_key_must_be() {
        assert_eq!(key_from("home_visit").as_deref(), Some("home_visit"));
        assert_eq!(key_from("Spec test").as_deref(), Some("spec_test"));
        assert_eq!(
            key_from("2024 Survey!").as_deref(),
            Some("form_2024_survey")
        );
        assert_eq!(key_from("入户 visit").as_deref(), Some("visit"));
        assert_eq!(key_from("入户走访"), None);
        assert_eq!(file_stem("a/b/Household Survey.xlsx"), "Household Survey");
        assert_eq!(file_stem("C:\\x\\form.v2.xlsx"), "form.v2");
    }
}
