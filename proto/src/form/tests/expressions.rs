//! The expression language: parsing, and what expressions evaluate to.

use serde_json::{json, Value as Json};

use super::*;
use crate::form::code;
use crate::form::expr::{self, Expr, Literal};

use FieldKind as K;

/// Evaluates `e` as a calculation next to a few fields with the given answers.
fn eval_with(e: &str, answers: Json) -> (Json, Vec<FieldError>) {
    let form = compile(vec![
        field("i", K::Integer),
        field("j", K::Integer),
        field("d", K::Decimal),
        field("t", K::Text),
        field("b", K::Boolean),
        field("day", K::Date),
        field("one", K::SelectOne).choices(&["a", "b", "c"]),
        field("many", K::SelectMultiple).choices(&["a", "b", "c"]),
        field("gps", K::Geopoint),
        field("members", K::Repeat).fields(vec![
            field("income", K::Integer),
            field("weight", K::Decimal),
            field("jobs", K::Repeat).fields(vec![field("wage", K::Integer)]),
            calc("pos", "position()"),
        ]),
        calc("x", e),
    ]);
    let outcome = validate(&form, answers);
    (outcome.calculated["x"].clone(), outcome.errors)
}

fn eval(e: &str) -> Json {
    let (value, errors) = eval_with(e, json!({}));
    assert!(errors.is_empty(), "{e}: {errors:#?}");
    value
}

fn eval_err(e: &str, answers: Json) -> String {
    let (value, errors) = eval_with(e, answers);
    assert_eq!(value, Json::Null, "{e}");
    assert_eq!(errors.len(), 1, "{e}: {errors:#?}");
    assert_eq!(errors[0].field, "x");
    errors[0].code.clone()
}

#[test]
fn literals_and_precedence() {
    assert_eq!(eval("1 + 2 * 3"), json!(7));
    assert_eq!(eval("(1 + 2) * 3"), json!(9));
    assert_eq!(eval("10 - 4 - 3"), json!(3));
    assert_eq!(eval("-2 * -3"), json!(6));
    assert_eq!(eval("- (2 + 3)"), json!(-5));
    assert_eq!(eval("7 div 2"), json!(3.5));
    assert_eq!(eval("8 div 2"), json!(4.0));
    assert_eq!(eval("7 mod 3"), json!(1));
    assert_eq!(eval("-7 mod 3"), json!(-1));
    assert_eq!(eval("7.5 mod 2"), json!(1.5));
    assert_eq!(eval("1.5 + 1"), json!(2.5));
    assert_eq!(eval("'天宁'"), json!("天宁"));
    assert_eq!(eval("\"it's\""), json!("it's"));
    assert_eq!(eval("true and not(false)"), json!(true));
    assert_eq!(eval("false or 1 < 2 and 2 < 1"), json!(false));
    assert_eq!(eval("1 = 1.0"), json!(true));
    assert_eq!(eval("'b' > 'a'"), json!(true));
    assert_eq!(eval("date('2024-02-29') < date('2024-03-01')"), json!(true));
    assert_eq!(eval("\n 1\t+\r\n2 "), json!(3));
}

#[test]
fn integer_overflow_is_an_error() {
    assert_eq!(
        eval_err("9223372036854775807 + 1", json!({})),
        code::OVERFLOW
    );
    assert_eq!(
        eval_err("${i} * ${i}", json!({"i": 4_000_000_000i64})),
        code::OVERFLOW
    );
    assert_eq!(eval_err("-${i}", json!({"i": i64::MIN})), code::OVERFLOW);
    assert_eq!(
        eval_err("${i} mod -1", json!({"i": i64::MIN})),
        code::OVERFLOW
    );
}

#[test]
fn division_by_zero_is_an_error_not_infinity() {
    assert_eq!(eval_err("1 div 0", json!({})), code::DIVISION_BY_ZERO);
    assert_eq!(eval_err("1 mod 0", json!({})), code::DIVISION_BY_ZERO);
    assert_eq!(eval_err("1.5 div 0.0", json!({})), code::DIVISION_BY_ZERO);
    assert_eq!(
        eval_err("${d} mod 0", json!({"d": 2.5})),
        code::DIVISION_BY_ZERO
    );
    assert_eq!(
        eval_err("${i} div (${j} - ${j})", json!({"i": 1, "j": 5})),
        code::DIVISION_BY_ZERO
    );
    // Only the branch taken is evaluated.
    assert_eq!(eval("if(false, 1 div 0, 2)"), json!(2.0));
    assert_eq!(eval("false and 1 div 0 = 1"), json!(false));
    assert_eq!(eval("true or 1 div 0 = 1"), json!(true));
    assert_eq!(eval("coalesce(1, 1 div 0)"), json!(1.0));
}

