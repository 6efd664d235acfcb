//! The second pass: the households the imports matched, evaluated a chunk at a time with the
//! signals their stored records carry, and a verify task where a finding opened.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use jiuzhu_proto::department::DepartmentSource;
use jiuzhu_proto::task::TaskKind;
use serde_json::{json, Map, Value as Json};

use super::{Importer, OnProgress, Totals};
use crate::db::repo::departments as repo;
use crate::db::{self, AnyConnection};
use crate::error::ApiResult;
use crate::rules::evaluate::{self, Subject, Trigger};

/// Households per evaluation transaction.
const EVALUATION_CHUNK: u32 = 1000;

/// The second pass: every household the imports matched, evaluated once, in chunks (keyset on
/// the household id, served by `department_records_import`).
// disallowed_methods: a constant limit still bound by diesel: to become limit_rows::<N>() (issue 20).
pub(super) fn evaluate_matched(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    imports: &[String],
    totals: &mut Totals,
    today: NaiveDate,
    progress: OnProgress<'_>,
) -> ApiResult<()> {
    let mut after = String::new();
    // Evaluation reads the open findings and verify tasks of each chunk, tables it grows.
    let mut written = db::GrowingTables::new(&["findings", "tasks"]);
    loop {
        let chunk = repo::matched_households_after::<EVALUATION_CHUNK>(conn, imports, &after)?;
        let Some(last) = chunk.last() else {
            return Ok(());
        };
        after = last.clone();
        db::write_transaction(conn, |conn| {
            evaluate_chunk(conn, who, imports, &chunk, totals, today)
        })?;
        totals.evaluated += chunk.len() as i64;
        written.grown_to(conn, totals.evaluated as u64)?;
        progress(conn, &totals.progress("evaluating"))?;
    }
}

/// Signals for a chunk of households from their stored records, then the rules, then verify
/// tasks where a finding opened.
fn evaluate_chunk(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    imports: &[String],
    households_ids: &[String],
    totals: &mut Totals,
    today: NaiveDate,
) -> ApiResult<()> {
    let now = db::now();
    let since = today - Duration::days(365);
    let mut signals: HashMap<String, Map<String, Json>> = HashMap::new();
    // Twelve months of out-of-pocket spending from every claim on file, in yuan: summed by the
    // database (a row per household, not one per claim).
    let claims = repo::amounts_since(
        conn,
        households_ids,
        DepartmentSource::MedicalClaims.as_str(),
        since,
    )?;
    for (household, fen) in claims {
        if let (Some(h), Some(fen)) = (household, fen) {
            if fen > 0 {
                signals
                    .entry(h)
                    .or_default()
                    .insert("medical_oop_12m".into(), json!(fen as f64 / 100.0));
            }
        }
    }
    // What these imports brought: the record named as the finding's source (the first by
    // `source:record_id`), and which sources carry signals of their own.
    let brought = repo::brought(conn, households_ids, imports)?;
    let mut first_record: HashMap<String, (String, String)> = HashMap::new();
    let mut signalling = false;
    for (household, source, record_id) in brought {
        let Some(household) = household else { continue };
        signalling |= matches!(
            DepartmentSource::parse(&source),
            Some(DepartmentSource::Disability | DepartmentSource::Deaths)
        );
        match first_record.get_mut(&household) {
            Some(t) => {
                if trigger_text(&source, &record_id).lt(trigger_text(&t.0, &t.1)) {
                    *t = (source, record_id);
                }
            }
            None => {
                first_record.insert(household, (source, record_id));
            }
        }
    }
    if signalling {
        signal_records(conn, imports, households_ids, since, &mut signals)?;
    }
    let none = Map::new();
    let triggers: Vec<String> = households_ids
        .iter()
        .map(|h| {
            first_record
                .get(h)
                .map(|(source, record)| format!("{source}:{record}"))
                .unwrap_or_default()
        })
        .collect();
    let subjects: Vec<Subject<'_>> = households_ids
        .iter()
        .zip(&triggers)
        .map(|(h, t)| Subject {
            household_id: h,
            trigger: Trigger::Department(t),
            signals: signals.get(h).unwrap_or(&none),
        })
        .collect();
    let evaluations = evaluate::households(conn, &who.rules, &subjects, now)?;
    let opened: Vec<&str> = households_ids
        .iter()
        .zip(&evaluations)
        .filter_map(|(h, e)| {
            let e = e.as_ref()?;
            totals.findings_opened += e.opened.len() as i64;
            (!e.opened.is_empty()).then_some(h.as_str())
        })
        .collect();
    totals.tasks_created += verify_tasks(conn, who, &opened, now)?;
    Ok(())
}

