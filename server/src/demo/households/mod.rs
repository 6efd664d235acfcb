//! The demo city's households: a deterministic, synthetic population for 天宁区 (who lives with
//! whom, ages, ID numbers, health, disability, work, income, assistance status), registered through
//! the same validation and sealing as real households. Loading again adds nothing.
//!
//! Randomness comes from a hand-written SplitMix64 seeded per household, not from `rand`: `StdRng`
//! is documented as free to change its stream between rand releases, and the demo city must stay
//! the same after a dependency update. Seeding per household also means the first N households
//! are the same whatever the total, so a small test load is a prefix of `--demo`. (Incomes and
//! grid weights use `ln`, `exp` and `cos` from the platform's maths library, whose last bit may
//! differ between platforms; on one platform the output never changes.)
//!
//! Every number here shapes synthetic data only. The assistance rules read their thresholds from
//! dated configuration; [`ASSUMED_DIBAO_LINE_FEN`] just decides who the demo city's poor are.
//!
//! Here: [`load`], which registers the households. [`Generator`] (`generator`) makes household
//! `index` in the steps of the sibling modules: `grids` (which grid, the point, the address),
//! `families` (who lives together, their ages), `health` (illness, disability, daily living),
//! `income` (where the household stands, work, income by source), `status` (assistance status and
//! tags), `identity` (origin, ID numbers, phones) and `names`; `rng` is the randomness they share.

mod families;
mod generator;
mod grids;
mod health;
mod identity;
mod income;
mod names;
mod rng;
mod status;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use serde_json::json;

pub use generator::{DemoHousehold, Generator};

use crate::audit::{self, AuditEntry};
use crate::crypto::FieldCipher;
use crate::db::repo::households as repo;
use crate::db::repo::org_units;
use crate::db::{self, AnyConnection};
use crate::error::{ApiError, ApiResult};
use crate::registry::{validate, write};

/// How many households `--demo` registers.
pub const FULL_COUNT: usize = 20_000;
/// External ids are `demo-000001` … `demo-020000`.
pub const EXTERNAL_ID_PREFIX: &str = "demo-";
/// 1,000 yuan per person per month, near 常州's urban dibao standard: households below it are the
/// demo city's poor. Only the generator uses it.
pub const ASSUMED_DIBAO_LINE_FEN: i64 = 100_000;
/// Households per transaction: a failed load keeps what it committed, and a rerun resumes.
const BATCH: usize = 1_000;

/// What loading the households did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HouseholdsReport {
    pub created: usize,
    /// Already registered (same external id) and left alone.
    pub existing: usize,
    /// Skipped because a member's ID number is already in another household.
    pub conflicting: usize,
}

/// The external id of the `index`-th (0-based) demo household.
pub fn external_id(index: usize) -> String {
    format!("{EXTERNAL_ID_PREFIX}{:06}", index + 1)
}

/// The day ages are counted on: 1 January of this year (Beijing time). Fixed for a year, so two
/// loads on different days agree, and never in the future, so no birth date is.
pub fn reference_date(today: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today)
}

/// Whole years from `birth` to `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Registers the first `count` demo households in the demo district's grids (idempotent).
pub fn load(
    conn: &mut AnyConnection,
    cipher: &FieldCipher,
    district_code: &str,
    count: usize,
) -> ApiResult<HouseholdsReport> {
    let mut report = HouseholdsReport::default();
    if count == 0 {
        return Ok(report);
    }
    let started = std::time::Instant::now();
    // The lookup the server itself uses, built from the stored boundaries: a point placed in a
    // grid here is placed back in that grid by every later lookup.
    let (lookup, _) = crate::grid_index::load(conn)?;
    let today = crate::domain::time::today();
    let mut city = Generator::new(&lookup, district_code, reference_date(today));
    if city.grids.is_empty() {
        return Err(ApiError::internal(anyhow::anyhow!(
            "the demo district {district_code} has no grids to put households in"
        )));
    }
    let mut choices: HashMap<String, write::GridChoice> = HashMap::new();
    for g in &city.grids {
        let id = &lookup.grids()[g.entry].key.id;
        let row = org_units::find_by_id(conn, id)?.ok_or_else(ApiError::not_found)?;
        choices.insert(
            id.clone(),
            write::GridChoice {
                grid_id: row.id,
                org_path: row.path,
                overridden: false,
            },
        );
    }
    let now = db::now();
    for start in (0..count).step_by(BATCH) {
        let end = (start + BATCH).min(count);
        // Every household is generated, even ones already stored: later ones depend on the
        // ID numbers handed out before them.
        let drafts = (start..end)
            .map(|i| city.household(i))
            .collect::<Option<Vec<DemoHousehold>>>()
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "no point in the demo grids that the grid lookup recognises"
                ))
            })?;
        let ids: Vec<String> = (start..end).map(external_id).collect();
        let existing: HashSet<String> = repo::existing_external_ids(conn, &ids)?
            .into_iter()
            .collect();
        let mut batch = Vec::with_capacity(drafts.len());
        for draft in drafts {
            if draft
                .input
                .external_id
                .as_ref()
                .is_some_and(|e| existing.contains(e))
            {
                report.existing += 1;
                continue;
            }
            let valid = validate::household(draft.input).map_err(|errors| {
                // Field paths and codes only: the generator made a household the registry
                // refuses, which is a bug here, not bad input.
                let codes: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.code))
                    .collect();
                ApiError::internal(anyhow::anyhow!(
                    "demo household refused by validation: {}",
                    codes.join(", ")
                ))
            })?;
            let grid = choices
                .get(&draft.grid_id)
                .ok_or_else(ApiError::not_found)?;
            batch.push(write::build(cipher, &valid, grid, None, now, today)?);
        }
        if batch.is_empty() {
            continue;
        }
        let (created, conflicting) = db::write_transaction(conn, |conn| {
            // The one-household-per-number rule holds for the demo too: a number some real
            // household already has keeps its household, and the demo one is left out.
            let members: Vec<_> = batch
                .iter()
                .flat_map(|n| n.members.iter().cloned())
                .collect();
            let taken: HashSet<Vec<u8>> = write::find_clashes(conn, &members, None)?
                .into_iter()
                .map(|c| c.id_blind)
                .collect();
            let before = batch.len();
            batch.retain(|n| !n.members.iter().any(|m| taken.contains(&m.id_blind)));
            write::insert_all(conn, &batch)?;
            Ok::<_, ApiError>((batch.len(), before - batch.len()))
        })?;
        report.created += created;
        report.conflicting += conflicting;
    }
    if report.created > 0 {
        let district = org_units::find_by_code(conn, district_code)?;
        db::write_transaction(conn, |conn| {
            audit::record(
                conn,
                AuditEntry {
                    actor_id: None,
                    action: "household.demo_load",
                    entity: "org_unit",
                    entity_id: district.as_ref().map_or("", |d| d.id.as_str()),
                    org_path: district.as_ref().map_or("", |d| d.path.as_str()),
                    detail: json!({
                        "created": report.created,
                        "existing": report.existing,
                        "conflicting": report.conflicting,
                    }),
                },
            )
        })?;
    }
    tracing::info!(
        created = report.created,
        existing = report.existing,
        conflicting = report.conflicting,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo households loaded"
    );
    Ok(report)
}
