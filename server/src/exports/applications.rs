//! The applications export: one row per application, its categories with their departments'
//! statuses, its limits and whether one has passed.

use std::collections::HashMap;

use diesel::prelude::*;
use jiuzhu_proto::application::ApplicationState;

use super::{next_rows, Column, Export, ExportKind, Key, RowWriter};
use crate::applications::workflow::{self, Limits};
use crate::db::repo::applications as repo;
use crate::db::AnyConnection;

pub struct Applications;

const COLUMNS: &[Column] = &[
    Column::new("application_id"),
    Column::new("household_id"),
    Column::new("unit_code"),
    Column::new("unit_name"),
    Column::new("state"),
    Column::new("categories"),
    Column::new("delegated"),
    Column::time("submitted_at"),
    Column::time("accepted_at"),
    Column::time("decided_at"),
    Column::new("step_due"),
    Column::new("total_due"),
    Column::new("overdue"),
    Column::time("updated_at"),
];

impl ExportKind for Applications {
    fn name(&self) -> &'static str {
        "applications"
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn filters(&self) -> &'static [&'static str] {
        &[]
    }

    fn page(
        &self,
        conn: &mut AnyConnection,
        export: &Export,
        after: Option<&Key>,
        limit: i64,
        out: &mut RowWriter,
    ) -> QueryResult<(i64, Option<Key>)> {
        let rows = next_rows(after, limit, |bound, limit| {
            repo::export_page(conn, &export.scope, bound, limit)
        })?;
        let ids: Vec<String> = rows.iter().map(|r| r.0 .0.clone()).collect();
        let mut categories: HashMap<String, Vec<String>> = HashMap::new();
        for c in crate::db::repo::applications::categories_of(conn, &ids)? {
            categories
                .entry(c.application_id)
                .or_default()
                .push(format!("{}:{}", c.category, c.status));
        }
        let today = crate::domain::time::today();
        let n = rows.len() as i64;
        let mut last = None;
        for ((id, org_path, household, state, delegated), times, (code, name)) in rows {
            let (submitted, accepted, decided, step_due, total_due, updated) = times;
            let overdue = ApplicationState::parse(&state).is_some_and(|s| {
                workflow::overdue(
                    s,
                    Limits {
                        step_due,
                        total_due,
                    },
                    today,
                )
            });
            out.begin(None);
            out.text(&id);
            out.text(&household);
            out.opt_text(code.as_deref());
            out.opt_text(name.as_deref());
            out.text(&state);
            out.text(&categories.remove(&id).unwrap_or_default().join(";"));
            out.bool(delegated);
            out.time(Some(submitted));
            out.time(accepted);
            out.time(decided);
            out.opt_text(step_due.map(|d| d.to_string()).as_deref());
            out.opt_text(total_due.map(|d| d.to_string()).as_deref());
            out.bool(overdue);
            out.time(Some(updated));
            out.end();
            last = Some(Key { org_path, id });
        }
        Ok((n, last))
    }
}
