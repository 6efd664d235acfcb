//! The expression language of `relevant`, `constraint` and `calculate`: its grammar and parser.
//!
//! It is a small, typed cousin of the XPath subset XLSForm uses, so imported forms need little
//! translation. Expressions are checked when the form is checked (syntax, references, types) and
//! evaluated when answers are validated; the evaluator never panics and never loops.
//!
//! # Grammar
//!
//! ```text
//! expr       := or
//! or         := and ( "or" and )*
//! and        := comparison ( "and" comparison )*
//! comparison := sum ( ( "=" | "!=" | "<" | "<=" | ">" | ">=" ) sum )?     -- does not chain
//! sum        := product ( ( "+" | "-" ) product )*
//! product    := unary ( ( "*" | "div" | "mod" ) unary )*
//! unary      := "-" unary | primary
//! primary    := number | string | "true" | "false" | reference | "."
//!             | function "(" ( expr ( "," expr )* )? ")" | "(" expr ")"
//! number     := digits ( "." digits )?                 -- 12 is an integer, 12.5 a decimal
//! string     := "'" any but "'" "'" | '"' any but '"' '"'   -- no escapes
//! reference  := "${" name ( "." name )* "}"            -- name := [a-z_][a-z0-9_]*
//! ```
//!
//! Whitespace (spaces, tabs, new lines) separates tokens and is otherwise ignored. Keywords and
//! function names are lower case. An expression is at most 4,096 bytes and nests at most 64
//! levels deep: the expression itself is the first level, and each parenthesis, function
//! argument and unary minus opens another. Deeper is refused by `check()`; it is never a stack
//! overflow. A long flat chain (`a + b + c + …`) is one level however long it is.
//!
//! Division is `div` and remainder `mod`, as in XLSForm; `/`, `%`, `==`, `&&`, `||` and `!` are
//! refused with a hint. `a < b < c` is refused: write `a < b and b < c`.
//!
//! # References
//!
//! Fields are referred to as `${name}`, as in XLSForm; bare names are not references (a bare
//! word must be a keyword or a function). A name is looked up lexically: first among the fields
//! of the level the expression belongs to (a field's expressions belong to the level the field
//! is in), then in each enclosing level out to the top of the form. So inside the
//! `household_members` repeat, `${age}` is the age of *this* member, and `${visit_date}` the
//! form-level field.
//!
//! A dotted path `${members.income}` starts at a repeat found as above and steps into its
//! fields, through nested repeats if need be (`${members.jobs.wage}`); it stands for the values
//! of every instance, so it is only allowed as the argument of `sum`, `min`, `max` (last step a
//! number) or `count` (last step a repeat). `${members}` alone is the repeat: only `count()`
//! takes it. A field inside a repeat cannot be referred to from outside it in any other way.
//!
//! `.` is the value being checked, and only exists in `constraint`.
//!
//! # Types
//!
//! integer (64-bit, overflow is an error), decimal (f64; a result that is NaN or infinite is an
//! error), text, boolean, date, a select_multiple answer (a set of choice values), geopoint and
//! photo (these two can only be tested for being answered: `${gps} != ''`). A select_one answer
//! is text. A calculate field has the type of its expression. `check()` refuses expressions
//! whose types do not fit, e.g. `${name} + 1`, `${health} = 'healthy' + 1`, a `relevant` or
//! `constraint` that is not boolean, or a comparison of a select_one field with a string that is
//! not one of its choices.
//!
//! - `+ - *`: integer if both sides are integers, else decimal. `div` always gives a decimal.
//!   `mod`: integer for integers; the sign follows the left side (as in XPath).
//! - `= !=`: numbers with numbers (integer and decimal mix), text with text, dates, booleans,
//!   select_multiple answers (as sets); anything with `''`.
//! - `< <= > >=`: numbers, dates, or text (by Unicode code point).
//! - `and or not()`: booleans; `and` and `or` stop at the first side that decides.
//! - `if` and `coalesce` need both sides of one type, except that integer and decimal mix
//!   (giving a decimal) and `''` fits anything.
//!
//! A calculation typed decimal always gives a decimal (`if(${b}, 1, 0.5)` gives `1.0`), so the
//! JSON shape of a calculated value does not depend on the answers.
//!
//! # Empty answers
//!
//! An unanswered field, a field that is not relevant, a `""` text, an empty select_multiple and
//! a calculation that failed or gave nothing are all *empty*. The literal `''` (or `""`) is
//! empty too, and is how emptiness is tested: `${phone} = ''`, `${photo} != ''`.
//!
//! - Arithmetic with an empty side is empty (so a calculate over an unanswered field is empty,
//!   not 0; use `coalesce(${x}, 0)` where 0 is meant).
//! - `=` is true when both sides are empty, false when one is; `!=` the opposite. `< <= > >=`
//!   with an empty side are false.
//! - Where a boolean is needed (`and`, `or`, `not`, `if`, `relevant`, `constraint`) empty is
//!   false.
//! - `sum`, `min` and `max` skip empty values; `sum` of nothing is 0, `min`/`max` of nothing
//!   are empty. `count_selected('')` is 0, `string_length('')` is 0, `selected('', …)` false.
//! - A constraint is only evaluated on a relevant, non-empty answer.
//!
//! # Functions
//!
//! | call | result |
//! |---|---|
//! | `if(cond, a, b)` | `a` when `cond` is true, else `b`; only the chosen side is evaluated |
//! | `not(b)` | boolean negation |
//! | `coalesce(a, b)` | `a` unless it is empty, else `b` |
//! | `selected(${f}, 'v')` | whether choice `v` is chosen in a select_multiple or select_one field |
//! | `count_selected(${f})` | how many choices are chosen |
//! | `count(${repeat})` | number of instances (a path like `${members.jobs}` counts all nested instances) |
//! | `sum(${repeat.field})` | sum over the instances; integer for integer fields, else decimal |
//! | `min(${repeat.field})`, `max(…)` | smallest / largest value over the instances |
//! | `position()` | 1-based index of the current instance of the innermost enclosing repeat |
//! | `today()` | the date of validation (China Standard Time unless the caller gives one) |
//! | `date('YYYY-MM-DD')` | a date |
//! | `age(d)` | whole years from date `d` to today (negative if `d` is in the future) |
//! | `string_length(t)` | length of a text in characters |
//! | `int(x)` | a number truncated toward zero |
//! | `round(x, n)` | a decimal rounded to `n` (a literal 0–15) places, half away from zero |
//!
//! XLSForm spellings are translated on import: `count-selected` → `count_selected`,
//! `string-length` → `string_length`, `true()` → `true`, `/` paths → `${…}` references.
//!
//! # Errors while evaluating
//!
//! Division or `mod` by zero, integer overflow, a decimal result that is not finite, an
//! out-of-range `int()`, an invalid `date()` text: each is an error reported on the field whose
//! expression failed (codes `division_by_zero`, `overflow`, `not_finite`, `invalid_date`); the
//! field's value is then empty, and a `relevant` that fails counts as false. Evaluation of one
//! answer set is also bounded in steps (`evaluation_too_costly`), far above what real forms
//! use.

