//! A realistic home-visit form (入户走访核查表) and answer sets for it.

use serde_json::{json, Value as Json};

use super::*;
use crate::form::code;

const ADL: [&str; 6] = [
    "eating",
    "dressing",
    "getting_in_and_out_of_bed",
    "toileting",
    "walking_indoors",
    "bathing",
];

pub(super) fn home_visit_fields() -> Vec<Field> {
    use FieldKind as K;
    let mut members = vec![
        field("name", K::Text).required().max(Bound::Integer(30)),
        field("relation", K::SelectOne)
            .required()
            .choices(&[
                "head",
                "spouse",
                "child",
                "parent",
                "grandchild",
                "sibling",
                "other",
            ])
            .constraint("(. = 'head') = (position() = 1)")
            .message(
                "户主须列在第一位且只有一位",
                "the head comes first, and only once",
            ),
        field("id_number", K::Text)
            .required()
            .pattern("[0-9]{17}[0-9X]"),
        field("birth_date", K::Date)
            .required()
            .constraint(". <= today() and age(.) <= 120")
            .message(
                "出生日期应在今天之前、120年以内",
                "born before today, at most 120 years ago",
            ),
        calc("age", "age(${birth_date})"),
        field("health", K::SelectOne)
            .required()
            .choices(&["healthy", "chronic", "grave_illness"]),
        field("disability_level", K::SelectOne)
            .required()
            .choices(&["none", "level_1", "level_2", "level_3", "level_4"]),
        field("disability_type", K::SelectOne)
            .required()
            .relevant("${disability_level} != 'none'")
            .choices(&[
                "visual",
                "hearing",
                "speech",
                "physical",
                "intellectual",
                "mental",
                "multiple",
            ]),
    ];
    for item in ADL {
        members.push(field(item, K::Boolean).required().relevant(
            "${disability_level} != 'none' or ${health} = 'grave_illness' or ${age} >= 60",
        ));
    }
    let failed: Vec<String> = ADL
        .iter()
        .map(|i| format!("if(${{{i}}} = false, 1, 0)"))
        .collect();
    members.push(calc("adl_failed", &failed.join(" + ")));
    members.extend([
        field("work_status", K::SelectOne)
            .required()
            .relevant("${age} >= 16")
            .choices(&[
                "employed",
                "self_employed",
                "farming",
                "unemployed",
                "retired",
                "unable_to_work",
            ])
            .constraint(". != 'retired' or ${age} >= 45")
            .message("45岁以下不应为退休", "retired only from 45"),
        field("student_status", K::SelectOne)
            .relevant("${age} >= 3 and ${age} <= 30")
            .choices(&[
                "not_student",
                "primary",
                "junior_secondary",
                "senior_secondary",
                "vocational",
                "tertiary",
            ]),
        field("annual_income", K::Integer)
            .required()
            .min(Bound::Integer(0))
            .max(Bound::Integer(10_000_000)),
    ]);
    vec![
        field("intro", K::Note),
        field("visit_date", K::Date)
            .required()
            .constraint(". <= today()")
            .message("走访日期不能晚于今天", "the visit cannot be in the future"),
        field("dibao_investigation", K::Boolean).required(),
        field("interviewer_1", K::Text).required(),
        field("interviewer_2", K::Text)
            .required()
            .relevant("${dibao_investigation}")
            .constraint(". != ${interviewer_1}")
            .message("需两名不同的工作人员", "two different staff members"),
        field("household_members", K::Repeat)
            .min(Bound::Integer(1))
            .max(Bound::Integer(20))
            .fields(members),
        calc("member_count", "count(${household_members})"),
        calc("member_income", "sum(${household_members.annual_income})"),
        field("income_farming", K::Integer).min(Bound::Integer(0)),
        field("income_business", K::Integer).min(Bound::Integer(0)),
        field("income_rent", K::Integer).min(Bound::Integer(0)),
        field("income_support", K::Integer).min(Bound::Integer(0)),
        calc(
            "household_income",
            "${member_income} + coalesce(${income_farming}, 0) + coalesce(${income_business}, 0) \
             + coalesce(${income_rent}, 0) + coalesce(${income_support}, 0)",
        ),
        calc(
            "per_capita_monthly_income",
            "sum(${household_members.annual_income}) div count(${household_members}) div 12",
        ),
        calc("oldest_member_age", "max(${household_members.age})"),
        calc("disabled_members", "sum(${household_members.disabled})"),
        field("supporters", K::Repeat)
            .max(Bound::Integer(10))
            .fields(vec![
                field("name", K::Text).required(),
                field("monthly_support", K::Integer)
                    .required()
                    .min(Bound::Integer(0)),
            ]),
        field("housing_type", K::SelectOne)
            .required()
            .choices(&["owned", "rented", "public", "borrowed", "none"]),
        field("housing_area", K::Decimal)
            .relevant("${housing_type} != 'none'")
            .min(Bound::Decimal(0.0))
            .max(Bound::Integer(2000)),
        field("safety_grade", K::SelectOne)
            .required()
            .relevant("${housing_type} != 'none'")
            .choices(&["a", "b", "c", "d"]),
        field("vehicles", K::Integer).min(Bound::Integer(0)),
        field("savings", K::Integer).min(Bound::Integer(0)),
        field("medical_spending_12m", K::Integer)
            .required()
            .min(Bound::Integer(0)),
        field("school_spending_12m", K::Integer)
            .required()
            .min(Bound::Integer(0)),
        calc(
            "rigid_expense_ratio",
            "if(${household_income} > 0, round((${medical_spending_12m} + ${school_spending_12m}) \
             div ${household_income}, 2), '')",
        ),
        field("hardship_causes", K::SelectMultiple)
            .required()
            .choices(&[
                "illness",
                "disability",
                "schooling",
                "disaster",
                "lack_of_labour",
                "living_alone",
            ])
            .max(Bound::Integer(4))
            .constraint("not(selected(., 'living_alone')) or ${member_count} = 1")
            .message(
                "独居只适用于一人户",
                "living alone applies to one-person households",
            ),
        field("illness_detail", K::Text)
            .required()
            .relevant("selected(${hardship_causes}, 'illness')"),
        field("disaster_date", K::Date)
            .relevant("selected(${hardship_causes}, 'disaster')")
            .min(Bound::Date(day("2000-01-01"))),
        field("location", K::Geopoint).required(),
        field("house_photo", K::Photo).required(),
        field("staff_signature", K::Photo).required(),
        field("family_signature", K::Photo).required(),
    ]
    .into_iter()
    .map(|f| {
        // The members repeat also carries a per-member disability flag used by the household
        // sum above, placed after its dependencies to show order does not matter.
        if f.name == "household_members" {
            let mut f = f;
            f.fields.insert(
                0,
                calc("disabled", "if(${disability_level} != 'none', 1, 0)"),
            );
            f
        } else {
            f
        }
    })
    .collect()
}

