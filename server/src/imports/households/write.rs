//! The writing stage: checks against the database, then batch inserts with SQLite's prepared rows or
//! PostgreSQL's COPY.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::pipeline::{row_error, Item};
use super::{ImportContext, ImportError, ImportReport, Progress};
use crate::audit::{self, AuditEntry};
use crate::db::repo::households::{self as repo, HouseholdRow, MemberRow, StatusRow};
use crate::db::schema::{households, id_conflicts};
use crate::db::{self, AnyConnection};
use crate::error::ApiResult;
use crate::registry::write::{self, Clash, NewHousehold};

/// Values per `IN (…)` lookup: well under SQLite's limit of 32,766 bound parameters.
const LOOKUP_CHUNK: usize = 5000;

/// The writing stage: the database checks and the batch inserts.
pub(super) struct Writer<'a> {
    pub(super) ctx: &'a ImportContext<'a>,
    /// Conflicts already recorded in this run (id blind, existing household, attempted).
    pub(super) existing_conflicts: HashSet<(Vec<u8>, String, String)>,
    /// PostgreSQL's planner statistics, refreshed as the tables grow.
    pub(super) statistics: db::GrowingTables,
}

impl Writer<'_> {
    pub(super) fn write(
        &mut self,
        conn: &mut AnyConnection,
        items: Vec<Item>,
        report: &mut ImportReport,
        progress: &mut Progress<'_>,
    ) -> Result<(), ImportError> {
        self.statistics.grown_to(conn, report.households_created)?;
        // The checks and the inserts in one write transaction: on SQLite it holds the write lock,
        // so no other writer can register the same household or number in between; on
        // PostgreSQL an advisory lock does the same for concurrent imports.
        db::write_transaction(conn, |conn| {
            self.write_locked(conn, items, report, progress)
        })
    }

    // disallowed_methods: a list of ids of any length: to become db::one_of (issue 20).
    #[allow(clippy::disallowed_methods)]
    fn write_locked(
        &mut self,
        conn: &mut AnyConnection,
        items: Vec<Item>,
        report: &mut ImportReport,
        progress: &mut Progress<'_>,
    ) -> Result<(), ImportError> {
        crate::registry::write::lock_id_numbers(conn)?;
        let external_ids: Vec<String> = items
            .iter()
            .filter_map(|i| match i {
                Item::Ready(p) => Some(p.external_id.clone()),
                Item::Rejected { .. } => None,
            })
            .collect();
        let mut existing: HashMap<String, String> = HashMap::new();
        for chunk in external_ids.chunks(LOOKUP_CHUNK) {
            existing.extend(
                households::table
                    .filter(households::external_id.eq_any(chunk))
                    .select((
                        households::external_id.assume_not_null(),
                        households::org_path,
                    ))
                    .load::<(String, String)>(conn)?,
            );
        }
        let blinds: Vec<Vec<u8>> = items
            .iter()
            .filter_map(|i| match i {
                Item::Ready(p) if !existing.contains_key(&p.external_id) => Some(p),
                _ => None,
            })
            .flat_map(|p| p.new.members.iter().map(|m| m.id_blind.clone()))
            .collect();
        let mut holders: HashMap<Vec<u8>, (String, String)> = HashMap::new();
        for chunk in blinds.chunks(LOOKUP_CHUNK) {
            for (blind, household, path) in repo::holders_of(conn, chunk, None)? {
                holders.entry(blind).or_insert((household, path));
            }
        }
        let mut accepted: Vec<NewHousehold> = Vec::new();
        let mut clashes: Vec<(Vec<Clash>, String, String)> = Vec::new();
        for item in items {
            let p = match item {
                Item::Rejected { rows, errors } => {
                    report.reject(rows, errors);
                    continue;
                }
                Item::Ready(p) => *p,
            };
            let rows = p.member_lines.len() as u64;
            if let Some(path) = existing.get(&p.external_id) {
                if self.ctx.scope.contains(path) {
                    report.households_unchanged += 1;
                } else {
                    report.reject(
                        rows,
                        vec![row_error(
                            p.first_line,
                            "household_external_id",
                            "external_id_taken",
                            "此户编号已被辖区外的户使用 / this household_external_id belongs to a household outside your area",
                        )],
                    );
                }
                continue;
            }
            let found: Vec<Clash> = p
                .new
                .members
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    holders.get(&m.id_blind).map(|(h, path)| Clash {
                        member_index: i,
                        id_blind: m.id_blind.clone(),
                        id_masked: m.id_masked.clone(),
                        existing_household_id: h.clone(),
                        existing_org_path: path.clone(),
                    })
                })
                .collect();
            if !found.is_empty() {
                let errors = found
                    .iter()
                    .map(|c| {
                        row_error(
                            p.member_lines.get(c.member_index).copied().unwrap_or(p.first_line),
                            "id_number",
                            "id_number_conflict",
                            "该身份证号已登记在另一户，已记为冲突待社工处理 / this ID number is already in another household; recorded as a conflict for the coordinators",
                        )
                    })
                    .collect();
                report.reject(rows, errors);
                let attempted = format!("household.import {}", p.external_id);
                clashes.push((found, attempted, p.new.row.org_path.clone()));
                continue;
            }
            // Later households in this file clash with this one.
            for m in &p.new.members {
                holders.insert(
                    m.id_blind.clone(),
                    (p.new.row.id.clone(), p.new.row.org_path.clone()),
                );
            }
            accepted.push(p.new);
        }
        report.households_created += accepted.len() as u64;
        let rows = Rows::from(accepted);
        let ctx = self.ctx;
        // The two large tables the fastest way each backend offers: SQLite re-runs one prepared
        // single-row INSERT (no 11,500-parameter statement to build and parse per 500 rows);
        // PostgreSQL takes COPY.
        match &mut *conn {
            AnyConnection::Sqlite(c) => {
                sqlite_rows::households(c, &rows.households)?;
                sqlite_rows::members(c, &rows.members)?;
            }
            AnyConnection::Postgresql(c) => {
                pg_copy::households(c, &rows.households)?;
                pg_copy::members(c, &rows.members)?;
            }
        }
        repo::insert_tag_rows(conn, &rows.tags)?;
        repo::insert_statuses(conn, &rows.statuses)?;
        for (found, attempted, path) in &clashes {
            let fresh = new_conflicts(conn, &mut self.existing_conflicts, found, attempted)?;
            if !fresh.is_empty() {
                write::record_clashes(conn, &fresh, attempted, path, ctx.actor)?;
                report.conflicts_recorded += fresh.len() as u64;
            }
        }
        if !rows.households.is_empty() {
            audit::record(
                conn,
                AuditEntry {
                    actor_id: ctx.actor,
                    action: "household.import",
                    entity: "import",
                    entity_id: ctx.run_id,
                    org_path: ctx.scope.path(),
                    detail: serde_json::json!({
                        "households": rows.households.len(),
                        "members": rows.members.len(),
                    }),
                },
            )?;
        }
        progress(conn, report)?;
        Ok(())
    }
}