use std::fmt;

/// At most this many bytes of source text.
pub const MAX_EXPR_BYTES: usize = 4096;
/// At most this many nested levels of parentheses, calls and unary minus.
pub const MAX_EXPR_DEPTH: usize = 64;

/// Index of a field in `CompiledForm::nodes`.
pub(crate) type NodeId = usize;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Empty,
    Bool(bool),
    Int(i64),
    Dec(f64),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl ArithOp {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "div",
            Self::Mod => "mod",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    pub(crate) fn is_equality(self) -> bool {
        matches!(self, Self::Eq | Self::Ne)
    }
}

macro_rules! functions {
    ($($variant:ident => $name:literal, $min:literal ..= $max:literal;)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Func { $($variant),+ }

        impl Func {
            pub(crate) fn name(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }

            fn from_name(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)+ _ => None }
            }

            fn arity(self) -> (usize, usize) {
                match self { $(Self::$variant => ($min, $max)),+ }
            }
        }
    };
}

functions! {
    If => "if", 3..=3;
    Not => "not", 1..=1;
    Coalesce => "coalesce", 2..=2;
    Selected => "selected", 2..=2;
    CountSelected => "count_selected", 1..=1;
    Count => "count", 1..=1;
    Sum => "sum", 1..=1;
    Min => "min", 1..=1;
    Max => "max", 1..=1;
    Position => "position", 0..=0;
    Today => "today", 0..=0;
    Date => "date", 1..=1;
    Age => "age", 1..=1;
    StringLength => "string_length", 1..=1;
    Int => "int", 1..=1;
    Round => "round", 2..=2;
}