fn home_visit() -> CompiledForm {
    compile(home_visit_fields())
}

const PHOTO: &str = "0190a6e2-7c1b-7d4e-9a3f-2b5c6d7e8f90";

fn member(name: &str, relation: &str, born: &str, income: i64) -> Json {
    json!({
        "name": name,
        "relation": relation,
        "id_number": "32040219800101123X",
        "birth_date": born,
        "health": "healthy",
        "disability_level": "none",
        "work_status": "employed",
        "annual_income": income,
    })
}

/// A complete, valid answer set: a couple and a child.
fn answers() -> Json {
    json!({
        "visit_date": "2025-06-10",
        "dibao_investigation": true,
        "interviewer_1": "王芳",
        "interviewer_2": "李强",
        "household_members": [
            member("张伟", "head", "1975-03-02", 24000),
            member("刘丽", "spouse", "1978-11-20", 12000),
            {
                "name": "张小明",
                "relation": "child",
                "id_number": "320402201001011234",
                "birth_date": "2010-01-01",
                "health": "chronic",
                "disability_level": "none",
                "student_status": "junior_secondary",
                "annual_income": 0
            }
        ],
        "income_farming": 3600,
        "supporters": [],
        "housing_type": "owned",
        "housing_area": 68.5,
        "safety_grade": "b",
        "vehicles": 0,
        "medical_spending_12m": 8000,
        "school_spending_12m": 2000,
        "hardship_causes": ["illness", "schooling"],
        "illness_detail": "孩子哮喘 / child has asthma",
        "location": {"lat": 31.81, "lon": 119.97, "accuracy": 8.5},
        "house_photo": PHOTO,
        "staff_signature": PHOTO,
        "family_signature": PHOTO
    })
}

