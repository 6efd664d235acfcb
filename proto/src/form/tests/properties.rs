//! Properties: the parser, the checker and the validator are total on any input.

use proptest::prelude::*;
use serde_json::{json, Value as Json};

use super::*;
use crate::form::expr;

const TOKENS: &[&str] = &[
    "${a}",
    "${b}",
    "${m}",
    "${m.x}",
    "${m.y}",
    "${m.n.z}",
    "${x}",
    "${y}",
    "${z}",
    ".",
    "(",
    ")",
    ",",
    "+",
    "-",
    "*",
    "div",
    "mod",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not(",
    "if(",
    "sum(",
    "min(",
    "max(",
    "count(",
    "selected(",
    "count_selected(",
    "coalesce(",
    "round(",
    "int(",
    "age(",
    "date(",
    "string_length(",
    "today()",
    "position()",
    "1",
    "0",
    "-1",
    "2.5",
    "0.0",
    "'a'",
    "'b'",
    "''",
    "'2024-02-29'",
    "true",
    "false",
    "9223372036854775807",
    "4611686018427387904",
];

/// Sequences of expression tokens: mostly nonsense, sometimes well-formed.
fn token_soup() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(TOKENS), 0..24),
        any::<bool>(),
    )
        .prop_map(|(tokens, spaced)| tokens.join(if spaced { " " } else { "" }))
}

/// Expressions from the grammar, over the fields `plausible_form` makes; many are badly typed,
/// enough are not to reach evaluation.
fn well_formed() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(
        &[
            "1",
            "0",
            "-3",
            "2.5",
            "''",
            "'a'",
            "true",
            "false",
            "today()",
            "${a}",
            "${b}",
            "${x}",
            "${y}",
            "${z}",
            "count(${m})",
            "sum(${m.a})",
            "max(${m.b})",
            "9223372036854775807",
            "position()",
            "date('2024-02-29')",
        ][..],
    )
    .prop_map(str::to_owned);
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(
                    &["+", "-", "*", "div", "mod", "=", "!=", "<", ">=", "and", "or"][..]
                ),
                inner.clone()
            )
                .prop_map(|(l, op, r)| format!("({l} {op} {r})")),
            (
                prop::sample::select(
                    &[
                        "not",
                        "int",
                        "age",
                        "string_length",
                        "count_selected",
                        "date",
                        "-"
                    ][..]
                ),
                inner.clone()
            )
                .prop_map(|(f, e)| format!("{f}({e})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("if({c}, {a}, {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("coalesce({a}, {b})")),
            inner.clone().prop_map(|e| format!("round({e}, 2)")),
            inner.prop_map(|e| format!("selected({e}, 'a')")),
        ]
    })
}

fn expression() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        2 => token_soup().prop_map(Some),
        1 => ".{0,40}".prop_map(Some),
    ]
}

fn bound() -> impl Strategy<Value = Option<Bound>> {
    prop_oneof![
        3 => Just(None),
        1 => (-5i64..30).prop_map(|i| Some(Bound::Integer(i))),
        1 => (-5.0f64..30.0).prop_map(|d| Some(Bound::Decimal(d))),
        1 => Just(Some(Bound::Date(day("2000-01-01")))),
    ]
}

fn kind() -> impl Strategy<Value = FieldKind> {
    prop::sample::select(FieldKind::ALL)
}

const NAMES: &[&str] = &["a", "b", "m", "n", "x", "y", "z", "A", ""];

