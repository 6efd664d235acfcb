//! `FormDefinition::check`: every problem with a definition at once, or a [`CompiledForm`] with
//! parsed, resolved and typed expressions and an evaluation order.
//!
//! Error paths point into the definition document (`fields[3].fields[2].name`), which stays
//! unambiguous even when names are missing or duplicated; messages name the field
//! (`household_members.age`).

use std::collections::{HashMap, HashSet};

use regex::{Regex, RegexBuilder};

use super::date::parse_date;
use super::definition::{Bound, Field, FieldKind, FormDefinition, Label};
use super::expr::{self, CmpOp, Expr, Func, Literal, NodeId, Reference};
use super::{
    code, field_error, too_many_errors, MAX_CHOICES, MAX_ERRORS, MAX_FIELDS, MAX_INSTANCES,
    MAX_NAME_LEN, MAX_PATTERN_BYTES, MAX_REPEAT_DEPTH,
};
use crate::error::FieldError;

/// Compiled size allowed for one `pattern`: generous for ID, phone and name patterns, small
/// enough that 2,000 of them compile quickly.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// The static type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Int,
    Dec,
    Text,
    Bool,
    Date,
    Multi,
    Geo,
    Photo,
    /// The literal `''`.
    Empty,
    /// Not known because of an error reported elsewhere; accepted anywhere.
    Unknown,
    /// A repeat (`${members}`, `${members.jobs}`).
    Instances,
    /// The values of a field over repeat instances (`${members.income}`).
    ManyInt,
    ManyDec,
    ManyOther,
    /// A note: no value.
    Nothing,
}

impl Ty {
    fn describe(self) -> &'static str {
        match self {
            Ty::Int => "integer",
            Ty::Dec => "decimal",
            Ty::Text => "text",
            Ty::Bool => "boolean",
            Ty::Date => "date",
            Ty::Multi => "select_multiple answer",
            Ty::Geo => "geopoint",
            Ty::Photo => "photo",
            Ty::Empty => "''",
            Ty::Unknown => "unknown",
            Ty::Instances => "repeat (use count())",
            Ty::ManyInt | Ty::ManyDec | Ty::ManyOther => {
                "values of many instances (use sum(), min() or max())"
            }
            Ty::Nothing => "note (no value)",
        }
    }

    fn is_number(self) -> bool {
        matches!(self, Ty::Int | Ty::Dec)
    }

    fn is_scalar(self) -> bool {
        !matches!(
            self,
            Ty::Instances | Ty::ManyInt | Ty::ManyDec | Ty::ManyOther | Ty::Nothing
        )
    }
}

/// One field of the form, flattened: everything evaluation needs, with parsed expressions.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub id: NodeId,
    pub name: String,
    /// `household_members.age`.
    pub dotted: String,
    /// `fields[3].fields[2]`.
    pub def_path: String,
    pub kind: FieldKind,
    /// Enclosing repeats, outermost first.
    pub ancestors: Vec<NodeId>,
    /// Position among the fields of its level.
    pub slot: usize,
    /// For a repeat: its fields, and their ids by name.
    pub children: Vec<NodeId>,
    pub index: HashMap<String, NodeId>,
    pub required: bool,
    pub min: Option<Bound>,
    pub max: Option<Bound>,
    pub pattern: Option<Regex>,
    pub choices: HashSet<String>,
    pub relevant: Option<Expr>,
    pub constraint: Option<Expr>,
    pub calculate: Option<Expr>,
    pub constraint_message: Option<Label>,
    pub constraint_src: Option<String>,
    pub ty: Ty,
    /// A calculate field, or a repeat with one somewhere inside.
    pub has_calculated: bool,
}

/// A checked form, ready to validate answer sets. Cheap to share (`Arc`) between requests.
#[derive(Debug, Clone)]
pub struct CompiledForm {
    definition: FormDefinition,
    pub(crate) nodes: Vec<Node>,
    pub(crate) roots: Vec<NodeId>,
    pub(crate) root_index: HashMap<String, NodeId>,
    /// Every field, each after everything its `relevant` and `calculate` refer to, and after its
    /// enclosing repeat.
    pub(crate) order: Vec<NodeId>,
}

impl CompiledForm {
    /// The definition this was compiled from.
    pub fn definition(&self) -> &FormDefinition {
        &self.definition
    }

    pub fn key(&self) -> &str {
        &self.definition.key
    }

    pub fn version(&self) -> u32 {
        self.definition.version
    }

    /// The order fields are evaluated in (`household_members.age` style names): every field
    /// after the fields its `relevant` and `calculate` refer to.
    pub fn evaluation_order(&self) -> Vec<&str> {
        self.order
            .iter()
            .filter_map(|&id| self.nodes.get(id).map(|n| n.dotted.as_str()))
            .collect()
    }

    /// Dotted names of the calculate fields, in evaluation order.
    pub fn calculation_order(&self) -> Vec<&str> {
        self.order
            .iter()
            .filter_map(|&id| self.nodes.get(id))
            .filter(|n| n.kind == FieldKind::Calculate)
            .map(|n| n.dotted.as_str())
            .collect()
    }
}

