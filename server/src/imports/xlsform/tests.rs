//! The importer's tests: workbooks are written in the test with `rust_xlsxwriter`.

use std::error::Error;

use chrono::NaiveDate;
use jiuzhu_proto::form::FieldKind;
use serde_json::{json, Value as Json};

use super::expr::translate;
use super::*;

type TestResult = Result<(), Box<dyn Error>>;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/forms/home_visit.xlsx"
);

fn fixture() -> Result<Vec<u8>, Box<dyn Error>> {
    Ok(std::fs::read(FIXTURE)?)
}

/// A workbook with the given sheets; each row a list of cells ("" leaves a cell empty).
fn workbook(sheets: &[(&str, &[&[&str]])]) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, rows) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name)?;
        for (r, row) in rows.iter().enumerate() {
            for (c, text) in row.iter().enumerate() {
                if !text.is_empty() {
                    sheet.write_string(u32::try_from(r)?, u16::try_from(c)?, *text)?;
                }
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

const SETTINGS: &[&[&str]] = &[&["form_id", "form_title"], &["t", "Test"]];

/// A form whose survey has the columns `type, name, label` plus `extra_header` columns.
fn survey_with(header: &[&str], rows: &[&[&str]]) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut all: Vec<&[&str]> = vec![header];
    all.extend_from_slice(rows);
    let choices: &[&[&str]] = &[
        &["list_name", "name", "label"],
        &["yn", "yes", "Yes"],
        &["yn", "no", "No"],
    ];
    workbook(&[
        ("survey", &all),
        ("choices", choices),
        ("settings", SETTINGS),
    ])
}

fn parse(bytes: &[u8]) -> Result<FormDefinition, Vec<FieldError>> {
    parse_xlsform(bytes, &XlsLimits::default())
}

fn errors(bytes: &[u8]) -> Vec<FieldError> {
    parse(bytes).err().unwrap_or_default()
}

fn has(errors: &[FieldError], field: &str, code: &str) -> bool {
    errors.iter().any(|e| e.field == field && e.code == code)
}

fn day(s: &str) -> Result<NaiveDate, Box<dyn Error>> {
    Ok(NaiveDate::parse_from_str(s, "%Y-%m-%d")?)
}

const PHOTO: &str = "0190a6e2-7c1b-7d4e-9a3f-2b5c6d7e8f90";

fn member(name: &str, relation: &str, born: &str, wages: i64) -> Json {
    json!({
        "member_name": name,
        "relation": relation,
        "id_number": "32040219800101123X",
        "birth_date": born,
        "health": "healthy",
        "disability_level": "none",
        "work_status": "employed",
        "income_wages": wages,
    })
}

fn answers() -> Json {
    json!({
        "visit_date": "2026-11-20",
        "dibao_investigation": "yes",
        "staff_present": ["staff_01", "staff_03"],
        "location": {"lat": 31.81, "lon": 119.97},
        "members": [
            member("张伟", "head", "1975-03-02", 24000),
            member("刘丽", "spouse", "1978-11-20", 12000),
            {
                "member_name": "张奶奶",
                "relation": "parent",
                "id_number": "320402194801011234",
                "birth_date": "1948-01-01",
                "health": "grave_illness",
                "disability_level": "level_2",
                "disability_type": "physical",
                "adl_eating": "able",
                "adl_dressing": "unable",
                "adl_transfer": "unable",
                "adl_toileting": "able",
                "adl_walking": "unable",
                "adl_bathing": "unable",
                "work_status": "unable_to_work",
                "income_pension": 6000
            }
        ],
        "supporters": [
            {"supporter_name": "张强", "supporter_relation": "child",
             "supporter_means": "limited", "supporter_monthly": 300}
        ],
        "housing_type": "owned",
        "housing_area": 62.5,
        "safety_grade": "c",
        "vehicles": 0,
        "savings": 3000,
        "medical_oop_12m": 18000,
        "school_oop_12m": 0,
        "hardship_causes": ["illness", "disability"],
        "illness_detail": "老人脑梗后长期卧床",
        "house_photo": PHOTO,
        "staff_signature": PHOTO,
        "family_signature": PHOTO,
    })
}

#[test]
fn the_fixture_parses_and_checks() -> TestResult {
    let def = parse(&fixture()?).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(def.key, "home_visit");
    assert_eq!(def.version, 1);
    assert_eq!(def.title.zh, "入户走访核查表");
    assert_eq!(def.title.en, "Home visit verification");
    let members = def
        .fields
        .iter()
        .find(|f| f.name == "members")
        .ok_or("no members repeat")?;
    assert_eq!(members.kind, FieldKind::Repeat);
    let names: Vec<&str> = members.fields.iter().map(|f| f.name.as_str()).collect();
    for expected in [
        "id_number",
        "health",
        "disability_type",
        "adl_bathing",
        "work_status",
        "student_status",
        "income_wages",
        "income_farming",
        "income_business",
        "income_rent",
        "income_pension",
        "income_support",
    ] {
        assert!(names.contains(&expected), "members lacks {expected}");
    }
    // The daily-living group is flattened; its condition lands on each item.
    let adl = members
        .fields
        .iter()
        .find(|f| f.name == "adl_eating")
        .ok_or("no adl_eating")?;
    assert_eq!(
        adl.relevant.as_deref(),
        Some("${disability_level} != 'none' or ${health} = 'grave_illness' or ${age} >= 60")
    );
    let total = def
        .fields
        .iter()
        .find(|f| f.name == "household_income")
        .ok_or("no household_income")?;
    assert_eq!(
        total.calculate.as_deref(),
        Some("sum(${members.member_income})")
    );
    let id = members
        .fields
        .iter()
        .find(|f| f.name == "id_number")
        .ok_or("no id_number")?;
    assert_eq!(id.pattern.as_deref(), Some("[0-9]{17}[0-9Xx]"));
    let staff = def
        .fields
        .iter()
        .find(|f| f.name == "staff_present")
        .ok_or("no staff_present")?;
    assert_eq!(
        staff.constraint.as_deref(),
        Some("${dibao_investigation} = 'no' or count_selected(.) >= 2")
    );
    for photo in ["house_photo", "staff_signature", "family_signature"] {
        assert!(def
            .fields
            .iter()
            .any(|f| f.name == photo && f.kind == FieldKind::Photo));
    }
    Ok(())
}

#[test]
fn the_fixture_validates_a_realistic_visit() -> TestResult {
    let form = parse(&fixture()?)
        .map_err(|e| format!("{e:#?}"))?
        .check()
        .map_err(|e| format!("{e:#?}"))?;
    let outcome = form.validate_at(&answers(), day("2026-11-28")?);
    assert!(outcome.is_valid(), "{:#?}", outcome.errors);
    let calc = &outcome.calculated;
    assert_eq!(calc.get("member_count"), Some(&json!(3)));
    assert_eq!(calc.get("household_income"), Some(&json!(42000)));
    let pc = calc
        .get("per_capita_monthly_income")
        .and_then(Json::as_f64)
        .ok_or("no per-capita income")?;
    assert!((pc - 42000.0 / 3.0 / 12.0).abs() < 1e-9);
    assert_eq!(calc.get("oop_share"), Some(&json!(0.43)));
    let grandma = calc
        .get("members")
        .and_then(|m| m.get(2))
        .ok_or("no members calculations")?;
    assert_eq!(grandma.get("adl_failed"), Some(&json!(4)));
    Ok(())
}

#[test]
fn the_fixture_reports_a_bad_visit() -> TestResult {
    let form = parse(&fixture()?)
        .map_err(|e| format!("{e:#?}"))?
        .check()
        .map_err(|e| format!("{e:#?}"))?;
    let mut bad = answers();
    bad["staff_present"] = json!(["staff_01"]);
    bad["members"][0]["id_number"] = json!("1234");
    bad["members"][2]["adl_eating"] = Json::Null;
    bad["safety_grade"] = json!("e");
    bad["hardship_causes"] = json!(["living_alone"]);
    if let Some(obj) = bad.as_object_mut() {
        obj.remove("family_signature");
    }
    let outcome = form.validate_at(&bad, day("2026-11-28")?);
    let codes: Vec<(&str, &str)> = outcome
        .errors
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect();
    for expected in [
        ("staff_present", "constraint_failed"),
        ("members[0].id_number", "pattern_mismatch"),
        ("members[2].adl_eating", "required"),
        ("safety_grade", "not_a_choice"),
        ("hardship_causes", "constraint_failed"),
        ("family_signature", "required"),
    ] {
        assert!(codes.contains(&expected), "{expected:?} not in {codes:?}");
    }
    // Not a dibao investigation: one staff member is enough.
    let mut routine = answers();
    routine["dibao_investigation"] = json!("no");
    routine["staff_present"] = json!(["staff_02"]);
    let outcome = form.validate_at(&routine, day("2026-11-28")?);
    assert!(outcome.is_valid(), "{:#?}", outcome.errors);
    Ok(())
}

const HEADER: &[&str] = &["type", "name", "label", "relevant", "calculation"];

#[test]
fn odk_expressions_are_translated() -> TestResult {
    let bytes = survey_with(
        &[
            "type",
            "name",
            "label::English (en)",
            "label::中文",
            "relevant",
            "constraint",
            "calculation",
        ],
        &[
            &["text", "who", "Who", "谁", "", "string-length(.) <= 10", ""],
            &["select_multiple yn", "pick", "Pick", "选", "true()", "", ""],
            &["begin_repeat", "jobs", "Jobs", "工作", "", "", ""],
            &[
                "integer",
                "wage",
                "Wage",
                "工资",
                "",
                ". >= 0 and . mod 2 = 0",
                "",
            ],
            &["calculate", "nth", "Nth", "序", "", "", "position(..)"],
            &["end_repeat", "", "", "", "", "", ""],
            &[
                "calculate",
                "total",
                "Total",
                "合计",
                "",
                "",
                "sum(${wage})",
            ],
            &[
                "calculate",
                "total2",
                "Total",
                "合计",
                "",
                "",
                "sum(${jobs}/${wage})",
            ],
            &["calculate", "n", "N", "数", "", "", "count(${jobs})"],
            &[
                "calculate",
                "avg",
                "Avg",
                "均",
                "${n} > 0",
                "",
                "${total} div ${n}",
            ],
            &[
                "calculate",
                "k",
                "K",
                "选数",
                "not(selected(${pick}, 'no'))",
                "",
                "if(count-selected(${pick}) > .5, 1, 0)",
            ],
            &["calculate", "d", "D", "日", "", "", "today()"],
        ],
    )?;
    let def = parse(&bytes).map_err(|e| format!("{e:#?}"))?;
    let get = |name: &str| def.fields.iter().find(|f| f.name == name);
    assert_eq!(
        get("who").and_then(|f| f.constraint.as_deref()),
        Some("string_length(.) <= 10")
    );
    assert_eq!(get("who").map(|f| f.label.zh.as_str()), Some("谁"));
    assert_eq!(get("who").map(|f| f.label.en.as_str()), Some("Who"));
    assert_eq!(
        get("pick").and_then(|f| f.relevant.as_deref()),
        Some("true")
    );
    assert_eq!(
        get("total").and_then(|f| f.calculate.as_deref()),
        Some("sum(${jobs.wage})")
    );
    assert_eq!(
        get("total2").and_then(|f| f.calculate.as_deref()),
        Some("sum(${jobs.wage})")
    );
    assert_eq!(
        get("k").and_then(|f| f.calculate.as_deref()),
        Some("if(count_selected(${pick}) > 0.5, 1, 0)")
    );
    let jobs = get("jobs").ok_or("no jobs")?;
    assert_eq!(
        jobs.fields.get(1).and_then(|f| f.calculate.as_deref()),
        Some("position()")
    );
    Ok(())
}

#[test]
fn unsupported_types_are_refused_at_their_cell() -> TestResult {
    for ty in [
        "audio",
        "rank yn",
        "range",
        "hidden",
        "select_one_from_file x.csv",
        "select_one yn or_other",
        "select one from yn or specify other",
        "begin loop over yn",
        "select_one_external yn",
    ] {
        let bytes = survey_with(
            HEADER,
            &[&["text", "a", "A", "", ""], &[ty, "b", "B", "", ""]],
        )?;
        let errs = errors(&bytes);
        assert!(
            has(&errs, "survey!A3", code::UNSUPPORTED),
            "{ty}: {errs:#?}"
        );
    }
    Ok(())
}

#[test]
fn unsupported_columns_are_refused_at_their_cell() -> TestResult {
    for column in [
        "choice_filter",
        "repeat_count",
        "default",
        "bind::saveIncomplete",
        "read_only",
    ] {
        let bytes = survey_with(
            &["type", "name", "label", column],
            &[&["text", "a", "A", ""], &["select_one yn", "b", "B", "x"]],
        )?;
        let errs = errors(&bytes);
        assert!(
            has(&errs, "survey!D3", code::UNSUPPORTED),
            "{column}: {errs:#?}"
        );
    }
    // An empty unsupported column is harmless, and so is a read_only that says no.
    let bytes = survey_with(
        &["type", "name", "label", "choice_filter", "read_only"],
        &[&["text", "a", "A", "", "no"]],
    )?;
    assert!(parse(&bytes).is_ok());
    Ok(())
}

#[test]
fn unsupported_expressions_are_refused_at_their_cell() -> TestResult {
    for (relevant, calculation, cell) in [
        ("pulldata('f', 'c', 'k', ${a})", "", "survey!D3"),
        ("", "instance('yn')/root/item", "survey!E3"),
        ("", "jr:choice-name(${a}, '${a}')", "survey!E3"),
        ("", "${a} / 2", "survey!E3"),
        ("", "concat(${a}, 'x')", "survey!E3"),
        ("", "regex(${a}, 'x')", "survey!E3"),
        ("/data/a = 'x'", "", "survey!D3"),
        ("${a} = 'x' | ${a} = 'y'", "", "survey!D3"),
        ("../a = 'x'", "", "survey!D3"),
        ("a = 'x'", "", "survey!D3"),
    ] {
        let ty = if calculation.is_empty() {
            "text"
        } else {
            "calculate"
        };
        let bytes = survey_with(
            HEADER,
            &[
                &["text", "a", "A", "", ""],
                &[ty, "b", "B", relevant, calculation],
            ],
        )?;
        let errs = errors(&bytes);
        assert!(
            has(&errs, cell, code::UNSUPPORTED),
            "{relevant}{calculation}: {errs:#?}"
        );
    }
    let bytes = survey_with(HEADER, &[&["calculate", "b", "B", "", "${nope} + 1"]])?;
    assert!(has(&errors(&bytes), "survey!E2", code::UNKNOWN_FIELD));
    let bytes = survey_with(
        &["type", "name", "label", "required"],
        &[&["text", "a", "A", "${x} = 'y'"]],
    )?;
    assert!(has(&errors(&bytes), "survey!D2", code::UNSUPPORTED));
    Ok(())
}

#[test]
fn engine_errors_point_at_cells() -> TestResult {
    // A text field used in arithmetic: the engine's type error lands on the calculation.
    let bytes = survey_with(
        HEADER,
        &[
            &["text", "a", "A", "", ""],
            &["calculate", "b", "B", "", "${a} + 1"],
        ],
    )?;
    let errs = errors(&bytes);
    assert!(
        errs.iter()
            .any(|e| e.field == "survey!E3" && e.code == "type_mismatch"),
        "{errs:#?}"
    );
    // A bad choice value is reported on the choices sheet.
    let survey: &[&[&str]] = &[&["type", "name", "label"], &["select_one c", "a", "A"]];
    let choices: &[&[&str]] = &[
        &["list_name", "name", "label"],
        &["c", "ok", "OK"],
        &["c", "not ok", "Bad"],
    ];
    let bytes = workbook(&[
        ("survey", survey),
        ("choices", choices),
        ("settings", SETTINGS),
    ])?;
    let errs = errors(&bytes);
    assert!(
        errs.iter()
            .any(|e| e.field == "choices!B3" && e.code == "invalid_choice_value"),
        "{errs:#?}"
    );
    // An invalid name; a form_id that gives no key.
    let survey: &[&[&str]] = &[&["type", "name", "label"], &["text", "Name", "A"]];
    let bytes = workbook(&[("survey", survey), ("settings", SETTINGS)])?;
    assert!(has(&errors(&bytes), "survey!B2", "invalid_name"));
    let bad_key: &[&[&str]] = &[&["form_id", "version"], &["入户走访", "1"]];
    let bytes = workbook(&[("survey", survey), ("settings", bad_key)])?;
    let errs = errors(&bytes);
    assert!(has(&errs, "settings!A2", code::INVALID_VALUE), "{errs:#?}");
    Ok(())
}

#[test]
fn structure_problems_are_reported() -> TestResult {
    let bytes = survey_with(
        HEADER,
        &[
            &["begin_repeat", "r", "R", "", ""],
            &["text", "a", "A", "", ""],
        ],
    )?;
    assert!(has(&errors(&bytes), "survey!A2", code::UNBALANCED));
    let bytes = survey_with(
        HEADER,
        &[&["text", "a", "A", "", ""], &["end_group", "", "", "", ""]],
    )?;
    assert!(has(&errors(&bytes), "survey!A3", code::UNBALANCED));
    let bytes = survey_with(
        HEADER,
        &[
            &["text", "a", "A", "", ""],
            &["begin_repeat", "r", "R", "", ""],
            &["text", "a", "A again", "", ""],
            &["end_repeat", "", "", "", ""],
        ],
    )?;
    assert!(has(&errors(&bytes), "survey!B4", code::DUPLICATE_NAME));
    let bytes = survey_with(HEADER, &[&["select_one missing", "a", "A", "", ""]])?;
    assert!(has(&errors(&bytes), "survey!A2", code::MISSING_CHOICES));
    let no_settings = workbook(&[("survey", &[&["type", "name", "label"], &["text", "a", "A"]])])?;
    assert!(has(&errors(&no_settings), "settings", code::MISSING_COLUMN));
    let no_survey = workbook(&[("settings", SETTINGS)])?;
    assert!(has(&errors(&no_survey), "survey", code::MISSING_SHEET));
    // Groups flatten, and their relevance is joined to each field's own.
    let bytes = survey_with(
        HEADER,
        &[
            &["integer", "n", "N", "", ""],
            &["begin group", "g", "G", "${n} > 1", ""],
            &["text", "a", "A", "${n} < 9", ""],
            &["end group", "", "", "", ""],
        ],
    )?;
    let def = parse(&bytes).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(def.fields.len(), 2);
    assert_eq!(
        def.fields.get(1).and_then(|f| f.relevant.as_deref()),
        Some("(${n} > 1) and (${n} < 9)")
    );
    Ok(())
}

#[test]
fn bad_files_give_clear_errors() -> TestResult {
    let code_of = |bytes: &[u8], limits: &XlsLimits| {
        parse_xlsform(bytes, limits)
            .err()
            .and_then(|e| e.first().map(|e| e.code.clone()))
    };
    let limits = XlsLimits::default();
    assert_eq!(
        code_of(b"", &limits).as_deref(),
        Some(code::INVALID_WORKBOOK)
    );
    assert_eq!(
        code_of(b"type,name,label\ntext,a,A\n", &limits).as_deref(),
        Some(code::INVALID_WORKBOOK)
    );
    assert_eq!(
        code_of(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], &limits).as_deref(),
        Some(code::INVALID_WORKBOOK)
    );
    let good = fixture()?;
    for cut in [10, good.len() / 2, good.len() - 10] {
        let truncated = good.get(..cut).ok_or("short fixture")?;
        assert_eq!(
            code_of(truncated, &limits).as_deref(),
            Some(code::INVALID_WORKBOOK),
            "cut at {cut}"
        );
    }
    // Flipping bytes in the middle must never panic, whatever it gives.
    for at in (100..good.len()).step_by(997) {
        let mut damaged = good.clone();
        if let Some(b) = damaged.get_mut(at) {
            *b ^= 0x5A;
        }
        let _ = parse_xlsform(&damaged, &limits);
    }
    let small = XlsLimits {
        max_bytes: 1_000,
        ..XlsLimits::default()
    };
    assert_eq!(code_of(&good, &small).as_deref(), Some(code::TOO_LARGE));
    let few_rows = XlsLimits {
        max_rows: 10,
        ..XlsLimits::default()
    };
    assert_eq!(code_of(&good, &few_rows).as_deref(), Some(code::TOO_LARGE));
    let few_cells = XlsLimits {
        max_cells: 50,
        ..XlsLimits::default()
    };
    assert_eq!(code_of(&good, &few_cells).as_deref(), Some(code::TOO_LARGE));
    let unpacked = XlsLimits {
        max_uncompressed_bytes: 2_000,
        ..XlsLimits::default()
    };
    assert_eq!(code_of(&good, &unpacked).as_deref(), Some(code::TOO_LARGE));
    Ok(())
}

