//! The `survey` sheet: rows into a tree of fields, groups flattened into their enclosing level.
//! Question types are read with pyxform's aliases (`select one from`, `gps`, `string`…).

use std::collections::HashMap;

use chrono::NaiveDate;
use jiuzhu_proto::form::{Bound, Choice, Field, FieldKind};

use super::columns::{Col, Lang, Row, Table};
use super::workbook::cell_ref;
use super::{code, notice, Import, Open, Origin, Pending};

/// Choice lists by name: each choice with its row and name column on the `choices` sheet.
pub(super) type ChoiceLists = HashMap<String, Vec<(Choice, u32, u32)>>;

/// What a survey row's `type` says.
#[derive(Debug, PartialEq, Eq)]
enum RowType<'a> {
    Begin {
        repeat: bool,
    },
    End {
        repeat: bool,
    },
    Question(FieldKind, Option<&'a str>),
    /// pyxform's `phone number`: text of digits only.
    PhoneNumber,
    /// A metadata question the client fills in itself (`start`, `deviceid`…).
    Metadata,
}

/// Reads a `type` cell; `Err` says why it is refused.
fn row_type(raw: &str) -> Result<RowType<'_>, String> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    // `begin_group`, `begin group`, `begin looped group`.
    let block = lower.join(" ").replace('_', " ");
    match block.as_str() {
        "begin group" => return Ok(RowType::Begin { repeat: false }),
        "end group" => return Ok(RowType::End { repeat: false }),
        "begin repeat" | "begin looped group" | "begin lgroup" => {
            return Ok(RowType::Begin { repeat: true })
        }
        "end repeat" | "end looped group" | "end lgroup" => {
            return Ok(RowType::End { repeat: true })
        }
        _ => {}
    }
    if let [one] = lower.as_slice() {
        let kind = match one.as_str() {
            "text" | "string" => FieldKind::Text,
            "integer" | "int" => FieldKind::Integer,
            "decimal" => FieldKind::Decimal,
            "date" => FieldKind::Date,
            "geopoint" | "gps" | "location" => FieldKind::Geopoint,
            "image" | "photo" => FieldKind::Photo,
            "note" => FieldKind::Note,
            "calculate" => FieldKind::Calculate,
            "acknowledge" | "trigger" => FieldKind::Boolean,
            "start" | "end" | "today" | "deviceid" | "imei" | "subscriberid" | "simserial"
            | "phonenumber" | "username" | "email" | "audit" | "start-geopoint"
            | "uri:deviceid" | "uri:subscriberid" | "uri:simserial" | "uri:phonenumber"
            | "uri:username" | "uri:email" => return Ok(RowType::Metadata),
            _ => return Err(format!("type '{raw}'")),
        };
        return Ok(RowType::Question(kind, None));
    }
    if lower.join(" ") == "phone number" {
        return Ok(RowType::PhoneNumber);
    }
    if lower.last().is_some_and(|w| w == "or_other")
        || lower.join(" ").ends_with(" or specify other")
    {
        return Err(format!(
            "'{raw}': or_other (add an 'other' choice and a text question relevant when it is \
             chosen)"
        ));
    }
    if let Some(kind) = match lower.join(" ").as_str() {
        "add text prompt" => Some(FieldKind::Text),
        "add integer prompt" => Some(FieldKind::Integer),
        "add decimal prompt" => Some(FieldKind::Decimal),
        "add date prompt" => Some(FieldKind::Date),
        "add location prompt" => Some(FieldKind::Geopoint),
        "add image prompt" | "add photo prompt" => Some(FieldKind::Photo),
        "add note prompt" | "q note" => Some(FieldKind::Note),
        _ => None,
    } {
        return Ok(RowType::Question(kind, None));
    }
    // `select_one LIST`, `select one from LIST`, `select all that apply LIST`…
    let Some((list, prefix)) = words.split_last() else {
        return Err("an empty type".into());
    };
    let prefix = prefix.join(" ").to_lowercase();
    let kind = match prefix.as_str() {
        "select_one"
        | "select1"
        | "select one"
        | "select one from"
        | "add select one prompt using" => FieldKind::SelectOne,
        "select_multiple"
        | "select multiple"
        | "select all that apply"
        | "select all that apply from"
        | "add select multiple prompt using" => FieldKind::SelectMultiple,
        _ => return Err(format!("type '{raw}'")),
    };
    Ok(RowType::Question(kind, Some(list)))
}

