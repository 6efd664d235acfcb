//! `CompiledForm::validate`: every problem with an answer set at once, and the calculated values.
//!
//! Fields are visited in the compiled dependency order; a field inside a repeat is visited once
//! per instance. Each visit decides relevance, then reads the answer (or computes the
//! calculation); constraints run last, when every value is known.

use std::cell::Cell;

use chrono::{FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::check::{bound_number, CompiledForm, Node, Ty};
use super::definition::{Bound, FieldKind};
use super::eval::{
    frame_at, frame_at_mut, parse_date, Ctx, EvalError, Evaluator, Frame, Slot, Value, EVAL_BUDGET,
};
use super::expr::NodeId;
use super::{
    code, field_error, too_many_errors, MAX_ANSWER_CELLS, MAX_ERRORS, MAX_INSTANCES,
    MAX_TOTAL_INSTANCES,
};
use crate::error::FieldError;

/// What validating an answer set found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidationOutcome {
    /// Every problem, in form order, each with its answer path (`household_members[1].income`).
    /// An error about the answer set as a whole has the path `""`.
    pub errors: Vec<FieldError>,
    /// The calculate fields, shaped like the answers: top-level calculations by name, and for a
    /// repeat holding calculations an array with one object per instance. A calculation that is
    /// not relevant, or failed, is `null`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub calculated: Map<String, Json>,
    /// Paths of answers given for fields that are not relevant: ignored, and to be left out when
    /// the answers are stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
}

impl ValidationOutcome {
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The answers without the ones listed in `dropped`: what should be stored.
    pub fn cleaned(&self, answers: &Json) -> Json {
        let mut out = answers.clone();
        for path in &self.dropped {
            remove_path(&mut out, path);
        }
        out
    }
}

/// Removes the answer at `a[1].b`-style `path`, if it is there.
fn remove_path(root: &mut Json, path: &str) {
    let mut node = root;
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let Some(map) = node.as_object_mut() else {
            return;
        };
        if segments.peek().is_none() && index.is_none() {
            map.remove(name);
            return;
        }
        let Some(child) = map.get_mut(name) else {
            return;
        };
        node = match index {
            Some(i) => match child.get_mut(i) {
                Some(item) => item,
                None => return,
            },
            None => child,
        };
    }
}

/// Today in China Standard Time (UTC+8, no daylight saving), whatever the machine's zone.
fn china_today() -> NaiveDate {
    match FixedOffset::east_opt(8 * 3600) {
        Some(cst) => Utc::now().with_timezone(&cst).date_naive(),
        None => Utc::now().date_naive(),
    }
}

impl CompiledForm {
    /// Validates an answer set as of today (China Standard Time).
    pub fn validate(&self, answers: &Json) -> ValidationOutcome {
        self.validate_at(answers, china_today())
    }

    /// Validates an answer set with `today()` being `today`: for tests, and for checking a
    /// visit as of the day it was made.
    pub fn validate_at(&self, answers: &Json, today: NaiveDate) -> ValidationOutcome {
        let Some(map) = answers.as_object() else {
            return ValidationOutcome {
                errors: vec![field_error(
                    "",
                    code::NOT_AN_OBJECT,
                    "答案格式错误 / answers must be a JSON object keyed by field name",
                )],
                ..ValidationOutcome::default()
            };
        };
        let mut run = Run {
            form: self,
            today,
            budget: Cell::new(EVAL_BUDGET),
            errors: Vec::new(),
            more_errors: 0,
            dropped: Vec::new(),
            instances: 0,
            cells: self.roots.len(),
            root: Frame {
                raw: None,
                broken: false,
                slots: Vec::new(),
            },
        };
        run.root = run.new_frame(Some(map), &self.roots, &[], &[], "");
        for &id in &self.order {
            run.visit(id);
        }
        run.constraints();
        run.finish()
    }
}

struct Run<'f, 'a> {
    form: &'f CompiledForm,
    today: NaiveDate,
    budget: Cell<u64>,
    errors: Vec<(Vec<usize>, FieldError)>,
    more_errors: usize,
    dropped: Vec<(Vec<usize>, String)>,
    instances: usize,
    /// Slots of all frames so far: the number of field visits validation will make.
    cells: usize,
    root: Frame<'a>,
}