/// 4,999 fields, each with an expression: past the engine's field cap, refused quickly.
#[test]
fn a_survey_at_the_row_cap_is_refused_in_bounded_time() -> TestResult {
    let names: Vec<String> = (0..4_999).map(|i| format!("f{i}")).collect();
    let relevants: Vec<String> = (0..4_999)
        .map(|i| format!("${{f{}}} != ''", i.max(1) - 1))
        .collect();
    let rows: Vec<Vec<&str>> = names
        .iter()
        .zip(&relevants)
        .map(|(n, r)| vec!["text", n.as_str(), "L", r.as_str(), ""])
        .collect();
    let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    let bytes = survey_with(HEADER, &rows)?;
    let started = std::time::Instant::now();
    let errs = errors(&bytes);
    assert!(
        has(&errs, "survey", "too_many_fields"),
        "{:?}",
        errs.first()
    );
    assert!(started.elapsed().as_secs() < 10);
    Ok(())
}

/// Cells placed far away must be refused from their position, not allocated up to it.
#[test]
fn far_and_long_cells_are_refused() -> TestResult {
    let limits = XlsLimits::default();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("survey")?;
    sheet.write_string(0, 0, "type")?;
    sheet.write_string(1_048_575, 16_383, "text")?;
    let bytes = book.save_to_buffer()?;
    let errs = parse_xlsform(&bytes, &limits).err().unwrap_or_default();
    assert!(
        has(&errs, "survey!XFD1048576", code::TOO_LARGE),
        "{errs:#?}"
    );

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("survey")?;
    sheet.write_string(0, 200, "type")?;
    let bytes = book.save_to_buffer()?;
    let errs = parse_xlsform(&bytes, &limits).err().unwrap_or_default();
    assert!(has(&errs, "survey!GS1", code::TOO_LARGE), "{errs:#?}");

    let long = "x".repeat(limits.max_cell_chars + 1);
    let bytes = survey_with(HEADER, &[&["text", "a", &long, "", ""]])?;
    assert!(has(&errors(&bytes), "survey!C2", code::TOO_LARGE));
    Ok(())
}

