//! Evaluating checked expressions against the answers of one submission.
//!
//! Total: every failure is an [`EvalError`], arithmetic is checked, recursion follows the parsed
//! expression (whose depth `check()` bounded), and a step budget bounds the work per answer set.

use std::cell::Cell;
use std::cmp::Ordering;

use chrono::NaiveDate;

use super::check::CompiledForm;
use super::code;
use super::date::full_years;
use super::definition::FieldKind;
use super::expr::{ArithOp, CmpOp, Expr, Func, Literal, NodeId, Reference};
// `validate` reads dates through here too.
pub(crate) use super::date::parse_date;

/// Steps one answer set may spend on expressions: far above any real form (the home-visit form
/// with 20 members uses a few thousand), far below a stall.
pub(crate) const EVAL_BUDGET: u64 = 5_000_000;

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Empty,
    Bool(bool),
    Int(i64),
    Dec(f64),
    Text(String),
    Date(NaiveDate),
    /// A select_multiple answer, in the order given.
    Multi(Vec<String>),
    /// A geopoint or photo: only its presence matters to expressions.
    Opaque,
}

impl Value {
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Value::Empty)
    }

    /// The value as returned in `ValidationOutcome::calculated`.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Empty | Value::Opaque => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Dec(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
            Value::Text(s) => J::String(s.clone()),
            Value::Date(d) => J::String(d.format("%Y-%m-%d").to_string()),
            Value::Multi(v) => J::Array(v.iter().cloned().map(J::String).collect()),
        }
    }
}

/// The answers of one level instance (the form itself, or one repeat instance) as evaluation
/// fills them in; `slots` parallel the level's fields.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub raw: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// The instance was not a JSON object: reported once, its fields stay quiet.
    pub broken: bool,
    pub slots: Vec<Slot<'a>>,
}

#[derive(Debug)]
pub(crate) enum Slot<'a> {
    Pending,
    Value(Value),
    Instances(Vec<Frame<'a>>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EvalError {
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> EvalError {
    EvalError {
        code,
        message: message.into(),
    }
}

fn division_by_zero() -> EvalError {
    err(code::DIVISION_BY_ZERO, "除数为零 / division by zero")
}

fn overflow() -> EvalError {
    err(code::OVERFLOW, "数值溢出 / number out of range")
}

fn internal(what: &str) -> EvalError {
    err(code::EVALUATION_ERROR, format!("计算出错 / {what}"))
}

fn type_error(what: &str, v: &Value) -> EvalError {
    internal(&format!("{what}, got {}", describe(v)))
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Empty => "empty",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Dec(_) => "a decimal",
        Value::Text(_) => "text",
        Value::Date(_) => "a date",
        Value::Multi(_) => "a select_multiple answer",
        Value::Opaque => "a geopoint or photo",
    }
}

fn finite(d: f64) -> Result<Value, EvalError> {
    if d.is_finite() {
        Ok(Value::Dec(d))
    } else {
        Err(err(
            code::NOT_FINITE,
            "结果不是有限数 / the result is not a finite number",
        ))
    }
}

fn number(v: &Value) -> Result<f64, EvalError> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Dec(d) => Ok(*d),
        other => Err(type_error("expected a number", other)),
    }
}

/// Where an expression is evaluated: the instance chain (one index per enclosing repeat,
/// outermost first) and, for a constraint, the value under test.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'c> {
    pub chain: &'c [usize],
    pub current: Option<&'c Value>,
}

/// The frame of the level instance that `ancestors` (repeat nodes, outermost first) and the
/// matching prefix of `chain` lead to.
pub(crate) fn frame_at<'r, 'a>(
    form: &CompiledForm,
    root: &'r Frame<'a>,
    ancestors: &[NodeId],
    chain: &[usize],
) -> Option<&'r Frame<'a>> {
    if chain.len() < ancestors.len() {
        return None;
    }
    let mut frame = root;
    for (&a, &i) in ancestors.iter().zip(chain) {
        let slot = form.nodes.get(a)?.slot;
        match frame.slots.get(slot)? {
            Slot::Instances(v) => frame = v.get(i)?,
            _ => return None,
        }
    }
    Some(frame)
}

