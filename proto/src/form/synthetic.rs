//! A synthetic form of any size and valid answer sets for it, deterministic from a seed: the
//! visit-submission benchmark (`jiuzhu bench-seed --visit-form-fields`, `jiuzhu-bench storm
//! --visits`) publishes the form on the server and answers it on the simulated phones, so both
//! ends must build exactly the same thing from the same two numbers. Not used by production paths:
//! compiled only with the crate's `synthetic` feature (the server's `bench` feature and
//! `jiuzhu-bench` turn it on).
//!
//! Fields come in blocks of ten, a mix like a long social-assistance questionnaire: free text,
//! amounts (integer and decimal), a single and a multiple choice, a date, a yes/no question, a
//! follow-up shown only after "yes", an amount bounded by an earlier one, and a decimal shown only
//! for two of the single choice's answers. So every answer set exercises types, bounds, patterns,
//! `relevant` and cross-field `constraint`s, and some answers are left out because their question
//! does not apply.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Map, Value as Json};

use super::{Bound, Choice, Field, FieldKind, FormDefinition, Label};

/// Fields per block; see the module comment.
const BLOCK: usize = 10;
/// Choices of the single (`c0`…`c4`) and multiple (`m0`…`m5`) choice fields.
const SELECT_ONE_CHOICES: usize = 5;
const SELECT_MULTIPLE_CHOICES: usize = 6;

fn name(i: usize) -> String {
    format!("q{i:03}")
}

fn reference(i: usize) -> String {
    format!("${{{}}}", name(i))
}

fn choices(prefix: &str, n: usize) -> Vec<Choice> {
    (0..n)
        .map(|c| {
            Choice::new(
                format!("{prefix}{c}"),
                format!("选项{c}"),
                format!("option {c}"),
            )
        })
        .collect()
}

/// The synthetic form with `fields` questions (at least one), under `key`, version 1.
pub fn visit_form(key: &str, fields: usize) -> FormDefinition {
    let fields = (0..fields.max(1)).map(field).collect();
    FormDefinition {
        key: key.to_owned(),
        title: Label::new("压测走访表", "Benchmark visit form"),
        version: 1,
        fields,
    }
}

fn field(i: usize) -> Field {
    use FieldKind as K;
    let block = i - i % BLOCK;
    let label = |zh: &str, en: &str| Label::new(format!("{zh} {i}"), format!("{en} {i}"));
    match i % BLOCK {
        0 => Field {
            required: true,
            max: Some(Bound::Integer(40)),
            ..Field::new(name(i), K::Text, label("情况说明", "Remarks"))
        },
        1 => Field {
            required: true,
            min: Some(Bound::Integer(0)),
            max: Some(Bound::Integer(1_000_000)),
            ..Field::new(name(i), K::Integer, label("收入(元)", "Income (yuan)"))
        },
        2 => Field {
            min: Some(Bound::Decimal(0.0)),
            max: Some(Bound::Decimal(10_000.0)),
            ..Field::new(name(i), K::Decimal, label("面积(平方米)", "Area (m²)"))
        },
        3 => Field {
            required: true,
            choices: choices("c", SELECT_ONE_CHOICES),
            ..Field::new(name(i), K::SelectOne, label("类别", "Category"))
        },
        4 => Field {
            required: true,
            constraint: Some(". <= today()".into()),
            constraint_message: Some(Label::new("不能晚于今天", "not after today")),
            ..Field::new(name(i), K::Date, label("日期", "Date"))
        },
        5 => Field {
            required: true,
            ..Field::new(name(i), K::Boolean, label("是否享受", "Receives"))
        },
        6 => Field {
            required: true,
            pattern: Some("[0-9]{6}".into()),
            relevant: Some(format!("{} = true", reference(block + 5))),
            ..Field::new(name(i), K::Text, label("证明编号", "Certificate number"))
        },
        7 => Field {
            required: true,
            min: Some(Bound::Integer(0)),
            constraint: Some(format!(". <= {}", reference(block + 1))),
            constraint_message: Some(Label::new("不能超过收入", "at most the income")),
            ..Field::new(name(i), K::Integer, label("支出(元)", "Spending (yuan)"))
        },
        8 => Field {
            min: Some(Bound::Integer(1)),
            max: Some(Bound::Integer(3)),
            choices: choices("m", SELECT_MULTIPLE_CHOICES),
            ..Field::new(name(i), K::SelectMultiple, label("困难类型", "Hardships"))
        },
        _ => Field {
            required: true,
            relevant: Some(format!(
                "{r} = 'c1' or {r} = 'c2'",
                r = reference(block + 3)
            )),
            constraint: Some(". >= 0".into()),
            ..Field::new(name(i), K::Decimal, label("补贴(元)", "Allowance (yuan)"))
        },
    }
}

