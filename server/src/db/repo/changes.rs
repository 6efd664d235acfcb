//! `changes` and `change_head`: the change log behind per-worker sync.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::db::bulk;
use crate::db::limit::{FirstRow, LimitRowsDsl};
use crate::db::schema::{change_head, changes};
use crate::db::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = changes)]
pub struct ChangeRow {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub worker_id: Option<String>,
    pub op: String,
    pub at: chrono::NaiveDateTime,
}

/// A row of the change log as written.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = changes)]
pub struct ChangeInsert<'a> {
    pub seq: i64,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub worker_id: Option<&'a str>,
    pub op: &'a str,
    pub at: chrono::NaiveDateTime,
}

impl bulk::SqliteRow for ChangeInsert<'_> {
    type Key = changes::table;
    const INSERT: &'static str =
        "INSERT INTO changes (seq, entity, entity_id, worker_id, op, at) VALUES ";

    fn bind<'b>(&'b self, out: &mut bulk::Binds<'_, '_, 'b>) -> QueryResult<()> {
        out.value::<BigInt, _>(&self.seq)?;
        out.value::<Text, _>(self.entity)?;
        out.value::<Text, _>(self.entity_id)?;
        out.value::<Nullable<Text>, _>(&self.worker_id)?;
        out.value::<Text, _>(self.op)?;
        out.value::<Timestamp, _>(&self.at)
    }
}

/// Inserts change rows ([`bulk::insert_any`]).
pub fn insert_many(conn: &mut AnyConnection, rows: &[ChangeInsert<'_>]) -> QueryResult<usize> {
    bulk::insert_any(conn, rows, |c, chunk| {
        diesel::insert_into(changes::table).values(chunk).execute(c)
    })
}

/// The head moved on by `count` and read back in one statement (both SQLite and PostgreSQL have
/// `RETURNING`).
pub fn bump_head(conn: &mut AnyConnection, count: i64) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Head {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq: i64,
    }
    let head: Head =
        diesel::sql_query("UPDATE change_head SET seq = seq + $1 WHERE id = 1 RETURNING seq")
            .bind::<BigInt, _>(count)
            .get_result(conn)?;
    Ok(head.seq)
}

/// The newest sequence number.
pub fn head(conn: &mut AnyConnection) -> QueryResult<i64> {
    change_head::table
        .find(1)
        .select(change_head::seq)
        .first_row(conn)
}

/// A worker's changes after `after`, oldest first, at most `LIMIT` of them.
pub fn since<const LIMIT: u32>(
    conn: &mut AnyConnection,
    worker_id: &str,
    after: i64,
) -> QueryResult<Vec<ChangeRow>> {
    changes::table
        .filter(changes::worker_id.eq(worker_id))
        .filter(changes::seq.gt(after))
        .order(changes::seq.asc())
        .select(ChangeRow::as_select())
        .limit_rows::<LIMIT>()
        .load(conn)
}