/// A problem with one answer: code and message.
type Problem = (&'static str, String);

impl<'f, 'a> Run<'f, 'a> {
    fn evaluator(&self) -> Evaluator<'_, 'a> {
        Evaluator {
            form: self.form,
            root: &self.root,
            today: self.today,
            budget: &self.budget,
        }
    }

    fn node(&self, id: NodeId) -> Option<&'f Node> {
        self.form.nodes.get(id)
    }

    fn error(&mut self, key: Vec<usize>, path: impl Into<String>, code: &str, msg: String) {
        self.errors.push((key, field_error(path, code, msg)));
        // Keep memory bounded on hostile input while still ending with the errors that come
        // first in form order.
        if self.errors.len() >= 10 * MAX_ERRORS {
            self.trim_errors();
        }
    }

    fn trim_errors(&mut self) {
        self.errors.sort_by(|a, b| a.0.cmp(&b.0));
        if self.errors.len() > MAX_ERRORS {
            self.more_errors += self.errors.len() - MAX_ERRORS;
            self.errors.truncate(MAX_ERRORS);
        }
    }

    /// Sort key giving form order: (repeat slot, instance)… then the field's slot and a phase.
    fn sort_key(&self, node: &Node, chain: &[usize], phase: usize) -> Vec<usize> {
        let mut key = self.level_key(&node.ancestors, chain);
        key.push(node.slot);
        key.push(phase);
        key
    }

    fn level_key(&self, ancestors: &[NodeId], chain: &[usize]) -> Vec<usize> {
        let mut key = Vec::with_capacity(ancestors.len() * 2 + 2);
        for (&a, &i) in ancestors.iter().zip(chain) {
            key.push(self.node(a).map_or(0, |n| n.slot));
            key.push(i);
        }
        key
    }

    /// `household_members[1].income`.
    fn path(&self, node: &Node, chain: &[usize]) -> String {
        let mut path = self.level_path(&node.ancestors, chain);
        path.push_str(&node.name);
        path
    }

    /// `household_members[1].` (with the dot), or `""` at the top.
    fn level_path(&self, ancestors: &[NodeId], chain: &[usize]) -> String {
        let mut path = String::new();
        for (&a, &i) in ancestors.iter().zip(chain) {
            path.push_str(self.node(a).map_or("?", |n| n.name.as_str()));
            path.push_str(&format!("[{i}]."));
        }
        path
    }

    /// A frame for one level instance; reports keys that are not fields of the level, and
    /// answers given for notes and calculations.
    fn new_frame(
        &mut self,
        raw: Option<&'a Map<String, Json>>,
        level: &[NodeId],
        ancestors: &[NodeId],
        chain: &[usize],
        prefix: &str,
    ) -> Frame<'a> {
        if let Some(map) = raw {
            let index = match ancestors.last().and_then(|&a| self.node(a)) {
                Some(repeat) => &repeat.index,
                None => &self.form.root_index,
            };
            let mut key = self.level_key(ancestors, chain);
            key.push(usize::MAX);
            for name in map.keys() {
                match index.get(name).and_then(|&id| self.node(id)) {
                    None => self.error(
                        key.clone(),
                        format!("{prefix}{name}"),
                        code::UNKNOWN_FIELD,
                        "未知字段 / the form has no such field here".into(),
                    ),
                    Some(n) if matches!(n.kind, FieldKind::Note | FieldKind::Calculate) => self
                        .error(
                            key.clone(),
                            format!("{prefix}{name}"),
                            code::NOT_AN_INPUT,
                            format!("不接受答案 / a {} field is not answered", n.kind.as_str()),
                        ),
                    Some(_) => {}
                }
            }
        }
        Frame {
            raw,
            broken: false,
            slots: level.iter().map(|_| Slot::Pending).collect(),
        }
    }

    /// Every instance chain under which `ancestors` (repeat nodes, outermost first) exist.
    fn chains(&self, ancestors: &[NodeId]) -> Vec<Vec<usize>> {
        let mut chains: Vec<Vec<usize>> = vec![Vec::new()];
        for (depth, &a) in ancestors.iter().enumerate() {
            let Some(slot) = self.node(a).map(|n| n.slot) else {
                return Vec::new();
            };
            let mut next = Vec::new();
            for chain in &chains {
                let outer = ancestors.get(..depth).unwrap_or(&[]);
                let Some(frame) = frame_at(self.form, &self.root, outer, chain) else {
                    continue;
                };
                if let Some(Slot::Instances(v)) = frame.slots.get(slot) {
                    for i in 0..v.len() {
                        let mut c = chain.clone();
                        c.push(i);
                        next.push(c);
                    }
                }
            }
            chains = next;
        }
        chains
    }

    /// Whether an instance along the chain was not an object (its fields then stay quiet).
    fn quiet(&self, ancestors: &[NodeId], chain: &[usize]) -> bool {
        (1..=ancestors.len()).any(|depth| {
            let (Some(a), Some(c)) = (ancestors.get(..depth), chain.get(..depth)) else {
                return false;
            };
            frame_at(self.form, &self.root, a, c).is_some_and(|f| f.broken)
        })
    }

    fn visit(&mut self, id: NodeId) {
        let Some(node) = self.node(id) else { return };
        for chain in self.chains(&node.ancestors) {
            let slot = self.visit_one(node, &chain);
            if let Some(frame) = frame_at_mut(self.form, &mut self.root, &node.ancestors, &chain) {
                if let Some(s) = frame.slots.get_mut(node.slot) {
                    *s = slot;
                }
            }
        }
    }

    fn visit_one(&mut self, node: &'f Node, chain: &[usize]) -> Slot<'a> {
        let raw: Option<&'a Json> = frame_at(self.form, &self.root, &node.ancestors, chain)
            .and_then(|f| f.raw)
            .and_then(|m| m.get(&node.name))
            .filter(|v| !v.is_null());
        let quiet = self.quiet(&node.ancestors, chain);
        // The field's path and sort key are made only where they are used (an error, a dropped
        // answer, a repeat): most visits need neither, and making them was a good part of
        // validating a small answer set.
        let ctx = Ctx {
            chain,
            current: None,
        };
        let relevant = match &node.relevant {
            None => true,
            Some(e) => {
                let result = self.evaluator().truthy(e, ctx);
                result.unwrap_or_else(|e| {
                    if !quiet {
                        let (key, path) = (self.sort_key(node, chain, 0), self.path(node, chain));
                        self.eval_error(key, &path, e, "relevant");
                    }
                    false
                })
            }
        };
        if !relevant {
            let blank = match raw {
                None => true,
                Some(Json::String(s)) => s.is_empty(),
                Some(Json::Array(items)) => items.is_empty(),
                Some(_) => false,
            };
            if !blank && node.kind != FieldKind::Calculate && node.kind != FieldKind::Note {
                let (key, path) = (self.sort_key(node, chain, 0), self.path(node, chain));
                self.dropped.push((key, path));
            }
            return match node.kind {
                FieldKind::Repeat => Slot::Instances(Vec::new()),
                _ => Slot::Value(Value::Empty),
            };
        }
        match node.kind {
            FieldKind::Note => Slot::Value(Value::Empty),
            FieldKind::Calculate => {
                let Some(e) = &node.calculate else {
                    return Slot::Value(Value::Empty);
                };
                // A calculation typed decimal stays decimal when an integer branch is taken.
                let result = self.evaluator().eval(e, ctx).map(|v| match (node.ty, v) {
                    (Ty::Dec, Value::Int(i)) => Value::Dec(i as f64),
                    (_, v) => v,
                });
                Slot::Value(result.unwrap_or_else(|e| {
                    if !quiet {
                        let (key, path) = (self.sort_key(node, chain, 0), self.path(node, chain));
                        self.eval_error(key, &path, e, "calculate");
                    }
                    Value::Empty
                }))
            }
            FieldKind::Repeat => {
                let (key, path) = (self.sort_key(node, chain, 0), self.path(node, chain));
                Slot::Instances(self.instances(node, raw, chain, &path, key))
            }
            _ => {
                let (value, problems) = read_answer(node, raw);
                if !quiet && !problems.is_empty() {
                    let (key, path) = (self.sort_key(node, chain, 0), self.path(node, chain));
                    for (code, message) in problems {
                        self.error(key.clone(), path.clone(), code, message);
                    }
                }
                Slot::Value(value)
            }
        }
    }

    fn eval_error(&mut self, key: Vec<usize>, path: &str, e: EvalError, attr: &str) {
        self.error(key, path, e.code, format!("{} ({attr})", e.message));
    }

    fn instances(
        &mut self,
        node: &'f Node,
        raw: Option<&'a Json>,
        chain: &[usize],
        path: &str,
        key: Vec<usize>,
    ) -> Vec<Frame<'a>> {
        let items: &'a [Json] = match raw {
            None => &[],
            Some(Json::Array(items)) => items,
            Some(_) => {
                self.error(
                    key,
                    path,
                    code::WRONG_TYPE,
                    "类型错误 / a repeat is answered with an array of objects".into(),
                );
                return Vec::new();
            }
        };
        let n = items.len();
        if let Some(problem) = count_bounds(node, n, "instances", "条") {
            self.error(key.clone(), path, problem.0, problem.1);
        }
        let per_instance = node.children.len().max(1);
        let room = MAX_TOTAL_INSTANCES
            .saturating_sub(self.instances)
            .min(MAX_ANSWER_CELLS.saturating_sub(self.cells) / per_instance);
        let take = n.min(MAX_INSTANCES).min(room);
        if take < n {
            self.error(
                key.clone(),
                path,
                code::TOO_MANY_INSTANCES,
                format!(
                    "条目过多 / only the first {take} of {n} instances were checked (at most \
                     {MAX_INSTANCES} per repeat, {MAX_TOTAL_INSTANCES} in all, and \
                     {MAX_ANSWER_CELLS} answers in all)"
                ),
            );
        }
        self.instances += take;
        self.cells += take * per_instance;
        let mut ancestors = node.ancestors.clone();
        ancestors.push(node.id);
        let mut frames = Vec::with_capacity(take);
        for (i, item) in items.iter().take(take).enumerate() {
            let mut inner = chain.to_vec();
            inner.push(i);
            match item.as_object() {
                Some(map) => {
                    let prefix = format!("{path}[{i}].");
                    frames.push(self.new_frame(
                        Some(map),
                        &node.children,
                        &ancestors,
                        &inner,
                        &prefix,
                    ));
                }
                None => {
                    let mut k = key.clone();
                    k.push(i);
                    self.error(
                        k,
                        format!("{path}[{i}]"),
                        code::WRONG_TYPE,
                        "类型错误 / each instance of a repeat is an object".into(),
                    );
                    let mut frame = self.new_frame(None, &node.children, &ancestors, &inner, "");
                    frame.broken = true;
                    frames.push(frame);
                }
            }
        }
        frames
    }

    fn constraints(&mut self) {
        for node in &self.form.nodes {
            let Some(e) = &node.constraint else { continue };
            for chain in self.chains(&node.ancestors) {
                let value = match frame_at(self.form, &self.root, &node.ancestors, &chain)
                    .and_then(|f| f.slots.get(node.slot))
                {
                    Some(Slot::Value(v)) if !v.is_empty() => v.clone(),
                    _ => continue,
                };
                let ctx = Ctx {
                    chain: &chain,
                    current: Some(&value),
                };
                let result = self.evaluator().truthy(e, ctx);
                let path = self.path(node, &chain);
                let key = self.sort_key(node, &chain, 1);
                match result {
                    Ok(true) => {}
                    Ok(false) => {
                        let message = match &node.constraint_message {
                            Some(m) => m.both(),
                            None => format!(
                                "不符合约束 / constraint not met: {}",
                                node.constraint_src.as_deref().unwrap_or("")
                            ),
                        };
                        self.error(key, path, code::CONSTRAINT_FAILED, message);
                    }
                    Err(e) => self.eval_error(key, &path, e, "constraint"),
                }
            }
        }
    }

    fn calculated(&self, frame: &Frame<'a>, level: &[NodeId]) -> Map<String, Json> {
        let mut out = Map::new();
        for &id in level {
            let Some(node) = self.node(id) else { continue };
            if !node.has_calculated {
                continue;
            }
            let value = match (node.kind, frame.slots.get(node.slot)) {
                (FieldKind::Calculate, Some(Slot::Value(v))) => v.to_json(),
                (FieldKind::Repeat, Some(Slot::Instances(instances))) => Json::Array(
                    instances
                        .iter()
                        .map(|f| Json::Object(self.calculated(f, &node.children)))
                        .collect(),
                ),
                (FieldKind::Repeat, _) => Json::Array(Vec::new()),
                _ => Json::Null,
            };
            out.insert(node.name.clone(), value);
        }
        out
    }

    fn finish(mut self) -> ValidationOutcome {
        let calculated = self.calculated(&self.root, &self.form.roots);
        self.trim_errors();
        self.dropped.sort_by(|a, b| a.0.cmp(&b.0));
        let mut errors: Vec<FieldError> = self.errors.into_iter().map(|(_, e)| e).collect();
        if self.more_errors > 0 {
            errors.push(too_many_errors(self.more_errors));
        }
        ValidationOutcome {
            errors,
            calculated,
            dropped: self.dropped.into_iter().map(|(_, p)| p).collect(),
        }
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn expected(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "a string",
        FieldKind::Integer => "a whole number",
        FieldKind::Decimal => "a number",
        FieldKind::Boolean => "true or false",
        FieldKind::Date => "a date \"YYYY-MM-DD\"",
        FieldKind::SelectOne => "a choice value (string)",
        FieldKind::SelectMultiple => "an array of choice values",
        FieldKind::Geopoint => "{\"lat\": …, \"lon\": …, \"accuracy\": …}",
        FieldKind::Photo => "a photo id (UUID string)",
        FieldKind::Repeat => "an array of objects",
        FieldKind::Note | FieldKind::Calculate => "no answer",
    }
}

