//! The form engine's conformance suite (`fixtures/forms/conformance/*.json`, format in its
//! README) run on the Rust engine. The phone's JavaScript engine runs the same files
//! (`web/shared/form-engine.test.mjs`); both must pass every case.
//!
//! Relevance is not part of `ValidationOutcome`, so it is observed without touching the engine:
//! each field's `relevant` expression is copied into a calculate field beside it (same level,
//! same lexical scope, so the same value) in a second, instrumented run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::form::{Field, FieldKind, FormDefinition, Label};
use serde_json::{Map, Value as Json};

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/forms/conformance")
}

fn suite_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(suite_dir()) {
        Ok(dir) => dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) => panic!("cannot read {}: {e}", suite_dir().display()),
    };
    files.sort();
    files
}

/// Prefix of the instrumentation fields; no field of a case may start with it.
const PROBE: &str = "__relevance_probe_";

/// Where each probe sits: (enclosing repeat names, outermost first; field name).
type Probes = BTreeMap<String, (Vec<String>, String)>;

fn add_probes(fields: &mut Vec<Field>, repeats: &[String], probes: &mut Probes) {
    let mut added = Vec::new();
    for f in fields.iter_mut() {
        if let Some(rel) = &f.relevant {
            let name = format!("{PROBE}{}", probes.len());
            probes.insert(name.clone(), (repeats.to_vec(), f.name.clone()));
            let mut probe = Field::new(name, FieldKind::Calculate, Label::new("", ""));
            probe.calculate = Some(rel.clone());
            added.push(probe);
        }
        if f.kind == FieldKind::Repeat {
            let mut inner = repeats.to_vec();
            inner.push(f.name.clone());
            add_probes(&mut f.fields, &inner, probes);
        }
    }
    // Appended after the level's own fields: the slots (and so the order of errors) of the
    // case's fields do not move.
    fields.extend(added);
}

/// Collects `path → relevant` from the calculated values of an instrumented run.
fn read_probes(
    calculated: &Map<String, Json>,
    prefix: &str,
    depth: usize,
    probes: &Probes,
    out: &mut BTreeMap<String, bool>,
) {
    for (key, value) in calculated {
        if let Some((repeats, name)) = probes.get(key) {
            if repeats.len() == depth {
                out.insert(format!("{prefix}{name}"), value == &Json::Bool(true));
            }
        } else if let Json::Array(instances) = value {
            for (i, inst) in instances.iter().enumerate() {
                if let Json::Object(map) = inst {
                    read_probes(map, &format!("{prefix}{key}[{i}]."), depth + 1, probes, out);
                }
            }
        }
    }
}

/// A safe integer written with a fraction or exponent (`5.0`, `1e3`, `-0.0`): serde_json tells
/// it from `5`, JavaScript's `JSON.parse` cannot, so the suite does not use it in answers or
/// bounds (a phone's `JSON.stringify` never writes it).
fn find_integral_float(v: &Json, at: &str) -> Option<String> {
    const SAFE: f64 = 9_007_199_254_740_992.0;
    match v {
        Json::Number(n)
            if n.is_f64()
                && n.as_f64()
                    .is_some_and(|d| d.fract() == 0.0 && d.abs() < SAFE) =>
        {
            Some(at.to_owned())
        }
        Json::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_integral_float(x, &format!("{at}[{i}]"))),
        Json::Object(map) => map
            .iter()
            .find_map(|(k, x)| find_integral_float(x, &format!("{at}.{k}"))),
        _ => None,
    }
}

fn bounds_of(fields: &[Json], at: &str) -> Option<String> {
    for (i, f) in fields.iter().enumerate() {
        for attr in ["min", "max"] {
            if let Some(b) = f.get(attr) {
                if let Some(bad) = find_integral_float(b, &format!("{at}[{i}].{attr}")) {
                    return Some(bad);
                }
            }
        }
        if let Some(Json::Array(inner)) = f.get("fields") {
            if let Some(bad) = bounds_of(inner, &format!("{at}[{i}].fields")) {
                return Some(bad);
            }
        }
    }
    None
}

fn compare_errors(got: &[FieldError], want: &Json, what: &str, problems: &mut Vec<String>) {
    let Some(want) = want.as_array() else {
        problems.push(format!("{what}: expected errors must be an array"));
        return;
    };
    let mut ok = got.len() == want.len();
    for (g, w) in got.iter().zip(want) {
        let field = w.get("field").and_then(Json::as_str);
        let code = w.get("code").and_then(Json::as_str);
        let message = w.get("message").and_then(Json::as_str);
        if field != Some(g.field.as_str())
            || code != Some(g.code.as_str())
            || message.is_some_and(|m| m != g.message)
        {
            ok = false;
        }
    }
    if !ok {
        let got: Vec<Json> = got
            .iter()
            .map(|e| serde_json::json!({"field": e.field, "code": e.code, "message": e.message}))
            .collect();
        problems.push(format!(
            "{what} differ\n  expected: {}\n  got:      {}",
            Json::Array(want.clone()),
            Json::Array(got)
        ));
    }
}

