//! Running the rule table on one household: when a visit is accepted, when household data
//! change, when department data arrive. Each rule that fires opens a finding (or refreshes the
//! open one of its type: at most one open finding per household and type); a rule whose standard
//! is missing in the household's district is counted as a gap, never guessed.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use jiuzhu_proto::finding::{FindingSource, FindingState};
use jiuzhu_proto::rule::RuleOutcome;
use serde_json::{Map, Value as Json};

use super::facts::{self, Sources};
use super::{Engine, RuleRun};
use crate::db::repo::findings::{self as finding_repo, FindingRow};
use crate::db::repo::standards::StandardRow;
use crate::db::repo::{
    households as household_repo, standards as standard_repo, visits as visit_repo,
};
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};

/// Why the rules run.
#[derive(Debug, Clone, Copy)]
pub enum Trigger<'a> {
    /// A visit was accepted (its id).
    Visit(&'a str),
    /// The household's registry data changed.
    Household,
    /// A department's record matched a member (source name and record id).
    Department(&'a str),
}

impl Trigger<'_> {
    fn source(&self) -> (FindingSource, Option<String>) {
        match self {
            Trigger::Visit(id) => (FindingSource::Visit, Some((*id).to_owned())),
            Trigger::Household => (FindingSource::Household, None),
            Trigger::Department(id) => (FindingSource::Department, Some((*id).to_owned())),
        }
    }
}

/// What one evaluation did.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub outcomes: Vec<RuleOutcome>,
    /// Findings opened or refreshed.
    pub findings: Vec<String>,
    /// Findings opened by this evaluation.
    pub opened: Vec<String>,
}

fn outcome(rule_id: &str, version: u32, result: &str) -> RuleOutcome {
    RuleOutcome {
        rule_id: rule_id.to_owned(),
        rule_version: version,
        result: result.to_owned(),
        missing: Vec::new(),
        errors: Vec::new(),
    }
}

/// One household to evaluate, why, and what department data say about it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub household_id: &'a str,
    pub trigger: Trigger<'a>,
    pub signals: &'a Map<String, Json>,
}

/// Households per query of [`households`]: well under either backend's bound-parameter limit.
const CHUNK: usize = 500;

/// Evaluates every enabled rule on a household, inside the caller's transaction.
pub fn household(
    conn: &mut AnyConnection,
    engine: &Engine<'_>,
    household_id: &str,
    trigger: Trigger<'_>,
    signals: &Map<String, Json>,
    now: NaiveDateTime,
) -> ApiResult<Evaluation> {
    let subject = Subject {
        household_id,
        trigger,
        signals,
    };
    households(conn, engine, &[subject], now)?
        .pop()
        .flatten()
        .ok_or_else(ApiError::not_found)
}