/// A zip whose one entry claims to inflate 4 GB from 100 bytes: refused from the directory.
#[test]
fn a_zip_bomb_is_refused_before_inflating() {
    let mut zip = Vec::new();
    zip.extend_from_slice(b"PK\x03\x04");
    zip.extend_from_slice(&[0; 26]);
    zip.extend_from_slice(&[0; 100]);
    let cd = zip.len() as u32;
    zip.extend_from_slice(b"PK\x01\x02");
    zip.extend_from_slice(&[0; 16]);
    zip.extend_from_slice(&100u32.to_le_bytes());
    zip.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    zip.extend_from_slice(&1u16.to_le_bytes());
    zip.extend_from_slice(&[0; 16]);
    zip.push(b'x');
    let cd_len = zip.len() as u32 - cd;
    zip.extend_from_slice(b"PK\x05\x06");
    zip.extend_from_slice(&[0; 4]);
    zip.extend_from_slice(&1u16.to_le_bytes());
    zip.extend_from_slice(&1u16.to_le_bytes());
    zip.extend_from_slice(&cd_len.to_le_bytes());
    zip.extend_from_slice(&cd.to_le_bytes());
    zip.extend_from_slice(&[0; 2]);
    let errs = parse(&zip).err().unwrap_or_default();
    assert_eq!(errs.first().map(|e| e.code.as_str()), Some(code::TOO_LARGE));
}