fn leaf_field() -> impl Strategy<Value = Field> {
    (
        prop::sample::select(NAMES),
        kind(),
        any::<bool>(),
        (bound(), bound()),
        prop::option::of(prop::sample::select(&["[0-9]+", "(", "", "a|b"][..])),
        prop::collection::vec(prop::sample::select(&["a", "b", "a", "", "c d"][..]), 0..4),
        (expression(), expression(), expression()),
    )
        .prop_map(
            |(
                name,
                kind,
                required,
                (min, max),
                pattern,
                choices,
                (relevant, constraint, calculate),
            )| {
                let mut f = field(name, kind);
                f.required = required;
                f.min = min;
                f.max = max;
                f.pattern = pattern.map(str::to_owned);
                f.choices = choices
                    .iter()
                    .map(|v| Choice::new(*v, "选", "choice"))
                    .collect();
                f.relevant = relevant;
                f.constraint = constraint;
                f.calculate = calculate;
                f
            },
        )
}

fn any_field() -> impl Strategy<Value = Field> {
    leaf_field().prop_recursive(5, 40, 5, |inner| {
        (leaf_field(), prop::collection::vec(inner, 0..5)).prop_map(|(mut f, fields)| {
            f.kind = FieldKind::Repeat;
            f.fields = fields;
            f
        })
    })
}

fn maybe_expression() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        7 => well_formed().prop_map(Some),
        1 => token_soup().prop_map(Some),
    ]
}

/// A fixed skeleton of fields with random expressions, so that references resolve and a fair
/// share of forms pass `check()` and reach evaluation.
fn plausible_form() -> impl Strategy<Value = Vec<Field>> {
    use FieldKind as K;
    prop::collection::vec(maybe_expression(), 24).prop_map(|e| {
        let mut e = e.into_iter();
        let mut next = move || e.next().flatten();
        let mut with = |mut f: Field| {
            f.relevant = next();
            if f.kind == K::Calculate {
                f.calculate = Some(next().unwrap_or_else(|| "1".into()));
            } else if f.kind.takes_answer() {
                f.constraint = next();
            }
            f
        };
        let inner = vec![
            with(field("a", K::Integer)),
            with(field("b", K::Decimal)),
            with(calc("c", "1")),
            with(field("d", K::Date)),
        ];
        vec![
            with(field("a", K::Integer)),
            with(field("b", K::Decimal)),
            with(field("x", K::Text)),
            with(field("y", K::Boolean)),
            with(field("z", K::SelectMultiple).choices(&["a", "b"])),
            with(field("m", K::Repeat)).fields(inner),
            with(calc("c", "1")),
        ]
    })
}