/// Sets the value at a JSON pointer, adding the last key if it is missing.
fn set(answers: &mut Json, pointer: &str, value: Json) {
    if let Some(slot) = answers.pointer_mut(pointer) {
        *slot = value;
        return;
    }
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    answers.pointer_mut(parent).unwrap()[key] = value;
}

fn remove(answers: &mut Json, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    answers
        .pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key);
}

#[test]
fn the_form_checks_and_orders_calculations_after_their_inputs() {
    let form = home_visit();
    let order = form.evaluation_order();
    let at = |name: &str| order.iter().position(|n| *n == name).unwrap();
    assert!(at("household_members.birth_date") < at("household_members.age"));
    assert!(at("household_members.age") < at("household_members.work_status"));
    assert!(at("household_members.disability_level") < at("household_members.disabled"));
    assert!(at("household_members.disabled") < at("disabled_members"));
    assert!(at("household_members") < at("household_members.name"));
    assert!(at("member_income") < at("household_income"));
    assert!(at("household_income") < at("rigid_expense_ratio"));
    let calcs = form.calculation_order();
    assert_eq!(calcs.len(), 10);
    assert_eq!(form.key(), "test_form");
    assert_eq!(form.version(), 1);
}

#[test]
fn a_complete_answer_set_passes_and_calculations_come_back() {
    let form = home_visit();
    let outcome = validate(&form, answers());
    assert_eq!(outcome.errors, vec![], "{:#?}", outcome.errors);
    assert!(outcome.is_valid());
    assert!(outcome.dropped.is_empty());
    let c = &outcome.calculated;
    assert_eq!(c["member_count"], json!(3));
    assert_eq!(c["member_income"], json!(36000));
    assert_eq!(c["household_income"], json!(39600));
    assert_eq!(c["per_capita_monthly_income"], json!(1000.0));
    assert_eq!(c["oldest_member_age"], json!(50));
    assert_eq!(c["disabled_members"], json!(0));
    assert_eq!(c["rigid_expense_ratio"], json!(0.25));
    let members = c["household_members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    assert_eq!(
        members[0],
        json!({"disabled": 0, "age": 50, "adl_failed": 0})
    );
    assert_eq!(members[2]["age"], json!(15));
    // Supporters hold no calculation, so they are not echoed.
    assert!(!c.contains_key("supporters"));
}

#[test]
fn every_missing_required_answer_is_reported_at_once_with_its_path() {
    let form = home_visit();
    let mut a = answers();
    remove(&mut a, "/visit_date");
    remove(&mut a, "/household_members/1/health");
    remove(&mut a, "/household_members/2/annual_income");
    set(&mut a, "/household_members/0/name", json!(""));
    set(&mut a, "/hardship_causes", json!([]));
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![
            ("visit_date", "required"),
            ("household_members[0].name", "required"),
            ("household_members[1].health", "required"),
            ("household_members[2].annual_income", "required"),
            ("hardship_causes", "required"),
        ]
    );
}