#[test]
fn non_finite_decimals_are_errors() {
    assert_eq!(
        eval_err("${d} * ${d}", json!({"d": 1e200})),
        code::NOT_FINITE
    );
    assert_eq!(
        eval_err("${d} + ${d}", json!({"d": 1.7e308})),
        code::NOT_FINITE
    );
    assert_eq!(eval_err("int(${d})", json!({"d": 1e19})), code::OVERFLOW);
    assert_eq!(
        eval_err("round(${d}, 15)", json!({"d": 1e300})),
        code::OVERFLOW
    );
}

#[test]
fn empty_answers() {
    // Arithmetic with an empty side is empty, not 0 and not an error.
    assert_eq!(eval("${i} + 1"), Json::Null);
    assert_eq!(eval("-${i}"), Json::Null);
    assert_eq!(eval("${i} div 0"), Json::Null);
    assert_eq!(eval("coalesce(${i}, 0) + 1"), json!(1));
    // = and != treat empty as a value of its own; ordering with empty is false.
    assert_eq!(eval("${i} = ''"), json!(true));
    assert_eq!(eval("${t} != ''"), json!(false));
    assert_eq!(eval("${i} = 0"), json!(false));
    assert_eq!(eval("${i} != 0"), json!(true));
    assert_eq!(eval("${i} < 1"), json!(false));
    assert_eq!(eval("${i} >= 1"), json!(false));
    assert_eq!(eval("${gps} = ''"), json!(true));
    // Empty is false where a boolean is needed.
    assert_eq!(eval("${b} or false"), json!(false));
    assert_eq!(eval("not(${b})"), json!(true));
    assert_eq!(eval("if(${b}, 'yes', 'no')"), json!("no"));
    // Functions.
    assert_eq!(eval("count_selected(${many})"), json!(0));
    assert_eq!(eval("selected(${many}, 'a')"), json!(false));
    assert_eq!(eval("string_length(${t})"), json!(0));
    assert_eq!(eval("age(${day})"), Json::Null);
    assert_eq!(eval("int(${d})"), Json::Null);
    assert_eq!(eval("count(${members})"), json!(0));
    assert_eq!(eval("sum(${members.income})"), json!(0));
    assert_eq!(eval("max(${members.income})"), Json::Null);
    // Answered with "" is the same as not answered.
    let (v, errors) = eval_with("${t} = ''", json!({"t": "", "i": null}));
    assert!(errors.is_empty());
    assert_eq!(v, json!(true));
}

#[test]
fn answered_values() {
    let answers = json!({
        "i": 7, "j": 2, "d": 2.25, "t": "张三丰", "b": true, "day": "1990-06-16",
        "one": "b", "many": ["a", "c"], "gps": {"lat": 1, "lon": 2}
    });
    let v = |e: &str| {
        let (v, errors) = eval_with(e, answers.clone());
        assert!(errors.is_empty(), "{e}: {errors:#?}");
        v
    };
    assert_eq!(v("${i} div ${j}"), json!(3.5));
    assert_eq!(v("${i} mod ${j}"), json!(1));
    assert_eq!(v("${i} * ${d}"), json!(15.75));
    assert_eq!(v("string_length(${t})"), json!(3));
    assert_eq!(v("age(${day})"), json!(34)); // the birthday is tomorrow
    assert_eq!(v("age(date('1990-06-15'))"), json!(35));
    assert_eq!(v("today()"), json!(TODAY));
    assert_eq!(v("${day}"), json!("1990-06-16"));
    assert_eq!(v("selected(${one}, 'b')"), json!(true));
    assert_eq!(v("selected(${many}, 'b')"), json!(false));
    assert_eq!(v("selected(${many}, 'c')"), json!(true));
    assert_eq!(v("count_selected(${many})"), json!(2));
    assert_eq!(v("count_selected(${one})"), json!(1));
    assert_eq!(v("${many}"), json!(["a", "c"]));
    assert_eq!(v("${one} = 'b'"), json!(true));
    assert_eq!(v("${gps} != ''"), json!(true));
    assert_eq!(v("int(-${d})"), json!(-2));
    assert_eq!(v("round(${d}, 1)"), json!(2.3));
    assert_eq!(v("round(-${d}, 0)"), json!(-2.0));
    assert_eq!(v("round(${i}, 2)"), json!(7));
    // A calculation typed decimal gives a decimal even when the integer branch is taken.
    assert_eq!(v("if(${b}, ${i}, ${d})"), json!(7.0));
    assert_eq!(v("if(not(${b}), ${i}, ${d})"), json!(2.25));
    assert_eq!(v("${day} > date('1990-01-01')"), json!(true));
    assert_eq!(v("${many} = ${many}"), json!(true));
}

