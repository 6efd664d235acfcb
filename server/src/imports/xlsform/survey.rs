//! The `survey` sheet: rows into a tree of fields, groups flattened into their enclosing level.

use std::collections::HashMap;

use chrono::NaiveDate;
use jiuzhu_proto::form::{Bound, Choice, Field, FieldKind};

use super::columns::{Col, Lang, Table};
use super::workbook::cell_ref;
use super::{code, Import, Open, Origin, Pending};

impl Import {
    /// Reads the survey rows into a tree of pending fields.
    pub(super) fn survey(
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
    pub(super) fn scopes(&mut self, roots: &[Pending]) -> HashMap<String, (Vec<String>, u32, u32)> {
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
