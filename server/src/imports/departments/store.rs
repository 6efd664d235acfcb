//! The first pass: a batch of records checked against those already on file, matched to members
//! through the ID blind index, and stored.

use std::collections::{BTreeSet, HashMap, HashSet};

use jiuzhu_proto::department::DepartmentSource;
use serde_json::Value as Json;

use super::record::Record;
use super::{Importer, Totals};
use crate::db::repo::departments::{self as repo, RecordRow};
use crate::db::{self, AnyConnection};
use crate::error::ApiResult;
use crate::registry::ID_INDEX;

/// Rows per `IN (…)` list.
const QUERY_CHUNK: usize = 1000;

pub(super) fn write_batch(
    conn: &mut AnyConnection,
    who: &Importer<'_>,
    source: DepartmentSource,
    import_id: &str,
    records: Vec<Record>,
    totals: &mut Totals,
    earlier: &mut BTreeSet<String>,
) -> ApiResult<()> {
    let now = db::now();
    // Already imported by an earlier file: left alone.
    let ids: Vec<&str> = records.iter().map(|r| r.record_id.as_str()).collect();
    let mut known: HashSet<String> = HashSet::new();
    for chunk in ids.chunks(QUERY_CHUNK) {
        let found = repo::known_records(conn, source.as_str(), chunk)?;
        for (record, import) in found {
            known.insert(record);
            earlier.insert(import);
        }
    }
    let fresh: Vec<Record> = records
        .into_iter()
        .filter(|r| {
            let dup = known.contains(&r.record_id);
            if dup {
                totals.duplicates += 1;
            }
            !dup
        })
        .collect();
    let blinds: Vec<Vec<u8>> = fresh
        .iter()
        .map(|r| {
            who.rules
                .cipher
                .blind_index(ID_INDEX, r.id.as_str())
                .to_vec()
        })
        .collect();
    let unique: Vec<Vec<u8>> = blinds
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut by_blind: HashMap<Vec<u8>, (String, String)> = HashMap::new();
    for chunk in unique.chunks(QUERY_CHUNK) {
        let found = crate::db::repo::households::members_by_blind_in_scope(conn, who.scope, chunk)?;
        by_blind.extend(found.into_iter().map(|(b, m, h)| (b, (m, h))));
    }
    let rows: Vec<RecordRow> = fresh
        .into_iter()
        .zip(blinds)
        .map(|(r, blind)| {
            let hit = by_blind.get(&blind);
            if hit.is_some() {
                totals.matched += 1;
            } else {
                totals.unmatched += 1;
            }
            RecordRow {
                source: source.as_str(),
                record_id: r.record_id,
                import_id,
                line: r.line as i64,
                id_masked: r.id.masked(),
                id_blind: blind,
                member_id: hit.map(|h| h.0.clone()),
                household_id: hit.map(|h| h.1.clone()),
                event_date: r.event_date,
                amount_fen: r.amount_fen,
                detail: Json::Object(r.detail).to_string(),
                imported_at: now,
            }
        })
        .collect();
    repo::insert_records(conn, &rows)?;
    Ok(())
}