#[test]
fn aggregates_over_repeats() {
    let answers = json!({"members": [
        {"income": 100, "weight": 1.5, "jobs": [{"wage": 10}, {"wage": 20}]},
        {"weight": 2.5, "jobs": []},
        {"income": -40, "jobs": [{"wage": 5}, {}]}
    ]});
    let v = |e: &str| {
        let (v, errors) = eval_with(e, answers.clone());
        assert!(errors.is_empty(), "{e}: {errors:#?}");
        v
    };
    assert_eq!(v("count(${members})"), json!(3));
    assert_eq!(v("sum(${members.income})"), json!(60));
    assert_eq!(v("sum(${members.weight})"), json!(4.0));
    assert_eq!(v("min(${members.income})"), json!(-40));
    assert_eq!(v("max(${members.weight})"), json!(2.5));
    assert_eq!(v("count(${members.jobs})"), json!(4));
    assert_eq!(v("sum(${members.jobs.wage})"), json!(35));
    assert_eq!(v("sum(${members.pos})"), json!(6));
    assert_eq!(
        v("sum(${members.income}) div count(${members}) div 12"),
        json!(60.0 / 3.0 / 12.0)
    );
    let (_, errors) = eval_with(
        "sum(${members.income})",
        json!({"members": [{"income": i64::MAX}, {"income": 1}]}),
    );
    assert_eq!(codes(&errors), vec![("x", "overflow")]);
}

#[test]
fn references_inside_a_repeat_see_their_own_instance_and_outer_fields() {
    let form = compile(vec![
        field("rate", K::Integer),
        field("members", K::Repeat).fields(vec![
            field("income", K::Integer),
            calc("scaled", "${income} * ${rate}"),
            calc("share_of_all", "${income} div sum(${members.income})"),
            calc("n", "position() * 10 + count(${members})"),
            field("jobs", K::Repeat).fields(vec![
                field("wage", K::Integer),
                calc("of_member", "${wage} + ${income} + position()"),
            ]),
            calc("job_total", "sum(${jobs.wage})"),
        ]),
    ]);
    let outcome = validate(
        &form,
        json!({"rate": 3, "members": [
            {"income": 10, "jobs": [{"wage": 1}, {"wage": 2}]},
            {"income": 30, "jobs": [{"wage": 4}]}
        ]}),
    );
    assert!(outcome.is_valid(), "{:#?}", outcome.errors);
    assert_eq!(
        Json::Object(outcome.calculated),
        json!({"members": [
            {"scaled": 30, "share_of_all": 0.25, "n": 12,
             "jobs": [{"of_member": 12}, {"of_member": 14}], "job_total": 3},
            {"scaled": 90, "share_of_all": 0.75, "n": 22,
             "jobs": [{"of_member": 35}], "job_total": 4}
        ]})
    );
}