/// Reads one answer: its value (empty when missing or wrong) and every problem with it.
fn read_answer(node: &Node, raw: Option<&Json>) -> (Value, Vec<Problem>) {
    let Some(raw) = raw else {
        return (Value::Empty, required(node));
    };
    let value = match parse_answer(node, raw) {
        Ok(v) => v,
        Err(problem) => return (Value::Empty, vec![problem]),
    };
    if value.is_empty() {
        return (value, required(node));
    }
    let problems = check_answer(node, &value);
    (value, problems)
}

fn required(node: &Node) -> Vec<Problem> {
    if node.required {
        vec![(code::REQUIRED, "必填 / an answer is required".into())]
    } else {
        Vec::new()
    }
}

fn parse_answer(node: &Node, raw: &Json) -> Result<Value, Problem> {
    let wrong = || {
        (
            code::WRONG_TYPE,
            format!(
                "类型错误 / expected {}, got {}",
                expected(node.kind),
                json_kind(raw)
            ),
        )
    };
    match (node.kind, raw) {
        (_, Json::String(s)) if s.is_empty() && node.kind != FieldKind::SelectMultiple => {
            Ok(Value::Empty)
        }
        (FieldKind::Text, Json::String(s)) => Ok(Value::Text(s.clone())),
        (FieldKind::Integer, Json::Number(n)) => n.as_i64().map(Value::Int).ok_or_else(wrong),
        (FieldKind::Decimal, Json::Number(n)) => n
            .as_f64()
            .filter(|d| d.is_finite())
            .map(Value::Dec)
            .ok_or_else(wrong),
        (FieldKind::Boolean, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (FieldKind::Date, Json::String(s)) => parse_date(s).map(Value::Date).ok_or_else(|| {
            (
                code::INVALID_DATE,
                format!("日期无效 / '{}' is not a date (YYYY-MM-DD)", clip(s)),
            )
        }),
        (FieldKind::SelectOne, Json::String(s)) => {
            if node.choices.contains(s) {
                Ok(Value::Text(s.clone()))
            } else {
                Err(not_a_choice(&[s.as_str()]))
            }
        }
        (FieldKind::SelectMultiple, Json::Array(items)) => {
            let mut chosen: Vec<String> = Vec::with_capacity(items.len());
            let mut unknown = Vec::new();
            for item in items {
                let Json::String(s) = item else {
                    return Err(wrong());
                };
                if !node.choices.contains(s) {
                    unknown.push(s.as_str());
                } else if chosen.contains(s) {
                    return Err((
                        code::DUPLICATE_CHOICE,
                        format!("重复选择 / '{s}' is chosen twice"),
                    ));
                } else {
                    chosen.push(s.clone());
                }
            }
            if !unknown.is_empty() {
                return Err(not_a_choice(&unknown));
            }
            Ok(if chosen.is_empty() {
                Value::Empty
            } else {
                Value::Multi(chosen)
            })
        }
        (FieldKind::Geopoint, Json::Object(map)) => geopoint(map).map(|()| Value::Opaque),
        (FieldKind::Photo, Json::String(s)) => {
            if s.len() == 36 && uuid::Uuid::try_parse(s).is_ok() {
                Ok(Value::Opaque)
            } else {
                Err((
                    code::INVALID_PHOTO,
                    format!("照片编号无效 / '{}' is not a photo id (UUID)", clip(s)),
                ))
            }
        }
        _ => Err(wrong()),
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        let head: String = s.chars().take(40).collect();
        format!("{head}…")
    } else {
        s.to_owned()
    }
}

fn not_a_choice(values: &[&str]) -> Problem {
    let list: Vec<String> = values
        .iter()
        .take(5)
        .map(|v| format!("'{}'", clip(v)))
        .collect();
    (
        code::NOT_A_CHOICE,
        format!(
            "选项不存在 / not a choice of this field: {}",
            list.join(", ")
        ),
    )
}

fn geopoint(map: &Map<String, Json>) -> Result<(), Problem> {
    let bad = |why: &str| (code::INVALID_GEOPOINT, format!("位置无效 / {why}"));
    if let Some(other) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "lat" | "lon" | "accuracy"))
    {
        return Err(bad(&format!("unexpected key '{}'", clip(other))));
    }
    let number = |k: &str| map.get(k).and_then(Json::as_f64);
    let (Some(lat), Some(lon)) = (number("lat"), number("lon")) else {
        return Err(bad("lat and lon are required numbers"));
    };
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad("lat must be within ±90 and lon within ±180"));
    }
    match map.get("accuracy") {
        None | Some(Json::Null) => Ok(()),
        Some(a) => match a.as_f64() {
            Some(a) if a >= 0.0 => Ok(()),
            _ => Err(bad("accuracy is a number of metres ≥ 0")),
        },
    }
}

