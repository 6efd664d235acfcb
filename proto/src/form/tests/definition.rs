//! `check()`: every problem with a definition, with its path; the bad inputs of issue 4.

use std::time::{Duration, Instant};

use super::*;
use crate::form::{code, MAX_FIELDS};

use FieldKind as K;

#[test]
fn a_minimal_form_checks() {
    let form = compile(vec![field("name", K::Text)]);
    assert_eq!(form.definition().fields.len(), 1);
    assert!(validate(&form, serde_json::json!({})).is_valid());
}

#[test]
fn duplicate_names_at_the_top_and_inside_a_repeat() {
    let errors = refuse(vec![
        field("name", K::Text),
        field("age", K::Integer),
        field("name", K::Text),
        field("members", K::Repeat).fields(vec![
            field("name", K::Text),
            field("income", K::Integer),
            field("income", K::Decimal),
        ]),
    ]);
    assert_eq!(
        codes(&errors),
        vec![
            ("fields[2].name", "duplicate_name"),
            ("fields[3].fields[2].name", "duplicate_name"),
        ]
    );
    assert!(errors[0].message.contains("already used by fields[0]"));
    assert!(errors[1].message.contains("fields[3].fields[1]"));
}

#[test]
fn the_same_name_at_different_levels_is_fine_and_inner_wins() {
    let form = compile(vec![
        field("name", K::Text),
        field("members", K::Repeat).fields(vec![field("name", K::Text), calc("echo", "${name}")]),
        calc("echo", "${name}"),
    ]);
    let outcome = validate(
        &form,
        serde_json::json!({"name": "户", "members": [{"name": "甲"}, {"name": "乙"}]}),
    );
    assert!(outcome.is_valid(), "{:#?}", outcome.errors);
    assert_eq!(outcome.calculated["echo"], "户");
    assert_eq!(outcome.calculated["members"][1]["echo"], "乙");
}

#[test]
fn bad_names() {
    let long = "a".repeat(65);
    let names = ["Name", "1abc", "", "a-b", "名字", "a b", long.as_str()];
    let fields = names
        .iter()
        .map(|n| Field::new(*n, K::Text, Label::new("名", "name")))
        .collect();
    let errors = refuse(fields);
    assert_eq!(errors.len(), names.len());
    for (i, e) in errors.iter().enumerate() {
        assert_eq!(e.field, format!("fields[{i}].name"));
        assert_eq!(e.code, code::INVALID_NAME);
    }
    // The longest allowed and the odd-but-valid ones pass.
    compile(vec![field(&"a".repeat(64), K::Text), field("_x9", K::Text)]);
}

#[test]
fn form_level_problems() {
    let def = FormDefinition {
        key: "Home Visit".into(),
        title: Label::new(" ", ""),
        version: 0,
        fields: vec![],
    };
    let errors = def.check().unwrap_err();
    assert_eq!(
        codes(&errors),
        vec![
            ("key", "invalid_key"),
            ("version", "invalid_version"),
            ("title", "missing_label"),
            ("fields", "no_fields"),
        ]
    );
}

#[test]
fn choices_missing_duplicated_or_malformed() {
    let mut dup = field("health", K::SelectOne).choices(&["healthy", "sick", "healthy"]);
    dup.choices[1].label = Label::new("", "");
    let errors = refuse(vec![
        field("a", K::SelectOne),
        field("b", K::SelectMultiple).choices(&[]),
        dup,
        field("d", K::SelectOne).choices(&["ok", "has space", "", "中"]),
        field("e", K::Integer).choices(&["1"]),
        field("f", K::SelectOne).choices(&vec!["x"; 1001]),
    ]);
    assert_eq!(
        codes(&errors),
        vec![
            ("fields[0].choices", "missing_choices"),
            ("fields[1].choices", "missing_choices"),
            ("fields[2].choices[1].label", "missing_label"),
            ("fields[2].choices[2].value", "duplicate_choice"),
            ("fields[3].choices[1].value", "invalid_choice_value"),
            ("fields[3].choices[2].value", "invalid_choice_value"),
            ("fields[3].choices[2].label", "missing_label"),
            ("fields[3].choices[3].value", "invalid_choice_value"),
            ("fields[4].choices", "not_applicable"),
            ("fields[5].choices", "too_many_choices"),
        ]
    );
}

