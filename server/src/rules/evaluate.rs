//! Running the rule table on one household: when a visit is accepted, when household data
//! change, when department data arrive. Each rule that fires opens a finding (or refreshes the
//! open one of its type: at most one open finding per household and type); a rule whose standard
//! is missing in the household's district is counted as a gap, never guessed.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use jiuzhu_proto::finding::FindingSource;
use jiuzhu_proto::rule::RuleOutcome;
use serde_json::{Map, Value as Json};

use super::facts::{self, Sources};
use super::{Engine, RuleRun, RuleSet};
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
    let rules = rule_set(conn, engine)?;
    let mut standards = Standards::default();
    let mut pending = Pending::default();
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
        let mut open: OpenFindings = HashMap::new();
        for f in finding_repo::open_of_many(conn, &ids)? {
            if let Some(h) = f.household_id {
                open.insert((h, f.kind), f.id);
            }
        }
        for subject in chunk {
            let Some(household) = rows.get(subject.household_id) else {
                results.push(None);
                continue;
            };
            let no_members = Vec::new();
            let standard = standards.of(conn, &household.org_path, today)?;
            let sources = Sources {
                household,
                members: members.get(subject.household_id).unwrap_or(&no_members),
                visit: visits.get(subject.household_id),
                standard,
                signals: subject.signals,
                today,
            };
            let evaluation = judge(
                &rules,
                subject.trigger,
                &sources,
                &mut open,
                now,
                &mut pending,
            )?;
            results.push(Some(evaluation));
        }
        pending.write_findings(conn)?;
    }
    pending.write(conn, now)?;
    Ok(results)
}

/// The rule table in force: the latest version of each enabled rule, compiled.
pub fn rule_set(conn: &mut AnyConnection, engine: &Engine<'_>) -> ApiResult<Arc<RuleSet>> {
    Ok(engine.book.set(&standard_repo::latest_rules(conn)?))
}

/// A new household's evaluation, away from the database: a household not yet stored has no
/// visit and no open finding, so its own rows and the standard of its district are all its facts.
/// What it opens goes into `pending`, for the transaction that stores the household to write
/// ([`Pending::write`]). The CSV import runs this beside its writer, on the batch it is about to
/// insert; `rules` and `standards` are read before ([`Standards::load`]).
pub fn new_household(
    rules: &RuleSet,
    standards: &Standards,
    household: &household_repo::HouseholdRow,
    members: &[household_repo::MemberRow],
    today: NaiveDate,
    now: NaiveDateTime,
    pending: &mut Pending,
) -> ApiResult<Evaluation> {
    let none = Map::new();
    let sources = Sources {
        household,
        members,
        visit: None,
        standard: standards.loaded(&household.org_path)?,
        signals: &none,
        today,
    };
    judge(
        rules,
        Trigger::Household,
        &sources,
        &mut HashMap::new(),
        now,
        pending,
    )
}

/// Open findings by (household, type): at most one of each.
type OpenFindings = HashMap<(String, String), String>;

/// The standards in force by district, read once per district and evaluation run.
#[derive(Default)]
pub struct Standards(HashMap<String, Option<StandardRow>>);

impl Standards {
    /// The standards in force `on` in the districts of `org_paths`, read now for an evaluation
    /// away from the database ([`new_household`]).
    pub fn load<'p>(
        conn: &mut AnyConnection,
        org_paths: impl IntoIterator<Item = &'p str>,
        on: NaiveDate,
    ) -> ApiResult<Standards> {
        let mut standards = Standards::default();
        for path in org_paths {
            standards.of(conn, path, on)?;
        }
        Ok(standards)
    }

    fn of(
        &mut self,
        conn: &mut AnyConnection,
        org_path: &str,
        on: NaiveDate,
    ) -> ApiResult<Option<&StandardRow>> {
        let district = facts::district_code(org_path).unwrap_or("");
        if !self.0.contains_key(district) {
            let s = standard_repo::in_force(conn, district, on)?;
            self.0.insert(district.to_owned(), s);
        }
        Ok(self.0.get(district).and_then(Option::as_ref))
    }

    /// The standard of `org_path`'s district, which [`Standards::load`] must have read (a
    /// district it did not read is an error, never taken for one without a standard).
    fn loaded(&self, org_path: &str) -> ApiResult<Option<&StandardRow>> {
        let district = facts::district_code(org_path).unwrap_or("");
        match self.0.get(district) {
            Some(s) => Ok(s.as_ref()),
            None => Err(ApiError::internal(anyhow::anyhow!(
                "the standards of district {district:?} were not read before evaluating"
            ))),
        }
    }
}

