//! `department_imports` and `department_records`: what other departments sent, and each import's
//! counts.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Nullable, Text};
use jiuzhu_proto::department::DepartmentImport;

use crate::db::limit::LimitRowsDsl;
use crate::db::one_of::one_of;
use crate::db::schema::{department_imports, department_records};
use crate::db::{bulk, pg_copy, AnyConnection};
use crate::scope::Scope;

/// An import's row as first written, with every count at zero.
#[derive(Debug, Clone, Copy)]
pub struct NewImport<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub org_path: &'a str,
    pub created_by: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

pub fn insert_import(conn: &mut AnyConnection, new: NewImport<'_>) -> QueryResult<usize> {
    diesel::insert_into(department_imports::table)
        .values((
            department_imports::id.eq(new.id),
            department_imports::source.eq(new.source),
            department_imports::org_path.eq(new.org_path),
            department_imports::rows_read.eq(0),
            department_imports::matched.eq(0),
            department_imports::unmatched.eq(0),
            department_imports::duplicates.eq(0),
            department_imports::rejected.eq(0),
            department_imports::findings_opened.eq(0),
            department_imports::tasks_created.eq(0),
            department_imports::errors.eq("[]"),
            department_imports::created_by.eq(new.created_by),
            department_imports::created_at.eq(new.created_at),
        ))
        .execute(conn)
}

/// Writes a finished import's counts and its rejected rows (`errors`, JSON text) and marks it
/// finished, with the unfinished imports among `resumed` (earlier imports this one completed).
pub fn finish_import(
    conn: &mut AnyConnection,
    id: &str,
    counts: &DepartmentImport,
    errors: &str,
    resumed: &[String],
    finished: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(department_imports::table.find(id))
        .set((
            department_imports::rows_read.eq(counts.rows),
            department_imports::matched.eq(counts.matched),
            department_imports::unmatched.eq(counts.unmatched),
            department_imports::duplicates.eq(counts.duplicates),
            department_imports::rejected.eq(counts.rejected),
            department_imports::findings_opened.eq(counts.findings_opened),
            department_imports::tasks_created.eq(counts.tasks_created),
            department_imports::errors.eq(errors),
            department_imports::finished_at.eq(Some(finished)),
        ))
        .execute(conn)?;
    diesel::update(
        department_imports::table
            .filter(one_of(department_imports::id, resumed))
            .filter(department_imports::finished_at.is_null()),
    )
    .set(department_imports::finished_at.eq(Some(finished)))
    .execute(conn)?;
    Ok(())
}

/// The imports among these that never finished.
pub fn unfinished_of(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<String>> {
    department_imports::table
        .filter(one_of(department_imports::id, ids))
        .filter(department_imports::finished_at.is_null())
        .select(department_imports::id)
        .load(conn)
}

/// Whether an import of this source exists in the scope.
pub fn import_exists(
    conn: &mut AnyConnection,
    id: &str,
    source: &str,
    scope: &Scope,
) -> QueryResult<bool> {
    let n: i64 = crate::in_scope!(
        department_imports::table
            .filter(department_imports::id.eq(id))
            .filter(department_imports::source.eq(source)),
        department_imports::org_path,
        scope
    )
    .count()
    .get_result(conn)?;
    Ok(n > 0)
}

/// The records of a source among these record ids already on file: (record id, import id).
pub fn known_records(
    conn: &mut AnyConnection,
    source: &str,
    record_ids: &[&str],
) -> QueryResult<Vec<(String, String)>> {
    department_records::table
        .filter(department_records::source.eq(source))
        .filter(one_of(department_records::record_id, record_ids))
        .select((department_records::record_id, department_records::import_id))
        .load(conn)
}

/// A stored department record.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = department_records)]
pub struct RecordRow<'a> {
    pub source: &'a str,
    pub record_id: String,
    pub import_id: &'a str,
    pub line: i64,
    pub id_blind: Vec<u8>,
    pub id_masked: String,
    pub member_id: Option<String>,
    pub household_id: Option<String>,
    pub event_date: NaiveDate,
    pub amount_fen: Option<i64>,
    pub detail: String,
    pub imported_at: NaiveDateTime,
}

/// A record with its dates as the text SQLite stores (the import time formatted once per batch).
pub(crate) struct SqliteRecord<'r, 'a> {
    r: &'r RecordRow<'a>,
    event_date: String,
    imported_at: &'r str,
}

impl bulk::SqliteRow for SqliteRecord<'_, '_> {
    type Key = department_records::table;
    const INSERT: &'static str = "INSERT INTO department_records (source, record_id, import_id, \
        line, id_blind, id_masked, member_id, household_id, event_date, amount_fen, detail, \
        imported_at) VALUES ";

    fn bind<'b>(&'b self, out: &mut bulk::Binds<'_, '_, 'b>) -> QueryResult<()> {
        let r = self.r;
        out.value::<Text, _>(r.source)?;
        out.value::<Text, _>(&r.record_id)?;
        out.value::<Text, _>(r.import_id)?;
        out.value::<BigInt, _>(&r.line)?;
        out.value::<Binary, _>(&r.id_blind)?;
        out.value::<Text, _>(&r.id_masked)?;
        out.value::<Nullable<Text>, _>(&r.member_id)?;
        out.value::<Nullable<Text>, _>(&r.household_id)?;
        out.value::<Text, _>(&self.event_date)?;
        out.value::<Nullable<BigInt>, _>(&r.amount_fen)?;
        out.value::<Text, _>(&r.detail)?;
        out.value::<Text, _>(self.imported_at)
    }
}