#[test]
fn translation_never_panics_on_odd_input() {
    let scopes = HashMap::new();
    for src in [
        "",
        "${",
        "${}",
        "'",
        "\"",
        "((((",
        "position(",
        "true(",
        ".",
        "..",
        "1.",
        "$",
        "${a}/",
        "${a}/${",
        "count-",
        "a:b:c(",
        "é",
        "\u{0}",
        "1 - -1",
    ] {
        let _ = translate(src, &[], &scopes);
    }
}

fn import(bytes: &[u8], file_name: Option<&str>) -> Result<XlsImport, Box<dyn Error>> {
    import_xlsform(bytes, &XlsLimits::default(), file_name).map_err(|e| format!("{e:#?}").into())
}

fn noticed(import: &XlsImport, cell: &str, code: &str) -> bool {
    import
        .notices
        .iter()
        .any(|n| n.cell == cell && n.code == code)
}

#[test]
fn a_workbook_without_settings_is_named_by_its_file() -> TestResult {
    let survey: &[&[&str]] = &[&["type", "name", "label"], &["text", "a", "A"]];
    let bytes = workbook(&[("survey", survey)])?;
    let done = import(&bytes, Some("uploads/Household Survey.xlsx"))?;
    assert_eq!(done.definition.key, "household_survey");
    assert_eq!(done.definition.title.zh, "Household Survey");
    assert!(
        noticed(&done, "settings", notice::FORM_KEY),
        "{:#?}",
        done.notices
    );
    let done = import(&bytes, Some("household_survey.xlsx"))?;
    assert_eq!(done.definition.key, "household_survey");
    assert!(done.notices.is_empty(), "{:#?}", done.notices);
    // A settings sheet without form_id falls back on the file name too.
    let settings: &[&[&str]] = &[&["form_title"], &["调查"]];
    let bytes = workbook(&[("survey", survey), ("settings", settings)])?;
    let done = import(&bytes, Some("survey_2024.xlsx"))?;
    assert_eq!(
        (
            done.definition.key.as_str(),
            done.definition.title.zh.as_str()
        ),
        ("survey_2024", "调查")
    );
    // With neither, the refusal says what names a form.
    let errs = import_xlsform(&bytes, &XlsLimits::default(), None)
        .err()
        .unwrap_or_default();
    assert!(has(&errs, "settings", code::MISSING_COLUMN), "{errs:#?}");
    Ok(())
}