pub(crate) fn frame_at_mut<'r, 'a>(
    form: &CompiledForm,
    root: &'r mut Frame<'a>,
    ancestors: &[NodeId],
    chain: &[usize],
) -> Option<&'r mut Frame<'a>> {
    if chain.len() < ancestors.len() {
        return None;
    }
    let mut frame = root;
    for (&a, &i) in ancestors.iter().zip(chain) {
        let slot = form.nodes.get(a)?.slot;
        match frame.slots.get_mut(slot)? {
            Slot::Instances(v) => frame = v.get_mut(i)?,
            _ => return None,
        }
    }
    Some(frame)
}

/// What a path reference (`${members}`, `${members.income}`) yields.
enum Many {
    Instances(usize),
    Values(Vec<Value>),
}

pub(crate) struct Evaluator<'f, 'a> {
    pub form: &'f CompiledForm,
    pub root: &'f Frame<'a>,
    pub today: NaiveDate,
    pub budget: &'f Cell<u64>,
}

impl Evaluator<'_, '_> {
    fn charge(&self, steps: u64) -> Result<(), EvalError> {
        let left = self.budget.get();
        if left < steps {
            self.budget.set(0);
            return Err(err(
                code::EVALUATION_TOO_COSTLY,
                "计算量过大 / evaluating this answer set takes too many steps",
            ));
        }
        self.budget.set(left - steps);
        Ok(())
    }

    /// A boolean context: empty is false.
    pub(crate) fn truthy(&self, e: &Expr, ctx: Ctx<'_>) -> Result<bool, EvalError> {
        match self.eval(e, ctx)? {
            Value::Bool(b) => Ok(b),
            Value::Empty => Ok(false),
            other => Err(type_error("expected a boolean", &other)),
        }
    }

    pub(crate) fn eval(&self, e: &Expr, ctx: Ctx<'_>) -> Result<Value, EvalError> {
        self.charge(1)?;
        match e {
            Expr::Lit(lit) => Ok(match lit {
                Literal::Empty => Value::Empty,
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Int(i) => Value::Int(*i),
                Literal::Dec(d) => Value::Dec(*d),
                Literal::Text(s) => Value::Text(s.clone()),
            }),
            Expr::Current => ctx
                .current
                .cloned()
                .ok_or_else(|| internal("'.' has no value here")),
            Expr::Ref(r) => self.scalar(r, ctx),
            Expr::Neg(inner) => match self.eval(inner, ctx)? {
                Value::Empty => Ok(Value::Empty),
                Value::Int(i) => i.checked_neg().map(Value::Int).ok_or_else(overflow),
                Value::Dec(d) => finite(-d),
                other => Err(type_error("expected a number", &other)),
            },
            Expr::Arith(first, rest) => {
                let mut acc = self.eval(first, ctx)?;
                for (op, operand) in rest {
                    let right = self.eval(operand, ctx)?;
                    acc = arith(*op, acc, right)?;
                }
                Ok(acc)
            }
            Expr::Cmp(op, a, b) => {
                let a = self.eval(a, ctx)?;
                let b = self.eval(b, ctx)?;
                compare(*op, &a, &b).map(Value::Bool)
            }
            Expr::And(items) => {
                for item in items {
                    if !self.truthy(item, ctx)? {
                        return Ok(Value::Bool(false));
                    }
                }
                Ok(Value::Bool(true))
            }
            Expr::Or(items) => {
                for item in items {
                    if self.truthy(item, ctx)? {
                        return Ok(Value::Bool(true));
                    }
                }
                Ok(Value::Bool(false))
            }
            Expr::Call(func, args) => self.call(*func, args, ctx),
        }
    }

