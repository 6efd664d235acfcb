//! The writing stage: checks against the database, then batch inserts (SQLite's prepared rows or
//! PostgreSQL's COPY, in `db::repo::households`).

use std::collections::{HashMap, HashSet};

use super::pipeline::{row_error, Item, Judge};
use super::{ImportContext, ImportError, ImportReport, Progress};
use crate::audit::{self, AuditEntry};
use crate::db::repo::households::{self as repo, HouseholdRow, MemberRow, StatusRow};
use crate::db::{self, AnyConnection};
use crate::error::ApiResult;
use crate::registry::write::{self, Clash, NewHousehold};
use crate::rules::evaluate::Pending;

/// Values per `IN (…)` lookup: well under SQLite's limit of 32,766 bound parameters.
pub(super) const LOOKUP_CHUNK: usize = 5000;

/// The writing stage: the database checks and the batch inserts.
pub(super) struct Writer<'a> {
    pub(super) ctx: &'a ImportContext<'a>,
    /// The rules, for a new household the rules stage took for one on file.
    pub(super) judge: Judge<'a>,
    /// Conflicts already recorded in this run (id blind, existing household, attempted).
    pub(super) existing_conflicts: HashSet<(Vec<u8>, String, String)>,
    /// PostgreSQL's planner statistics, refreshed as the tables grow.
    pub(super) statistics: db::GrowingTables,
}

impl Writer<'_> {
    pub(super) fn write(
        &mut self,
        conn: &mut AnyConnection,
        items: Vec<Item>,
        report: &mut ImportReport,
        progress: &mut Progress<'_>,
    ) -> Result<(), ImportError> {
        self.statistics.grown_to(conn, report.households_created)?;
        // The checks and the inserts in one write transaction: on SQLite it holds the write lock,
        // so no other writer can register the same household or number in between; on
        // PostgreSQL an advisory lock does the same for concurrent imports.
        db::write_transaction(conn, |conn| {
            self.write_locked(conn, items, report, progress)
        })
    }

    fn write_locked(
        &mut self,
        conn: &mut AnyConnection,
        items: Vec<Item>,
        report: &mut ImportReport,
        progress: &mut Progress<'_>,
    ) -> Result<(), ImportError> {
        crate::registry::write::lock_id_numbers(conn)?;
        let external_ids: Vec<String> = items
            .iter()
            .filter_map(|i| match i {
                Item::Ready(p) => Some(p.external_id.clone()),
                Item::Rejected { .. } => None,
            })
            .collect();
        let mut existing: HashMap<String, String> = HashMap::new();
        for chunk in external_ids.chunks(LOOKUP_CHUNK) {
            existing.extend(repo::paths_of_external_ids(conn, chunk)?);
        }
        let blinds: Vec<Vec<u8>> = items
            .iter()
            .filter_map(|i| match i {
                Item::Ready(p) if !existing.contains_key(&p.external_id) => Some(p),
                _ => None,
            })
            .flat_map(|p| p.new.members.iter().map(|m| m.id_blind.clone()))
            .collect();
        let mut holders: HashMap<Vec<u8>, (String, String)> = HashMap::new();
        for chunk in blinds.chunks(LOOKUP_CHUNK) {
            for (blind, household, path) in repo::holders_of(conn, chunk, None)? {
                holders.entry(blind).or_insert((household, path));
            }
        }
        let mut accepted: Vec<NewHousehold> = Vec::new();
        let mut findings = Pending::default();
        let mut clashes: Vec<(Vec<Clash>, String, String)> = Vec::new();
        for item in items {
            let p = match item {
                Item::Rejected { rows, errors } => {
                    report.reject(rows, errors);
                    continue;
                }
                Item::Ready(p) => *p,
            };
            let rows = p.member_lines.len() as u64;
            if let Some(path) = existing.get(&p.external_id) {
                if self.ctx.scope.contains(path) {
                    report.households_unchanged += 1;
                } else {
                    report.reject(
                        rows,
                        vec![row_error(
                            p.first_line,
                            "household_external_id",
                            "external_id_taken",
                            "此户编号已被辖区外的户使用 / this household_external_id belongs to a household outside your area",
                        )],
                    );
                }
                continue;
            }
            let found: Vec<Clash> = p
                .new
                .members
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    holders.get(&m.id_blind).map(|(h, path)| Clash {
                        member_index: i,
                        id_blind: m.id_blind.clone(),
                        id_masked: m.id_masked.clone(),
                        existing_household_id: h.clone(),
                        existing_org_path: path.clone(),
                    })
                })
                .collect();
            if !found.is_empty() {
                let errors = found
                    .iter()
                    .map(|c| {
                        row_error(
                            p.member_lines.get(c.member_index).copied().unwrap_or(p.first_line),
                            "id_number",
                            "id_number_conflict",
                            "该身份证号已登记在另一户，已记为冲突待社工处理 / this ID number is already in another household; recorded as a conflict for the coordinators",
                        )
                    })
                    .collect();
                report.reject(rows, errors);
                let attempted = format!("household.import {}", p.external_id);
                clashes.push((found, attempted, p.new.row.org_path.clone()));
                continue;
            }
            // Later households in this file clash with this one.
            for m in &p.new.members {
                holders.insert(
                    m.id_blind.clone(),
                    (p.new.row.id.clone(), p.new.row.org_path.clone()),
                );
            }
            findings.append(match p.findings {
                Some(f) => f,
                None => self.judge.judge(&p.new)?,
            });
            accepted.push(p.new);
        }
        report.households_created += accepted.len() as u64;
        let rows = Rows::from(accepted);
        let ctx = self.ctx;
        repo::insert_new_bulk(conn, &rows.households, &rows.members)?;
        repo::insert_tag_rows(conn, &rows.tags)?;
        repo::insert_statuses(conn, &rows.statuses)?;
        // The rules' findings on the new households (the rules stage evaluated them), in the
        // transaction that stores them: a household on file has been evaluated.
        report.findings_opened += findings.opened() as u64;
        findings.write(conn, db::now())?;
        for (found, attempted, path) in &clashes {
            let fresh = new_conflicts(conn, &mut self.existing_conflicts, found, attempted)?;
            if !fresh.is_empty() {
                write::record_clashes(conn, &fresh, attempted, path, ctx.actor)?;
                report.conflicts_recorded += fresh.len() as u64;
            }
        }
        if !rows.households.is_empty() {
            audit::record(
                conn,
                AuditEntry {
                    actor_id: ctx.actor,
                    action: "household.import",
                    entity: "import",
                    entity_id: ctx.run_id,
                    org_path: ctx.scope.path(),
                    detail: serde_json::json!({
                        "households": rows.households.len(),
                        "members": rows.members.len(),
                    }),
                },
            )?;
        }
        progress(conn, report)?;
        Ok(())
    }
}