#[test]
fn relevance_follows_disability_level_and_hidden_answers_are_dropped() {
    let form = home_visit();
    let mut a = answers();
    // A disability: the type and the six daily-living items become required.
    set(
        &mut a,
        "/household_members/1/disability_level",
        json!("level_2"),
    );
    let outcome = validate(&form, a.clone());
    let mut expected = vec![("household_members[1].disability_type", "required")];
    for item in ADL {
        expected.push((
            Box::leak(format!("household_members[1].{item}").into_boxed_str()),
            "required",
        ));
    }
    assert_eq!(codes(&outcome.errors), expected);

    // Answered: the household counts one disabled member and the failed items.
    let m = a.pointer_mut("/household_members/1").unwrap();
    m["disability_type"] = json!("physical");
    for (i, item) in ADL.iter().enumerate() {
        m[*item] = json!(i >= 2);
    }
    let outcome = validate(&form, a.clone());
    assert!(outcome.is_valid(), "{:#?}", outcome.errors);
    assert_eq!(outcome.calculated["disabled_members"], json!(1));
    assert_eq!(
        outcome.calculated["household_members"][1]["adl_failed"],
        json!(2)
    );

    // Back to no disability: the leftover answers are dropped, not errors.
    set(
        &mut a,
        "/household_members/1/disability_level",
        json!("none"),
    );
    let outcome = validate(&form, a);
    assert!(outcome.is_valid(), "{:#?}", outcome.errors);
    assert_eq!(outcome.dropped.len(), 7);
    assert_eq!(outcome.dropped[0], "household_members[1].disability_type");
    assert_eq!(
        outcome.calculated["household_members"][1]["adl_failed"],
        json!(0)
    );
}

#[test]
fn daily_living_items_are_asked_of_the_elderly_through_a_calculated_age() {
    let form = home_visit();
    let mut a = answers();
    set(
        &mut a,
        "/household_members/1/birth_date",
        json!("1960-01-01"),
    );
    let outcome = validate(&form, a);
    assert_eq!(outcome.errors.len(), 6);
    assert!(outcome
        .errors
        .iter()
        .all(|e| e.code == code::REQUIRED && e.field.starts_with("household_members[1].")));
}

#[test]
fn age_range_constraint_carries_its_message() {
    let form = home_visit();
    let mut a = answers();
    set(
        &mut a,
        "/household_members/0/birth_date",
        json!("1890-05-05"),
    );
    set(
        &mut a,
        "/household_members/2/birth_date",
        json!("2030-01-01"),
    );
    let outcome = validate(&form, a);
    let failed: Vec<_> = outcome
        .errors
        .iter()
        .filter(|e| e.code == code::CONSTRAINT_FAILED)
        .collect();
    assert_eq!(failed.len(), 2, "{:#?}", outcome.errors);
    assert_eq!(failed[0].field, "household_members[0].birth_date");
    assert_eq!(
        failed[0].message,
        "出生日期应在今天之前、120年以内 / born before today, at most 120 years ago"
    );
    assert_eq!(failed[1].field, "household_members[2].birth_date");
}

#[test]
fn work_status_constraint_refers_to_the_calculated_age() {
    let form = home_visit();
    let mut a = answers();
    set(&mut a, "/household_members/1/work_status", json!("retired"));
    assert!(validate(&form, a.clone()).is_valid(), "46 may be retired");
    set(
        &mut a,
        "/household_members/1/birth_date",
        json!("1990-01-01"),
    );
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![("household_members[1].work_status", "constraint_failed")]
    );
}

#[test]
fn the_head_must_be_listed_first_using_position() {
    let form = home_visit();
    let mut a = answers();
    set(&mut a, "/household_members/0/relation", json!("spouse"));
    set(&mut a, "/household_members/1/relation", json!("head"));
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![
            ("household_members[0].relation", "constraint_failed"),
            ("household_members[1].relation", "constraint_failed"),
        ]
    );
}