/// The bytes of `source:record_id`, to compare triggers as that text without making it per row.
fn trigger_text<'a>(source: &'a str, record_id: &'a str) -> impl Iterator<Item = u8> + 'a {
    source
        .as_bytes()
        .iter()
        .chain(b":")
        .chain(record_id.as_bytes())
        .copied()
}

/// The signals of the disability and death records these imports brought: a new severe
/// disability (levels 1–2, or 3 for intellectual and mental disability, within the year) and the
/// death of the household's main earner.
// disallowed_methods: a constant list of states: one statement text whatever the data.
fn signal_records(
    conn: &mut AnyConnection,
    imports: &[String],
    households_ids: &[String],
    since: NaiveDate,
    signals: &mut HashMap<String, Map<String, Json>>,
) -> ApiResult<()> {
    let rows = repo::brought_of_sources(
        conn,
        households_ids,
        imports,
        [
            DepartmentSource::Disability.as_str(),
            DepartmentSource::Deaths.as_str(),
        ],
    )?;
    for (household, member, source, date, detail) in rows {
        let Some(household) = household else { continue };
        match DepartmentSource::parse(&source) {
            Some(DepartmentSource::Disability) => {
                let detail: Map<String, Json> = serde_json::from_str(&detail).unwrap_or_default();
                let level = detail.get("level").and_then(Json::as_u64).unwrap_or(4);
                let kind = detail.get("type").and_then(Json::as_str).unwrap_or("");
                let severe =
                    level <= 2 || (level == 3 && matches!(kind, "intellectual" | "mental"));
                if severe && date >= since {
                    signals
                        .entry(household)
                        .or_default()
                        .insert("new_severe_disability".into(), Json::Bool(true));
                }
            }
            Some(DepartmentSource::Deaths) => {
                let earner = crate::db::repo::households::main_earner(conn, &household)?;
                if earner.is_some() && earner == member {
                    signals
                        .entry(household)
                        .or_default()
                        .insert("earner_died".into(), Json::Bool(true));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A verify task for each household's grid worker, unless one is open already.
// disallowed_methods: a constant list of states: one statement text whatever the data.
fn verify_tasks(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    household_ids: &[&str],
    now: NaiveDateTime,
) -> ApiResult<i64> {
    if household_ids.is_empty() {
        return Ok(0);
    }
    let busy: HashSet<String> = crate::db::repo::tasks::with_any_open_task(conn, household_ids)?
        .into_iter()
        .collect();
    let idle: Vec<&str> = household_ids
        .iter()
        .copied()
        .filter(|h| !busy.contains(*h))
        .collect();
    let paths: HashMap<String, String> = crate::db::repo::households::paths_of(conn, &idle)?
        .into_iter()
        .collect();
    let mut workers: HashMap<&str, Option<String>> = HashMap::new();
    for household_id in &idle {
        let Some(path) = paths.get(*household_id) else {
            continue;
        };
        if !workers.contains_key(path.as_str()) {
            let w = crate::db::repo::tasks::grid_workers(conn, path)?
                .into_iter()
                .next();
            workers.insert(path, w);
        }
    }
    let due = crate::domain::time::today() + Duration::days(7);
    let new: Vec<crate::tasks::NewTask<'_>> = idle
        .iter()
        .filter_map(|household_id| {
            let path = paths.get(*household_id)?;
            Some(crate::tasks::NewTask {
                kind: TaskKind::Verify,
                household_id,
                household_path: path,
                form_key: who.verify_form,
                assignee: workers.get(path.as_str()).and_then(|w| w.as_deref()),
                due_date: due,
                priority: 1,
                note: "部门数据预警，请入户核实 / an alert from department data: visit and verify",
                actor: who.actor,
            })
        })
        .collect();
    Ok(crate::tasks::create_many(conn, &new, now)?.len() as i64)
}