/// A `${…}` reference; `target` is filled in by `check()`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reference {
    pub path: Vec<String>,
    pub column: usize,
    /// The field found for each step of `path`; empty until resolved.
    pub target: Vec<NodeId>,
}

impl Reference {
    pub(crate) fn display(&self) -> String {
        format!("${{{}}}", self.path.join("."))
    }
}

/// A parsed expression. Chains of one precedence level are flat lists, so an expression's depth
/// is its nesting, not its length.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Lit(Literal),
    Current,
    Ref(Reference),
    Neg(Box<Expr>),
    Arith(Box<Expr>, Vec<(ArithOp, Expr)>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Call(Func, Vec<Expr>),
}

impl Expr {
    pub(crate) fn for_each_ref(&self, f: &mut dyn FnMut(&Reference)) {
        match self {
            Expr::Lit(_) | Expr::Current => {}
            Expr::Ref(r) => f(r),
            Expr::Neg(e) => e.for_each_ref(f),
            Expr::Arith(first, rest) => {
                first.for_each_ref(f);
                for (_, e) in rest {
                    e.for_each_ref(f);
                }
            }
            Expr::Cmp(_, a, b) => {
                a.for_each_ref(f);
                b.for_each_ref(f);
            }
            Expr::And(es) | Expr::Or(es) | Expr::Call(_, es) => {
                for e in es {
                    e.for_each_ref(f);
                }
            }
        }
    }

    pub(crate) fn for_each_ref_mut(&mut self, f: &mut dyn FnMut(&mut Reference)) {
        match self {
            Expr::Lit(_) | Expr::Current => {}
            Expr::Ref(r) => f(r),
            Expr::Neg(e) => e.for_each_ref_mut(f),
            Expr::Arith(first, rest) => {
                first.for_each_ref_mut(f);
                for (_, e) in rest {
                    e.for_each_ref_mut(f);
                }
            }
            Expr::Cmp(_, a, b) => {
                a.for_each_ref_mut(f);
                b.for_each_ref_mut(f);
            }
            Expr::And(es) | Expr::Or(es) | Expr::Call(_, es) => {
                for e in es {
                    e.for_each_ref_mut(f);
                }
            }
        }
    }
}

/// Why an expression does not parse. `column` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
    /// `expression_too_long`, `expression_too_deep` or `syntax_error`.
    pub code: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses an expression; total on any input.
pub(crate) fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.len() > MAX_EXPR_BYTES {
        return Err(ParseError {
            column: 1,
            message: format!(
                "表达式过长 / expression is {} bytes; at most {MAX_EXPR_BYTES}",
                src.len()
            ),
            code: super::code::EXPRESSION_TOO_LONG,
        });
    }
    let tokens = lex(src)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = parser.expr()?;
    match parser.peek() {
        Tok::End => Ok(expr),
        _ => Err(parser.unexpected("an operator or the end")),
    }
}

