//! The visits export: one row per visit report, with the household's address and head, the
//! worker, the times (Asia/Shanghai), the fix, the flags and the review. Answers stay sealed: an
//! export of every answer would have to decrypt them (they hold ID numbers and health), which an
//! export must not do; `GET /visits/{id}` shows one visit's answers, masked.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use super::{grid_code, next_rows, Column, Export, ExportKind, Key, RowWriter};
use crate::db::schema::{households, users, visits};
use crate::db::AnyConnection;
use crate::{in_scope, keyset_bound};

pub struct Visits;

const COLUMNS: &[Column] = &[
    Column::new("visit_id"),
    Column::new("task_id"),
    Column::new("household_id"),
    Column::new("household_address"),
    Column::new("head_name"),
    Column::new("grid_code"),
    Column::new("worker_username"),
    Column::new("form_key"),
    Column::new("form_version"),
    Column::time("started_at"),
    Column::time("finished_at"),
    Column::time("received_at"),
    Column::new("lat"),
    Column::new("lon"),
    Column::new("accuracy_m"),
    Column::new("mock_location"),
    Column::new("flag_count"),
    Column::new("flags"),
    Column::new("review_state"),
    Column::time("reviewed_at"),
];

type Row = (
    (
        String,
        String,
        String,
        String,
        String,
        i32,
        NaiveDateTime,
        NaiveDateTime,
        NaiveDateTime,
        f64,
        f64,
        f64,
    ),
    (bool, i32, String, String, Option<NaiveDateTime>),
    (String, Option<String>, String),
);

/// The one part of a stored flag the export shows: its code (messages and evidence are for the
/// visit's own page).
#[derive(Deserialize)]
struct FlagCode {
    code: String,
}

fn flag_codes(json: &str) -> String {
    serde_json::from_str::<Vec<FlagCode>>(json)
        .map(|flags| {
            flags
                .into_iter()
                .map(|f| f.code)
                .collect::<Vec<_>>()
                .join(";")
        })
        .unwrap_or_default()
}

impl ExportKind for Visits {
    fn name(&self) -> &'static str {
        "visits"
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn filters(&self) -> &'static [&'static str] {
        &["from", "to", "flagged", "review_state"]
    }

    // disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
    #[allow(clippy::disallowed_methods)]
    fn page(
        &self,
        conn: &mut AnyConnection,
        export: &Export,
        after: Option<&Key>,
        limit: i64,
        out: &mut RowWriter,
    ) -> QueryResult<(i64, Option<Key>)> {
        let f = &export.filters;
        let (from, to) = f.utc_range();
        let rows: Vec<Row> = next_rows(after, limit, |bound, limit| {
            let mut q = in_scope!(
                visits::table
                    .inner_join(households::table.on(households::id.eq(visits::household_id)))
                    .inner_join(users::table.on(users::id.eq(visits::worker_id))),
                visits::org_path,
                export.scope
            )
            .select((
                (
                    visits::id,
                    visits::task_id,
                    visits::household_id,
                    visits::org_path,
                    visits::form_key,
                    visits::form_version,
                    visits::started_at,
                    visits::finished_at,
                    visits::received_at,
                    visits::lat,
                    visits::lon,
                    visits::accuracy_m,
                ),
                (
                    visits::mock_location,
                    visits::flag_count,
                    visits::flags,
                    visits::review_state,
                    visits::reviewed_at,
                ),
                (households::address, households::head_name, users::username),
            ))
            .order((visits::org_path.asc(), visits::id.asc()))
            .limit(limit)
            .into_boxed();
            if let Some(from) = from {
                q = q.filter(visits::started_at.ge(from));
            }
            if let Some(to) = to {
                q = q.filter(visits::started_at.lt(to));
            }
            match f.flagged {
                Some(true) => q = q.filter(visits::flag_count.gt(0)),
                Some(false) => q = q.filter(visits::flag_count.eq(0)),
                None => {}
            }
            if let Some(state) = f.review_state {
                q = q.filter(visits::review_state.eq(state.as_str()));
            }
            keyset_bound!(q, bound, visits::org_path, visits::id).load(conn)
        })?;
        let n = rows.len() as i64;
        let mut last = None;
        for (a, b, (address, head_name, username)) in rows {
            let (
                id,
                task_id,
                household_id,
                org_path,
                form_key,
                form_version,
                started,
                finished,
                received,
                lat,
                lon,
                accuracy,
            ) = a;
            let (mock, flag_count, flags, review_state, reviewed_at) = b;
            out.begin(Some((lon, lat)));
            out.text(&id);
            out.text(&task_id);
            out.text(&household_id);
            out.text(&address);
            out.opt_text(head_name.as_deref());
            out.text(grid_code(&org_path));
            out.text(&username);
            out.text(&form_key);
            out.int(i64::from(form_version));
            out.time(Some(started));
            out.time(Some(finished));
            out.time(Some(received));
            out.float(Some(lat));
            out.float(Some(lon));
            out.float(Some(accuracy));
            out.bool(mock);
            out.int(i64::from(flag_count));
            if flag_count > 0 {
                out.text(&flag_codes(&flags));
            } else {
                out.text("");
            }
            out.text(&review_state);
            out.time(reviewed_at);
            out.end();
            last = Some(Key { org_path, id });
        }
        Ok((n, last))
    }
}
