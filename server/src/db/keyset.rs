//! Keyset paging in (org_path, id) order, for readers that walk a whole scope a page at a time
//! (the exports).

use diesel::QueryResult;

/// The keyset position: rows are read in (org_path, id) order, which one index serves per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub org_path: String,
    pub id: String,
}

/// Where a page query starts. Keyset on two columns is written as two queries (rest of the same
/// path, then later paths), each a plain index range on both backends; an `a > x OR (a = x AND
/// b > y)` condition makes PostgreSQL scan from the start of the scope on every page.
#[derive(Debug, Clone, Copy)]
pub enum Bound<'a> {
    Start,
    SamePath { path: &'a str, after_id: &'a str },
    PathAfter(&'a str),
}

/// Applies a [`Bound`] to a boxed query over a table with an org_path and an id column.
#[macro_export]
macro_rules! keyset_bound {
    ($query:expr, $bound:expr, $path:expr, $id:expr) => {
        match $bound {
            $crate::db::keyset::Bound::Start => $query,
            $crate::db::keyset::Bound::SamePath { path, after_id } => $query
                .filter($path.eq(path.to_owned()))
                .filter($id.gt(after_id.to_owned())),
            $crate::db::keyset::Bound::PathAfter(path) => $query.filter($path.gt(path.to_owned())),
        }
    };
}

/// Up to `limit` rows after `after`: `fetch` runs once, or twice at a path boundary.
pub fn next_rows<R>(
    after: Option<&Key>,
    limit: i64,
    mut fetch: impl FnMut(Bound<'_>, i64) -> QueryResult<Vec<R>>,
) -> QueryResult<Vec<R>> {
    let Some(key) = after else {
        return fetch(Bound::Start, limit);
    };
    let mut rows = fetch(
        Bound::SamePath {
            path: &key.org_path,
            after_id: &key.id,
        },
        limit,
    )?;
    let rest = limit - rows.len() as i64;
    if rest > 0 {
        rows.extend(fetch(Bound::PathAfter(&key.org_path), rest)?);
    }
    Ok(rows)
}
