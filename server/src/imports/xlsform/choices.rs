//! The `choices` sheet: choice lists by name. Other columns would be choice properties for a
//! `choice_filter`, which the engine does not have: they are left out with a notice.

use jiuzhu_proto::form::{Choice, Label};

use super::columns::Col;
use super::survey::ChoiceLists;
use super::workbook::{cell_ref, Sheet};
use super::{code, notice, Import};

impl Import {
    /// Choice lists by name: their choices and where each came from.
    pub(super) fn choices(&mut self, sheet: Option<&Sheet>) -> ChoiceLists {
        let mut lists = ChoiceLists::new();
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
            let mut label = row.label(Col::Label);
            // ODK draws some choices as pictures only; the engine shows text, so the value
            // stands in for the missing label.
            if label.zh.trim().is_empty() && label.en.trim().is_empty() && !value.is_empty() {
                self.notice(
                    cell_ref(table.sheet, row.row, name_col),
                    notice::LABEL_FROM_NAME,
                    format!("选项无标签 / the choice '{value}' has no label: its name is shown"),
                );
                label = Label::new(value.clone(), value.clone());
            }
            lists.entry(list.to_owned()).or_default().push((
                Choice { value, label },
                row.row,
                name_col,
            ));
        }
        lists
    }
}
