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
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, Bool, Nullable, Text};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use super::MultiBackend;

/// The expression built by [`one_of`].
#[derive(Debug, Clone)]
pub struct OneOf<'a, C, S> {
    column: C,
    ids: &'a [S],
    /// `ids` as a JSON array, SQLite's binding.
    json: String,
}

/// The SQL types [`one_of`] compares: text, nullable or not (a NULL is never one of the ids).
pub trait TextType {}
impl TextType for Text {}
impl TextType for Nullable<Text> {}

/// `column` is one of `ids` (nothing matches an empty list). The ids are `String`s or `&str`s.
pub fn one_of<C, S>(column: C, ids: &[S]) -> OneOf<'_, C, S>
where
    C: Expression,
    C::SqlType: TextType,
    S: AsRef<str>,
{
    let json = serde_json::Value::Array(
        ids.iter()
            .map(|id| serde_json::Value::String(id.as_ref().to_owned()))
            .collect(),
    )
    .to_string();
    OneOf { column, ids, json }
}

impl<C, S> Expression for OneOf<'_, C, S> {
    type SqlType = Bool;
}

impl<C, S, QS> AppearsOnTable<QS> for OneOf<'_, C, S> where C: AppearsOnTable<QS> {}

impl<C, S, QS> SelectableExpression<QS> for OneOf<'_, C, S> where C: SelectableExpression<QS> {}

impl<C, S> ValidGrouping<()> for OneOf<'_, C, S> {
    type IsAggregate = is_aggregate::Never;
}

/// The type that identifies the statement: the column's alone (the ids are bound).
pub struct OneOfId<C>(PhantomData<C>);

impl<C: QueryId, S> QueryId for OneOf<'_, C, S> {
    type QueryId = OneOfId<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C: QueryFragment<Sqlite>, S> QueryFragment<Sqlite> for OneOf<'_, C, S> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<C: QueryFragment<Pg>, S> QueryFragment<Pg> for OneOf<'_, C, S>
where
    [S]: ToSql<Array<Text>, Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = ANY(");
        out.push_bind_param::<Array<Text>, _>(self.ids)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Through [`AnyConnection`](super::AnyConnection): the variant of the connection in use.
impl<C, S> QueryFragment<MultiBackend> for OneOf<'_, C, S>
where
    Self: QueryFragment<Sqlite> + QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
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