#[test]
fn bad_patterns() {
    let errors = refuse(vec![
        field("a", K::Text).pattern("[0-9"),
        field("b", K::Text).pattern("(a"),
        field("c", K::Integer).pattern("[0-9]+"),
        field("d", K::Text).pattern(""),
        field("e", K::Text).pattern(&"a".repeat(1025)),
        // Compiles to far more than the size limit.
        field("f", K::Text).pattern(r"(\w{100}){100}"),
        field("g", K::Text).pattern("[0-9"),
    ]);
    assert_eq!(
        codes(&errors),
        vec![
            ("fields[0].pattern", "invalid_pattern"),
            ("fields[1].pattern", "invalid_pattern"),
            ("fields[2].pattern", "not_applicable"),
            ("fields[3].pattern", "invalid_pattern"),
            ("fields[4].pattern", "invalid_pattern"),
            ("fields[5].pattern", "invalid_pattern"),
            ("fields[6].pattern", "invalid_pattern"),
        ]
    );
    assert!(!errors[0].message.contains('\n'));
}

#[test]
fn patterns_are_anchored() {
    let form = compile(vec![field("phone", K::Text).pattern("1[3-9][0-9]{9}|110")]);
    let ok = |v: &str| validate(&form, serde_json::json!({ "phone": v })).is_valid();
    assert!(ok("13812345678"));
    assert!(ok("110"));
    assert!(!ok("x13812345678"));
    assert!(!ok("138123456789"));
    assert!(!ok("1100"));
    // Chinese names: a realistic Unicode class.
    let form = compile(vec![field("name", K::Text).pattern(r"\p{Han}{2,20}")]);
    assert!(validate(&form, serde_json::json!({"name": "欧阳娜娜"})).is_valid());
    assert!(!validate(&form, serde_json::json!({"name": "Nana"})).is_valid());
}

#[test]
fn attributes_that_do_not_fit_the_kind() {
    let mut note = field("intro", K::Note).required().constraint("true");
    note.constraint_message = Some(Label::new("x", "x"));
    let errors = refuse(vec![
        note,
        field("total", K::Calculate).required(),
        field("name", K::Text).calc("'x'"),
        field("flag", K::Boolean).min(Bound::Integer(0)),
        field("n", K::Integer)
            .min(Bound::Decimal(0.5))
            .max(Bound::Date(day("2020-01-01"))),
        field("d", K::Date).min(Bound::Integer(3)),
        field("t", K::Text)
            .min(Bound::Integer(-1))
            .fields(vec![field("x", K::Text)]),
        field("r", K::Repeat),
        field("r2", K::Repeat)
            .max(Bound::Integer(1001))
            .fields(vec![field("x", K::Text)]),
        field("lo", K::Integer)
            .min(Bound::Integer(10))
            .max(Bound::Integer(9)),
        field("dd", K::Date)
            .min(Bound::Date(day("2021-01-01")))
            .max(Bound::Date(day("2020-01-01"))),
        field("dec", K::Decimal).min(Bound::Decimal(f64::NAN)),
        field("m", K::Text).constraint_message_only(),
    ]);
    assert_eq!(
        codes(&errors),
        vec![
            ("fields[0].required", "not_applicable"),
            ("fields[0].constraint", "not_applicable"),
            ("fields[1].required", "not_applicable"),
            ("fields[1].calculate", "missing_calculate"),
            ("fields[2].calculate", "not_applicable"),
            ("fields[3].min", "not_applicable"),
            ("fields[4].min", "invalid_bound"),
            ("fields[4].max", "invalid_bound"),
            ("fields[5].min", "invalid_bound"),
            ("fields[6].fields", "not_applicable"),
            ("fields[6].min", "invalid_bound"),
            ("fields[7].fields", "empty_repeat"),
            ("fields[8].max", "invalid_bound"),
            ("fields[9].min", "invalid_bound"),
            ("fields[10].min", "invalid_bound"),
            ("fields[11].min", "invalid_bound"),
            ("fields[12].constraint_message", "not_applicable"),
        ]
    );
}