#[test]
fn calculations_in_any_definition_order_and_failures_do_not_cascade() {
    let form = compile(vec![
        calc("c", "${b} * 2"),
        calc("b", "${a} + 1"),
        field("a", K::Integer),
        calc("broken", "${a} div 0"),
        calc("after", "coalesce(${broken}, -1)"),
    ]);
    let outcome = validate(&form, json!({"a": 4}));
    assert_eq!(codes(&outcome.errors), vec![("broken", "division_by_zero")]);
    assert_eq!(outcome.calculated["c"], 10);
    assert_eq!(outcome.calculated["broken"], Json::Null);
    // `broken` is a decimal (div), so the coalesce is too.
    assert_eq!(outcome.calculated["after"], -1.0);
    let order = form.calculation_order();
    assert_eq!(order, vec!["b", "c", "broken", "after"]);
}

#[test]
fn relevance_applies_to_calculations_and_non_relevant_values_are_empty() {
    let form = compile(vec![
        field("has_income", K::Boolean),
        field("income", K::Integer).relevant("${has_income}"),
        calc("monthly", "${income} div 12").relevant("${income} > 0"),
        calc("doubled", "coalesce(${income}, 0) * 2"),
    ]);
    let outcome = validate(&form, json!({"has_income": false, "income": 1200}));
    assert!(outcome.is_valid());
    assert_eq!(outcome.dropped, vec!["income"]);
    assert_eq!(
        outcome.cleaned(&json!({"has_income": false, "income": 1200})),
        json!({"has_income": false})
    );
    assert_eq!(outcome.calculated["monthly"], Json::Null);
    assert_eq!(outcome.calculated["doubled"], 0);
    let outcome = validate(&form, json!({"has_income": true, "income": 1200}));
    assert_eq!(outcome.calculated["monthly"], 100.0);
    assert_eq!(outcome.calculated["doubled"], 2400);
}

#[test]
fn a_non_relevant_repeat_drops_its_instances() {
    let form = compile(vec![
        field("has_supporters", K::Boolean),
        field("supporters", K::Repeat)
            .relevant("${has_supporters}")
            .min(Bound::Integer(1))
            .fields(vec![field("name", K::Text).required()]),
        calc("n", "count(${supporters})"),
    ]);
    let outcome = validate(
        &form,
        json!({"has_supporters": false, "supporters": [{"name": ""}, {"bogus": 1}]}),
    );
    assert!(outcome.is_valid(), "{:#?}", outcome.errors);
    assert_eq!(outcome.dropped, vec!["supporters"]);
    assert_eq!(
        outcome.cleaned(&json!({"has_supporters": false, "supporters": [{"name": ""}]})),
        json!({"has_supporters": false})
    );
    assert_eq!(outcome.calculated["n"], 0);
    let outcome = validate(&form, json!({"has_supporters": true}));
    assert_eq!(codes(&outcome.errors), vec![("supporters", "below_min")]);
}

#[test]
fn errors_in_relevant_and_constraint_are_reported_on_the_field() {
    let form = compile(vec![
        field("n", K::Integer),
        field("a", K::Integer).relevant("10 div ${n} > 1"),
        field("b", K::Integer).constraint(". div ${n} > 1"),
    ]);
    let outcome = validate(&form, json!({"n": 0, "a": 5, "b": 5}));
    assert_eq!(
        codes(&outcome.errors),
        vec![("a", "division_by_zero"), ("b", "division_by_zero")]
    );
    assert!(outcome.errors[0].message.ends_with("(relevant)"));
    assert!(outcome.errors[1].message.ends_with("(constraint)"));
    // A relevant that fails counts as not relevant: the answer is dropped.
    assert_eq!(outcome.dropped, vec!["a"]);
}

#[test]
fn constraint_without_message_shows_the_expression() {
    let form = compile(vec![
        field("age", K::Integer).constraint(". >= 0 and . <= 120")
    ]);
    let outcome = validate(&form, json!({"age": 130}));
    assert_eq!(outcome.errors[0].code, code::CONSTRAINT_FAILED);
    assert!(outcome.errors[0].message.contains(". >= 0 and . <= 120"));
    assert!(validate(&form, json!({"age": 120})).is_valid());
    // Constraints do not run on empty answers.
    assert!(validate(&form, json!({"age": null})).is_valid());
}

