//! Row limits written into the SQL instead of bound: `first_row` for diesel's `first`, and
//! `limit_rows::<N>()` for `limit(N)` with a constant `N`.
//!
//! Diesel binds the row count of `first()` / `limit(n)` as a parameter. Since SQLite 3.47 the
//! planner reads a bound LIMIT's value while preparing (`sqlite3ExprIsInteger` with a parse
//! context), which marks the statement as depending on that parameter; binding it again, as
//! diesel does on every execution of a cached statement, expires the statement, and the next
//! step parses and plans it from scratch (`sqlite3Reprepare`). In the visit storm that was a
//! fifth of the committing thread. A literal limit keeps the cached statement valid.
//!
//! PostgreSQL is unaffected, and `FOR UPDATE` queries (PostgreSQL only here, where the clause
//! must follow the limit) keep using `first`.

use diesel::connection::Connection;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::methods::LoadQuery;
use diesel::{QueryResult, RunQueryDsl};

/// A query with ` LIMIT ROWS` appended as text. The count is part of the type, so the statement
/// is cached by type like the query it wraps.
#[derive(Debug, Clone, Copy)]
pub struct Limited<Q, const ROWS: u32>(Q);

impl<Q: QueryId, const ROWS: u32> QueryId for Limited<Q, ROWS> {
    type QueryId = Limited<Q::QueryId, ROWS>;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<Q: Query, const ROWS: u32> Query for Limited<Q, ROWS> {
    type SqlType = Q::SqlType;
}

impl<Q, DB, const ROWS: u32> QueryFragment<DB> for Limited<Q, ROWS>
where
    DB: diesel::backend::Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(&format!(" LIMIT {ROWS}"));
        Ok(())
    }
}

impl<Q, Conn: Connection, const ROWS: u32> RunQueryDsl<Conn> for Limited<Q, ROWS> {}

/// `first_row(conn)`: the first row of a query without a limit of its own, like diesel's
/// `first(conn)` (`NotFound` when there is none; add `.optional()`).
pub trait FirstRow<Conn: Connection>: Sized {
    fn first_row<'q, U>(self, conn: &mut Conn) -> QueryResult<U>
    where
        Limited<Self, 1>: LoadQuery<'q, Conn, U>,
    {
        Limited::<Self, 1>(self).get_result(conn)
    }
}

impl<Q: Query, Conn: Connection> FirstRow<Conn> for Q {}

/// `limit_rows::<N>()`: at most `N` rows, for a query without a limit of its own; call it last,
/// after `order` and `select`.
pub trait LimitRowsDsl: Query + Sized {
    fn limit_rows<const ROWS: u32>(self) -> Limited<Self, ROWS> {
        Limited(self)
    }
}

impl<Q: Query> LimitRowsDsl for Q {}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sqlite::Sqlite;

    use super::*;
    use crate::db::schema::tasks;

    #[test]
    fn limits_are_written_into_the_sql() {
        let one = Limited::<_, 1>(tasks::table.find("t").select(tasks::id));
        let sql = diesel::debug_query::<Sqlite, _>(&one).to_string();
        assert!(sql.contains(" LIMIT 1 --"), "{sql}");
        assert!(
            sql.ends_with(r#"binds: ["t"]"#),
            "only the id is bound: {sql}"
        );
        let page = tasks::table
            .select(tasks::id)
            .order(tasks::id)
            .limit_rows::<250>();
        let sql = diesel::debug_query::<Sqlite, _>(&page).to_string();
        assert!(sql.contains("ORDER BY `tasks`.`id` LIMIT 250 --"), "{sql}");
        assert!(sql.ends_with("binds: []"), "nothing bound: {sql}");
    }

    #[test]
    fn first_row_and_limit_rows_return_rows() -> Result<(), Box<dyn std::error::Error>> {
        let mut conn = diesel::SqliteConnection::establish(":memory:")?;
        diesel::sql_query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .execute(&mut conn)?;
        diesel::sql_query("INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
            .execute(&mut conn)?;
        diesel::table! { t (id) { id -> Integer, v -> Text, } }
        for _ in 0..3 {
            let v: String = t::table
                .filter(t::id.gt(1))
                .order(t::id)
                .select(t::v)
                .first_row(&mut conn)?;
            assert_eq!(v, "b");
        }
        let none: Option<String> = t::table
            .filter(t::id.gt(3))
            .select(t::v)
            .first_row(&mut conn)
            .optional()?;
        assert_eq!(none, None);
        let two: Vec<i32> = t::table
            .select(t::id)
            .order(t::id.desc())
            .limit_rows::<2>()
            .load(&mut conn)?;
        assert_eq!(two, vec![3, 2]);
        Ok(())
    }
}
