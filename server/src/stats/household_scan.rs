//! Walks the households of a subtree a page at a time with the facts the rules read.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::crypto::FieldCipher;
use crate::db::repo::households::{self as household_repo, HouseholdRow};
use crate::db::repo::standards::{self as standard_repo, StandardRow};
use crate::db::repo::visits::VisitRow;
use crate::db::AnyConnection;
use crate::error::ApiResult;
use crate::rules::facts::{self, Sources};
use crate::scope::Scope;

const PAGE: u32 = 1000;

/// Calls `each(household, facts, has_accepted_visit)` for every household in `scope`.
pub fn scan(
    conn: &mut AnyConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    mut each: impl FnMut(&HouseholdRow, &Json, bool),
) -> ApiResult<()> {
    let today = crate::domain::time::today();
    let mut standards: HashMap<String, Option<StandardRow>> = HashMap::new();
    let no_signals = serde_json::Map::new();
    let mut after = String::new();
    loop {
        let page = household_repo::page_in_scope::<PAGE>(conn, scope, &after)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.id.clone();
        let ids: Vec<String> = page.iter().map(|h| h.id.clone()).collect();
        let mut members: HashMap<String, Vec<_>> = HashMap::new();
        for m in household_repo::members_of_many(conn, &ids)? {
            members.entry(m.household_id.clone()).or_default().push(m);
        }
        // The latest accepted visit of each household on the page.
        let mut latest: HashMap<String, VisitRow> = HashMap::new();
        let approved = crate::db::repo::visits::approved_of_many(conn, &ids)?;
        for v in approved {
            let newer = latest
                .get(&v.household_id)
                .is_none_or(|cur| (v.received_at, &v.id) > (cur.received_at, &cur.id));
            if newer {
                latest.insert(v.household_id.clone(), v);
            }
        }
        for h in &page {
            let district = facts::district_code(&h.org_path).unwrap_or("").to_owned();
            if !standards.contains_key(&district) {
                let found = standard_repo::in_force(conn, &district, today)?;
                standards.insert(district.clone(), found);
            }
            let visit = match latest.get(&h.id) {
                Some(v) => Some(crate::answers::open_answers(v, cipher)?),
                None => None,
            };
            let facts = facts::gather(&Sources {
                household: h,
                members: members.get(&h.id).map_or(&[][..], |m| &m[..]),
                visit: visit.as_ref(),
                standard: standards.get(&district).and_then(Option::as_ref),
                signals: &no_signals,
                today,
            });
            each(h, &facts, visit.is_some());
        }
    }
}
