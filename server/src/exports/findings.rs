//! The findings export: one row per finding, with its rule, suggested categories and the values
//! the rule computed (no ID numbers: findings hold none).

use diesel::prelude::*;

use super::{next_rows, Column, Export, ExportKind, Key, RowWriter};
use crate::db::repo::findings as repo;
use crate::db::AnyConnection;

pub struct Findings;

const COLUMNS: &[Column] = &[
    Column::new("finding_id"),
    Column::new("type"),
    Column::new("state"),
    Column::new("source"),
    Column::new("unit_code"),
    Column::new("unit_name"),
    Column::new("household_id"),
    Column::new("rule_id"),
    Column::new("rule_version"),
    Column::new("categories"),
    Column::new("computed"),
    Column::new("application_id"),
    Column::time("created_at"),
    Column::time("updated_at"),
];

impl ExportKind for Findings {
    fn name(&self) -> &'static str {
        "findings"
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
        let n = rows.len() as i64;
        let mut last = None;
        for (head, tail, (code, name)) in rows {
            let (id, org_path, kind, state, source, household, rule, version) = head;
            let (categories, computed, application, created, updated) = tail;
            let categories: Vec<String> = serde_json::from_str(&categories).unwrap_or_default();
            out.begin(None);
            out.text(&id);
            out.text(&kind);
            out.text(&state);
            out.text(&source);
            out.opt_text(code.as_deref());
            out.opt_text(name.as_deref());
            out.opt_text(household.as_deref());
            out.opt_text(rule.as_deref());
            out.opt_text(version.map(|v| v.to_string()).as_deref());
            out.text(&categories.join(";"));
            out.text(&computed);
            out.opt_text(application.as_deref());
            out.time(Some(created));
            out.time(Some(updated));
            out.end();
            last = Some(Key { org_path, id });
        }
        Ok((n, last))
    }
}