#[test]
fn language_columns_map_to_chinese_and_english() -> TestResult {
    let bytes = survey_with(
        &[
            "type",
            "name",
            "label:english",
            "label::中文 (zh)",
            "hint::Chinese (zh)",
            "hint::English (en)",
            "label::Français (fr)",
            "label::Español (es)",
        ],
        &[
            &[
                "text",
                "a",
                "Name",
                "姓名",
                "全名",
                "Full name",
                "Nom",
                "Nombre",
            ],
            &["text", "b", "", "", "", "", "Seulement", ""],
        ],
    )?;
    let done = import(&bytes, None)?;
    let a = done.definition.fields.first().ok_or("no field a")?;
    assert_eq!((a.label.zh.as_str(), a.label.en.as_str()), ("姓名", "Name"));
    let hint = a.hint.as_ref().ok_or("no hint")?;
    assert_eq!((hint.zh.as_str(), hint.en.as_str()), ("全名", "Full name"));
    // The first other language stands in where a row has neither Chinese nor English.
    let b = done.definition.fields.get(1).ok_or("no field b")?;
    assert_eq!(
        (b.label.zh.as_str(), b.label.en.as_str()),
        ("Seulement", "Seulement")
    );
    assert!(
        noticed(&done, "survey!G1", notice::DROPPED_LANGUAGE),
        "{:#?}",
        done.notices
    );
    assert!(
        noticed(&done, "survey!H1", notice::DROPPED_LANGUAGE),
        "{:#?}",
        done.notices
    );
    assert!(!done
        .notices
        .iter()
        .any(|n| n.cell == "survey!C1" || n.cell == "survey!D1"));
    Ok(())
}