/// A batch's rows by table, moved (not copied) out of the built households.
#[derive(Default)]
struct Rows {
    households: Vec<HouseholdRow>,
    members: Vec<MemberRow>,
    tags: Vec<(String, String)>,
    statuses: Vec<StatusRow>,
}

impl From<Vec<NewHousehold>> for Rows {
    fn from(batch: Vec<NewHousehold>) -> Self {
        let mut rows = Rows {
            households: Vec::with_capacity(batch.len()),
            members: Vec::with_capacity(batch.len() * 3),
            ..Default::default()
        };
        for n in batch {
            rows.tags
                .extend(n.tags.into_iter().map(|t| (n.row.id.clone(), t)));
            rows.statuses.extend(n.status);
            rows.members.extend(n.members);
            rows.households.push(n.row);
        }
        rows
    }
}

/// The clashes not yet on file as open conflicts for the same import row, so importing a file
/// again does not record the same conflict twice.
// disallowed_methods: binary blind indexes, which db::one_of (text ids) does not take.
#[allow(clippy::disallowed_methods)]
fn new_conflicts(
    conn: &mut AnyConnection,
    known: &mut HashSet<(Vec<u8>, String, String)>,
    found: &[Clash],
    attempted: &str,
) -> ApiResult<Vec<Clash>> {
    let blinds: Vec<&[u8]> = found.iter().map(|c| c.id_blind.as_slice()).collect();
    let on_file = repo::open_conflicts_of(conn, attempted, &blinds)?;
    let mut fresh = Vec::new();
    for c in found {
        let key = (
            c.id_blind.clone(),
            c.existing_household_id.clone(),
            attempted.to_owned(),
        );
        let stored = on_file
            .iter()
            .any(|(b, h)| *b == c.id_blind && *h == c.existing_household_id);
        if !stored && known.insert(key) {
            fresh.push(c.clone());
        }
    }
    Ok(fresh)
}
