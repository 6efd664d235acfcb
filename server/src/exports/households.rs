//! The households export: one row per household, with its head's masked ID and phone numbers as
//! the registry stored them (never decrypted here).

use std::collections::HashMap;

use diesel::QueryResult;

use super::{next_rows, Column, Export, ExportKind, Key, RowWriter};
use crate::db::repo::households as repo;
use crate::db::AnyConnection;

pub struct Households;

const COLUMNS: &[Column] = &[
    Column::new("household_id"),
    Column::new("external_id"),
    Column::new("grid_code"),
    Column::new("grid_name"),
    Column::new("address"),
    Column::new("lat"),
    Column::new("lon"),
    Column::new("status"),
    Column::new("tags"),
    Column::new("head_name"),
    Column::new("head_id_number_masked"),
    Column::new("head_phone_masked"),
    Column::new("member_count"),
    Column::time("updated_at"),
];

impl ExportKind for Households {
    fn name(&self) -> &'static str {
        "households"
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn filters(&self) -> &'static [&'static str] {
        &["status", "tag"]
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
        let rows = next_rows(after, limit, |bound, limit| {
            repo::export_page(
                conn,
                &export.scope,
                f.status.map(|s| s.as_str()),
                f.tag.as_deref(),
                bound,
                limit,
            )
        })?;
        let ids: Vec<String> = rows.iter().map(|r| r.0 .0.clone()).collect();
        let mut tags: HashMap<String, Vec<String>> = HashMap::new();
        for (h, t) in repo::tags_for(conn, &ids)? {
            tags.entry(h).or_default().push(t);
        }
        let n = rows.len() as i64;
        let mut last = None;
        for (h, (grid_code, grid_name), (id_masked, phone_masked)) in rows {
            let (id, external_id, org_path, address, lat, lon, status, head_name, count, updated) =
                h;
            out.begin(lat.zip(lon).map(|(lat, lon)| (lon, lat)));
            out.text(&id);
            out.opt_text(external_id.as_deref());
            out.text(&grid_code);
            out.text(&grid_name);
            out.text(&address);
            out.float(lat);
            out.float(lon);
            out.text(&status);
            out.text(&tags.remove(&id).unwrap_or_default().join(";"));
            out.opt_text(head_name.as_deref());
            out.opt_text(id_masked.as_deref());
            out.opt_text(phone_masked.as_deref());
            out.int(i64::from(count));
            out.time(Some(updated));
            out.end();
            last = Some(Key { org_path, id });
        }
        Ok((n, last))
    }
}