/// splitmix64: a few well-mixed bits per (seed, field), no dependency.
fn mix(seed: u64, i: usize) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i as u64)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A valid answer set for `visit_form(_, fields)`, different for each seed. Questions that do
/// not apply (a follow-up after "no") are left out, as a phone leaves them out.
pub fn answers(fields: usize, seed: u64) -> Json {
    let mut out = Map::new();
    let r = |i: usize| mix(seed, i);
    let income = |i: usize| (r(i) % 200_000) as i64;
    let yes = |i: usize| r(i).is_multiple_of(2);
    let category = |i: usize| (r(i) % SELECT_ONE_CHOICES as u64) as usize;
    let base = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default();
    for i in 0..fields.max(1) {
        let block = i - i % BLOCK;
        let value = match i % BLOCK {
            0 => Some(json!(format!("答复 {} 第{i}项", r(i) % 10_000))),
            1 => Some(json!(income(i))),
            2 => Some(json!((r(i) % 100_000) as f64 / 100.0)),
            3 => Some(json!(format!("c{}", category(i)))),
            4 => {
                let day = base + Duration::days((r(i) % 3_000) as i64);
                Some(json!(day.format("%Y-%m-%d").to_string()))
            }
            5 => Some(json!(yes(i))),
            6 => yes(block + 5).then(|| json!(format!("{:06}", r(i) % 1_000_000))),
            7 => {
                // At most the block's income (always there: it precedes this field).
                let cap = income(block + 1);
                Some(json!((r(i) % (cap as u64 + 1)) as i64))
            }
            8 => {
                let n = 1 + (r(i) % 3) as usize;
                let first = (r(i) >> 8) as usize % SELECT_MULTIPLE_CHOICES;
                let picked: Vec<String> = (0..n)
                    .map(|k| format!("m{}", (first + k) % SELECT_MULTIPLE_CHOICES))
                    .collect();
                Some(json!(picked))
            }
            _ => matches!(category(block + 3), 1 | 2).then(|| json!((r(i) % 50_000) as f64 / 10.0)),
        };
        if let Some(v) = value {
            out.insert(name(i), v);
        }
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_form_checks_and_every_answer_set_is_valid() {
        for fields in [1, 7, 10, 13, 250] {
            let form = visit_form("storm_visit", fields).check().unwrap();
            assert_eq!(form.definition().fields.len(), fields);
            for seed in 0..200 {
                let a = answers(fields, seed);
                let outcome = form.validate_at(&a, NaiveDate::from_ymd_opt(2026, 11, 28).unwrap());
                assert!(
                    outcome.is_valid(),
                    "{fields} fields, seed {seed}: {:?}",
                    outcome.errors
                );
                assert!(outcome.dropped.is_empty(), "{:?}", outcome.dropped);
            }
        }
    }

    #[test]
    fn deterministic_and_varied() {
        assert_eq!(visit_form("k", 250), visit_form("k", 250));
        assert_eq!(answers(250, 7), answers(250, 7));
        assert_ne!(answers(250, 7), answers(250, 8));
        let a = answers(250, 1);
        let n = a.as_object().unwrap().len();
        // Some follow-ups are left out, most questions are answered.
        assert!(n > 200 && n < 250, "{n}");
    }

    #[test]
    fn a_broken_cross_field_answer_is_caught() {
        let form = visit_form("k", 10).check().unwrap();
        let mut a = answers(10, 3);
        a["q007"] = json!(a["q001"].as_i64().unwrap() + 1);
        let outcome = form.validate_at(&a, NaiveDate::from_ymd_opt(2026, 11, 28).unwrap());
        assert!(!outcome.is_valid());
    }
}
