//! Running the rule table on one household: when a visit is accepted, when household data
//! change, when department data arrive. Each rule that fires opens a finding (or refreshes the
//! open one of its type: at most one open finding per household and type); a rule whose standard
//! is missing in the household's district is counted as a gap, never guessed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use jiuzhu_proto::finding::FindingSource;
use jiuzhu_proto::rule::RuleOutcome;
use serde_json::{Map, Value as Json};

use super::facts::{self, Sources};
use super::RuleRun;
use crate::db::repo::findings::{self as finding_repo, FindingRow};
use crate::db::repo::{
    households as household_repo, standards as standard_repo, visits as visit_repo,
};
use crate::db::schema::households;
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

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

/// Evaluates every enabled rule on a household, inside the caller's transaction.
pub fn household(
    conn: &mut AnyConnection,
    state: &AppState,
    household_id: &str,
    trigger: Trigger<'_>,
    signals: &Map<String, Json>,
    now: NaiveDateTime,
) -> ApiResult<Evaluation> {
    // Holding the household's row serialises evaluations of one household (PostgreSQL), so two
    // cannot both open "the" finding of a type.
    let locked = diesel::update(households::table.find(household_id))
        .set(households::version.eq(households::version))
        .execute(conn)?;
    if locked == 0 {
        return Err(ApiError::not_found());
    }
    let household: household_repo::HouseholdRow = households::table
        .find(household_id)
        .select(household_repo::HouseholdRow::as_select())
        .first(conn)?;
    let members = household_repo::members_of(conn, household_id)?;
    let visit = match visit_repo::latest_approved(conn, household_id)? {
        Some(row) => Some(crate::visits::open_answers(&row, &state.cipher)?),
        None => None,
    };
    let today = crate::registry::today();
    let district = facts::district_code(&household.org_path).unwrap_or("");
    let standard = standard_repo::in_force(conn, district, today)?;
    let facts = facts::gather(&Sources {
        household: &household,
        members: &members,
        visit: visit.as_ref(),
        standard: standard.as_ref(),
        signals,
        today,
    });

    let mut evaluation = Evaluation::default();
    for row in standard_repo::latest_rules(conn)? {
        let version = u32::try_from(row.version).unwrap_or(0);
        let rule = match state.rules.get(&row.id, version, &row.definition) {
            Ok(rule) => rule,
            Err(errors) => {
                let mut o = outcome(&row.id, version, "error");
                o.errors = errors;
                evaluation.outcomes.push(o);
                continue;
            }
        };
        if !rule.definition.enabled {
            continue;
        }
        match rule.run(&facts, today) {
            RuleRun::NotFired => evaluation
                .outcomes
                .push(outcome(&row.id, version, "not_fired")),
            RuleRun::Failed(errors) => {
                let mut o = outcome(&row.id, version, "error");
                o.errors = errors;
                evaluation.outcomes.push(o);
            }
            RuleRun::StandardMissing(missing) => {
                standard_repo::record_gap(
                    conn,
                    &row.id,
                    row.version,
                    if district.is_empty() { "-" } else { district },
                    &missing.join(","),
                    now,
                )?;
                let mut o = outcome(&row.id, version, "standard_missing");
                o.missing = missing;
                evaluation.outcomes.push(o);
            }
            RuleRun::Fired { inputs, computed } => {
                let (source, source_id) = trigger.source();
                let inputs = Json::Object(inputs).to_string();
                let computed = Json::Object(computed).to_string();
                let id = match finding_repo::open_of(conn, household_id, &row.id)? {
                    Some(open) => {
                        finding_repo::refresh(
                            conn,
                            &open.id,
                            Some(row.version),
                            source.as_str(),
                            source_id.as_deref(),
                            &inputs,
                            &computed,
                            now,
                        )?;
                        open.id
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
                            kind: row.id.clone(),
                            household_id: Some(household_id.to_owned()),
                            self_report_id: None,
                            org_path: household.org_path.clone(),
                            rule_id: Some(row.id.clone()),
                            rule_version: Some(row.version),
                            source: source.as_str().to_owned(),
                            source_id,
                            inputs,
                            computed,
                            categories: serde_json::to_string(&categories)
                                .map_err(ApiError::internal)?,
                            state: "open".into(),
                            reason: None,
                            application_id: None,
                            closed_by: None,
                            closed_at: None,
                            created_at: now,
                            updated_at: now,
                        };
                        finding_repo::insert(conn, &finding)?;
                        evaluation.opened.push(finding.id.clone());
                        finding.id
                    }
                };
                evaluation.findings.push(id);
                evaluation.outcomes.push(outcome(&row.id, version, "fired"));
            }
        }
    }
    Ok(evaluation)
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