/// min/max, length and pattern checks on a well-typed, non-empty answer.
fn check_answer(node: &Node, value: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    match value {
        Value::Int(i) => {
            let v = *i as f64;
            number_bounds(
                node,
                |b| match b {
                    Bound::Integer(m) => Some(i.cmp(m)),
                    other => v.partial_cmp(&bound_number(other)),
                },
                &mut problems,
            );
        }
        Value::Dec(d) => {
            number_bounds(node, |b| d.partial_cmp(&bound_number(b)), &mut problems);
        }
        Value::Date(d) => number_bounds(
            node,
            |b| match b {
                Bound::Date(m) => Some(d.cmp(m)),
                _ => None,
            },
            &mut problems,
        ),
        Value::Text(s) if node.kind == FieldKind::Text => {
            problems.extend(count_bounds(node, s.chars().count(), "characters", "个字"));
            if let Some(re) = &node.pattern {
                if !re.is_match(s) {
                    problems.push((
                        code::PATTERN_MISMATCH,
                        "格式不符 / the text does not have the required form".into(),
                    ));
                }
            }
        }
        Value::Multi(chosen) => {
            problems.extend(count_bounds(node, chosen.len(), "choices", "项"));
        }
        _ => {}
    }
    problems
}

fn show_bound(b: &Bound) -> String {
    match b {
        Bound::Integer(i) => i.to_string(),
        Bound::Decimal(d) => d.to_string(),
        Bound::Date(d) => d.format("%Y-%m-%d").to_string(),
    }
}

