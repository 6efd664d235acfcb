//! The visits export: one row per visit report, with the household's address and head, the
//! worker, the times (Asia/Shanghai), the fix, the flags and the review. Answers stay sealed: an
//! export of every answer would have to decrypt them (they hold ID numbers and health), which an
//! export must not do; `GET /visits/{id}` shows one visit's answers, masked.

use diesel::QueryResult;
use serde::Deserialize;

use super::{grid_code, next_rows, Column, Export, ExportKind, Key, RowWriter};
use crate::db::repo::visits as repo;
use crate::db::AnyConnection;

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
        let rows = next_rows(after, limit, |bound, limit| {
            repo::export_page(
                conn,
                &export.scope,
                repo::ExportFilters {
                    from,
                    to,
                    flagged: f.flagged,
                    review_state: f.review_state.map(|s| s.as_str()),
                },
                bound,
                limit,
            )
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