impl FormDefinition {
    /// Checks the whole definition and compiles it; on failure, every problem found, each with
    /// its path in the definition (`fields[3].relevant`, `fields[1].fields[2].name`).
    pub fn check(&self) -> Result<CompiledForm, Vec<FieldError>> {
        let total = count_fields(&self.fields);
        if total > MAX_FIELDS {
            return Err(vec![field_error(
                "fields",
                code::TOO_MANY_FIELDS,
                format!("字段过多 / more than {MAX_FIELDS} fields (repeats included)"),
            )]);
        }
        let mut b = Builder::default();
        b.form_level(self);
        let (roots, root_index) = b.walk(&self.fields, &[], "", "");
        b.root_index = root_index;
        b.resolve_all();
        let order = b.order();
        b.types(&order);
        b.mark_calculated();
        if !b.errors.is_empty() {
            if b.more_errors > 0 {
                b.errors.push(too_many_errors(b.more_errors));
            }
            return Err(b.errors);
        }
        Ok(CompiledForm {
            definition: self.clone(),
            nodes: b.nodes,
            roots,
            root_index: b.root_index,
            order,
        })
    }
}

/// Counts fields without recursion, stopping as soon as the limit is passed.
fn count_fields(fields: &[Field]) -> usize {
    let mut total = 0usize;
    let mut stack = vec![fields];
    while let Some(level) = stack.pop() {
        total = total.saturating_add(level.len());
        if total > MAX_FIELDS {
            return total;
        }
        stack.extend(
            level
                .iter()
                .filter(|f| !f.fields.is_empty())
                .map(|f| &f.fields[..]),
        );
    }
    total
}