    fn node(&self, id: NodeId) -> Result<&super::check::Node, EvalError> {
        self.form
            .nodes
            .get(id)
            .ok_or_else(|| internal("reference to a missing field"))
    }

    fn scalar(&self, r: &Reference, ctx: Ctx<'_>) -> Result<Value, EvalError> {
        let [id] = r.target[..] else {
            return Err(internal(&format!(
                "{} stands for many values here",
                r.display()
            )));
        };
        let node = self.node(id)?;
        if node.kind == FieldKind::Repeat {
            return Err(internal(&format!("{} is a repeat", r.display())));
        }
        let frame = frame_at(self.form, self.root, &node.ancestors, ctx.chain)
            .ok_or_else(|| internal(&format!("{} is out of reach", r.display())))?;
        match frame.slots.get(node.slot) {
            Some(Slot::Value(v)) => Ok(v.clone()),
            _ => Err(internal(&format!("{} is not evaluated yet", r.display()))),
        }
    }

    fn many(&self, r: &Reference, ctx: Ctx<'_>) -> Result<Many, EvalError> {
        let Some((&head, steps)) = r.target.split_first() else {
            return Err(internal(&format!("{} is not resolved", r.display())));
        };
        let node = self.node(head)?;
        if node.kind != FieldKind::Repeat {
            return Err(internal(&format!("{} is not a repeat", r.display())));
        }
        let frame = frame_at(self.form, self.root, &node.ancestors, ctx.chain)
            .ok_or_else(|| internal(&format!("{} is out of reach", r.display())))?;
        let mut frames: Vec<&Frame<'_>> = match frame.slots.get(node.slot) {
            Some(Slot::Instances(v)) => v.iter().collect(),
            _ => return Err(internal(&format!("{} is not evaluated yet", r.display()))),
        };
        for (i, &step) in steps.iter().enumerate() {
            let node = self.node(step)?;
            self.charge(frames.len() as u64)?;
            let last = i + 1 == steps.len();
            if node.kind == FieldKind::Repeat {
                let mut next = Vec::new();
                for f in frames {
                    match f.slots.get(node.slot) {
                        Some(Slot::Instances(v)) => next.extend(v.iter()),
                        _ => {
                            return Err(internal(&format!("{} is not evaluated yet", r.display())))
                        }
                    }
                }
                frames = next;
            } else if last {
                let mut values = Vec::with_capacity(frames.len());
                for f in frames {
                    match f.slots.get(node.slot) {
                        Some(Slot::Value(v)) => values.push(v.clone()),
                        _ => {
                            return Err(internal(&format!("{} is not evaluated yet", r.display())))
                        }
                    }
                }
                return Ok(Many::Values(values));
            } else {
                return Err(internal(&format!(
                    "{} steps through a non-repeat",
                    r.display()
                )));
            }
        }
        Ok(Many::Instances(frames.len()))
    }

    fn numbers(&self, arg: &Expr, ctx: Ctx<'_>) -> Result<Vec<Value>, EvalError> {
        let Expr::Ref(r) = arg else {
            return Err(internal("expected a path like ${repeat.field}"));
        };
        match self.many(r, ctx)? {
            Many::Values(values) => Ok(values.into_iter().filter(|v| !v.is_empty()).collect()),
            Many::Instances(_) => Err(internal(&format!(
                "{} is a repeat, not a number",
                r.display()
            ))),
        }
    }

    fn arg(args: &[Expr], i: usize) -> Result<&Expr, EvalError> {
        args.get(i).ok_or_else(|| internal("missing argument"))
    }

    fn call(&self, func: Func, args: &[Expr], ctx: Ctx<'_>) -> Result<Value, EvalError> {
        let arg = |i| Self::arg(args, i);
        match func {
            Func::If => {
                if self.truthy(arg(0)?, ctx)? {
                    self.eval(arg(1)?, ctx)
                } else {
                    self.eval(arg(2)?, ctx)
                }
            }
            Func::Not => Ok(Value::Bool(!self.truthy(arg(0)?, ctx)?)),
            Func::Coalesce => {
                let first = self.eval(arg(0)?, ctx)?;
                if first.is_empty() {
                    self.eval(arg(1)?, ctx)
                } else {
                    Ok(first)
                }
            }
            Func::Selected => {
                let field = self.eval(arg(0)?, ctx)?;
                let choice = match self.eval(arg(1)?, ctx)? {
                    Value::Text(t) => t,
                    Value::Empty => return Ok(Value::Bool(false)),
                    other => return Err(type_error("selected() takes a choice value", &other)),
                };
                Ok(Value::Bool(match field {
                    Value::Multi(list) => list.contains(&choice),
                    Value::Text(one) => one == choice,
                    Value::Empty => false,
                    other => return Err(type_error("selected() takes a select field", &other)),
                }))
            }
            Func::CountSelected => match self.eval(arg(0)?, ctx)? {
                Value::Multi(list) => Ok(Value::Int(list.len() as i64)),
                Value::Text(_) => Ok(Value::Int(1)),
                Value::Empty => Ok(Value::Int(0)),
                other => Err(type_error("count_selected() takes a select field", &other)),
            },
            Func::Count => {
                let Expr::Ref(r) = arg(0)? else {
                    return Err(internal("count() takes a repeat"));
                };
                match self.many(r, ctx)? {
                    Many::Instances(n) => Ok(Value::Int(n as i64)),
                    Many::Values(_) => Err(internal("count() takes a repeat")),
                }
            }
            Func::Sum => {
                let values = self.numbers(arg(0)?, ctx)?;
                if values.iter().all(|v| matches!(v, Value::Int(_))) {
                    let mut total: i64 = 0;
                    for v in &values {
                        if let Value::Int(i) = v {
                            total = total.checked_add(*i).ok_or_else(overflow)?;
                        }
                    }
                    Ok(Value::Int(total))
                } else {
                    let mut total = 0.0;
                    for v in &values {
                        total += number(v)?;
                    }
                    finite(total)
                }
            }
            Func::Min | Func::Max => {
                let values = self.numbers(arg(0)?, ctx)?;
                let mut best: Option<Value> = None;
                for v in values {
                    let better = match &best {
                        None => true,
                        Some(b) => {
                            let op = if func == Func::Min {
                                CmpOp::Lt
                            } else {
                                CmpOp::Gt
                            };
                            compare(op, &v, b)?
                        }
                    };
                    if better {
                        best = Some(v);
                    }
                }
                Ok(best.unwrap_or(Value::Empty))
            }
            Func::Position => ctx
                .chain
                .last()
                .map(|i| Value::Int(*i as i64 + 1))
                .ok_or_else(|| internal("position() outside a repeat")),
            Func::Today => Ok(Value::Date(self.today)),
            Func::Date => match self.eval(arg(0)?, ctx)? {
                Value::Text(t) => parse_date(&t).map(Value::Date).ok_or_else(|| {
                    err(
                        code::INVALID_DATE,
                        format!("日期无效 / '{t}' is not a date (YYYY-MM-DD)"),
                    )
                }),
                Value::Date(d) => Ok(Value::Date(d)),
                Value::Empty => Ok(Value::Empty),
                other => Err(type_error("date() takes text", &other)),
            },
            Func::Age => match self.eval(arg(0)?, ctx)? {
                Value::Date(d) => Ok(Value::Int(full_years(d, self.today))),
                Value::Empty => Ok(Value::Empty),
                other => Err(type_error("age() takes a date", &other)),
            },
            Func::StringLength => match self.eval(arg(0)?, ctx)? {
                Value::Text(t) => Ok(Value::Int(t.chars().count() as i64)),
                Value::Empty => Ok(Value::Int(0)),
                other => Err(type_error("string_length() takes text", &other)),
            },
            Func::Int => match self.eval(arg(0)?, ctx)? {
                Value::Int(i) => Ok(Value::Int(i)),
                Value::Dec(d) => {
                    let t = d.trunc();
                    // i64::MAX as f64 rounds up to 2^63, which is out of range.
                    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&t) {
                        Ok(Value::Int(t as i64))
                    } else {
                        Err(overflow())
                    }
                }
                Value::Empty => Ok(Value::Empty),
                other => Err(type_error("int() takes a number", &other)),
            },
            Func::Round => {
                let places = match self.eval(arg(1)?, ctx)? {
                    Value::Int(n) if (0..=15).contains(&n) => n as i32,
                    other => return Err(type_error("round() takes 0 to 15 places", &other)),
                };
                match self.eval(arg(0)?, ctx)? {
                    Value::Int(i) => Ok(Value::Int(i)),
                    Value::Dec(d) => {
                        let factor = 10f64.powi(places);
                        let scaled = d * factor;
                        if !scaled.is_finite() {
                            return Err(overflow());
                        }
                        // Past 2^52 an f64 has no fractional part left to round.
                        if scaled.abs() >= 4_503_599_627_370_496.0 {
                            return Ok(Value::Dec(d));
                        }
                        finite(scaled.round() / factor)
                    }
                    Value::Empty => Ok(Value::Empty),
                    other => Err(type_error("round() takes a number", &other)),
                }
            }
        }
    }
}