/// Inserts records: SQLite re-runs one prepared INSERT ([`bulk::insert`]) in household order;
/// PostgreSQL takes COPY.
pub fn insert_records(conn: &mut AnyConnection, rows: &[RecordRow<'_>]) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => {
            let mut stamps: HashMap<NaiveDateTime, String> = HashMap::new();
            for r in rows {
                stamps
                    .entry(r.imported_at)
                    .or_insert_with(|| bulk::timestamp_text(r.imported_at));
            }
            // In household order: the two indexes keyed by household then take the batch's
            // entries in key order, a page at a time, rather than all over the tree (about a
            // tenth less CPU for the pass, measured at 100,000 rows).
            let mut order: Vec<&RecordRow<'_>> = rows.iter().collect();
            order.sort_by(|a, b| a.household_id.cmp(&b.household_id));
            let rows: Vec<SqliteRecord<'_, '_>> = order
                .into_iter()
                .map(|r| SqliteRecord {
                    r,
                    event_date: bulk::date_text(r.event_date),
                    imported_at: stamps.get(&r.imported_at).map_or("", String::as_str),
                })
                .collect();
            bulk::insert(c, &rows)?;
        }
        AnyConnection::Postgresql(c) => {
            if rows.is_empty() {
                return Ok(());
            }
            diesel::copy_from(department_records::table)
                .from_raw_data(department_records::table, |out: &mut dyn std::io::Write| {
                    pg_copy::write_all(out, rows.len(), |i, l| {
                        let r = &rows[i];
                        pg_copy::text(l, r.source);
                        pg_copy::text(l, &r.record_id);
                        pg_copy::text(l, r.import_id);
                        pg_copy::plain(l, r.line);
                        pg_copy::bytea(l, &r.id_blind);
                        pg_copy::text(l, &r.id_masked);
                        pg_copy::optional(l, r.member_id.as_deref());
                        pg_copy::optional(l, r.household_id.as_deref());
                        pg_copy::plain(l, r.event_date.format("%Y-%m-%d"));
                        match r.amount_fen {
                            Some(v) => pg_copy::plain(l, v),
                            None => l.push(','),
                        }
                        pg_copy::text(l, &r.detail);
                        pg_copy::plain(l, r.imported_at.format(pg_copy::TIMESTAMP));
                    })
                })
                .with_format(diesel::pg::CopyFormat::Csv)
                .execute(c)?;
        }
    }
    Ok(())
}

/// The next `LIMIT` households after `after` (by id) that these imports matched.
pub fn matched_households_after<const LIMIT: u32>(
    conn: &mut AnyConnection,
    imports: &[String],
    after: &str,
) -> QueryResult<Vec<String>> {
    department_records::table
        .filter(one_of(department_records::import_id, imports))
        .filter(department_records::household_id.gt(after))
        .select(department_records::household_id.assume_not_null())
        .distinct()
        .order(department_records::household_id)
        .limit_rows::<LIMIT>()
        .load(conn)
}

/// The sum of `amount_fen` per household of a source's records since a date, summed by the
/// database (a row per household, not one per record). The cast keeps PostgreSQL's sum of a
/// BIGINT an integer.
pub fn amounts_since(
    conn: &mut AnyConnection,
    household_ids: &[String],
    source: &str,
    since: NaiveDate,
) -> QueryResult<Vec<(Option<String>, Option<i64>)>> {
    department_records::table
        .filter(one_of(department_records::household_id, household_ids))
        .filter(department_records::source.eq(source))
        .filter(department_records::event_date.ge(since))
        .group_by(department_records::household_id)
        .select((
            department_records::household_id,
            diesel::dsl::sql::<diesel::sql_types::Nullable<BigInt>>(
                "CAST(SUM(amount_fen) AS BIGINT)",
            ),
        ))
        .load(conn)
}

/// What these imports brought for these households: (household, source, record id).
pub fn brought(
    conn: &mut AnyConnection,
    household_ids: &[String],
    imports: &[String],
) -> QueryResult<Vec<(Option<String>, String, String)>> {
    department_records::table
        .filter(one_of(department_records::household_id, household_ids))
        .filter(one_of(department_records::import_id, imports))
        .select((
            department_records::household_id,
            department_records::source,
            department_records::record_id,
        ))
        .load(conn)
}

/// A record an import brought: household, member, source, date, detail.
pub type Brought = (Option<String>, Option<String>, String, NaiveDate, String);

/// The records of these two sources that these imports brought for these households.
pub fn brought_of_sources(
    conn: &mut AnyConnection,
    household_ids: &[String],
    imports: &[String],
    sources: [&str; 2],
) -> QueryResult<Vec<Brought>> {
    department_records::table
        .filter(one_of(department_records::household_id, household_ids))
        .filter(one_of(department_records::import_id, imports))
        .filter(one_of(department_records::source, &sources))
        .select((
            department_records::household_id,
            department_records::member_id,
            department_records::source,
            department_records::event_date,
            department_records::detail,
        ))
        .load(conn)
}

/// An import's unmatched records in line order: (record id, masked ID number, line).
pub fn unmatched_of(
    conn: &mut AnyConnection,
    import_id: &str,
) -> QueryResult<Vec<(String, String, i64)>> {
    department_records::table
        .filter(department_records::import_id.eq(import_id))
        .filter(department_records::household_id.is_null())
        .order(department_records::line.asc())
        .select((
            department_records::record_id,
            department_records::id_masked,
            department_records::line,
        ))
        .load(conn)
}

/// When an import finished (`None` while it runs); `NotFound` when there is no such import.
pub fn finished_at(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<NaiveDateTime>> {
    use crate::db::limit::FirstRow;
    department_imports::table
        .find(id)
        .select(department_imports::finished_at)
        .first_row(conn)
}