fn is_key(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= MAX_NAME_LEN
        && matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_choice_value(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    root_index: HashMap<String, NodeId>,
    errors: Vec<FieldError>,
    /// Errors past `MAX_ERRORS`, counted but not kept.
    more_errors: usize,
    patterns: HashMap<String, Result<Regex, String>>,
    /// Dotted names of the fields with each name, for the hint on an unknown reference.
    by_name: HashMap<String, Vec<String>>,
}

const RELEVANT: usize = 0;
const CONSTRAINT: usize = 1;
const CALCULATE: usize = 2;
const ATTRS: [&str; 3] = ["relevant", "constraint", "calculate"];

impl Builder {
    fn error(&mut self, path: impl Into<String>, code: &str, message: impl Into<String>) {
        self.push(field_error(path, code, message));
    }

    fn push(&mut self, error: FieldError) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(error);
        } else {
            self.more_errors += 1;
        }
    }

    fn form_level(&mut self, def: &FormDefinition) {
        if !is_key(&def.key) {
            self.error(
                "key",
                code::INVALID_KEY,
                format!(
                    "表单键无效 / key must be [a-z][a-z0-9_]*, at most {MAX_NAME_LEN} characters"
                ),
            );
        }
        if def.version == 0 {
            self.error(
                "version",
                code::INVALID_VERSION,
                "版本号无效 / version starts at 1",
            );
        }
        if def.title.is_blank() {
            self.error(
                "title",
                code::MISSING_LABEL,
                "缺少标题 / the form needs a title",
            );
        }
        if def.fields.is_empty() {
            self.error(
                "fields",
                code::NO_FIELDS,
                "表单没有字段 / the form has no fields",
            );
        }
    }

    /// Builds the nodes of one level; returns their ids and an index by name (first of each).
    fn walk(
        &mut self,
        fields: &[Field],
        ancestors: &[NodeId],
        path_prefix: &str,
        dotted_prefix: &str,
    ) -> (Vec<NodeId>, HashMap<String, NodeId>) {
        let mut ids = Vec::with_capacity(fields.len());
        let mut index: HashMap<String, NodeId> = HashMap::new();
        for (slot, field) in fields.iter().enumerate() {
            let def_path = format!("{path_prefix}fields[{slot}]");
            let dotted = if dotted_prefix.is_empty() {
                field.name.clone()
            } else {
                format!("{dotted_prefix}.{}", field.name)
            };
            if !expr::is_name(&field.name) || field.name.len() > MAX_NAME_LEN {
                self.error(
                    format!("{def_path}.name"),
                    code::INVALID_NAME,
                    format!(
                        "名称无效 / name '{}' must be [a-z_][a-z0-9_]*, at most {MAX_NAME_LEN} \
                         characters",
                        truncate(&field.name)
                    ),
                );
            } else if let Some(&first) = index.get(&field.name) {
                let first_path = self.nodes.get(first).map_or("", |n| n.def_path.as_str());
                let message = format!(
                    "名称重复 / name '{}' is already used by {first_path}",
                    field.name
                );
                self.error(format!("{def_path}.name"), code::DUPLICATE_NAME, message);
            }
            let id = self.nodes.len();
            if expr::is_name(&field.name) {
                index.entry(field.name.clone()).or_insert(id);
            }
            ids.push(id);
            let pattern = self.field_attributes(field, &def_path);
            let mut parsed: [Option<Expr>; 3] = [None, None, None];
            let sources = [
                field.relevant.clone(),
                field.constraint.clone(),
                field.calculate.clone(),
            ];
            for (k, src) in sources.iter().enumerate() {
                let Some(src) = src else { continue };
                match expr::parse(src) {
                    Ok(e) => parsed[k] = Some(e),
                    Err(e) => self.error(
                        format!("{def_path}.{}", ATTRS[k]),
                        e.code,
                        format!("表达式有误 / {e}"),
                    ),
                }
            }
            let [relevant, constraint, calculate] = parsed;
            self.nodes.push(Node {
                id,
                name: field.name.clone(),
                dotted: dotted.clone(),
                def_path: def_path.clone(),
                kind: field.kind,
                ancestors: ancestors.to_vec(),
                slot,
                children: Vec::new(),
                index: HashMap::new(),
                required: field.required,
                min: field.min,
                max: field.max,
                pattern,
                choices: field.choices.iter().map(|c| c.value.clone()).collect(),
                relevant,
                constraint,
                calculate,
                constraint_message: field.constraint_message.clone(),
                constraint_src: field.constraint.clone(),
                ty: Ty::Unknown,
                has_calculated: false,
            });
            if field.kind == FieldKind::Repeat {
                if ancestors.len() >= MAX_REPEAT_DEPTH {
                    self.error(
                        def_path.clone(),
                        code::TOO_DEEP,
                        format!(
                            "嵌套过深 / repeats nest at most {MAX_REPEAT_DEPTH} deep; '{dotted}' \
                             would be level {}",
                            ancestors.len() + 1
                        ),
                    );
                } else if field.fields.is_empty() {
                    self.error(
                        format!("{def_path}.fields"),
                        code::EMPTY_REPEAT,
                        "重复组没有字段 / a repeat needs at least one field",
                    );
                } else {
                    let mut inner = ancestors.to_vec();
                    inner.push(id);
                    let (children, child_index) =
                        self.walk(&field.fields, &inner, &format!("{def_path}."), &dotted);
                    if let Some(node) = self.nodes.get_mut(id) {
                        node.children = children;
                        node.index = child_index;
                    }
                }
            }
        }
        (ids, index)
    }

    /// Checks the attributes of one field against its kind; returns the compiled pattern.
    fn field_attributes(&mut self, f: &Field, path: &str) -> Option<Regex> {
        use FieldKind as K;
        let kind = f.kind;
        let na = |attr: &str| {
            field_error(
                format!("{path}.{attr}"),
                code::NOT_APPLICABLE,
                format!(
                    "不适用 / {attr} does not apply to a {} field",
                    kind.as_str()
                ),
            )
        };
        if f.label.is_blank() && kind != K::Calculate {
            self.error(
                format!("{path}.label"),
                code::MISSING_LABEL,
                "缺少标签 / the field needs a label (zh or en)",
            );
        }
        if f.required && !kind.takes_answer() {
            self.push(na("required"));
        }
        if f.constraint.is_some() && !kind.takes_answer() {
            self.push(na("constraint"));
        }
        match (&f.constraint_message, &f.constraint) {
            (Some(_), None) => self.push(na("constraint_message")),
            (Some(m), Some(_)) if m.is_blank() => self.error(
                format!("{path}.constraint_message"),
                code::MISSING_LABEL,
                "约束提示为空 / constraint_message is empty",
            ),
            _ => {}
        }
        match (kind, &f.calculate) {
            (K::Calculate, None) => self.error(
                format!("{path}.calculate"),
                code::MISSING_CALCULATE,
                "缺少计算式 / a calculate field needs a calculate expression",
            ),
            (K::Calculate, Some(_)) | (_, None) => {}
            (_, Some(_)) => self.push(na("calculate")),
        }
        if kind != K::Repeat && !f.fields.is_empty() {
            self.push(na("fields"));
        }
        self.bounds(f, path);
        self.choices(f, path);
        match (&f.pattern, kind) {
            (None, _) => None,
            (Some(_), k) if k != K::Text => {
                self.push(na("pattern"));
                None
            }
            (Some(p), _) => self.pattern(p, path),
        }
    }

    fn pattern(&mut self, p: &str, path: &str) -> Option<Regex> {
        let result = if let Some(cached) = self.patterns.get(p) {
            cached.clone()
        } else {
            let compiled = if p.is_empty() {
                Err("the pattern is empty".to_owned())
            } else if p.len() > MAX_PATTERN_BYTES {
                Err(format!("longer than {MAX_PATTERN_BYTES} bytes"))
            } else {
                RegexBuilder::new(&format!("^(?:{p})$"))
                    .size_limit(PATTERN_SIZE_LIMIT)
                    .nest_limit(64)
                    .build()
                    .map_err(|e| {
                        // The regex crate's message spans lines with a caret diagram.
                        e.to_string()
                            .lines()
                            .last()
                            .unwrap_or("invalid")
                            .trim()
                            .to_owned()
                    })
            };
            self.patterns.insert(p.to_owned(), compiled.clone());
            compiled
        };
        match result {
            Ok(r) => Some(r),
            Err(message) => {
                self.error(
                    format!("{path}.pattern"),
                    code::INVALID_PATTERN,
                    format!("正则表达式无效 / {message}"),
                );
                None
            }
        }
    }

    fn bounds(&mut self, f: &Field, path: &str) {
        use FieldKind as K;
        let fits = |b: &Bound| -> Result<(), &'static str> {
            match (f.kind, b) {
                (K::Integer, Bound::Integer(_)) => Ok(()),
                (K::Integer, _) => Err("an integer"),
                (K::Decimal, Bound::Integer(_)) => Ok(()),
                (K::Decimal, Bound::Decimal(d)) if d.is_finite() => Ok(()),
                (K::Decimal, _) => Err("a finite number"),
                (K::Date, Bound::Date(_)) => Ok(()),
                (K::Date, _) => Err("a date (YYYY-MM-DD)"),
                (K::Text | K::SelectMultiple, Bound::Integer(n)) if *n >= 0 => Ok(()),
                (K::Text, _) => Err("a length (an integer ≥ 0)"),
                (K::SelectMultiple, _) => Err("a number of choices (an integer ≥ 0)"),
                (K::Repeat, Bound::Integer(n)) if (0..=MAX_INSTANCES as i64).contains(n) => Ok(()),
                (K::Repeat, _) => Err("a number of instances (0 to 1,000)"),
                _ => Err(""),
            }
        };
        let takes_bounds = matches!(
            f.kind,
            K::Integer | K::Decimal | K::Date | K::Text | K::SelectMultiple | K::Repeat
        );
        let mut ok = true;
        for (attr, bound) in [("min", &f.min), ("max", &f.max)] {
            let Some(bound) = bound else { continue };
            if !takes_bounds {
                ok = false;
                self.error(
                    format!("{path}.{attr}"),
                    code::NOT_APPLICABLE,
                    format!(
                        "不适用 / {attr} does not apply to a {} field",
                        f.kind.as_str()
                    ),
                );
            } else if let Err(wanted) = fits(bound) {
                ok = false;
                self.error(
                    format!("{path}.{attr}"),
                    code::INVALID_BOUND,
                    format!(
                        "界限无效 / {attr} of a {} field must be {wanted}",
                        f.kind.as_str()
                    ),
                );
            }
        }
        if let (true, Some(min), Some(max)) = (ok, &f.min, &f.max) {
            if compare_bounds(min, max) == Some(std::cmp::Ordering::Greater) {
                self.error(
                    format!("{path}.min"),
                    code::INVALID_BOUND,
                    "界限无效 / min is greater than max",
                );
            }
        }
    }

    fn choices(&mut self, f: &Field, path: &str) {
        let is_select = matches!(f.kind, FieldKind::SelectOne | FieldKind::SelectMultiple);
        if !is_select {
            if !f.choices.is_empty() {
                self.error(
                    format!("{path}.choices"),
                    code::NOT_APPLICABLE,
                    format!(
                        "不适用 / choices do not apply to a {} field",
                        f.kind.as_str()
                    ),
                );
            }
            return;
        }
        if f.choices.is_empty() {
            self.error(
                format!("{path}.choices"),
                code::MISSING_CHOICES,
                "缺少选项 / a select field needs choices",
            );
            return;
        }
        if f.choices.len() > MAX_CHOICES {
            self.error(
                format!("{path}.choices"),
                code::TOO_MANY_CHOICES,
                format!("选项过多 / at most {MAX_CHOICES} choices"),
            );
            return;
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (j, c) in f.choices.iter().enumerate() {
            if !is_choice_value(&c.value) {
                self.error(
                    format!("{path}.choices[{j}].value"),
                    code::INVALID_CHOICE_VALUE,
                    format!(
                        "选项值无效 / choice value '{}' must be 1 to {MAX_NAME_LEN} of \
                         [A-Za-z0-9_.-]",
                        truncate(&c.value)
                    ),
                );
            } else if let Some(first) = seen.get(c.value.as_str()) {
                self.error(
                    format!("{path}.choices[{j}].value"),
                    code::DUPLICATE_CHOICE,
                    format!(
                        "选项重复 / choice value '{}' is already used by choices[{first}]",
                        c.value
                    ),
                );
            } else {
                seen.insert(&c.value, j);
            }
            if c.label.is_blank() {
                self.error(
                    format!("{path}.choices[{j}].label"),
                    code::MISSING_LABEL,
                    "缺少标签 / the choice needs a label (zh or en)",
                );
            }
        }
    }

    fn lookup(&self, scope: &[NodeId], name: &str) -> Option<NodeId> {
        for level in (0..=scope.len()).rev() {
            let index = match level.checked_sub(1) {
                None => &self.root_index,
                Some(i) => &self.nodes.get(*scope.get(i)?)?.index,
            };
            if let Some(&id) = index.get(name) {
                return Some(id);
            }
        }
        None
    }

    /// Resolves one reference from the level `scope` leads to; `Err` is the message.
    fn resolve(&self, scope: &[NodeId], r: &Reference) -> Result<Vec<NodeId>, String> {
        let Some((head, rest)) = r.path.split_first() else {
            return Err("empty reference".into());
        };
        let Some(mut id) = self.lookup(scope, head) else {
            let elsewhere: &[String] = self.by_name.get(head).map_or(&[], |v| &v[..]);
            return Err(if elsewhere.is_empty() {
                format!("未知字段 / unknown field {}", r.display())
            } else {
                format!(
                    "未知字段 / {} is not visible here: it is {}; a field inside a repeat is \
                     reached from outside only as ${{repeat.field}} in sum(), min(), max() or \
                     count()",
                    r.display(),
                    elsewhere.join(", ")
                )
            });
        };
        let mut target = vec![id];
        for step in rest {
            let node = self.nodes.get(id).ok_or("internal: missing node")?;
            if node.kind != FieldKind::Repeat {
                return Err(format!(
                    "引用无效 / in {}: '{}' is not a repeat, so '{step}' cannot follow it",
                    r.display(),
                    node.dotted
                ));
            }
            id = *node.index.get(step).ok_or_else(|| {
                format!(
                    "未知字段 / in {}: repeat '{}' has no field '{step}'",
                    r.display(),
                    node.dotted
                )
            })?;
            target.push(id);
        }
        if let Some(node) = target.last().and_then(|&id| self.nodes.get(id)) {
            if node.kind == FieldKind::Note {
                return Err(format!(
                    "引用无效 / {} is a note and has no value",
                    r.display()
                ));
            }
        }
        Ok(target)
    }

    fn resolve_all(&mut self) {
        for node in &self.nodes {
            let places = self.by_name.entry(node.name.clone()).or_default();
            if places.len() < 3 {
                places.push(node.dotted.clone());
            }
        }
        for id in 0..self.nodes.len() {
            let (def_path, scope) = match self.nodes.get(id) {
                Some(n) => (n.def_path.clone(), n.ancestors.clone()),
                None => continue,
            };
            for k in [RELEVANT, CONSTRAINT, CALCULATE] {
                let Some(mut e) = self.take_expr(id, k) else {
                    continue;
                };
                // Each distinct problem once per expression, however often it recurs.
                let mut problems = Vec::new();
                let mut seen = HashSet::new();
                e.for_each_ref_mut(&mut |r| match self.resolve(&scope, r) {
                    Ok(target) => r.target = target,
                    Err(message) => {
                        if seen.insert(message.clone()) {
                            problems.push(message);
                        }
                    }
                });
                for message in problems {
                    self.error(
                        format!("{def_path}.{}", ATTRS[k]),
                        code::UNKNOWN_FIELD,
                        message,
                    );
                }
                self.put_expr(id, k, e);
            }
        }
    }

    fn take_expr(&mut self, id: NodeId, k: usize) -> Option<Expr> {
        let node = self.nodes.get_mut(id)?;
        match k {
            RELEVANT => node.relevant.take(),
            CONSTRAINT => node.constraint.take(),
            _ => node.calculate.take(),
        }
    }

    fn put_expr(&mut self, id: NodeId, k: usize, e: Expr) {
        if let Some(node) = self.nodes.get_mut(id) {
            match k {
                RELEVANT => node.relevant = Some(e),
                CONSTRAINT => node.constraint = Some(e),
                _ => node.calculate = Some(e),
            }
        }
    }

    /// Dependency order by strongly connected components; a component of more than one field,
    /// or a field that depends on itself, is a cycle and reported.
    fn order(&mut self) -> Vec<NodeId> {
        let n = self.nodes.len();
        let mut deps: Vec<Vec<NodeId>> = Vec::with_capacity(n);
        for node in &self.nodes {
            let mut d: Vec<NodeId> = node.ancestors.last().copied().into_iter().collect();
            for e in [&node.relevant, &node.calculate].into_iter().flatten() {
                e.for_each_ref(&mut |r| d.extend(r.target.last().copied()));
            }
            d.sort_unstable();
            d.dedup();
            d.retain(|&t| t < n);
            deps.push(d);
        }
        let components = strongly_connected(&deps);
        let mut order = Vec::with_capacity(n);
        for component in components {
            let cyclic = component.len() > 1
                || component
                    .first()
                    .is_some_and(|&v| deps.get(v).is_some_and(|d| d.contains(&v)));
            if cyclic {
                let cycle = cycle_through(&deps, &component);
                let names: Vec<&str> = cycle
                    .iter()
                    .filter_map(|&v| self.nodes.get(v).map(|n| n.dotted.as_str()))
                    .collect();
                let mut message = format!(
                    "循环引用 / fields depend on each other through relevant or calculate: {}",
                    names.join(" → ")
                );
                if component.len() + 1 > cycle.len() {
                    message.push_str(&format!(
                        " ({} fields in the cycle in all)",
                        component.len()
                    ));
                }
                let path = cycle
                    .first()
                    .and_then(|&v| self.nodes.get(v))
                    .map_or(String::new(), |n| n.def_path.clone());
                self.error(path, code::CYCLE, message);
            }
            order.extend(component);
        }
        order
    }

    fn base_type(kind: FieldKind) -> Ty {
        match kind {
            FieldKind::Text | FieldKind::SelectOne => Ty::Text,
            FieldKind::Integer => Ty::Int,
            FieldKind::Decimal => Ty::Dec,
            FieldKind::Boolean => Ty::Bool,
            FieldKind::Date => Ty::Date,
            FieldKind::SelectMultiple => Ty::Multi,
            FieldKind::Geopoint => Ty::Geo,
            FieldKind::Photo => Ty::Photo,
            FieldKind::Repeat => Ty::Instances,
            FieldKind::Note => Ty::Nothing,
            FieldKind::Calculate => Ty::Unknown,
        }
    }

    /// Infers calculate types in dependency order, then checks every expression's types.
    fn types(&mut self, order: &[NodeId]) {
        for node in &mut self.nodes {
            node.ty = Self::base_type(node.kind);
        }
        // In dependency order every calculate sees the inferred types of those it refers to;
        // inside a cycle some are still unknown, which is accepted (the cycle is reported).
        for &id in order {
            let Some(node) = self.nodes.get(id) else {
                continue;
            };
            if node.kind != FieldKind::Calculate {
                continue;
            }
            let Some(e) = &node.calculate else { continue };
            let mut tc = TypeCheck::new(&self.nodes, None, !node.ancestors.is_empty());
            let ty = tc.ty(e);
            let mut problems = tc.problems;
            let ty = match ty {
                Ty::Int | Ty::Dec | Ty::Text | Ty::Bool | Ty::Date | Ty::Multi | Ty::Unknown => ty,
                other => {
                    problems.push((
                        code::TYPE_MISMATCH,
                        format!("a calculation cannot give a {}", other.describe()),
                    ));
                    Ty::Unknown
                }
            };
            let path = format!("{}.calculate", node.def_path);
            self.report(&path, problems);
            if let Some(node) = self.nodes.get_mut(id) {
                node.ty = ty;
            }
        }
        for id in 0..self.nodes.len() {
            let Some(node) = self.nodes.get(id) else {
                continue;
            };
            let in_repeat = !node.ancestors.is_empty();
            let mut reports = Vec::new();
            if let Some(e) = &node.relevant {
                let mut tc = TypeCheck::new(&self.nodes, None, in_repeat);
                tc.boolean(e, "relevant");
                reports.push((format!("{}.relevant", node.def_path), tc.problems));
            }
            if let Some(e) = &node.constraint {
                let current = match node.kind {
                    FieldKind::SelectOne | FieldKind::SelectMultiple => Current::Choice(id),
                    kind => Current::Of(Self::base_type(kind)),
                };
                let mut tc = TypeCheck::new(&self.nodes, Some(current), in_repeat);
                tc.boolean(e, "constraint");
                reports.push((format!("{}.constraint", node.def_path), tc.problems));
            }
            for (path, problems) in reports {
                self.report(&path, problems);
            }
        }
    }

    fn report(&mut self, path: &str, problems: Vec<(&'static str, String)>) {
        for (code, message) in problems {
            let prefix = if code == code::UNKNOWN_CHOICE {
                "选项不存在"
            } else {
                "类型不符"
            };
            self.error(path.to_owned(), code, format!("{prefix} / {message}"));
        }
    }

    fn mark_calculated(&mut self) {
        for id in (0..self.nodes.len()).rev() {
            let Some(node) = self.nodes.get(id) else {
                continue;
            };
            if node.kind == FieldKind::Calculate || node.has_calculated {
                if let Some(&parent) = node.ancestors.last() {
                    if let Some(p) = self.nodes.get_mut(parent) {
                        p.has_calculated = true;
                    }
                }
                if let Some(n) = self.nodes.get_mut(id) {
                    n.has_calculated = true;
                }
            }
        }
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        let head: String = s.chars().take(40).collect();
        format!("{head}…")
    } else {
        s.to_owned()
    }
}

pub(crate) fn compare_bounds(a: &Bound, b: &Bound) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Bound::Integer(x), Bound::Integer(y)) => Some(x.cmp(y)),
        (Bound::Date(x), Bound::Date(y)) => Some(x.cmp(y)),
        (Bound::Integer(_) | Bound::Decimal(_), Bound::Integer(_) | Bound::Decimal(_)) => {
            bound_number(a).partial_cmp(&bound_number(b))
        }
        _ => None,
    }
}