#[test]
fn selected_drives_relevance_of_cause_details() {
    let form = home_visit();
    let mut a = answers();
    remove(&mut a, "/illness_detail");
    let outcome = validate(&form, a.clone());
    assert_eq!(codes(&outcome.errors), vec![("illness_detail", "required")]);

    set(&mut a, "/hardship_causes", json!(["disaster"]));
    a["disaster_date"] = json!("1999-07-01");
    a["illness_detail"] = json!("no longer relevant");
    let outcome = validate(&form, a);
    assert_eq!(codes(&outcome.errors), vec![("disaster_date", "below_min")]);
    assert_eq!(outcome.dropped, vec!["illness_detail"]);
}

#[test]
fn living_alone_only_for_one_person_households() {
    let form = home_visit();
    let mut a = answers();
    set(
        &mut a,
        "/hardship_causes",
        json!(["living_alone", "illness"]),
    );
    let outcome = validate(&form, a.clone());
    assert_eq!(
        codes(&outcome.errors),
        vec![("hardship_causes", "constraint_failed")]
    );

    let head = a["household_members"][0].clone();
    a["household_members"] = json!([head]);
    assert!(validate(&form, a).is_valid());
}

#[test]
fn two_staff_members_for_a_dibao_investigation() {
    let form = home_visit();
    let mut a = answers();
    set(&mut a, "/interviewer_2", json!("王芳"));
    let outcome = validate(&form, a.clone());
    assert_eq!(
        codes(&outcome.errors),
        vec![("interviewer_2", "constraint_failed")]
    );
    assert!(outcome.errors[0].message.contains("two different staff"));

    remove(&mut a, "/interviewer_2");
    let outcome = validate(&form, a.clone());
    assert_eq!(codes(&outcome.errors), vec![("interviewer_2", "required")]);

    set(&mut a, "/dibao_investigation", json!(false));
    assert!(validate(&form, a).is_valid());
}

#[test]
fn wrong_types_are_reported_per_field() {
    let form = home_visit();
    let mut a = answers();
    set(&mut a, "/household_members/0/annual_income", json!("24000"));
    set(&mut a, "/household_members/1/annual_income", json!(1200.5));
    set(
        &mut a,
        "/household_members/2/birth_date",
        json!("2010/01/01"),
    );
    set(&mut a, "/dibao_investigation", json!("yes"));
    set(&mut a, "/housing_area", json!("68"));
    set(&mut a, "/health_note_that_does_not_exist", json!(null));
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![
            ("dibao_investigation", "wrong_type"),
            ("household_members[0].annual_income", "wrong_type"),
            ("household_members[1].annual_income", "wrong_type"),
            ("household_members[2].birth_date", "invalid_date"),
            ("housing_area", "wrong_type"),
            ("health_note_that_does_not_exist", "unknown_field"),
        ]
    );
}

#[test]
fn choices_not_in_the_list_are_refused() {
    let form = home_visit();
    let mut a = answers();
    set(&mut a, "/household_members/0/health", json!("sick"));
    set(&mut a, "/safety_grade", json!("e"));
    set(
        &mut a,
        "/hardship_causes",
        json!(["illness", "poverty", "bad luck"]),
    );
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![
            ("household_members[0].health", "not_a_choice"),
            ("safety_grade", "not_a_choice"),
            ("hardship_causes", "not_a_choice"),
        ]
    );
    assert!(outcome.errors[2].message.contains("'poverty', 'bad luck'"));
}

#[test]
fn select_multiple_limits_and_duplicates() {
    let form = home_visit();
    let mut a = answers();
    set(
        &mut a,
        "/hardship_causes",
        json!([
            "illness",
            "disability",
            "schooling",
            "disaster",
            "lack_of_labour"
        ]),
    );
    a["disaster_date"] = json!("2024-07-01");
    let outcome = validate(&form, a.clone());
    assert_eq!(
        codes(&outcome.errors),
        vec![("hardship_causes", "above_max")]
    );

    set(&mut a, "/hardship_causes", json!(["illness", "illness"]));
    let outcome = validate(&form, a.clone());
    assert_eq!(
        codes(&outcome.errors),
        vec![("hardship_causes", "duplicate_choice")]
    );

    set(&mut a, "/hardship_causes", json!(["illness", 3]));
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![("hardship_causes", "wrong_type")]
    );
}