#[test]
fn settings_for_other_tools_are_left_out_with_a_notice() -> TestResult {
    let survey: &[&[&str]] = &[&["type", "name", "label"], &["text", "a", "A"]];
    let settings: &[&[&str]] = &[
        &[
            "form_id",
            "form_title",
            "default_language",
            "public_key",
            "submission_url",
            "xml_root",
            "allow_choice_duplicates",
            "version",
        ],
        &[
            "Spec test",
            "Spec",
            "English (en)",
            "MIIBIjAN",
            "https://example.org/submission",
            "data",
            "yes",
            "2024.03",
        ],
    ];
    let done = import(
        &workbook(&[("survey", survey), ("settings", settings)])?,
        None,
    )?;
    assert_eq!(done.definition.key, "spec_test");
    assert!(
        noticed(&done, "settings!A2", notice::FORM_KEY),
        "{:#?}",
        done.notices
    );
    for cell in [
        "settings!C1",
        "settings!D1",
        "settings!E1",
        "settings!F1",
        "settings!G1",
    ] {
        assert!(
            noticed(&done, cell, notice::IGNORED_SETTING),
            "{cell}: {:#?}",
            done.notices
        );
    }
    assert!(
        noticed(&done, "settings!H2", notice::IGNORED_SETTING),
        "{:#?}",
        done.notices
    );
    // add_none_option changes the choices: refused unless it says no.
    let settings: &[&[&str]] = &[&["form_id", "add_none_option"], &["t", "yes"]];
    let errs = errors(&workbook(&[("survey", survey), ("settings", settings)])?);
    assert!(has(&errs, "settings!B2", code::UNSUPPORTED), "{errs:#?}");
    Ok(())
}