/// Checks that `src` is a well-formed expression, without resolving references. For importers
/// that want to report a syntax error against their own coordinates.
pub fn check_syntax(src: &str) -> Result<(), ParseError> {
    parse(src).map(|_| ())
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    Dec(f64),
    Str(String),
    Ref(Vec<String>),
    Dot,
    Word(String),
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Cmp(CmpOp),
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Int(i) => format!("number {i}"),
            Tok::Dec(d) => format!("number {d}"),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Ref(p) => format!("${{{}}}", p.join(".")),
            Tok::Dot => "'.'".into(),
            Tok::Word(w) => format!("'{w}'"),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Plus => "'+'".into(),
            Tok::Minus => "'-'".into(),
            Tok::Star => "'*'".into(),
            Tok::Cmp(op) => format!("'{}'", op.as_str()),
            Tok::End => "the end of the expression".into(),
        }
    }
}

struct Token {
    tok: Tok,
    column: usize,
}

fn syntax(column: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column,
        message: message.into(),
        code: super::code::SYNTAX_ERROR,
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_lowercase() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

/// Whether `s` is a field name: `[a-z_][a-z0-9_]*`.
pub(crate) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if is_name_start(c)) && chars.all(is_name_char)
}

fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let next = chars.get(i + 1).copied();
        let mut push = |tok: Tok, len: usize, i: &mut usize| {
            tokens.push(Token { tok, column });
            *i += len;
        };
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => push(Tok::LParen, 1, &mut i),
            ')' => push(Tok::RParen, 1, &mut i),
            ',' => push(Tok::Comma, 1, &mut i),
            '+' => push(Tok::Plus, 1, &mut i),
            '-' => push(Tok::Minus, 1, &mut i),
            '*' => push(Tok::Star, 1, &mut i),
            '=' if next == Some('=') => {
                return Err(syntax(column, "'==' is not an operator; equality is '='"))
            }
            '=' => push(Tok::Cmp(CmpOp::Eq), 1, &mut i),
            '!' if next == Some('=') => push(Tok::Cmp(CmpOp::Ne), 2, &mut i),
            '!' => return Err(syntax(column, "'!' is not an operator; use not(…) or '!='")),
            '<' if next == Some('=') => push(Tok::Cmp(CmpOp::Le), 2, &mut i),
            '<' => push(Tok::Cmp(CmpOp::Lt), 1, &mut i),
            '>' if next == Some('=') => push(Tok::Cmp(CmpOp::Ge), 2, &mut i),
            '>' => push(Tok::Cmp(CmpOp::Gt), 1, &mut i),
            '/' => return Err(syntax(column, "'/' is not an operator; division is 'div'")),
            '%' => return Err(syntax(column, "'%' is not an operator; remainder is 'mod'")),
            '&' | '|' => return Err(syntax(column, "use 'and' / 'or'")),
            '.' if next.is_some_and(|n| n.is_ascii_digit()) => {
                return Err(syntax(column, "a number starts with a digit: write 0.5"))
            }
            '.' => push(Tok::Dot, 1, &mut i),
            '\'' | '"' => {
                let close = chars[i + 1..].iter().position(|&d| d == c);
                let Some(len) = close else {
                    return Err(syntax(column, "string is not closed"));
                };
                let text: String = chars[i + 1..i + 1 + len].iter().collect();
                push(Tok::Str(text), len + 2, &mut i);
            }
            '$' => {
                if next != Some('{') {
                    return Err(syntax(column, "a reference is written ${name}"));
                }
                let close = chars[i + 2..].iter().position(|&d| d == '}');
                let Some(len) = close else {
                    return Err(syntax(column, "reference is not closed with '}'"));
                };
                let inner: String = chars[i + 2..i + 2 + len].iter().collect();
                let path: Vec<String> = inner.split('.').map(str::to_owned).collect();
                if let Some(bad) = path.iter().find(|p| !is_name(p)) {
                    return Err(syntax(
                        column,
                        format!(
                            "'{bad}' in ${{{inner}}} is not a field name ([a-z_][a-z0-9_]*, \
                             steps separated by '.')"
                        ),
                    ));
                }
                push(Tok::Ref(path), len + 3, &mut i);
            }
            c if c.is_ascii_digit() => {
                let start = i;
                let mut end = i;
                while end < chars.len() && chars[end].is_ascii_digit() {
                    end += 1;
                }
                let mut decimal = false;
                if chars.get(end) == Some(&'.') {
                    if !chars.get(end + 1).is_some_and(|d| d.is_ascii_digit()) {
                        return Err(syntax(end + 1, "a digit must follow the decimal point"));
                    }
                    decimal = true;
                    end += 1;
                    while end < chars.len() && chars[end].is_ascii_digit() {
                        end += 1;
                    }
                }
                if chars
                    .get(end)
                    .is_some_and(|d| d.is_alphanumeric() || *d == '_')
                {
                    return Err(syntax(end + 1, "a number must not run into a name"));
                }
                let text: String = chars[start..end].iter().collect();
                let tok = if decimal {
                    match text.parse::<f64>() {
                        Ok(d) if d.is_finite() => Tok::Dec(d),
                        _ => return Err(syntax(column, format!("number {text} is too large"))),
                    }
                } else {
                    match text.parse::<i64>() {
                        Ok(n) => Tok::Int(n),
                        Err(_) => {
                            return Err(syntax(
                                column,
                                format!("integer {text} does not fit in 64 bits"),
                            ))
                        }
                    }
                };
                push(tok, end - start, &mut i);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                let mut end = i;
                while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_')
                {
                    end += 1;
                }
                let word: String = chars[start..end].iter().collect();
                push(Tok::Word(word), end - start, &mut i);
            }
            other => {
                return Err(syntax(column, format!("unexpected character '{other}'")));
            }
        }
    }
    tokens.push(Token {
        tok: Tok::End,
        column: chars.len() + 1,
    });
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