trait MessageOnly {
    fn constraint_message_only(self) -> Self;
}

impl MessageOnly for Field {
    fn constraint_message_only(mut self) -> Self {
        self.constraint_message = Some(Label::new("提示", "hint"));
        self
    }
}

#[test]
fn labels_are_needed_except_on_calculations() {
    let mut a = field("a", K::Text);
    a.label = Label::new("", "");
    let mut b = calc("b", "1");
    b.label = Label::new("", "");
    let mut c = field("c", K::Integer).constraint(". > 0");
    c.constraint_message = Some(Label::new("", " "));
    let errors = refuse(vec![a, b, c]);
    assert_eq!(
        codes(&errors),
        vec![
            ("fields[0].label", "missing_label"),
            ("fields[2].constraint_message", "missing_label"),
        ]
    );
}

#[test]
fn expressions_that_do_not_parse_name_their_attribute_and_column() {
    let errors = refuse(vec![
        field("a", K::Integer).relevant("${b} >"),
        field("b", K::Integer).constraint(". == 3"),
        calc("c", "${a} / 2"),
        field("d", K::Text).relevant("a = 1"),
        calc("e", "string-length(${d})"),
        calc("f", "1 < 2 < 3"),
        calc("g", "'open"),
        calc("h", "${A}"),
    ]);
    assert_eq!(
        codes(&errors),
        vec![
            ("fields[0].relevant", "syntax_error"),
            ("fields[1].constraint", "syntax_error"),
            ("fields[2].calculate", "syntax_error"),
            ("fields[3].relevant", "syntax_error"),
            ("fields[4].calculate", "syntax_error"),
            ("fields[5].calculate", "syntax_error"),
            ("fields[6].calculate", "syntax_error"),
            ("fields[7].calculate", "syntax_error"),
        ]
    );
    assert!(
        errors[0].message.contains("column 7"),
        "{}",
        errors[0].message
    );
    assert!(errors[1].message.contains("'=='"));
    assert!(errors[2].message.contains("div"));
    assert!(errors[3].message.contains("${a}"));
    assert!(errors[4].message.contains("string_length"));
}

#[test]
fn references_to_unknown_fields() {
    let errors = refuse(vec![
        field("a", K::Integer).relevant("${nope} > 1"),
        field("members", K::Repeat).fields(vec![
            field("income", K::Integer),
            calc("x", "${income} + ${missing}"),
        ]),
        calc("total", "${income}"),
        calc("via", "sum(${members.wage})"),
        calc("into_leaf", "sum(${a.b})"),
        field("intro", K::Note),
        calc("n", "${intro}"),
    ]);
    assert_eq!(
        codes(&errors),
        vec![
            ("fields[0].relevant", "unknown_field"),
            ("fields[1].fields[1].calculate", "unknown_field"),
            ("fields[2].calculate", "unknown_field"),
            ("fields[3].calculate", "unknown_field"),
            ("fields[4].calculate", "unknown_field"),
            ("fields[6].calculate", "unknown_field"),
        ]
    );
    assert!(errors[0].message.contains("${nope}"));
    // A field inside a repeat: the message shows the way to it.
    assert!(
        errors[2].message.contains("members.income"),
        "{}",
        errors[2].message
    );
    assert!(errors[3].message.contains("has no field 'wage'"));
    assert!(errors[4].message.contains("not a repeat"));
    assert!(errors[5].message.contains("note"));
}

#[test]
fn sibling_repeats_cannot_see_each_others_fields() {
    let errors = refuse(vec![
        field("members", K::Repeat).fields(vec![field("income", K::Integer)]),
        field("supporters", K::Repeat).fields(vec![calc("x", "${income}")]),
    ]);
    assert_eq!(
        codes(&errors),
        vec![("fields[1].fields[0].calculate", "unknown_field")]
    );
}