#[test]
fn extra_choice_columns_are_left_out_with_a_notice() -> TestResult {
    let survey: &[&[&str]] = &[&["type", "name", "label"], &["select_one c", "a", "A"]];
    let choices: &[&[&str]] = &[
        &["list name", "value", "label::English (en)", "cf", "image"],
        &["c", "x", "X", "north", "x.png"],
        &["c", "y", "Y", "south", ""],
        &["c", "z", "", "", "z.png"],
    ];
    let done = import(
        &workbook(&[
            ("survey", survey),
            ("choices", choices),
            ("settings", SETTINGS),
        ])?,
        None,
    )?;
    let a = done.definition.fields.first().ok_or("no field")?;
    let values: Vec<&str> = a.choices.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(values, ["x", "y", "z"]);
    // A picture-only choice shows its name.
    assert_eq!(a.choices.get(2).map(|c| c.label.en.as_str()), Some("z"));
    assert!(
        noticed(&done, "choices!B4", notice::LABEL_FROM_NAME),
        "{:#?}",
        done.notices
    );
    assert!(
        noticed(&done, "choices!D1", notice::IGNORED_COLUMN),
        "{:#?}",
        done.notices
    );
    assert!(
        noticed(&done, "choices!E1", notice::IGNORED_COLUMN),
        "{:#?}",
        done.notices
    );
    Ok(())
}

#[test]
fn display_columns_and_metadata_are_left_out_with_a_notice() -> TestResult {
    let bytes = survey_with(
        &[
            "type",
            "name",
            "label",
            "appearance",
            "media::image",
            "tutorial notes",
            "requiredMsg",
        ],
        &[
            &["start", "start", "", "", "", "", ""],
            &["deviceid", "deviceid", "", "", "", "", ""],
            &[
                "text",
                "a",
                "A",
                "multiline",
                "a.png",
                "ask politely",
                "please",
            ],
        ],
    )?;
    let done = import(&bytes, None)?;
    assert_eq!(done.definition.fields.len(), 1);
    for cell in ["survey!D1", "survey!E1", "survey!F1", "survey!G1"] {
        assert!(
            noticed(&done, cell, notice::IGNORED_COLUMN),
            "{cell}: {:#?}",
            done.notices
        );
    }
    assert!(
        noticed(&done, "survey!A2", notice::IGNORED_QUESTION),
        "{:#?}",
        done.notices
    );
    assert!(
        noticed(&done, "survey!A3", notice::IGNORED_QUESTION),
        "{:#?}",
        done.notices
    );
    Ok(())
}