/// Evaluates every enabled rule on each subject, inside the caller's transaction: what each
/// evaluation reads (households, members, latest accepted visits, standards, open findings, the
/// rule table) is read a chunk of households at a time, and the facts are validated once per
/// household for all rules together ([`super::RuleSet`]). The result follows `subjects`; a
/// household that does not exist gives `None`.
pub fn households(
    conn: &mut AnyConnection,
    engine: &Engine<'_>,
    subjects: &[Subject<'_>],
    now: NaiveDateTime,
) -> ApiResult<Vec<Option<Evaluation>>> {
    let today = crate::domain::time::today();
    let rules = engine.book.set(&standard_repo::latest_rules(conn)?);
    let mut standards: HashMap<String, Option<StandardRow>> = HashMap::new();
    // A missing standard is counted once per (rule, district) and call.
    let mut gaps: BTreeSet<(String, i32, String, String)> = BTreeSet::new();
    let mut results = Vec::with_capacity(subjects.len());
    for chunk in subjects.chunks(CHUNK) {
        let mut ids: Vec<String> = chunk.iter().map(|s| s.household_id.to_owned()).collect();
        ids.sort_unstable();
        ids.dedup();
        lock(conn, &ids)?;
        let rows: HashMap<String, household_repo::HouseholdRow> =
            household_repo::find_many(conn, &ids)?
                .into_iter()
                .map(|h| (h.id.clone(), h))
                .collect();
        let mut members: HashMap<String, Vec<household_repo::MemberRow>> = HashMap::new();
        for m in household_repo::members_of_many(conn, &ids)? {
            members.entry(m.household_id.clone()).or_default().push(m);
        }
        let mut visits: HashMap<String, Json> = HashMap::new();
        for row in visit_repo::latest_approved_of_many(conn, &ids)? {
            let answers = crate::answers::open_answers(&row, engine.cipher)?;
            visits.insert(row.household_id.clone(), answers);
        }
        let mut open: HashMap<(String, String), String> = HashMap::new();
        for f in finding_repo::open_of_many(conn, &ids)? {
            if let Some(h) = f.household_id {
                open.insert((h, f.kind), f.id);
            }
        }
        let mut opened: Vec<FindingRow> = Vec::new();
        let mut refreshed: Vec<finding_repo::Refresh> = Vec::new();
        for subject in chunk {
            let Some(household) = rows.get(subject.household_id) else {
                results.push(None);
                continue;
            };
            let district = facts::district_code(&household.org_path).unwrap_or("");
            let standard = match standards.get(district) {
                Some(s) => s.clone(),
                None => {
                    let s = standard_repo::in_force(conn, district, today)?;
                    standards.insert(district.to_owned(), s.clone());
                    s
                }
            };
            let no_members = Vec::new();
            let facts = facts::gather(&Sources {
                household,
                members: members.get(subject.household_id).unwrap_or(&no_members),
                visit: visits.get(subject.household_id),
                standard: standard.as_ref(),
                signals: subject.signals,
                today,
            });
            let mut evaluation = Evaluation::default();
            for (id, version, errors) in &rules.broken {
                let mut o = outcome(id, u32::try_from(*version).unwrap_or(0), "error");
                o.errors = errors.clone();
                evaluation.outcomes.push(o);
            }
            let runs = rules.run(&facts, today);
            for ((version, rule), run) in rules.rules.iter().zip(runs) {
                let rule_id = rule.definition.id.as_str();
                let v = u32::try_from(*version).unwrap_or(0);
                match run {
                    RuleRun::NotFired => evaluation.outcomes.push(outcome(rule_id, v, "not_fired")),
                    RuleRun::Failed(errors) => {
                        let mut o = outcome(rule_id, v, "error");
                        o.errors = errors;
                        evaluation.outcomes.push(o);
                    }
                    RuleRun::StandardMissing(missing) => {
                        let place = if district.is_empty() { "-" } else { district };
                        gaps.insert((
                            rule_id.to_owned(),
                            *version,
                            place.to_owned(),
                            missing.join(","),
                        ));
                        let mut o = outcome(rule_id, v, "standard_missing");
                        o.missing = missing;
                        evaluation.outcomes.push(o);
                    }
                    RuleRun::Fired { inputs, computed } => {
                        let (source, source_id) = subject.trigger.source();
                        // Evidence is stored unsealed: numbers from answers are masked in it.
                        let mut inputs = Json::Object(inputs);
                        let mut computed = Json::Object(computed);
                        crate::domain::free_text::mask_json(&mut inputs);
                        crate::domain::free_text::mask_json(&mut computed);
                        let (inputs, computed) = (inputs.to_string(), computed.to_string());
                        let key = (subject.household_id.to_owned(), rule_id.to_owned());
                        let id = match open.get(&key) {
                            Some(open_id) => {
                                refreshed.push(finding_repo::Refresh {
                                    id: open_id.clone(),
                                    rule_version: Some(*version),
                                    source: source.as_str().to_owned(),
                                    source_id,
                                    inputs,
                                    computed,
                                    updated_at: now,
                                });
                                open_id.clone()
                            }
                            None => {
                                let categories: Vec<&str> = rule
                                    .definition
                                    .categories
                                    .iter()
                                    .map(|c| c.as_str())
                                    .collect();
                                let finding = FindingRow {
                                    id: uuid::Uuid::now_v7().to_string(),
                                    kind: rule_id.to_owned(),
                                    household_id: Some(subject.household_id.to_owned()),
                                    self_report_id: None,
                                    org_path: household.org_path.clone(),
                                    rule_id: Some(rule_id.to_owned()),
                                    rule_version: Some(*version),
                                    source: source.as_str().to_owned(),
                                    source_id,
                                    inputs,
                                    computed,
                                    categories: serde_json::to_string(&categories)
                                        .map_err(ApiError::internal)?,
                                    state: FindingState::Open.as_str().into(),
                                    reason: None,
                                    application_id: None,
                                    closed_by: None,
                                    closed_at: None,
                                    created_at: now,
                                    updated_at: now,
                                };
                                // A later subject of the same household refreshes it.
                                open.insert(key, finding.id.clone());
                                evaluation.opened.push(finding.id.clone());
                                let id = finding.id.clone();
                                opened.push(finding);
                                id
                            }
                        };
                        evaluation.findings.push(id);
                        evaluation.outcomes.push(outcome(rule_id, v, "fired"));
                    }
                }
            }
            results.push(Some(evaluation));
        }
        // Written once per chunk, in the order they were made: nothing above reads them back
        // (the open findings of the chunk are in `open`).
        finding_repo::insert_many(conn, &opened)?;
        finding_repo::refresh_many(conn, &refreshed)?;
    }
    for (rule_id, version, district, missing) in gaps {
        standard_repo::record_gap(conn, &rule_id, version, &district, &missing, now)?;
    }
    Ok(results)
}

/// Holds the households' rows until the transaction ends, so two evaluations of one household
/// cannot both open "the" finding of a type ([`household_repo::lock_rows`]).
fn lock(conn: &mut AnyConnection, ids: &[String]) -> ApiResult<()> {
    Ok(household_repo::lock_rows(conn, ids)?)
}

/// Stores the default rule table as version 1 of each rule, unless there are rules already.
pub fn load_default_table(conn: &mut AnyConnection, now: NaiveDateTime) -> ApiResult<usize> {
    if standard_repo::any_rule(conn)? {
        return Ok(0);
    }
    let table = super::parse_table(super::DEFAULT_TABLE)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("the default rule table: {e}")))?;
    let mut n = 0;
    for definition in table {
        let compiled = super::compile(definition, 1).map_err(ApiError::validation)?;
        standard_repo::insert_rule(
            conn,
            &standard_repo::RuleRow {
                id: compiled.definition.id.clone(),
                version: 1,
                definition: serde_json::to_string(&compiled.definition)
                    .map_err(ApiError::internal)?,
                created_by: None,
                created_at: now,
            },
        )?;
        n += 1;
    }
    Ok(n)
}