fn arith(op: ArithOp, a: Value, b: Value) -> Result<Value, EvalError> {
    match (a, b) {
        (Value::Empty, _) | (_, Value::Empty) => Ok(Value::Empty),
        (Value::Int(x), Value::Int(y)) => match op {
            ArithOp::Add => x.checked_add(y).map(Value::Int).ok_or_else(overflow),
            ArithOp::Sub => x.checked_sub(y).map(Value::Int).ok_or_else(overflow),
            ArithOp::Mul => x.checked_mul(y).map(Value::Int).ok_or_else(overflow),
            ArithOp::Div if y == 0 => Err(division_by_zero()),
            ArithOp::Div => finite(x as f64 / y as f64),
            ArithOp::Mod if y == 0 => Err(division_by_zero()),
            ArithOp::Mod => x.checked_rem(y).map(Value::Int).ok_or_else(overflow),
        },
        (a, b) => {
            let (x, y) = (number(&a)?, number(&b)?);
            match op {
                ArithOp::Add => finite(x + y),
                ArithOp::Sub => finite(x - y),
                ArithOp::Mul => finite(x * y),
                ArithOp::Div | ArithOp::Mod if y == 0.0 => Err(division_by_zero()),
                ArithOp::Div => finite(x / y),
                ArithOp::Mod => finite(x % y),
            }
        }
    }
}