/// SQLite's writes of the two large tables: one fixed INSERT per table, prepared once and re-run
/// per row ([`bulk::insert`]), its dates formatted here rather than by diesel's query builder per
/// row (which walked each row's 23 values three times and hashed its SQL for the statement cache).
mod sqlite_rows {
    use diesel::sql_types::{BigInt, Binary, Bool, Double, Integer, Nullable, Text};
    use diesel::sqlite::SqliteConnection;
    use diesel::QueryResult;

    use crate::db::bulk::{self, Binds, SqliteRow};
    use crate::db::repo::households::{HouseholdRow, MemberRow};
    use crate::db::schema::{households, members};

    /// `created_at` and `updated_at` as text; the second only where it differs from the first
    /// (never, for a new row).
    struct Stamps {
        created: String,
        updated: Option<String>,
    }

    impl Stamps {
        fn of(created: chrono::NaiveDateTime, updated: chrono::NaiveDateTime) -> Self {
            Self {
                created: bulk::timestamp_text(created),
                updated: (updated != created).then(|| bulk::timestamp_text(updated)),
            }
        }

        fn bind<'b>(&'b self, out: &mut Binds<'_, '_, 'b>) -> QueryResult<()> {
            out.value::<Text, _>(&self.created)?;
            out.value::<Text, _>(self.updated.as_ref().unwrap_or(&self.created))
        }
    }

    struct Household<'r> {
        r: &'r HouseholdRow,
        stamps: Stamps,
    }

    impl SqliteRow for Household<'_> {
        type Key = households::table;
        const INSERT: &'static str = "INSERT INTO households (id, external_id, address, lat, \
            lon, grid_id, org_path, grid_overridden, status, notes, head_member_id, head_name, \
            member_count, version, created_at, updated_at) VALUES ";

        fn bind<'b>(&'b self, out: &mut Binds<'_, '_, 'b>) -> QueryResult<()> {
            let r = self.r;
            out.value::<Text, _>(&r.id)?;
            out.value::<Nullable<Text>, _>(&r.external_id)?;
            out.value::<Text, _>(&r.address)?;
            out.value::<Nullable<Double>, _>(&r.lat)?;
            out.value::<Nullable<Double>, _>(&r.lon)?;
            out.value::<Text, _>(&r.grid_id)?;
            out.value::<Text, _>(&r.org_path)?;
            out.value::<Bool, _>(&r.grid_overridden)?;
            out.value::<Text, _>(&r.status)?;
            out.value::<Text, _>(&r.notes)?;
            out.value::<Nullable<Text>, _>(&r.head_member_id)?;
            out.value::<Nullable<Text>, _>(&r.head_name)?;
            out.value::<Integer, _>(&r.member_count)?;
            out.value::<BigInt, _>(&r.version)?;
            self.stamps.bind(out)
        }
    }

    struct Member<'r> {
        r: &'r MemberRow,
        birth_date: String,
        stamps: Stamps,
    }

    impl SqliteRow for Member<'_> {
        type Key = members::table;
        const INSERT: &'static str = "INSERT INTO members (id, household_id, position, name, \
            relation, id_cipher, id_key_id, id_blind, id_masked, birth_date, gender, health, \
            disability_type, disability_level, daily_living, work_status, student_status, income, \
            annual_income_fen, phone_cipher, phone_masked, created_at, updated_at) VALUES ";

        fn bind<'b>(&'b self, out: &mut Binds<'_, '_, 'b>) -> QueryResult<()> {
            let r = self.r;
            out.value::<Text, _>(&r.id)?;
            out.value::<Text, _>(&r.household_id)?;
            out.value::<Integer, _>(&r.position)?;
            out.value::<Text, _>(&r.name)?;
            out.value::<Text, _>(&r.relation)?;
            out.value::<Text, _>(&r.id_cipher)?;
            out.value::<Text, _>(&r.id_key_id)?;
            out.value::<Binary, _>(&r.id_blind)?;
            out.value::<Text, _>(&r.id_masked)?;
            out.value::<Text, _>(&self.birth_date)?;
            out.value::<Text, _>(&r.gender)?;
            out.value::<Text, _>(&r.health)?;
            out.value::<Nullable<Text>, _>(&r.disability_type)?;
            out.value::<Nullable<Integer>, _>(&r.disability_level)?;
            out.value::<Text, _>(&r.daily_living)?;
            out.value::<Text, _>(&r.work_status)?;
            out.value::<Text, _>(&r.student_status)?;
            out.value::<Text, _>(&r.income)?;
            out.value::<BigInt, _>(&r.annual_income_fen)?;
            out.value::<Nullable<Text>, _>(&r.phone_cipher)?;
            out.value::<Nullable<Text>, _>(&r.phone_masked)?;
            self.stamps.bind(out)
        }
    }

    pub fn households(conn: &mut SqliteConnection, rows: &[HouseholdRow]) -> QueryResult<usize> {
        let rows: Vec<Household<'_>> = rows
            .iter()
            .map(|r| Household {
                r,
                stamps: Stamps::of(r.created_at, r.updated_at),
            })
            .collect();
        bulk::insert(conn, &rows)
    }

    pub fn members(conn: &mut SqliteConnection, rows: &[MemberRow]) -> QueryResult<usize> {
        let rows: Vec<Member<'_>> = rows
            .iter()
            .map(|r| Member {
                r,
                birth_date: bulk::date_text(r.birth_date),
                stamps: Stamps::of(r.created_at, r.updated_at),
            })
            .collect();
        bulk::insert(conn, &rows)
    }
}

