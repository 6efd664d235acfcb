//! The benchmark harness's own queries (`bench` feature only; see `crate::bench`): whole-table
//! reads and a plain bulk insert that no request path should make.

use diesel::prelude::*;

use crate::db::limit::FirstRow;
use crate::db::repo::visits::VisitRow;
use crate::db::schema::{households, tasks, users, visits};
use crate::db::{self, AnyConnection};
use crate::each_backend;

/// Every household as (id, org path), in path order.
pub fn homes(conn: &mut AnyConnection) -> QueryResult<Vec<(String, String)>> {
    households::table
        .select((households::id, households::org_path))
        .order((households::org_path.asc(), households::id.asc()))
        .load(conn)
}

/// (grid id, grid path, household id, lat, lon).
pub type PlacedHome = (String, String, String, Option<f64>, Option<f64>);

/// Every household as a [`PlacedHome`], in path order.
pub fn homes_with_places(conn: &mut AnyConnection) -> QueryResult<Vec<PlacedHome>> {
    households::table
        .select((
            households::grid_id,
            households::org_path,
            households::id,
            households::lat,
            households::lon,
        ))
        .order((households::org_path.asc(), households::id.asc()))
        .load(conn)
}

/// The ids of every user with `role` (its wire name), in id order.
pub fn user_ids_with_role(conn: &mut AnyConnection, role: &str) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::role.eq(role))
        .select(users::id)
        .order(users::id.asc())
        .load(conn)
}

/// The id of some task of the household, if it has one.
pub fn a_task_of(conn: &mut AnyConnection, household_id: &str) -> QueryResult<Option<String>> {
    tasks::table
        .filter(tasks::household_id.eq(household_id))
        .select(tasks::id)
        .first_row(conn)
        .optional()
}

/// Inserts visit rows as they are, in chunks under SQLite's bound-parameter limit.
pub fn insert_visits(conn: &mut AnyConnection, rows: &[VisitRow]) -> QueryResult<()> {
    for chunk in rows.chunks(db::INSERT_CHUNK) {
        each_backend!(conn, c => diesel::insert_into(visits::table).values(chunk).execute(c))?;
    }
    Ok(())
}