const KEYWORDS: &[&str] = &["and", "or", "div", "mod", "true", "false"];

impl Parser {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::End, |t| &t.tok)
    }

    fn column(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .map_or(1, |t| t.column)
    }

    fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Word(x) if x == w)
    }

    fn unexpected(&self, wanted: &str) -> ParseError {
        syntax(
            self.column(),
            format!("expected {wanted}, found {}", self.peek().describe()),
        )
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH {
            return Err(ParseError {
                column: self.column(),
                message: format!(
                    "表达式嵌套过深 / expression nests deeper than {MAX_EXPR_DEPTH} levels"
                ),
                code: super::code::EXPRESSION_TOO_DEEP,
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let result = self.or();
        self.leave();
        result
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let first = self.and()?;
        if !self.is_word("or") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_word("or") {
            self.advance();
            items.push(self.and()?);
        }
        Ok(Expr::Or(items))
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let first = self.comparison()?;
        if !self.is_word("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_word("and") {
            self.advance();
            items.push(self.comparison()?);
        }
        Ok(Expr::And(items))
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.sum()?;
        let Tok::Cmp(op) = *self.peek() else {
            return Ok(left);
        };
        self.advance();
        let right = self.sum()?;
        if let Tok::Cmp(_) = self.peek() {
            return Err(syntax(
                self.column(),
                "comparisons do not chain: write a < b and b < c",
            ));
        }
        Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let first = self.product()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek() {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                _ => break,
            };
            self.advance();
            rest.push((op, self.product()?));
        }
        Ok(chain(first, rest))
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let first = self.unary()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek() {
                Tok::Star => ArithOp::Mul,
                Tok::Word(w) if w == "div" => ArithOp::Div,
                Tok::Word(w) if w == "mod" => ArithOp::Mod,
                _ => break,
            };
            self.advance();
            rest.push((op, self.unary()?));
        }
        Ok(chain(first, rest))
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if *self.peek() != Tok::Minus {
            return self.primary();
        }
        self.advance();
        self.enter()?;
        let inner = self.unary();
        self.leave();
        let inner = inner?;
        // A negated literal is a plain number (no i64 literal overflows when negated).
        Ok(match inner {
            Expr::Lit(Literal::Int(n)) => Expr::Lit(Literal::Int(n.wrapping_neg())),
            Expr::Lit(Literal::Dec(d)) => Expr::Lit(Literal::Dec(-d)),
            other => Expr::Neg(Box::new(other)),
        })
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let column = self.column();
        match self.peek().clone() {
            Tok::Int(n) => {
                self.advance();
                Ok(Expr::Lit(Literal::Int(n)))
            }
            Tok::Dec(d) => {
                self.advance();
                Ok(Expr::Lit(Literal::Dec(d)))
            }
            Tok::Str(s) => {
                self.advance();
                Ok(Expr::Lit(if s.is_empty() {
                    Literal::Empty
                } else {
                    Literal::Text(s)
                }))
            }
            Tok::Ref(path) => {
                self.advance();
                Ok(Expr::Ref(Reference {
                    path,
                    column,
                    target: Vec::new(),
                }))
            }
            Tok::Dot => {
                self.advance();
                Ok(Expr::Current)
            }
            Tok::LParen => {
                self.advance();
                let inner = self.expr()?;
                if *self.peek() != Tok::RParen {
                    return Err(self.unexpected("')'"));
                }
                self.advance();
                Ok(inner)
            }
            Tok::Word(w) if w == "true" || w == "false" => {
                self.advance();
                if *self.peek() == Tok::LParen {
                    return Err(syntax(column, format!("write {w} without parentheses")));
                }
                Ok(Expr::Lit(Literal::Bool(w == "true")))
            }
            Tok::Word(w) if KEYWORDS.contains(&w.as_str()) => {
                Err(syntax(column, format!("expected a value, found '{w}'")))
            }
            Tok::Word(w) => {
                self.advance();
                if let (
                    Tok::Minus,
                    Some(Token {
                        tok: Tok::Word(w2), ..
                    }),
                ) = (self.peek(), self.tokens.get(self.pos + 1))
                {
                    let joined = format!("{w}_{w2}");
                    if Func::from_name(&joined).is_some() {
                        return Err(syntax(
                            column,
                            format!("write {joined}(…) with an underscore"),
                        ));
                    }
                }
                if *self.peek() != Tok::LParen {
                    return Err(syntax(
                        column,
                        format!("unknown name '{w}': fields are referred to as ${{{w}}}"),
                    ));
                }
                let Some(func) = Func::from_name(&w) else {
                    return Err(syntax(column, format!("unknown function '{w}'")));
                };
                self.advance();
                let mut args = Vec::new();
                if *self.peek() != Tok::RParen {
                    loop {
                        args.push(self.expr()?);
                        match self.peek() {
                            Tok::Comma => {
                                self.advance();
                            }
                            Tok::RParen => break,
                            _ => return Err(self.unexpected("',' or ')'")),
                        }
                    }
                }
                self.advance();
                let (min, max) = func.arity();
                if args.len() < min || args.len() > max {
                    let wanted = if min == max {
                        format!("{min}")
                    } else {
                        format!("{min} to {max}")
                    };
                    return Err(syntax(
                        column,
                        format!(
                            "{}() takes {wanted} argument{}, got {}",
                            func.name(),
                            if max == 1 { "" } else { "s" },
                            args.len()
                        ),
                    ));
                }
                Ok(Expr::Call(func, args))
            }
            _ => Err(self.unexpected("a value")),
        }
    }
}

fn chain(first: Expr, rest: Vec<(ArithOp, Expr)>) -> Expr {
    if rest.is_empty() {
        first
    } else {
        Expr::Arith(Box::new(first), rest)
    }
}