/// PostgreSQL's `COPY … FROM STDIN (FORMAT csv)` for the two large tables: no statement to parse
/// and plan per 500 rows, no per-value bind. Every text is quoted, so an empty string stays an empty
/// string and an unquoted empty field is NULL.
mod pg_copy {
    use diesel::pg::CopyFormat;
    use diesel::prelude::*;
    use diesel::result::Error;

    use crate::db::repo::households::{HouseholdRow, MemberRow};
    use crate::db::schema::{households, members};
    use crate::imports::pg_copy::{bytea, optional, plain, text, write_all, TIMESTAMP};

    pub fn households(
        conn: &mut diesel::PgConnection,
        rows: &[HouseholdRow],
    ) -> Result<usize, Error> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::copy_from(households::table)
            .from_raw_data(households::table, |out: &mut dyn std::io::Write| {
                write_all(out, rows.len(), |i, l| {
                    let r = &rows[i];
                    text(l, &r.id);
                    optional(l, r.external_id.as_deref());
                    text(l, &r.address);
                    match r.lat {
                        Some(v) => plain(l, v),
                        None => l.push(','),
                    }
                    match r.lon {
                        Some(v) => plain(l, v),
                        None => l.push(','),
                    }
                    text(l, &r.grid_id);
                    text(l, &r.org_path);
                    plain(l, if r.grid_overridden { "t" } else { "f" });
                    text(l, &r.status);
                    text(l, &r.notes);
                    optional(l, r.head_member_id.as_deref());
                    optional(l, r.head_name.as_deref());
                    plain(l, r.member_count);
                    plain(l, r.version);
                    plain(l, r.created_at.format(TIMESTAMP));
                    plain(l, r.updated_at.format(TIMESTAMP));
                })
            })
            .with_format(CopyFormat::Csv)
            .execute(conn)
    }

    pub fn members(conn: &mut diesel::PgConnection, rows: &[MemberRow]) -> Result<usize, Error> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::copy_from(members::table)
            .from_raw_data(members::table, |out: &mut dyn std::io::Write| {
                write_all(out, rows.len(), |i, l| {
                    let r = &rows[i];
                    text(l, &r.id);
                    text(l, &r.household_id);
                    plain(l, r.position);
                    text(l, &r.name);
                    text(l, &r.relation);
                    text(l, &r.id_cipher);
                    text(l, &r.id_key_id);
                    bytea(l, &r.id_blind);
                    text(l, &r.id_masked);
                    plain(l, r.birth_date.format("%Y-%m-%d"));
                    text(l, &r.gender);
                    text(l, &r.health);
                    optional(l, r.disability_type.as_deref());
                    match r.disability_level {
                        Some(v) => plain(l, v),
                        None => l.push(','),
                    }
                    text(l, &r.daily_living);
                    text(l, &r.work_status);
                    text(l, &r.student_status);
                    text(l, &r.income);
                    plain(l, r.annual_income_fen);
                    optional(l, r.phone_cipher.as_deref());
                    optional(l, r.phone_masked.as_deref());
                    plain(l, r.created_at.format(TIMESTAMP));
                    plain(l, r.updated_at.format(TIMESTAMP));
                })
            })
            .with_format(CopyFormat::Csv)
            .execute(conn)
    }
}

