//! The `settings` sheet: the form key, its title and version.

use jiuzhu_proto::form::Label;

use super::columns::{Col, Lang};
use super::workbook::{cell_ref, Sheet};
use super::{code, Import};

impl Import {
    pub(super) fn settings(&mut self, sheet: Option<&Sheet>) -> (String, Label, u32) {
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
}