#[test]
fn cyclic_calculations_are_refused_naming_the_fields() {
    let errors = refuse(vec![
        calc("a", "${b} + 1"),
        calc("b", "${c} * 2"),
        calc("c", "${a} - 1"),
        calc("d", "${a}"),
    ]);
    assert_eq!(codes(&errors), vec![("fields[0]", "cycle")]);
    assert!(
        errors[0].message.ends_with(": a → b → c → a"),
        "{}",
        errors[0].message
    );
}

#[test]
fn a_field_that_refers_to_itself() {
    let errors = refuse(vec![
        calc("a", "${a} + 1"),
        field("b", K::Integer).relevant("${b} > 0"),
        // A constraint may refer to the field itself: it runs after all values are known.
        field("c", K::Integer).constraint("${c} = ."),
    ]);
    assert_eq!(
        codes(&errors),
        vec![("fields[0]", "cycle"), ("fields[1]", "cycle")]
    );
}

#[test]
fn cycles_through_relevance_and_across_repeat_levels() {
    let errors = refuse(vec![
        field("x", K::Integer).relevant("${y} > 0"),
        field("y", K::Integer).relevant("${x} > 0"),
        calc("total", "sum(${members.share})"),
        field("members", K::Repeat).fields(vec![
            field("income", K::Integer),
            calc("share", "${income} div ${total}"),
        ]),
    ]);
    assert_eq!(
        codes(&errors),
        vec![("fields[0]", "cycle"), ("fields[2]", "cycle")]
    );
    assert!(errors[0].message.contains("x → y"));
    assert!(
        errors[1].message.contains("total → members.share"),
        "{}",
        errors[1].message
    );
}

#[test]
fn constraints_never_make_cycles() {
    compile(vec![
        field("low", K::Integer).constraint(". <= ${high}"),
        field("high", K::Integer).constraint(". >= ${low}"),
    ]);
}

#[test]
fn ten_thousand_fields_are_refused_quickly() {
    let fields: Vec<Field> = (0..10_000)
        .map(|i| field(&format!("f{i}"), K::Integer))
        .collect();
    let started = Instant::now();
    let errors = refuse(fields);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(codes(&errors), vec![("fields", "too_many_fields")]);

    // Inside repeats counts too.
    let inner: Vec<Field> = (0..MAX_FIELDS)
        .map(|i| field(&format!("f{i}"), K::Integer))
        .collect();
    let errors = refuse(vec![field("r", K::Repeat).fields(inner)]);
    assert_eq!(codes(&errors), vec![("fields", "too_many_fields")]);
}

#[test]
fn two_thousand_fields_with_expressions_check_in_reasonable_time() {
    let mut fields = vec![field("f0", K::Integer)];
    for i in 1..MAX_FIELDS {
        fields.push(calc(&format!("f{i}"), &format!("${{f{}}} + 1", i - 1)));
    }
    let started = Instant::now();
    let form = compile(fields);
    assert!(started.elapsed() < Duration::from_secs(5));
    let outcome = validate(&form, serde_json::json!({"f0": 1}));
    assert!(outcome.is_valid());
    assert_eq!(outcome.calculated["f1999"], 2000);
}

fn nested(depth: usize) -> Field {
    let mut f = field("leaf", K::Integer);
    for level in (0..depth).rev() {
        f = field(&format!("r{level}"), K::Repeat).fields(vec![f]);
    }
    f
}

#[test]
fn repeats_nest_at_most_three_deep() {
    let form = compile(vec![
        nested(3),
        calc("n", "count(${r0.r1.r2})"),
        calc("s", "sum(${r0.r1.r2.leaf})"),
    ]);
    let outcome = validate(
        &form,
        serde_json::json!({"r0": [
            {"r1": [{"r2": [{"leaf": 1}, {"leaf": 2}]}, {"r2": []}]},
            {"r1": [{"r2": [{"leaf": 4}]}]}
        ]}),
    );
    assert!(outcome.is_valid(), "{:#?}", outcome.errors);
    assert_eq!(outcome.calculated["n"], 3);
    assert_eq!(outcome.calculated["s"], 7);

    let errors = refuse(vec![nested(4)]);
    assert_eq!(
        codes(&errors),
        vec![("fields[0].fields[0].fields[0].fields[0]", "too_deep")]
    );
}

