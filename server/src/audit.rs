//! The append-only, hash-chained record of writes and sensitive reads. Each row's hash covers its
//! content and the previous row's hash, so editing or deleting a row breaks every hash after it
//! (`jiuzhu audit verify`). Details never hold personal data: ids and reasons, not ID numbers.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::limit::FirstRow;
use crate::db::schema::{audit_head, audit_log};
use crate::db::AnyConnection;
use crate::error::ApiResult;

/// What happened, to what, by whom.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    /// The org path of the entity, so audit reads can be scoped like everything else.
    pub org_path: &'a str,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub org_path: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

fn chain_hash(
    prev: &str,
    seq: i64,
    at: NaiveDateTime,
    row: &AuditEntry<'_>,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &seq.to_string(),
        &at.and_utc().timestamp_micros().to_string(),
        row.actor_id.unwrap_or(""),
        row.action,
        row.entity,
        row.entity_id,
        row.org_path,
        detail,
    ] {
        // Length-prefixed, so no two different rows hash the same by shifting text between fields.
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends an entry. Call inside the write transaction of the change it records.
pub fn record(conn: &mut AnyConnection, entry: AuditEntry<'_>) -> ApiResult<i64> {
    // Taking the head row's write lock first serialises writers on both backends.
    diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq + 1))
        .execute(conn)?;
    let (seq, prev): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first_row(conn)?;
    let at = crate::db::now();
    let detail = entry.detail.to_string();
    let hash = chain_hash(&prev, seq, at, &entry, &detail);
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::seq.eq(seq),
            audit_log::at.eq(at),
            audit_log::actor_id.eq(entry.actor_id),
            audit_log::action.eq(entry.action),
            audit_log::entity.eq(entry.entity),
            audit_log::entity_id.eq(entry.entity_id),
            audit_log::org_path.eq(entry.org_path),
            audit_log::detail.eq(&detail),
            audit_log::prev_hash.eq(&prev),
            audit_log::hash.eq(&hash),
        ))
        .execute(conn)?;
    diesel::update(audit_head::table.find(1))
        .set(audit_head::hash.eq(&hash))
        .execute(conn)?;
    Ok(seq)
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub rows: u64,
    /// The first row whose hash or link does not hold.
    pub first_broken: Option<i64>,
}

/// Recomputes every hash in order, in pages.
// disallowed_methods: a constant limit still bound by diesel: to become limit_rows::<N>() (issue 20).
#[allow(clippy::disallowed_methods)]
pub fn verify(conn: &mut AnyConnection) -> ApiResult<Verification> {
    let mut prev = "0".repeat(64);
    let mut expected_seq = 1;
    let mut rows = 0;
    loop {
        let page: Vec<AuditRow> = audit_log::table
            .filter(audit_log::seq.ge(expected_seq))
            .order(audit_log::seq.asc())
            .limit(1000)
            .select(AuditRow::as_select())
            .load(conn)?;
        if page.is_empty() {
            break;
        }
        for row in page {
            let entry = AuditEntry {
                actor_id: row.actor_id.as_deref(),
                action: &row.action,
                entity: &row.entity,
                entity_id: &row.entity_id,
                org_path: &row.org_path,
                detail: serde_json::Value::Null,
            };
            let ok = row.seq == expected_seq
                && row.prev_hash == prev
                && chain_hash(&prev, row.seq, row.at, &entry, &row.detail) == row.hash;
            if !ok {
                return Ok(Verification {
                    rows,
                    first_broken: Some(expected_seq),
                });
            }
            prev = row.hash;
            expected_seq += 1;
            rows += 1;
        }
    }
    let head: String = audit_head::table
        .find(1)
        .select(audit_head::hash)
        .first_row(conn)?;
    let first_broken = (head != prev).then_some(expected_seq);
    Ok(Verification { rows, first_broken })
}

/// Entries about one entity, oldest first.
pub fn for_entity(
    conn: &mut AnyConnection,
    entity: &str,
    entity_id: &str,
) -> ApiResult<Vec<AuditRow>> {
    Ok(audit_log::table
        .filter(audit_log::entity.eq(entity))
        .filter(audit_log::entity_id.eq(entity_id))
        .order(audit_log::seq.asc())
        .select(AuditRow::as_select())
        .load(conn)?)
}