impl Import {
    /// Reads the survey rows into a tree of pending fields.
    pub(super) fn survey(&mut self, table: &Table<'_>, lists: &ChoiceLists) -> Vec<Pending> {
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
            let at = cell_ref(sheet, row.row, type_col);
            match row_type(raw_type) {
                Err(what) => self.error(
                    at,
                    code::UNSUPPORTED,
                    format!("不支持的类型 / {what} is not supported by the form engine"),
                ),
                Ok(RowType::Metadata) => self.notice(
                    at,
                    notice::IGNORED_QUESTION,
                    format!(
                        "已忽略 / left out: the metadata question '{}' ({}); a visit records its \
                         own times, place and worker",
                        row.get(Col::Name).unwrap_or(""),
                        raw_type.trim()
                    ),
                ),
                Ok(RowType::End { repeat }) => {
                    self.close(&mut open, &mut roots, repeat, at, raw_type);
                }
                Ok(RowType::Begin { repeat: false }) => {
                    open.push(self.group(sheet, row, type_col));
                }
                Ok(RowType::Begin { repeat: true }) => {
                    let pending = self.question(sheet, row, type_col, FieldKind::Repeat, &open);
                    open.push(Open::Repeat(Box::new(pending)));
                }
                Ok(RowType::PhoneNumber) => {
                    let mut pending = self.question(sheet, row, type_col, FieldKind::Text, &open);
                    // pyxform's constraint regex(., '^\d*$'), as the engine's pattern.
                    pending
                        .field
                        .pattern
                        .get_or_insert_with(|| "[0-9]*".to_owned());
                    push_field(&mut open, &mut roots, pending);
                }
                Ok(RowType::Question(kind, list)) => {
                    let mut pending = self.question(sheet, row, type_col, kind, &open);
                    if let Some(list) = list {
                        self.attach_choices(&mut pending, list, lists, at);
                    }
                    push_field(&mut open, &mut roots, pending);
                }
            }
        }
        self.unclosed(table, open);
        roots
    }

    /// An `end_group` or `end_repeat` row: closes the innermost open block if it is that kind.
    fn close(
        &mut self,
        open: &mut Vec<Open>,
        roots: &mut Vec<Pending>,
        repeat: bool,
        at: String,
        raw_type: &str,
    ) {
        match open.pop() {
            Some(Open::Repeat(p)) if repeat => push_field(open, roots, *p),
            Some(Open::Group { .. }) if !repeat => {}
            other => {
                if let Some(o) = other {
                    open.push(o);
                }
                self.error(
                    at,
                    code::UNBALANCED,
                    format!("'{raw_type}' 不匹配 / '{raw_type}' closes nothing open"),
                );
            }
        }
    }

    /// A `begin_group` row: only its `relevant` is kept, joined to each field inside.
    fn group(&mut self, sheet: &str, row: &Row<'_>, type_col: u32) -> Open {
        for (c, what) in [
            (Col::Required, "required"),
            (Col::Constraint, "constraint"),
            (Col::Calculation, "calculation"),
        ] {
            if let Some(&(col, _)) = row.cells.get(&c) {
                self.error(
                    cell_ref(sheet, row.row, col),
                    code::UNSUPPORTED,
                    format!("组不支持 / '{what}' on a group is not supported"),
                );
            }
        }
        let relevant = row
            .cells
            .get(&Col::Relevant)
            .map(|&(col, v)| (col, v.trim().to_owned()));
        Open::Group {
            row: row.row,
            col: relevant.as_ref().map_or(type_col, |(c, _)| *c),
            relevant: relevant.map(|(_, v)| v),
        }
    }

    /// A question row (or a repeat's `begin_repeat` row) as a pending field.
    fn question(
        &mut self,
        sheet: &str,
        row: &Row<'_>,
        type_col: u32,
        kind: FieldKind,
        open: &[Open],
    ) -> Pending {
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
            if let Some(col) = row.text_col(make) {
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
        field.required = self.required(sheet, row);
        self.bounds(sheet, row, &mut field);
        field.pattern = row.get(Col::Pattern).map(str::to_owned);
        Pending {
            field,
            origin,
            scope: open
                .iter()
                .filter_map(|o| match o {
                    Open::Repeat(p) => Some(p.field.name.clone()),
                    Open::Group { .. } => None,
                })
                .collect(),
            exprs: expressions(row, open),
            children: Vec::new(),
        }
    }

    /// `required`: yes or no; a condition is refused (the engine's required is unconditional).
    fn required(&mut self, sheet: &str, row: &Row<'_>) -> bool {
        let Some(&(col, v)) = row.cells.get(&Col::Required) else {
            return false;
        };
        match v.trim().to_lowercase().as_str() {
            "yes" | "true" | "true()" | "1" | "y" => true,
            "no" | "false" | "false()" | "0" | "n" | "" => false,
            _ => {
                self.error(
                    cell_ref(sheet, row.row, col),
                    code::UNSUPPORTED,
                    format!(
                        "不支持条件必填 / required '{}' : only yes/no is supported (use relevant \
                         for conditions)",
                        v.trim()
                    ),
                );
                false
            }
        }
    }

    /// The Jiuzhu `min` and `max` columns.
    fn bounds(&mut self, sheet: &str, row: &Row<'_>, field: &mut Field) {
        for (c, is_min) in [(Col::Min, true), (Col::Max, false)] {
            if let Some(&(col, v)) = row.cells.get(&c) {
                match parse_bound(field.kind, v.trim()) {
                    Some(b) if is_min => field.min = Some(b),
                    Some(b) => field.max = Some(b),
                    None => self.error(
                        cell_ref(sheet, row.row, col),
                        code::INVALID_VALUE,
                        format!(
                            "界限无效 / '{}' is not a valid bound for a {} field",
                            v.trim(),
                            field.kind.as_str()
                        ),
                    ),
                }
            }
        }
    }

    fn attach_choices(
        &mut self,
        pending: &mut Pending,
        list: &str,
        lists: &ChoiceLists,
        at: String,
    ) {
        match lists.get(list) {
            Some(choices) => {
                pending.field.choices = choices.iter().map(|(c, _, _)| c.clone()).collect();
                pending.origin.choice_rows = choices.iter().map(|(_, r, c)| (*r, *c)).collect();
            }
            None => self.error(
                at,
                code::MISSING_CHOICES,
                format!("选项列表不存在 / choice list '{list}' is not in the choices sheet"),
            ),
        }
    }

    /// Every block still open at the end of the sheet is an error at its `begin` row.
    fn unclosed(&mut self, table: &Table<'_>, mut open: Vec<Open>) {
        while let Some(o) = open.pop() {
            let (row, col) = match &o {
                Open::Repeat(p) => (p.origin.row, p.origin.type_col),
                Open::Group { row, .. } => (*row, table.cols.get(&Col::Type).copied().unwrap_or(0)),
            };
            self.error(
                cell_ref(table.sheet, row, col),
                code::UNBALANCED,
                "未结束 / this begin_repeat / begin_group has no matching end",
            );
        }
    }
}

/// The row's expressions to translate, as (attribute, ODK source, column). The `relevant` of
/// each group between the field and its repeat is joined with `and` to the field's own.
fn expressions(row: &Row<'_>, open: &[Open]) -> Vec<(&'static str, String, u32)> {
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
    exprs
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
