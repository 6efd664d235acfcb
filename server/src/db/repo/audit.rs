//! `audit_log`, `audit_head` and `audit_journal`: the rows of the audit chain, its head, the
//! records waiting to be chained, and the reads of `jiuzhu audit verify` and of the audit search.
//! The chain itself (what a hash covers, the key) is `crate::audit`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::limit::{FirstRow, LimitRowsDsl};
use crate::db::schema::{audit_head, audit_journal, audit_log};
use crate::db::sqltime::SqlTimestamp;
use crate::db::AnyConnection;
use crate::scope::Scope;
use diesel::sql_types::Bool;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub seq: i64,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub org_path: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
    pub result: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditRow<'a> {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub org_path: &'a str,
    pub detail: &'a str,
    pub prev_hash: &'a str,
    pub hash: &'a str,
    pub result: &'a str,
    pub request_id: Option<&'a str>,
}

/// The head of the chain: the last record's number and hash, and the last record chained under
/// plain SHA-256 (`None` until the first keyed write of a database from before the key).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_head)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    pub keyed_after: Option<i64>,
}

/// Moves the head on by one; taking the head row's write lock first serialises writers on both
/// backends. Returns the head as it now is (its hash still the previous record's).
pub fn advance_head(conn: &mut AnyConnection) -> QueryResult<Head> {
    diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq + 1))
        .execute(conn)?;
    head(conn)
}

/// Takes the head row's write lock without moving it (the sealer, which then moves it by as
/// many records as it chains). Returns the head.
pub fn lock_head(conn: &mut AnyConnection) -> QueryResult<Head> {
    diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq))
        .execute(conn)?;
    head(conn)
}

/// Moves the head to `seq` and `hash` (the sealer, under the head's lock).
pub fn set_head(conn: &mut AnyConnection, seq: i64, hash: &str) -> QueryResult<usize> {
    diesel::update(audit_head::table.find(1))
        .set((audit_head::seq.eq(seq), audit_head::hash.eq(hash)))
        .execute(conn)
}

pub fn head(conn: &mut AnyConnection) -> QueryResult<Head> {
    audit_head::table
        .find(1)
        .select(Head::as_select())
        .first_row(conn)
}

pub fn set_head_hash(conn: &mut AnyConnection, hash: &str) -> QueryResult<usize> {
    diesel::update(audit_head::table.find(1))
        .set(audit_head::hash.eq(hash))
        .execute(conn)
}

/// Records where plain SHA-256 ends and the keyed chain begins (once: a trigger refuses a change).
pub fn set_keyed_after(conn: &mut AnyConnection, seq: i64) -> QueryResult<usize> {
    diesel::update(audit_head::table.find(1))
        .filter(audit_head::keyed_after.is_null())
        .set(audit_head::keyed_after.eq(seq))
        .execute(conn)
}

pub fn insert(conn: &mut AnyConnection, row: &NewAuditRow<'_>) -> QueryResult<usize> {
    diesel::insert_into(audit_log::table)
        .values(row)
        .execute(conn)
}

/// A record waiting in the journal to be chained.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_journal)]
pub struct JournalRow {
    pub id: i64,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub org_path: String,
    pub detail: String,
    pub result: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_journal)]
pub struct NewJournalRow<'a> {
    pub at: NaiveDateTime,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub org_path: &'a str,
    pub detail: &'a str,
    pub result: &'a str,
    pub request_id: Option<&'a str>,
}

pub fn journal(conn: &mut AnyConnection, row: &NewJournalRow<'_>) -> QueryResult<usize> {
    diesel::insert_into(audit_journal::table)
        .values(row)
        .execute(conn)
}

/// The most journaled records [`journal_oldest`] returns: the sealer's batch
/// (`crate::audit::seal_batch`). In a visit storm the batch shares a commit with the visits of
/// the moment, so a small one delays them little.
pub const JOURNAL_BATCH: u32 = 100;

/// The oldest journaled records, up to [`JOURNAL_BATCH`], in the order they were journaled.
pub fn journal_oldest(conn: &mut AnyConnection) -> QueryResult<Vec<JournalRow>> {
    audit_journal::table
        .order(audit_journal::id.asc())
        .select(JournalRow::as_select())
        .limit_rows::<JOURNAL_BATCH>()
        .load(conn)
}

/// Whether any record waits in the journal (the sealer's cheap look before it takes the head).
pub fn journal_waiting(conn: &mut AnyConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        audit_journal::table.select(audit_journal::id),
    ))
    .get_result(conn)
}

/// How many records wait in the journal (`jiuzhu audit verify` reports them).
pub fn journal_count(conn: &mut AnyConnection) -> QueryResult<i64> {
    audit_journal::table.count().get_result(conn)
}

/// Removes a journaled record once chained (in the sealer's transaction).
pub fn journal_remove(conn: &mut AnyConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(audit_journal::table.find(id)).execute(conn)
}

/// Up to a thousand records from `seq` on, in order: a page of the verification walk.
pub fn page_from(conn: &mut AnyConnection, seq: i64) -> QueryResult<Vec<AuditRow>> {
    audit_log::table
        .filter(audit_log::seq.ge(seq))
        .order(audit_log::seq.asc())
        .select(AuditRow::as_select())
        .limit_rows::<1000>()
        .load(conn)
}

/// Records about one entity, oldest first.
pub fn for_entity(
    conn: &mut AnyConnection,
    entity: &str,
    entity_id: &str,
) -> QueryResult<Vec<AuditRow>> {
    audit_log::table
        .filter(audit_log::entity.eq(entity))
        .filter(audit_log::entity_id.eq(entity_id))
        .order(audit_log::seq.asc())
        .select(AuditRow::as_select())
        .load(conn)
}

/// What the audit search asks for; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Records numbered below this one (the cursor of the previous page).
    pub before_seq: Option<i64>,
    /// Also the records that belong to no unit (`/`: forms, unknown log-in names); admins only.
    pub unbound_too: bool,
    pub limit: i64,
}

/// Records in scope matching the filter, newest first.
// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn search(
    conn: &mut AnyConnection,
    scope: &Scope,
    filter: &AuditFilter,
) -> QueryResult<Vec<AuditRow>> {
    let in_subtree = audit_log::org_path
        .ge(scope.lower())
        .and(audit_log::org_path.lt(scope.upper()));
    let unbound = audit_log::org_path
        .eq("/")
        .and(filter.unbound_too.into_sql::<Bool>());
    let mut query = audit_log::table
        .filter(in_subtree.or(unbound))
        .select(AuditRow::as_select())
        .order(audit_log::seq.desc())
        .limit(filter.limit)
        .into_boxed();
    if let Some(actor) = &filter.actor_id {
        query = query.filter(audit_log::actor_id.eq(actor.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(entity) = &filter.entity {
        query = query.filter(audit_log::entity.eq(entity.clone()));
    }
    if let Some(id) = &filter.entity_id {
        query = query.filter(audit_log::entity_id.eq(id.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::at.lt(to));
    }
    if let Some(before) = filter.before_seq {
        query = query.filter(audit_log::seq.lt(before));
    }
    query.load(conn)
}
