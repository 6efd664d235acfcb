//! `one_of(column, ids)`: the column is one of a list of text ids, as one fixed statement however
//! many ids there are.
//!
//! Diesel's `eq_any` writes `IN (?, ?, …)` on SQLite, a new statement text for each length of the
//! list and one that diesel never caches. Here the list is bound once: on SQLite as a JSON array
//! read back by `json_each` (`column IN (SELECT value FROM json_each(?))`), on PostgreSQL as a
//! text array (`column = ANY(?)`). The statement text depends only on the column, so the prepared
//! statement is cached like any other.

use std::marker::PhantomData;

use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, Bool, Text};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

/// The expression built by [`one_of`].
#[derive(Debug, Clone)]
pub struct OneOf<'a, C> {
    column: C,
    ids: &'a [String],
    /// `ids` as a JSON array, SQLite's binding.
    json: String,
}

/// `column` is one of `ids` (nothing matches an empty list).
pub fn one_of<C>(column: C, ids: &[String]) -> OneOf<'_, C>
where
    C: Expression<SqlType = Text>,
{
    // A list of strings always serialises.
    let json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned());
    OneOf { column, ids, json }
}

impl<C> Expression for OneOf<'_, C> {
    type SqlType = Bool;
}

impl<C, QS> AppearsOnTable<QS> for OneOf<'_, C> where C: AppearsOnTable<QS> {}

impl<C, QS> SelectableExpression<QS> for OneOf<'_, C> where C: SelectableExpression<QS> {}

impl<C> ValidGrouping<()> for OneOf<'_, C> {
    type IsAggregate = is_aggregate::Never;
}

/// The type that identifies the statement: the column's alone (the ids are bound).
pub struct OneOfId<C>(PhantomData<C>);

impl<C: QueryId> QueryId for OneOf<'_, C> {
    type QueryId = OneOfId<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for OneOf<'_, C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for OneOf<'_, C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = ANY(");
        out.push_bind_param::<Array<Text>, _>(self.ids)?;
        out.push_sql(")");
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::db::schema::members;

    #[test]
    fn the_statement_text_does_not_depend_on_the_ids() {
        let two = ["a".to_owned(), "b\"".to_owned()];
        let three = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let sql = |ids: &[String]| {
            let q = members::table
                .filter(one_of(members::household_id, ids))
                .select(members::id);
            (
                diesel::debug_query::<Sqlite, _>(&q).to_string(),
                diesel::debug_query::<Pg, _>(&q).to_string(),
            )
        };
        let (lite_two, pg_two) = sql(&two);
        let (lite_three, pg_three) = sql(&three);
        let text = |s: &str| s.split(" -- binds").next().unwrap_or_default().to_owned();
        assert_eq!(text(&lite_two), text(&lite_three));
        assert_eq!(text(&pg_two), text(&pg_three));
        assert!(lite_two.contains("json_each(?)"), "{lite_two}");
        // The ids go whole into the one bound value.
        let bound = one_of(members::household_id, &two).json;
        assert_eq!(serde_json::from_str::<Vec<String>>(&bound).unwrap(), two);
        assert!(pg_two.contains("= ANY($1)"), "{pg_two}");
    }
}
