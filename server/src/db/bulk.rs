//! Many rows of one table written by one fixed SQLite statement: a multi-row `INSERT` (or an
//! `UPDATE`) whose SQL diesel builds once and keeps prepared, keyed by the statement's type, so a
//! row costs its binds and its share of one step, not a query tree walked three times, its SQL
//! rebuilt and hashed for the cache (what a diesel `insert_into(…).values(&row)` on
//! `AnyConnection` does per row; half the time of a department import's evaluation went there).
//!
//! Only SQLite: PostgreSQL callers take COPY or diesel's multi-row inserts ([`crate::each_backend`]).

use std::marker::PhantomData;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryResult, RunQueryDsl};

/// Rows per multi-row statement: few enough binds for any table here (SQLite allows 32,766),
/// enough that the per-statement work is spread thin.
pub const ROWS: usize = 32;

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

/// `N` rows in one `INSERT`; a distinct type per table and `N`, so a distinct cached statement.
struct Insert<'a, R, const N: usize>(&'a [R]);

/// The cache key of [`Insert`]: its table and row count.
struct InsertKey<K, const N: usize>(PhantomData<K>);

impl<R: SqliteRow, const N: usize> QueryId for Insert<'_, R, N> {
    type QueryId = InsertKey<R::Key, N>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<R: SqliteRow, const N: usize> QueryFragment<Sqlite> for Insert<'_, R, N> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(R::INSERT);
        for (i, row) in self.0.iter().enumerate() {
            out.push_sql(if i > 0 { ", (" } else { "(" });
            row.bind(&mut Binds {
                out: &mut out,
                first: true,
            })?;
            out.push_sql(")");
        }
        Ok(())
    }
}

impl<R, const N: usize> RunQueryDsl<SqliteConnection> for Insert<'_, R, N> {}

/// Inserts every row: [`ROWS`] at a time, the rest one by one. Returns the rows inserted.
pub fn insert<R: SqliteRow>(conn: &mut SqliteConnection, rows: &[R]) -> QueryResult<usize> {
    let mut n = 0;
    let mut chunks = rows.chunks_exact(ROWS);
    for chunk in &mut chunks {
        n += Insert::<R, ROWS>(chunk).execute(conn)?;
    }
    for row in chunks.remainder() {
        n += Insert::<R, 1>(std::slice::from_ref(row)).execute(conn)?;
    }
    Ok(n)
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

/// A timestamp as diesel stores it in SQLite (`%F %T%.f`), to format once for many rows.
pub fn timestamp_text(t: NaiveDateTime) -> String {
    t.format("%F %T%.f").to_string()
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
    }
}