fn run_case(case: &Json, forms: &Map<String, Json>) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let form_json = match case.get("form") {
        Some(Json::String(name)) => match forms.get(name) {
            Some(f) => f.clone(),
            None => return Err(vec![format!("no form named '{name}' in this file")]),
        },
        Some(f @ Json::Object(_)) => f.clone(),
        _ => return Err(vec!["'form' must be a form name or a definition".into()]),
    };
    if let Some(bad) = form_json
        .get("fields")
        .and_then(Json::as_array)
        .and_then(|f| bounds_of(f, "fields"))
    {
        return Err(vec![format!(
            "bound {bad} is an integral number written as a decimal: write it as an integer"
        )]);
    }
    if form_json.to_string().contains(PROBE) {
        return Err(vec![format!("no field may be named {PROBE}…")]);
    }
    let def: FormDefinition = match serde_json::from_value(form_json) {
        Ok(d) => d,
        Err(e) => return Err(vec![format!("the form does not deserialize: {e}")]),
    };
    let checked = def.check();
    if let Some(want) = case.get("check_errors") {
        match checked {
            Ok(_) => problems.push("the form checks, but check errors are expected".into()),
            Err(got) => compare_errors(&got, want, "check errors", &mut problems),
        }
        return if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        };
    }
    let form = match checked {
        Ok(f) => f,
        Err(e) => return Err(vec![format!("the form is refused: {e:#?}")]),
    };
    let Some(today) = case
        .get("today")
        .and_then(Json::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    else {
        return Err(vec!["'today' (YYYY-MM-DD) is required".into()]);
    };
    let Some(answers) = case.get("answers") else {
        return Err(vec!["'answers' is required".into()]);
    };
    if let Some(bad) = find_integral_float(answers, "answers") {
        return Err(vec![format!(
            "{bad} is an integral number written as a decimal: write it as an integer"
        )]);
    }
    let Some(expect) = case.get("expect") else {
        return Err(vec!["'expect' is required".into()]);
    };
    let outcome = form.validate_at(answers, today);
    match expect.get("errors") {
        Some(want) => compare_errors(&outcome.errors, want, "errors", &mut problems),
        None => problems.push("'expect.errors' is required".into()),
    }
    if let Some(want) = expect.get("calculated") {
        let got = Json::Object(outcome.calculated.clone());
        if &got != want {
            problems.push(format!(
                "calculated differ\n  expected: {want}\n  got:      {got}"
            ));
        }
    }
    let want_dropped = expect
        .get("dropped")
        .cloned()
        .unwrap_or(Json::Array(Vec::new()));
    let got_dropped = Json::from(outcome.dropped.clone());
    if got_dropped != want_dropped {
        problems.push(format!(
            "dropped differ\n  expected: {want_dropped}\n  got:      {got_dropped}"
        ));
    }
    if let Some(want) = expect.get("relevant") {
        let mut probed = def.clone();
        let mut probes = Probes::new();
        add_probes(&mut probed.fields, &[], &mut probes);
        match probed.check() {
            Err(e) => problems.push(format!("the instrumented form is refused: {e:#?}")),
            Ok(probed) => {
                let outcome = probed.validate_at(answers, today);
                let mut got = BTreeMap::new();
                read_probes(&outcome.calculated, "", 0, &probes, &mut got);
                let got = serde_json::to_value(&got).unwrap_or(Json::Null);
                if &got != want {
                    problems.push(format!(
                        "relevance differs\n  expected: {want}\n  got:      {got}"
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[test]
fn every_conformance_case_passes_on_the_rust_engine() {
    let mut failures = String::new();
    let mut total = 0usize;
    for path in suite_files() {
        let file = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => panic!("cannot read {file}: {e}"),
        };
        let doc: Json = match serde_json::from_str(&text) {
            Ok(d) => d,
            Err(e) => panic!("{file} is not JSON: {e}"),
        };
        let forms = doc
            .get("forms")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        let Some(cases) = doc.get("cases").and_then(Json::as_array) else {
            panic!("{file} has no 'cases' array");
        };
        let mut ids = std::collections::HashSet::new();
        for case in cases {
            total += 1;
            let id = case.get("id").and_then(Json::as_str).unwrap_or("(no id)");
            if !ids.insert(id.to_owned()) {
                let _ = writeln!(failures, "{file} / {id}: duplicate case id");
            }
            if let Err(problems) = run_case(case, &forms) {
                for p in problems {
                    let _ = writeln!(failures, "{file} / {id}: {p}");
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "conformance failures ({total} cases):\n{failures}"
    );
    assert!(total >= 300, "the suite has {total} cases; at least 300");
}