#[test]
fn the_evaluation_budget_stops_quadratic_forms() {
    // Every instance sums over every instance, several times: 1,000² × 8 steps and more.
    let mut inner = vec![field("v", K::Integer)];
    for k in 0..8 {
        inner.push(calc(&format!("s{k}"), "sum(${r.v})"));
    }
    let form = compile(vec![field("r", K::Repeat).fields(inner)]);
    let instances: Vec<Json> = (0..1_000).map(|i| json!({"v": i})).collect();
    let started = std::time::Instant::now();
    let outcome = validate(&form, json!({ "r": instances }));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(outcome
        .errors
        .iter()
        .any(|e| e.code == code::EVALUATION_TOO_COSTLY));
    assert!(outcome.errors.len() <= crate::form::MAX_ERRORS + 1);
}

#[test]
fn parse_shapes() {
    let e = expr::parse("1 + 2 - 3 * 4 div 5").unwrap();
    let Expr::Arith(first, rest) = e else {
        panic!("a flat sum");
    };
    assert_eq!(*first, Expr::Lit(Literal::Int(1)));
    assert_eq!(rest.len(), 2);
    assert!(matches!(
        expr::parse("''").unwrap(),
        Expr::Lit(Literal::Empty)
    ));
    assert!(matches!(
        expr::parse("a() ").unwrap_err().code,
        "syntax_error"
    ));
    assert!(expr::parse(&"1+".repeat(1500).to_string()).is_err());
}

#[test]
fn syntax_errors_have_useful_messages() {
    let cases = [
        ("", "expected a value"),
        ("1 +", "expected a value"),
        ("(1", "expected ')'"),
        ("1)", "expected an operator or the end"),
        ("1 2", "expected an operator or the end"),
        ("${}", "not a field name"),
        ("${a.}", "not a field name"),
        ("${a", "not closed"),
        ("$a", "${name}"),
        ("'abc", "not closed"),
        (".5", "0.5"),
        ("1.", "digit must follow"),
        ("1.2.3", "starts with a digit"),
        ("12abc", "run into a name"),
        ("99999999999999999999", "64 bits"),
        ("a == b", "'=='"),
        ("!true", "not(…)"),
        ("1 % 2", "mod"),
        ("1 && 2", "and"),
        ("true()", "without parentheses"),
        ("and", "found 'and'"),
        ("foo(1)", "unknown function 'foo'"),
        ("count-selected(${a})", "count_selected"),
        ("if(1, 2)", "if() takes 3 arguments, got 2"),
        ("today(1)", "today() takes 0 arguments"),
        ("not()", "not() takes 1 argument, got 0"),
        ("sum(1,)", "expected a value"),
        ("1 < 2 < 3", "do not chain"),
        ("#", "unexpected character '#'"),
        ("x", "${x}"),
    ];
    for (src, wanted) in cases {
        let err = expr::check_syntax(src).unwrap_err();
        assert!(
            err.to_string().contains(wanted),
            "{src:?}: {err} (wanted {wanted:?})"
        );
    }
    for ok in [
        "${a.b.c}",
        "-1",
        "1.25",
        "'a' = \"b\"",
        "not(.)",
        "${_x1}",
        "- - 1",
    ] {
        assert!(expr::check_syntax(ok).is_ok(), "{ok}");
    }
}

#[test]
fn hostile_answer_sets_are_bounded() {
    // 300 required fields per instance and 10,000 empty instances: 3,000,000 answers asked for;
    // the answer-cell limit (200,000) lets 666 instances through.
    let inner: Vec<Field> = (0..300)
        .map(|i| field(&format!("f{i}"), K::Integer).required())
        .collect();
    let form = compile(vec![field("r", K::Repeat).fields(inner)]);
    let instances = vec![json!({}); 10_000];
    let started = std::time::Instant::now();
    let outcome = validate(&form, json!({ "r": instances }));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(outcome.errors.len(), crate::form::MAX_ERRORS + 1);
    // Form order: the repeat's own error first, then the first instances' fields.
    assert_eq!(outcome.errors[0].code, code::TOO_MANY_INSTANCES);
    assert!(
        outcome.errors[0].message.contains("first 666 of 10000"),
        "{}",
        outcome.errors[0].message
    );
    assert_eq!(outcome.errors[1].field, "r[0].f0");
    assert_eq!(outcome.errors[2].field, "r[0].f1");
    let last = outcome.errors.last().unwrap();
    assert_eq!(last.code, code::TOO_MANY_ERRORS);
    assert!(last.message.contains("198801 more"), "{}", last.message);
}