/// What evaluations found, to write in the transaction that changed the facts: findings opened
/// and refreshed, in the order made, and the standards found missing.
#[derive(Default)]
pub struct Pending {
    opened: Vec<FindingRow>,
    refreshed: Vec<finding_repo::Refresh>,
    /// A missing standard is recorded once per (rule, version, district, missing) and run.
    gaps: BTreeSet<(String, i32, String, String)>,
}

impl Pending {
    /// Findings opened and not yet written.
    pub fn opened(&self) -> usize {
        self.opened.len()
    }

    /// Takes in another evaluation's findings, after these.
    pub fn append(&mut self, mut other: Pending) {
        self.opened.append(&mut other.opened);
        self.refreshed.append(&mut other.refreshed);
        self.gaps.append(&mut other.gaps);
    }

    /// Writes the findings made so far (nothing reads them back in between).
    fn write_findings(&mut self, conn: &mut AnyConnection) -> ApiResult<()> {
        finding_repo::insert_many(conn, &self.opened)?;
        finding_repo::refresh_many(conn, &self.refreshed)?;
        self.opened.clear();
        self.refreshed.clear();
        Ok(())
    }

    /// Writes everything, in the caller's transaction.
    pub fn write(mut self, conn: &mut AnyConnection, now: NaiveDateTime) -> ApiResult<()> {
        self.write_findings(conn)?;
        for (rule_id, version, district, missing) in &self.gaps {
            standard_repo::record_gap(conn, rule_id, *version, district, missing, now)?;
        }
        Ok(())
    }
}

/// Runs the rule set on one household's facts: each rule that fires opens a finding, or
/// refreshes the one open of its type (`open`, updated with what opens here).
fn judge(
    rules: &RuleSet,
    trigger: Trigger<'_>,
    sources: &Sources<'_>,
    open: &mut OpenFindings,
    now: NaiveDateTime,
    pending: &mut Pending,
) -> ApiResult<Evaluation> {
    let household = sources.household;
    let district = facts::district_code(&household.org_path).unwrap_or("");
    let facts = facts::gather(sources);
    let mut evaluation = Evaluation::default();
    for (id, version, errors) in &rules.broken {
        let mut o = outcome(id, u32::try_from(*version).unwrap_or(0), "error");
        o.errors = errors.clone();
        evaluation.outcomes.push(o);
    }
    let runs = rules.run(&facts, sources.today);
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
                pending.gaps.insert((
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
                let (source, source_id) = trigger.source();
                // Evidence is stored unsealed: numbers from answers are masked in it.
                let mut inputs = Json::Object(inputs);
                let mut computed = Json::Object(computed);
                crate::domain::free_text::mask_json(&mut inputs);
                crate::domain::free_text::mask_json(&mut computed);
                let (inputs, computed) = (inputs.to_string(), computed.to_string());
                let key = (household.id.clone(), rule_id.to_owned());
                let id = match open.get(&key) {
                    Some(open_id) => {
                        pending.refreshed.push(finding_repo::Refresh {
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
                            household_id: Some(household.id.clone()),
                            rule_id: Some(rule_id.to_owned()),
                            rule_version: Some(*version),
                            source_id,
                            ..FindingRow::open(
                                rule_id,
                                &household.org_path,
                                source,
                                &categories,
                                inputs,
                                computed,
                                now,
                            )
                            .map_err(ApiError::internal)?
                        };
                        // A later subject of the same household refreshes it.
                        open.insert(key, finding.id.clone());
                        evaluation.opened.push(finding.id.clone());
                        let id = finding.id.clone();
                        pending.opened.push(finding);
                        id
                    }
                };
                evaluation.findings.push(id);
                evaluation.outcomes.push(outcome(rule_id, v, "fired"));
            }
        }
    }
    Ok(evaluation)
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