fn equal(a: &Value, b: &Value) -> Result<bool, EvalError> {
    Ok(match (a, b) {
        (Value::Empty, Value::Empty) => true,
        (Value::Empty, _) | (_, Value::Empty) => false,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::Date(x), Value::Date(y)) => x == y,
        (Value::Multi(x), Value::Multi(y)) => {
            let (mut x, mut y) = (x.clone(), y.clone());
            x.sort_unstable();
            y.sort_unstable();
            x == y
        }
        (x @ (Value::Int(_) | Value::Dec(_)), y @ (Value::Int(_) | Value::Dec(_))) => {
            number(x)? == number(y)?
        }
        (x, y) => {
            return Err(internal(&format!(
                "cannot compare {} with {}",
                describe(x),
                describe(y)
            )))
        }
    })
}

pub(crate) fn compare(op: CmpOp, a: &Value, b: &Value) -> Result<bool, EvalError> {
    if op.is_equality() {
        let eq = equal(a, b)?;
        return Ok(if op == CmpOp::Eq { eq } else { !eq });
    }
    if a.is_empty() || b.is_empty() {
        return Ok(false);
    }
    let ord = match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (x, y) => match number(x)?.partial_cmp(&number(y)?) {
            Some(o) => o,
            None => return Ok(false),
        },
    };
    Ok(match op {
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Eq | CmpOp::Ne => false,
    })
}