/// Takes out the expressions `check()` complains about until the form checks (or gives up), so
/// that random expressions that do type-check reach evaluation.
fn repair(mut fields: Vec<Field>) -> Option<CompiledForm> {
    for _ in 0..6 {
        let errors = match form(fields.clone()).check() {
            Ok(compiled) => return Some(compiled),
            Err(errors) => errors,
        };
        for e in errors {
            let mut level = &mut fields;
            let mut parts = e.field.split('.').peekable();
            while let Some(part) = parts.next() {
                let i = part
                    .strip_prefix("fields[")
                    .and_then(|p| p.strip_suffix(']'))
                    .and_then(|p| p.parse::<usize>().ok())?;
                let f = level.get_mut(i)?;
                match parts.peek().copied() {
                    Some(next) if next.starts_with("fields[") => level = &mut f.fields,
                    attr => {
                        if matches!(attr, None | Some("relevant")) {
                            f.relevant = None;
                        }
                        if matches!(attr, None | Some("constraint")) {
                            f.constraint = None;
                        }
                        if matches!(attr, None | Some("calculate")) && f.calculate.is_some() {
                            f.calculate = Some("1".into());
                        }
                        break;
                    }
                }
            }
        }
    }
    None
}

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        (-10i64..10).prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        "[a-c0-9-]{0,12}".prop_map(Json::from),
        Just(json!("a")),
        Just(json!("2024-02-29")),
        Just(json!("0190a6e2-7c1b-7d4e-9a3f-2b5c6d7e8f90")),
        Just(json!({"lat": 1.0, "lon": 2.0})),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
            prop::collection::btree_map(
                prop::sample::select(&["a", "b", "m", "n", "x", "y", "z", "q"][..]),
                inner,
                0..6
            )
            .prop_map(|m| Json::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    #[test]
    fn the_parser_never_panics_on_any_string(s in any::<String>()) {
        let _ = expr::check_syntax(&s);
    }

    #[test]
    fn the_parser_never_panics_on_token_soup(s in token_soup()) {
        let _ = expr::check_syntax(&s);
    }

    #[test]
    fn check_never_panics_on_small_definitions(fields in prop::collection::vec(any_field(), 0..8)) {
        let def = form(fields);
        if let Ok(compiled) = def.check() {
            let _ = compiled.validate_at(&json!({}), day(TODAY));
        }
    }

    #[test]
    fn checked_forms_validate_any_answers_without_panicking(
        fields in plausible_form(),
        answers in prop::collection::vec(json_value(), 1..4),
    ) {
        if let Some(compiled) = repair(fields) {
            for a in answers {
                let outcome = compiled.validate_at(&a, day(TODAY));
                // Every error names a field (or the whole set) and a code.
                for e in &outcome.errors {
                    prop_assert!(!e.code.is_empty());
                }
                prop_assert!(outcome.errors.len() <= crate::form::MAX_ERRORS + 1);
            }
        }
    }

    #[test]
    fn the_home_visit_form_validates_any_answers_without_panicking(
        answers in json_value(),
        members in prop::collection::vec(json_value(), 0..4),
    ) {
        let compiled = compile(super::home_visit::home_visit_fields());
        let _ = compiled.validate_at(&answers, day(TODAY));
        let _ = compiled.validate_at(&json!({ "household_members": members }), day(TODAY));
    }

    #[test]
    fn integer_arithmetic_is_checked(a in any::<i64>(), b in any::<i64>()) {
        let compiled = compile(vec![
            field("a", FieldKind::Integer),
            field("b", FieldKind::Integer),
            calc("sum", "${a} + ${b}"),
            calc("difference", "${a} - ${b}"),
            calc("product", "${a} * ${b}"),
            calc("quotient", "${a} div ${b}"),
            calc("remainder", "${a} mod ${b}"),
            calc("negated", "-${a}"),
        ]);
        let outcome = compiled.validate_at(&json!({"a": a, "b": b}), day(TODAY));
        let c = &outcome.calculated;
        prop_assert_eq!(c["sum"].as_i64(), a.checked_add(b));
        prop_assert_eq!(c["difference"].as_i64(), a.checked_sub(b));
        prop_assert_eq!(c["product"].as_i64(), a.checked_mul(b));
        prop_assert_eq!(c["remainder"].as_i64(), a.checked_rem(b));
        prop_assert_eq!(c["negated"].as_i64(), a.checked_neg());
        prop_assert_eq!(c["quotient"].is_null(), b == 0);
        // Each failure is reported, each success is not.
        let failed = ["sum", "difference", "product", "quotient", "remainder", "negated"]
            .iter()
            .filter(|k| c[**k].is_null())
            .count();
        prop_assert_eq!(outcome.errors.len(), failed);
    }
}

#[test]
#[ignore = "measures the generators; run by hand"]
fn how_often_random_forms_check() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::default();
    let strategy = plausible_form();
    let (mut ok, mut expressions) = (0, 0);
    for _ in 0..2_000 {
        let fields = strategy.new_tree(&mut runner).unwrap().current();
        if let Some(c) = repair(fields) {
            ok += 1;
            let mut all: Vec<&Field> = c.definition().fields.iter().collect();
            all.extend(c.definition().fields.iter().flat_map(|f| f.fields.iter()));
            expressions += all
                .iter()
                .map(|f| {
                    usize::from(f.relevant.is_some())
                        + usize::from(f.constraint.is_some())
                        + usize::from(f.calculate.as_deref().is_some_and(|c| c != "1"))
                })
                .sum::<usize>();
        }
    }
    println!("{ok} of 2000 check after repair, with {expressions} random expressions kept");
}