pub(crate) fn bound_number(b: &Bound) -> f64 {
    match b {
        Bound::Integer(i) => *i as f64,
        Bound::Decimal(d) => *d,
        Bound::Date(_) => f64::NAN,
    }
}

/// One cycle inside a strongly connected component, from its first field (in form order) back
/// to it, found breadth-first so it is a shortest one.
fn cycle_through(deps: &[Vec<NodeId>], component: &[NodeId]) -> Vec<NodeId> {
    let Some(&start) = component.iter().min() else {
        return Vec::new();
    };
    let inside: HashSet<NodeId> = component.iter().copied().collect();
    let mut parent: HashMap<NodeId, NodeId> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in deps.get(v).map_or(&[][..], |d| &d[..]) {
            if w == start {
                let mut path = vec![start];
                let mut at = v;
                while at != start {
                    path.push(at);
                    at = match parent.get(&at) {
                        Some(&p) => p,
                        None => break,
                    };
                }
                path[1..].reverse();
                path.push(start);
                return path;
            }
            if inside.contains(&w) && w != start && !parent.contains_key(&w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    vec![start, start]
}

/// Tarjan's algorithm without recursion; components come out dependencies first.
fn strongly_connected(deps: &[Vec<NodeId>]) -> Vec<Vec<NodeId>> {
    const UNSEEN: usize = usize::MAX;
    let n = deps.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<NodeId> = Vec::new();
    let mut components = Vec::new();
    let mut next = 0usize;
    let mut calls: Vec<(NodeId, usize)> = Vec::new();
    for start in 0..n {
        if index[start] != UNSEEN {
            continue;
        }
        index[start] = next;
        low[start] = next;
        next += 1;
        stack.push(start);
        on_stack[start] = true;
        calls.push((start, 0));
        while let Some(&(v, edge)) = calls.last() {
            let edges = deps.get(v).map_or(&[][..], |d| &d[..]);
            if let Some(&w) = edges.get(edge) {
                if let Some(top) = calls.last_mut() {
                    top.1 += 1;
                }
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.reverse();
                components.push(component);
            }
        }
    }
    components
}

/// What `.` is in a constraint.
#[derive(Clone, Copy)]
enum Current {
    Of(Ty),
    /// A select answer, whose literal values are checked against the field's choices.
    Choice(NodeId),
}

struct TypeCheck<'n> {
    nodes: &'n [Node],
    current: Option<Current>,
    in_repeat: bool,
    problems: Vec<(&'static str, String)>,
}

impl<'n> TypeCheck<'n> {
    fn new(nodes: &'n [Node], current: Option<Current>, in_repeat: bool) -> Self {
        Self {
            nodes,
            current,
            in_repeat,
            problems: Vec::new(),
        }
    }

    fn mismatch(&mut self, message: impl Into<String>) -> Ty {
        self.problems.push((code::TYPE_MISMATCH, message.into()));
        Ty::Unknown
    }

    fn boolean(&mut self, e: &Expr, what: &str) {
        let ty = self.ty(e);
        if !matches!(ty, Ty::Bool | Ty::Unknown) {
            self.mismatch(format!("{what} must be a boolean, not {}", ty.describe()));
        }
    }

    /// The select field an expression names directly (`${health}` or `.` of a select_one).
    fn select_field(&self, e: &Expr) -> Option<&'n Node> {
        let id = match e {
            Expr::Ref(r) if r.target.len() == 1 => r.target.first().copied()?,
            Expr::Current => match self.current {
                Some(Current::Choice(id)) => id,
                _ => return None,
            },
            _ => return None,
        };
        let node = self.nodes.get(id)?;
        matches!(node.kind, FieldKind::SelectOne | FieldKind::SelectMultiple).then_some(node)
    }

    fn check_choice(&mut self, field: &Expr, value: &Expr) {
        let (Some(node), Expr::Lit(Literal::Text(v))) = (self.select_field(field), value) else {
            return;
        };
        if !node.choices.contains(v) {
            self.problems.push((
                code::UNKNOWN_CHOICE,
                format!("'{v}' is not a choice of {}", node.dotted),
            ));
        }
    }

    fn ty(&mut self, e: &Expr) -> Ty {
        match e {
            Expr::Lit(Literal::Empty) => Ty::Empty,
            Expr::Lit(Literal::Bool(_)) => Ty::Bool,
            Expr::Lit(Literal::Int(_)) => Ty::Int,
            Expr::Lit(Literal::Dec(_)) => Ty::Dec,
            Expr::Lit(Literal::Text(_)) => Ty::Text,
            Expr::Current => match self.current {
                Some(Current::Of(ty)) => ty,
                Some(Current::Choice(id)) => match self.nodes.get(id).map(|n| n.kind) {
                    Some(FieldKind::SelectMultiple) => Ty::Multi,
                    _ => Ty::Text,
                },
                None => self.mismatch("'.' (the answer itself) only exists in a constraint"),
            },
            Expr::Ref(r) => self.reference(r),
            Expr::Neg(inner) => match self.ty(inner) {
                t @ (Ty::Int | Ty::Dec | Ty::Unknown) => t,
                t => self.mismatch(format!("cannot negate a {}", t.describe())),
            },
            Expr::Arith(first, rest) => {
                let mut acc = self.ty(first);
                for (op, operand) in rest {
                    let right = self.ty(operand);
                    acc = match (acc, right) {
                        (Ty::Unknown, _) | (_, Ty::Unknown) => Ty::Unknown,
                        (Ty::Int, Ty::Int) if *op != expr::ArithOp::Div => Ty::Int,
                        (a, b) if a.is_number() && b.is_number() => Ty::Dec,
                        (a, b) => self.mismatch(format!(
                            "'{}' needs numbers, not {} and {}",
                            op.as_str(),
                            a.describe(),
                            b.describe()
                        )),
                    };
                }
                acc
            }
            Expr::Cmp(op, a, b) => {
                let (ta, tb) = (self.ty(a), self.ty(b));
                self.comparison(*op, ta, tb);
                self.check_choice(a, b);
                self.check_choice(b, a);
                Ty::Bool
            }
            Expr::And(items) | Expr::Or(items) => {
                let word = if matches!(e, Expr::And(_)) {
                    "and"
                } else {
                    "or"
                };
                for item in items {
                    self.boolean(item, &format!("each side of '{word}'"));
                }
                Ty::Bool
            }
            Expr::Call(func, args) => self.call(*func, args),
        }
    }

    fn reference(&mut self, r: &Reference) -> Ty {
        let Some(&last) = r.target.last() else {
            return Ty::Unknown; // unresolved: reported already
        };
        let Some(node) = self.nodes.get(last) else {
            return Ty::Unknown;
        };
        if node.kind == FieldKind::Repeat {
            return Ty::Instances;
        }
        if r.target.len() == 1 {
            return node.ty;
        }
        match node.ty {
            Ty::Int => Ty::ManyInt,
            Ty::Dec => Ty::ManyDec,
            Ty::Unknown => Ty::Unknown,
            _ => Ty::ManyOther,
        }
    }

    fn comparison(&mut self, op: CmpOp, a: Ty, b: Ty) {
        if a == Ty::Unknown || b == Ty::Unknown {
            return;
        }
        let fits = if !a.is_scalar() || !b.is_scalar() {
            false
        } else if op.is_equality() {
            a == Ty::Empty
                || b == Ty::Empty
                || (a.is_number() && b.is_number())
                || (a == b && matches!(a, Ty::Text | Ty::Bool | Ty::Date | Ty::Multi))
        } else {
            (a.is_number() && b.is_number()) || (a == b && matches!(a, Ty::Text | Ty::Date))
        };
        if fits {
            return;
        }
        let hint = match (a, b) {
            (Ty::Multi, Ty::Text) | (Ty::Text, Ty::Multi) => {
                "; to test one choice of a select_multiple use selected(${field}, 'value')"
            }
            (Ty::Date, Ty::Text) | (Ty::Text, Ty::Date) => "; write a date as date('YYYY-MM-DD')",
            (Ty::Empty, _) | (_, Ty::Empty) => "; only = and != compare with ''",
            _ => "",
        };
        self.mismatch(format!(
            "cannot compare {} {} {}{hint}",
            a.describe(),
            op.as_str(),
            b.describe()
        ));
    }

    fn unify(&mut self, what: &str, a: Ty, b: Ty) -> Ty {
        match (a, b) {
            (Ty::Unknown, _) | (_, Ty::Unknown) => Ty::Unknown,
            (a, b) if !a.is_scalar() || !b.is_scalar() => self.mismatch(format!(
                "{what} takes single values, not {} and {}",
                a.describe(),
                b.describe()
            )),
            (a, b) if a == b => a,
            (Ty::Empty, t) | (t, Ty::Empty) => t,
            (a, b) if a.is_number() && b.is_number() => Ty::Dec,
            (a, b) => self.mismatch(format!(
                "{what} gives either {} or {}; both must have one type",
                a.describe(),
                b.describe()
            )),
        }
    }

    fn expect(&mut self, func: Func, ty: Ty, ok: &[Ty], wanted: &str) {
        if ty != Ty::Unknown && !ok.contains(&ty) {
            self.mismatch(format!(
                "{}() takes {wanted}, not {}",
                func.name(),
                ty.describe()
            ));
        }
    }

    fn call(&mut self, func: Func, args: &[Expr]) -> Ty {
        let types: Vec<Ty> = args.iter().map(|a| self.ty(a)).collect();
        let t = |i: usize| types.get(i).copied().unwrap_or(Ty::Unknown);
        match func {
            Func::If => {
                if !matches!(t(0), Ty::Bool | Ty::Unknown) {
                    self.mismatch(format!(
                        "the condition of if() must be a boolean, not {}",
                        t(0).describe()
                    ));
                }
                self.unify("if()", t(1), t(2))
            }
            Func::Not => {
                self.expect(func, t(0), &[Ty::Bool], "a boolean");
                Ty::Bool
            }
            Func::Coalesce => self.unify("coalesce()", t(0), t(1)),
            Func::Selected => {
                self.expect(func, t(0), &[Ty::Multi, Ty::Text], "a select field");
                self.expect(
                    func,
                    t(1),
                    &[Ty::Text],
                    "a choice value as its second argument",
                );
                if let (Some(field), Some(value)) = (args.first(), args.get(1)) {
                    self.check_choice(field, value);
                }
                Ty::Bool
            }
            Func::CountSelected => {
                self.expect(func, t(0), &[Ty::Multi, Ty::Text], "a select field");
                Ty::Int
            }
            Func::Count => {
                self.expect(func, t(0), &[Ty::Instances], "a repeat like ${members}");
                Ty::Int
            }
            Func::Sum | Func::Min | Func::Max => match t(0) {
                Ty::ManyInt => Ty::Int,
                Ty::ManyDec => Ty::Dec,
                Ty::Unknown => Ty::Unknown,
                other => self.mismatch(format!(
                    "{}() takes the numbers of a repeat like ${{members.income}}, not {}",
                    func.name(),
                    other.describe()
                )),
            },
            Func::Position => {
                if !self.in_repeat {
                    self.mismatch("position() only exists inside a repeat");
                }
                Ty::Int
            }
            Func::Today => Ty::Date,
            Func::Date => {
                self.expect(func, t(0), &[Ty::Text, Ty::Date], "text");
                if let Some(Expr::Lit(Literal::Text(s))) = args.first() {
                    if parse_date(s).is_none() {
                        self.mismatch(format!("'{s}' is not a date (YYYY-MM-DD)"));
                    }
                }
                Ty::Date
            }
            Func::Age => {
                self.expect(func, t(0), &[Ty::Date], "a date");
                Ty::Int
            }
            Func::StringLength => {
                self.expect(func, t(0), &[Ty::Text], "text");
                Ty::Int
            }
            Func::Int => {
                self.expect(func, t(0), &[Ty::Int, Ty::Dec], "a number");
                Ty::Int
            }
            Func::Round => {
                self.expect(func, t(0), &[Ty::Int, Ty::Dec], "a number");
                if !matches!(args.get(1), Some(Expr::Lit(Literal::Int(0..=15)))) {
                    self.mismatch("round() takes a literal number of places from 0 to 15");
                }
                match t(0) {
                    Ty::Int => Ty::Int,
                    Ty::Unknown => Ty::Unknown,
                    _ => Ty::Dec,
                }
            }
        }
    }
}