#[test]
fn unknown_keys_and_answers_to_calculations_are_errors() {
    let form = home_visit();
    let mut a = answers();
    a["member_count"] = json!(3);
    a["intro"] = json!("read");
    a["householdmembers"] = json!([]);
    a["household_members"][1]["nickname"] = json!("丽丽");
    a["household_members"][1]["age"] = json!(46);
    let outcome = validate(&form, a);
    let mut got = codes(&outcome.errors);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("household_members[1].age", "not_an_input"),
            ("household_members[1].nickname", "unknown_field"),
            ("householdmembers", "unknown_field"),
            ("intro", "not_an_input"),
            ("member_count", "not_an_input"),
        ]
    );
}

#[test]
fn no_members_is_too_few_and_the_per_capita_division_by_zero_is_an_error_not_a_panic() {
    let form = home_visit();
    let mut a = answers();
    set(&mut a, "/household_members", json!([]));
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![
            ("household_members", "below_min"),
            ("per_capita_monthly_income", "division_by_zero"),
        ]
    );
    assert_eq!(outcome.calculated["per_capita_monthly_income"], Json::Null);
    assert_eq!(outcome.calculated["member_count"], json!(0));
    assert_eq!(outcome.calculated["oldest_member_age"], Json::Null);
    // A failed calculation is empty for those that use it: no second error.
    assert_eq!(outcome.calculated["household_income"], json!(3600));
}

#[test]
fn too_many_members() {
    let form = home_visit();
    let mut a = answers();
    let head = a["household_members"][0].clone();
    let mut members = vec![head];
    for i in 0..20 {
        members.push(member(&format!("成员{i}"), "other", "1990-01-01", 0));
    }
    a["household_members"] = Json::Array(members);
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![("household_members", "above_max")]
    );
    assert_eq!(outcome.calculated["member_count"], json!(21));
}

#[test]
fn malformed_repeats_are_reported_once() {
    let form = home_visit();
    let mut a = answers();
    set(&mut a, "/household_members/1", json!("刘丽"));
    set(&mut a, "/supporters", json!({"name": "x"}));
    let outcome = validate(&form, a.clone());
    assert_eq!(
        codes(&outcome.errors),
        vec![
            ("household_members[1]", "wrong_type"),
            ("supporters", "wrong_type"),
        ]
    );
    // The broken instance still counts; its fields are empty.
    assert_eq!(outcome.calculated["member_count"], json!(3));
    assert_eq!(outcome.calculated["member_income"], json!(24000));
}

#[test]
fn nested_answers_in_a_second_repeat() {
    let form = home_visit();
    let mut a = answers();
    set(
        &mut a,
        "/supporters",
        json!([
            {"name": "张强", "monthly_support": 500},
            {"name": "", "monthly_support": -1}
        ]),
    );
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![
            ("supporters[1].name", "required"),
            ("supporters[1].monthly_support", "below_min"),
        ]
    );
}

#[test]
fn pattern_bounds_geopoint_and_photo() {
    let form = home_visit();
    let mut a = answers();
    set(
        &mut a,
        "/household_members/0/id_number",
        json!("3204021980010112"),
    );
    set(
        &mut a,
        "/household_members/1/id_number",
        json!("32040219800101123x"),
    );
    set(&mut a, "/household_members/2/name", json!("名".repeat(31)));
    set(&mut a, "/household_members/2/annual_income", json!(-5));
    set(&mut a, "/housing_area", json!(2000.5));
    set(&mut a, "/location", json!({"lat": 91, "lon": 119.97}));
    set(&mut a, "/house_photo", json!("not-a-uuid"));
    set(&mut a, "/staff_signature", json!({"id": PHOTO}));
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![
            ("household_members[0].id_number", "pattern_mismatch"),
            ("household_members[1].id_number", "pattern_mismatch"),
            ("household_members[2].name", "above_max"),
            ("household_members[2].annual_income", "below_min"),
            ("housing_area", "above_max"),
            ("location", "invalid_geopoint"),
            ("house_photo", "invalid_photo"),
            ("staff_signature", "wrong_type"),
        ]
    );
}

