//! Many rows of one table written by one fixed SQLite statement (an `INSERT`, or an `UPDATE` by
//! key) whose SQL diesel builds once and keeps prepared, keyed by the statement's type: a row
//! costs its binds and one step, not a query tree walked several times and its SQL rebuilt and
//! hashed for the cache, as a diesel `insert_into(…).values(&row)` on `AnyConnection` does.
//! Single-row on purpose: a multi-row `INSERT` makes SQLite keep a statement journal (it may
//! fail half-way), which cost more than the steps it saved (measured on the department import).
//!
//! Only SQLite: PostgreSQL callers take COPY or diesel's multi-row inserts ([`insert_any`] pairs
//! the two).

use std::marker::PhantomData;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::pg::PgConnection;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryResult, RunQueryDsl};

use crate::db::AnyConnection;

/// A row of a table written through [`insert`].
pub trait SqliteRow {
    /// Names the statement in diesel's cache (one type per table, `'static`).
    type Key: 'static;
    /// `INSERT INTO t (a, b, c) VALUES `
    const INSERT: &'static str;
    /// The row's values in the column order of [`SqliteRow::INSERT`].
    fn bind<'b>(&'b self, out: &mut Binds<'_, '_, 'b>) -> QueryResult<()>;
}

/// The values of one row: `(?, ?, ?)` in the statement, one bind each.
pub struct Binds<'p, 'a, 'b> {
    out: &'p mut AstPass<'a, 'b, Sqlite>,
    first: bool,
}

impl<'b> Binds<'_, '_, 'b> {
    pub fn value<T, U>(&mut self, value: &'b U) -> QueryResult<()>
    where
        Sqlite: diesel::sql_types::HasSqlType<T>,
        U: diesel::serialize::ToSql<T, Sqlite> + ?Sized,
    {
        if !self.first {
            self.out.push_sql(", ");
        }
        self.first = false;
        self.out.push_bind_param::<T, U>(value)
    }
}

/// One row's `INSERT`, a distinct type (so a distinct cached statement) per table.
struct Insert<'a, R>(&'a R);

impl<R: SqliteRow> QueryId for Insert<'_, R> {
    type QueryId = R::Key;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<R: SqliteRow> QueryFragment<Sqlite> for Insert<'_, R> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(R::INSERT);
        out.push_sql("(");
        self.0.bind(&mut Binds {
            out: &mut out,
            first: true,
        })?;
        out.push_sql(")");
        Ok(())
    }
}

impl<R> RunQueryDsl<SqliteConnection> for Insert<'_, R> {}

/// Inserts every row by re-running the table's one prepared statement. Returns the rows
/// inserted.
pub fn insert<R: SqliteRow>(conn: &mut SqliteConnection, rows: &[R]) -> QueryResult<usize> {
    let mut n = 0;
    for row in rows {
        n += Insert(row).execute(conn)?;
    }
    Ok(n)
}

/// Inserts rows on either backend: SQLite re-runs the table's one prepared statement
/// ([`insert`]), PostgreSQL runs `pg` (a diesel multi-row insert) per chunk of
/// [`INSERT_CHUNK`](crate::db::INSERT_CHUNK) rows. Returns the rows inserted.
pub fn insert_any<R: SqliteRow>(
    conn: &mut AnyConnection,
    rows: &[R],
    pg: impl Fn(&mut PgConnection, &[R]) -> QueryResult<usize>,
) -> QueryResult<usize> {
    match conn {
        AnyConnection::Sqlite(c) => insert(c, rows),
        AnyConnection::Postgresql(c) => rows
            .chunks(crate::db::INSERT_CHUNK)
            .try_fold(0, |n, chunk| Ok(n + pg(c, chunk)?)),
    }
}

/// One fixed statement (an `UPDATE` by key, say) run once per value: `write` pushes its SQL and
/// binds, always the same SQL; `S` names it in diesel's cache.
pub struct Fixed<'a, S, T> {
    pub row: &'a T,
    pub write: for<'b> fn(&'b T, &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()>,
    pub key: PhantomData<S>,
}

impl<S: 'static, T> QueryId for Fixed<'_, S, T> {
    type QueryId = S;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<S, T> QueryFragment<Sqlite> for Fixed<'_, S, T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        (self.write)(self.row, &mut out)
    }
}

impl<S, T> RunQueryDsl<SqliteConnection> for Fixed<'_, S, T> {}

/// A timestamp as diesel stores it in SQLite (`%F %T%.f`: the fraction in 3, 6 or 9 digits, or
/// none), without chrono's format parser per row.
pub fn timestamp_text(t: NaiveDateTime) -> String {
    use std::fmt::Write;

    use chrono::Timelike;
    let mut s = date_text(t.date());
    let nanos = t.nanosecond() % 1_000_000_000;
    // A leap second's nanoseconds run past 10⁹; chrono shows it as second 60.
    let second = t.second() + t.nanosecond() / 1_000_000_000;
    let _ = write!(s, " {:02}:{:02}:{second:02}", t.hour(), t.minute());
    let _ = match nanos {
        0 => Ok(()),
        n if n % 1_000_000 == 0 => write!(s, ".{:03}", n / 1_000_000),
        n if n % 1_000 == 0 => write!(s, ".{:06}", n / 1_000),
        n => write!(s, ".{n:09}"),
    };
    s
}

/// A date as diesel stores it in SQLite (`%F`), without chrono's format parser per row.
pub fn date_text(d: NaiveDate) -> String {
    if (0..=9999).contains(&d.year()) {
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    } else {
        d.format("%F").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_what_diesel_stores() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap_or_default();
        assert_eq!(date_text(d), d.format("%F").to_string());
        let early = NaiveDate::from_ymd_opt(7, 1, 2).unwrap_or_default();
        assert_eq!(date_text(early), early.format("%F").to_string());
        let t = d.and_hms_micro_opt(4, 5, 6, 7).unwrap_or_default();
        assert_eq!(timestamp_text(t), "2026-03-07 04:05:06.000007");
        let whole = d.and_hms_opt(4, 5, 6).unwrap_or_default();
        assert_eq!(timestamp_text(whole), "2026-03-07 04:05:06");
        for nanos in [
            0,
            1,
            7_000,
            120_000_000,
            123_456_789,
            999_999_999,
            5_000,
            40_000_000,
        ] {
            let t = d.and_hms_nano_opt(23, 59, 58, nanos).unwrap_or_default();
            assert_eq!(
                timestamp_text(t),
                t.format("%F %T%.f").to_string(),
                "{nanos}"
            );
        }
        let leap = d
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap_or_default();
        assert_eq!(timestamp_text(leap), leap.format("%F %T%.f").to_string());
    }
}