#[test]
fn pyxform_spellings_of_types_and_columns_are_read() -> TestResult {
    let bytes = survey_with(
        &[
            "type",
            "name",
            "caption",
            "bind:relevant",
            "bind::jr:constraintMsg",
            "bind:constraint",
        ],
        &[
            &["string", "s", "S", "", "", ""],
            &["int", "i", "I", "", "至少 1", ". >= 1"],
            &["gps", "g", "G", "${i} > 1", "", ""],
            &["select one from yn", "o", "O", "", "", ""],
            &["select all that apply yn", "m", "M", "", "", ""],
            &["begin looped group", "r", "R", "", "", ""],
            &["add decimal prompt", "d", "D", "", "", ""],
            &["end looped group", "", "", "", "", ""],
        ],
    )?;
    let def = import(&bytes, None)?.definition;
    let kinds: Vec<(&str, FieldKind)> = def
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("s", FieldKind::Text),
            ("i", FieldKind::Integer),
            ("g", FieldKind::Geopoint),
            ("o", FieldKind::SelectOne),
            ("m", FieldKind::SelectMultiple),
            ("r", FieldKind::Repeat),
        ]
    );
    let i = def.fields.get(1).ok_or("no i")?;
    assert_eq!(i.constraint.as_deref(), Some(". >= 1"));
    assert_eq!(
        i.constraint_message.as_ref().map(|m| m.zh.as_str()),
        Some("至少 1")
    );
    assert_eq!(
        def.fields.get(2).and_then(|f| f.relevant.as_deref()),
        Some("${i} > 1")
    );
    Ok(())
}

#[test]
fn what_the_engine_cannot_mean_is_refused_at_its_cell() -> TestResult {
    let bytes = survey_with(
        &["type", "name", "label", "choice_filter", "calculation"],
        &[
            &["text", "a", "A", "", ""],
            &["select_one yn", "b", "B", "cf = ${a}", ""],
            &[
                "calculate",
                "c",
                "C",
                "",
                "pulldata('hh', 'name', 'id', ${a})",
            ],
            &["select_one_external yn", "d", "D", "", ""],
            &["select_one yn or_other", "e", "E", "", ""],
            &[
                "calculate",
                "f",
                "F",
                "",
                "instance('yn')/root/item[name = 'yes']/label",
            ],
        ],
    )?;
    let errs = errors(&bytes);
    for cell in [
        "survey!D3",
        "survey!E4",
        "survey!A5",
        "survey!A6",
        "survey!E7",
    ] {
        assert!(has(&errs, cell, code::UNSUPPORTED), "{cell}: {errs:#?}");
    }
    Ok(())
}

/// A form written the way pyxform's tutorial writes one (old spellings, a repeat, skip logic and
/// constraints) imports and answers as its XForm would: irrelevant answers dropped, `.` checked.
#[test]
fn a_pyxform_style_form_behaves_as_its_xform() -> TestResult {
    let survey: &[&[&str]] = &[
        &[
            "notes",
            "type",
            "name",
            "label:English",
            "bind:relevant",
            "bind:constraint",
        ],
        &["a note", "begin repeat", "member", "Member", "", ""],
        &["", "text", "member_name", "Name", "", ""],
        &[
            "",
            "select one from yes_no",
            "older",
            "Older than five?",
            "",
            "",
        ],
        &[
            "",
            "integer",
            "months",
            "Age in months",
            "${older}='no'",
            ". <= 72",
        ],
        &[
            "",
            "integer",
            "years",
            "Age in years",
            "${older}='yes'",
            ". >= 5",
        ],
        &["", "phone number", "phone", "Phone", "", ""],
        &["", "end repeat", "", "", "", ""],
    ];
    let choices: &[&[&str]] = &[
        &["list name", "name", "label:English"],
        &["yes_no", "yes", "Yes"],
        &["yes_no", "no", "No"],
    ];
    let bytes = workbook(&[("survey", survey), ("choices", choices)])?;
    let done = import(&bytes, Some("tutorial.xlsx"))?;
    assert_eq!(done.definition.key, "tutorial");
    assert!(
        noticed(&done, "survey!A1", notice::IGNORED_COLUMN),
        "{:#?}",
        done.notices
    );
    let form = done.definition.check().map_err(|e| format!("{e:#?}"))?;
    let answers = json!({"member": [
        {"member_name": "A", "older": "yes", "years": 30, "months": 5, "phone": "13800000000"},
        {"member_name": "B", "older": "no", "months": 80, "phone": "138-0000"},
    ]});
    let outcome = form.validate_at(&answers, day("2026-11-28")?);
    let codes: Vec<(&str, &str)> = outcome
        .errors
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("member[1].months", "constraint_failed"),
            ("member[1].phone", "pattern_mismatch"),
        ],
        "{:#?}",
        outcome.errors
    );
    assert!(
        outcome.dropped.iter().any(|d| d == "member[0].months"),
        "{:?}",
        outcome.dropped
    );
    Ok(())
}