fn number_bounds(
    node: &Node,
    cmp: impl Fn(&Bound) -> Option<std::cmp::Ordering>,
    problems: &mut Vec<Problem>,
) {
    use std::cmp::Ordering::{Greater, Less};
    if let Some(min) = &node.min {
        if cmp(min) == Some(Less) {
            let m = show_bound(min);
            problems.push((
                code::BELOW_MIN,
                format!("小于最小值 {m} / must be at least {m}"),
            ));
        }
    }
    if let Some(max) = &node.max {
        if cmp(max) == Some(Greater) {
            let m = show_bound(max);
            problems.push((
                code::ABOVE_MAX,
                format!("大于最大值 {m} / must be at most {m}"),
            ));
        }
    }
}

/// Bounds on a count (text length, choices chosen, repeat instances).
fn count_bounds(node: &Node, n: usize, what: &str, zh_unit: &str) -> Option<Problem> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    if let Some(Bound::Integer(min)) = node.min {
        if n < min {
            return Some((
                code::BELOW_MIN,
                format!("至少 {min} {zh_unit} / at least {min} {what}, got {n}"),
            ));
        }
    }
    if let Some(Bound::Integer(max)) = node.max {
        if n > max {
            return Some((
                code::ABOVE_MAX,
                format!("至多 {max} {zh_unit} / at most {max} {what}, got {n}"),
            ));
        }
    }
    None
}