#[test]
fn very_deep_nesting_is_refused_without_overflowing_the_stack() {
    let errors = refuse(vec![nested(1_000)]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, code::TOO_DEEP);
    // Deserialising such a document stops at serde_json's recursion limit.
    let mut text = String::from(r#"{"name":"leaf","label":{"zh":"x"},"kind":"integer"}"#);
    for _ in 0..1_000 {
        text = format!(r#"{{"name":"r","label":{{"zh":"x"}},"kind":"repeat","fields":[{text}]}}"#);
    }
    assert!(serde_json::from_str::<Field>(&text).is_err());
}

#[test]
fn long_and_deep_expressions_are_refused_not_overflowed() {
    let deep_parens = format!("{}1{}", "(".repeat(65), ")".repeat(65));
    let deep_calls = format!("{}true{}", "not(".repeat(65), ")".repeat(65));
    let deep_minus = format!("{}${{a}}", "- ".repeat(65));
    let huge = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    let long = vec!["1"; 2_100].join("+");
    let errors = refuse(vec![
        field("a", K::Integer),
        calc("p", &deep_parens),
        calc("c", &deep_calls),
        calc("m", &deep_minus),
        calc("h", &huge),
        calc("l", &long),
    ]);
    assert_eq!(
        codes(&errors),
        vec![
            ("fields[1].calculate", "expression_too_deep"),
            ("fields[2].calculate", "expression_too_deep"),
            ("fields[3].calculate", "expression_too_deep"),
            ("fields[4].calculate", "expression_too_long"),
            ("fields[5].calculate", "expression_too_long"),
        ]
    );
    // At the limits: 64 levels and a long flat sum are fine.
    let ok_parens = format!("{}1{}", "(".repeat(63), ")".repeat(63));
    let ok_long = vec!["1"; 2_000].join("+");
    let form = compile(vec![calc("p", &ok_parens), calc("l", &ok_long)]);
    let outcome = validate(&form, serde_json::json!({}));
    assert_eq!(outcome.calculated["p"], 1);
    assert_eq!(outcome.calculated["l"], 2000);
}

#[test]
fn static_type_errors() {
    let errors = refuse(vec![
        field("name", K::Text),
        field("age", K::Integer),
        field("health", K::SelectOne).choices(&["healthy", "sick"]),
        field("causes", K::SelectMultiple).choices(&["illness", "disaster"]),
        field("born", K::Date),
        field("members", K::Repeat).fields(vec![field("income", K::Integer)]),
        calc("t1", "${name} + 1"),                      // 6
        field("t2", K::Text).relevant("${age} + 1"),    // 7
        calc("t3", "${health} = 'healthy '"),           // 8
        calc("t4", "${causes} = 'illness'"),            // 9
        calc("t5", "selected(${causes}, 'flood')"),     // 10
        calc("t6", "sum(${members})"),                  // 11
        calc("t7", "count(${members.income})"),         // 12
        calc("t8", "${members.income} > 3"),            // 13
        field("t9", K::Integer).relevant(". > 3"),      // 14
        calc("t10", "position()"),                      // 15
        calc("t11", "round(${age}, ${age})"),           // 16
        calc("t12", "date('2020-13-01')"),              // 17
        calc("t13", "${born} > '2020-01-01'"),          // 18
        calc("t14", "if(${age} > 1, 'old', 3)"),        // 19
        calc("t15", "${age} and true"),                 // 20
        calc("t16", "${members}"),                      // 21
        field("t17", K::Integer).constraint(". = 'x'"), // 22
        field("t18", K::SelectOne)
            .choices(&["a"])
            .constraint(". != 'b'"), // 23
        calc("t19", "''"),                              // 24
        calc("t20", "${age} < ''"),                     // 25
        calc("t21", "-${name}"),                        // 26
        calc("t22", "age(${name})"),                    // 27
        // A select_multiple's '.' is checked against its choices too.
        field("t23", K::SelectMultiple)
            .choices(&["a"])
            .constraint("selected(., 'z')"), // 28
    ]);
    let got = codes(&errors);
    let expect = |i: usize, attr: &str, code: &str| {
        let path = format!("fields[{i}].{attr}");
        assert!(
            got.iter().any(|(p, c)| *p == path && *c == code),
            "expected {code} at {path}; got {got:#?}"
        );
    };
    expect(6, "calculate", "type_mismatch");
    expect(7, "relevant", "type_mismatch");
    expect(8, "calculate", "unknown_choice");
    expect(9, "calculate", "type_mismatch");
    expect(10, "calculate", "unknown_choice");
    expect(11, "calculate", "type_mismatch");
    expect(12, "calculate", "type_mismatch");
    expect(13, "calculate", "type_mismatch");
    expect(14, "relevant", "type_mismatch");
    expect(15, "calculate", "type_mismatch");
    expect(16, "calculate", "type_mismatch");
    expect(17, "calculate", "type_mismatch");
    expect(18, "calculate", "type_mismatch");
    expect(19, "calculate", "type_mismatch");
    expect(20, "calculate", "type_mismatch");
    expect(21, "calculate", "type_mismatch");
    expect(22, "constraint", "type_mismatch");
    expect(23, "constraint", "unknown_choice");
    expect(24, "calculate", "type_mismatch");
    expect(25, "calculate", "type_mismatch");
    expect(26, "calculate", "type_mismatch");
    expect(27, "calculate", "type_mismatch");
    expect(28, "constraint", "unknown_choice");
    assert_eq!(got.len(), 23, "{got:#?}");
    let hint = errors
        .iter()
        .find(|e| e.field == "fields[9].calculate")
        .unwrap();
    assert!(hint.message.contains("selected("));
}

#[test]
fn calculated_types_flow_into_later_checks() {
    let errors = refuse(vec![
        calc("label", "'x'"),
        calc("double", "${label} * 2"),
        calc("n", "1 div 2"),
        field("m", K::Integer).relevant("${n}"),
    ]);
    assert_eq!(
        codes(&errors),
        vec![
            ("fields[1].calculate", "type_mismatch"),
            ("fields[3].relevant", "type_mismatch")
        ]
    );
}

#[test]
fn every_problem_at_once() {
    let errors = refuse(vec![
        field("Bad", K::Text),
        field("dup", K::Text),
        field("dup", K::Text),
        field("s", K::SelectOne),
        field("p", K::Text).pattern("("),
        calc("c", "${nowhere}"),
        calc("x", "${y}"),
        calc("y", "${x}"),
        calc("t", "1 +"),
    ]);
    assert_eq!(
        codes(&errors),
        vec![
            ("fields[0].name", "invalid_name"),
            ("fields[2].name", "duplicate_name"),
            ("fields[3].choices", "missing_choices"),
            ("fields[4].pattern", "invalid_pattern"),
            ("fields[8].calculate", "syntax_error"),
            ("fields[5].calculate", "unknown_field"),
            ("fields[6]", "cycle"),
        ]
    );
}

#[test]
fn error_lists_are_capped() {
    // 2,000 fields each with a reference to an unknown field: one error each, capped.
    let fields = (0..MAX_FIELDS)
        .map(|i| calc(&format!("f{i}"), "${nowhere}"))
        .collect();
    let errors = refuse(fields);
    assert_eq!(errors.len(), crate::form::MAX_ERRORS + 1);
    assert_eq!(errors.last().unwrap().code, code::TOO_MANY_ERRORS);
}

#[test]
fn many_unknown_references_are_cheap_and_reported_once_per_expression() {
    let refs = vec!["${nowhere}"; 300].join(" + ");
    let fields: Vec<Field> = (0..MAX_FIELDS)
        .map(|i| calc(&format!("f{i}"), &refs))
        .collect();
    let started = Instant::now();
    let errors = refuse(fields);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(errors.len(), crate::form::MAX_ERRORS + 1);
    assert_eq!(errors[0].field, "fields[0].calculate");
    assert_eq!(errors[1].field, "fields[1].calculate");
    assert!(errors.last().unwrap().message.contains("1000 more"));
}