/// A batch's rows by table, moved (not copied) out of the built households.
#[derive(Default)]
struct Rows {
    households: Vec<HouseholdRow>,
    members: Vec<MemberRow>,
    tags: Vec<(String, String)>,
    statuses: Vec<StatusRow>,
}

impl From<Vec<NewHousehold>> for Rows {
    fn from(batch: Vec<NewHousehold>) -> Self {
        let mut rows = Rows {
            households: Vec::with_capacity(batch.len()),
            members: Vec::with_capacity(batch.len() * 3),
            ..Default::default()
        };
        for n in batch {
            rows.tags
                .extend(n.tags.into_iter().map(|t| (n.row.id.clone(), t)));
            rows.statuses.extend(n.status);
            rows.members.extend(n.members);
            rows.households.push(n.row);
        }
        rows
    }
}

/// The clashes not yet on file as open conflicts for the same import row, so importing a file
/// again does not record the same conflict twice.
// disallowed_methods: binary blind indexes, which db::one_of (text ids) does not take.
#[allow(clippy::disallowed_methods)]
fn new_conflicts(
    conn: &mut AnyConnection,
    known: &mut HashSet<(Vec<u8>, String, String)>,
    found: &[Clash],
    attempted: &str,
) -> ApiResult<Vec<Clash>> {
    let blinds: Vec<&[u8]> = found.iter().map(|c| c.id_blind.as_slice()).collect();
    let on_file: Vec<(Vec<u8>, String)> = id_conflicts::table
        .filter(id_conflicts::attempted.eq(attempted))
        .filter(id_conflicts::resolved.eq(false))
        .filter(id_conflicts::id_blind.eq_any(&blinds))
        .select((id_conflicts::id_blind, id_conflicts::existing_household_id))
        .load(conn)?;
    let mut fresh = Vec::new();
    for c in found {
        let key = (
            c.id_blind.clone(),
            c.existing_household_id.clone(),
            attempted.to_owned(),
        );
        let stored = on_file
            .iter()
            .any(|(b, h)| *b == c.id_blind && *h == c.existing_household_id);
        if !stored && known.insert(key) {
            fresh.push(c.clone());
        }
    }
    Ok(fresh)
}