#[test]
fn geopoint_shapes() {
    let form = compile(vec![field("gps", FieldKind::Geopoint)]);
    for good in [
        json!({"lat": 31.8, "lon": 119.9}),
        json!({"lat": -90, "lon": 180, "accuracy": 0}),
        json!({"lat": 0, "lon": 0, "accuracy": null}),
    ] {
        assert!(validate(&form, json!({ "gps": good })).is_valid(), "{good}");
    }
    for bad in [
        json!({"lat": 31.8}),
        json!({"lat": "31.8", "lon": 119.9}),
        json!({"lat": 31.8, "lon": 181}),
        json!({"lat": 31.8, "lon": 119.9, "accuracy": -1}),
        json!({"lat": 31.8, "lon": 119.9, "alt": 3}),
    ] {
        let outcome = validate(&form, json!({ "gps": bad }));
        assert_eq!(
            codes(&outcome.errors),
            vec![("gps", "invalid_geopoint")],
            "{bad}"
        );
    }
}

#[test]
fn the_future_is_refused_relative_to_the_given_day() {
    let form = home_visit();
    let mut a = answers();
    set(&mut a, "/visit_date", json!("2025-06-16"));
    let outcome = validate(&form, a.clone());
    assert_eq!(
        codes(&outcome.errors),
        vec![("visit_date", "constraint_failed")]
    );
    assert!(form.validate_at(&a, day("2025-06-16")).is_valid());
    // And with the real clock the date is long past: no panic, no error.
    set(&mut a, "/visit_date", json!("2025-06-10"));
    assert!(form
        .validate(&a)
        .errors
        .iter()
        .all(|e| e.field != "visit_date"));
}

#[test]
fn errors_come_in_form_order_whatever_the_evaluation_order() {
    let form = home_visit();
    let mut a = answers();
    set(&mut a, "/family_signature", json!(1));
    set(
        &mut a,
        "/household_members/2/work_status",
        json!("employed"),
    );
    set(
        &mut a,
        "/household_members/2/student_status",
        json!("primary"),
    );
    set(&mut a, "/household_members/0/relation", json!("boss"));
    set(&mut a, "/interviewer_1", json!(1));
    let outcome = validate(&form, a);
    assert_eq!(
        codes(&outcome.errors),
        vec![
            ("interviewer_1", "wrong_type"),
            ("household_members[0].relation", "not_a_choice"),
            ("family_signature", "wrong_type"),
        ]
    );
}

#[test]
fn answers_that_are_not_an_object() {
    let form = home_visit();
    for bad in [json!([]), json!(null), json!("answers"), json!(3)] {
        let outcome = validate(&form, bad);
        assert_eq!(codes(&outcome.errors), vec![("", "not_an_object")]);
    }
}

#[test]
fn an_empty_object_reports_each_required_top_level_field() {
    let form = home_visit();
    let outcome = validate(&form, json!({}));
    let paths: Vec<&str> = outcome.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "visit_date",
            "dibao_investigation",
            "interviewer_1",
            "household_members",
            "per_capita_monthly_income",
            "housing_type",
            "safety_grade",
            "medical_spending_12m",
            "school_spending_12m",
            "hardship_causes",
            "location",
            "house_photo",
            "staff_signature",
            "family_signature",
        ]
    );
}

#[test]
fn the_definition_survives_a_json_round_trip() {
    let def = form(home_visit_fields());
    let text = serde_json::to_string(&def).unwrap();
    let back: FormDefinition = serde_json::from_str(&text).unwrap();
    assert_eq!(back, def);
    assert!(back.check().is_ok());
}
