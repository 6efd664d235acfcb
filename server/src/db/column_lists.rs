//! The columns of a table are written down in several places: the migrations, `schema.rs`, the
//! row structs, the SQLite `INSERT` strings of the bulk writers with their bind order, and the
//! PostgreSQL `COPY` writers with their value order. Two swapped columns of one type compile.
//! These tests hold them together on both backends:
//!
//! - every table of `schema.rs` has the migrated database's columns, in order (a `COPY` names the
//!   columns of its diesel table, so its list is the table's);
//! - every hand-written `INSERT INTO t (…)` string found in the source lists `t`'s columns, in
//!   order, and every `COPY` targets its whole table;
//! - every bulk writer puts each value in its own column: rows with a different value in every
//!   column are written through the writer and read back by column name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::limit::FirstRow;
use crate::db::repo::departments::{self, NewImport, RecordRow};
use crate::db::repo::households::{self, HouseholdRow, MemberRow};
use crate::db::AnyConnection;

/// The tables of `schema.rs` and their columns in order, read from its `diesel::table!` blocks.
fn schema_tables() -> BTreeMap<String, Vec<String>> {
    let mut tables = BTreeMap::new();
    let mut lines = include_str!("schema.rs").lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line != "diesel::table! {" {
            continue;
        }
        let Some(head) = lines.find(|l| !l.is_empty() && !l.starts_with('#')) else {
            break;
        };
        let name = head.split([' ', '(']).next().unwrap_or_default().to_owned();
        let mut columns = Vec::new();
        for line in lines.by_ref() {
            if line.starts_with('}') {
                break;
            }
            if let Some((column, _)) = line.split_once("->") {
                columns.push(column.trim().to_owned());
            }
        }
        tables.insert(name, columns);
    }
    tables
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every source file of the server but this one: (path under `src/`, text).
fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f).ok()?;
            let name = f.strip_prefix(&src).ok()?.to_string_lossy().into_owned();
            (!name.ends_with("column_lists.rs")).then_some((name, text))
        })
        .collect()
}

/// The string literal starting at `text[start..]` (just after its opening quote), with Rust's
/// line continuations (`\` then a newline and indentation) taken out.
fn literal(text: &str, start: usize) -> String {
    let mut out = String::new();
    let mut chars = text[start..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('\n') => {
                    while chars.peek().is_some_and(|c| c.is_whitespace()) {
                        chars.next();
                    }
                }
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

/// A hand-written column list: where it is, its table and its columns.
#[derive(Debug)]
struct ColumnList {
    place: String,
    table: String,
    columns: Vec<String>,
}

/// Every `"INSERT INTO t (a, b, …)` string literal of the sources.
fn insert_lists(sources: &[(String, String)]) -> Vec<ColumnList> {
    let mut lists = Vec::new();
    for (file, text) in sources {
        for (at, _) in text.match_indices("\"INSERT INTO ") {
            let sql = literal(text, at + 1);
            let Some(rest) = sql.strip_prefix("INSERT INTO ") else {
                continue;
            };
            let Some((table, after)) = rest.split_once(" (") else {
                continue;
            };
            let Some((columns, _)) = after.split_once(')') else {
                continue;
            };
            let line = text[..at].lines().count();
            lists.push(ColumnList {
                place: format!("src/{file}:{line}"),
                table: table.trim().to_owned(),
                columns: columns.split(',').map(|c| c.trim().to_owned()).collect(),
            });
        }
    }
    lists
}

/// Every `copy_from(t::table).from_raw_data(target, …)`: (where, table, target).
fn copy_targets(sources: &[(String, String)]) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for (file, text) in sources {
        for (at, _) in text.match_indices("diesel::copy_from(") {
            let rest = &text[at + "diesel::copy_from(".len()..];
            let table = rest.split("::table").next().unwrap_or_default().trim();
            let target = rest
                .split_once("from_raw_data(")
                .map(|(_, t)| t.split(',').next().unwrap_or_default().trim().to_owned())
                .unwrap_or_default();
            let line = text[..at].lines().count();
            found.push((format!("src/{file}:{line}"), table.to_owned(), target));
        }
    }
    found
}

/// A table's columns in the database, in order.
fn db_columns(conn: &mut AnyConnection, table: &str) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let sql = match conn {
        AnyConnection::Sqlite(_) => "SELECT name FROM pragma_table_info($1) ORDER BY cid",
        AnyConnection::Postgresql(_) => {
            "SELECT column_name AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let names: Vec<Name> = diesel::sql_query(sql).bind::<Text, _>(table).load(conn)?;
    Ok(names.into_iter().map(|n| n.name).collect())
}

/// What differs between the code's column lists and the database's tables; empty when they agree.
fn mismatches(
    conn: &mut AnyConnection,
    schema: &BTreeMap<String, Vec<String>>,
    inserts: &[ColumnList],
    copies: &[(String, String, String)],
) -> QueryResult<Vec<String>> {
    let mut out = Vec::new();
    for (table, columns) in schema {
        let stored = db_columns(conn, table)?;
        if &stored != columns {
            out.push(format!(
                "schema.rs `{table}`: {columns:?}, the database: {stored:?}"
            ));
        }
    }
    // Only the tables of the schema (a test's own scratch table is no concern here).
    for list in inserts.iter().filter(|l| schema.contains_key(&l.table)) {
        let stored = db_columns(conn, &list.table)?;
        if stored != list.columns {
            out.push(format!(
                "{} INSERT INTO {}: {:?}, the table: {stored:?}",
                list.place, list.table, list.columns
            ));
        }
    }
    for (place, table, target) in copies {
        if !schema.contains_key(table) || *target != format!("{table}::table") {
            out.push(format!(
                "{place}: COPY into `{table}` names `{target}`: copy the whole table \
                 (`{table}::table`), whose columns are checked above"
            ));
        }
    }
    Ok(out)
}

fn migrated_sqlite() -> AnyConnection {
    let mut conn = AnyConnection::Sqlite(
        diesel::SqliteConnection::establish(":memory:").expect("an in-memory SQLite"),
    );
    crate::db::migrate(&mut conn).expect("migrations");
    conn
}

/// A migrated PostgreSQL database made for one test and dropped after it; `None` (after saying
/// so) when PostgreSQL is out of reach outside CI.
struct PgDb {
    admin: String,
    name: String,
}

impl PgDb {
    fn create() -> Option<(PgDb, AnyConnection)> {
        let admin = std::env::var("JIUZHU_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        let mut root = match diesel::PgConnection::establish(&admin) {
            Ok(c) => c,
            Err(e) if !in_ci => {
                eprintln!("PostgreSQL half SKIPPED: cannot reach {admin}: {e}");
                return None;
            }
            Err(e) => panic!("CI is set but PostgreSQL at {admin} is unreachable: {e}"),
        };
        let name = format!("jiuzhu_columns_{}", uuid::Uuid::now_v7().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut root)
            .expect("a test database");
        let (base, _) = admin.rsplit_once('/').expect("a database part in the URL");
        let db = PgDb {
            admin: admin.clone(),
            name: name.clone(),
        };
        let mut conn = AnyConnection::Postgresql(
            diesel::PgConnection::establish(&format!("{base}/{name}")).expect("the test database"),
        );
        crate::db::migrate(&mut conn).expect("migrations");
        Some((db, conn))
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut root) = diesel::PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut root);
        }
    }
}

fn check_lists(conn: &mut AnyConnection) {
    let schema = schema_tables();
    assert!(schema.len() > 30, "read only {} tables", schema.len());
    assert!(
        schema["households"].len() > 10,
        "{:?}",
        schema["households"]
    );
    let sources = sources();
    let inserts = insert_lists(&sources);
    let copies = copy_targets(&sources);
    // The writers this test exists for are found in the code, not listed here.
    for table in [
        "households",
        "members",
        "department_records",
        "tasks",
        "changes",
    ] {
        assert!(
            inserts.iter().any(|l| l.table == table),
            "no INSERT for {table} found in {inserts:?}"
        );
    }
    for table in ["households", "members", "department_records"] {
        assert!(
            copies.iter().any(|(_, t, _)| t == table),
            "no COPY into {table} found in {copies:?}"
        );
    }
    let wrong = mismatches(conn, &schema, &inserts, &copies).expect("reading the tables");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_column_list_is_its_tables_on_sqlite() {
    check_lists(&mut migrated_sqlite());
}

#[test]
fn every_column_list_is_its_tables_on_postgres() {
    let Some((_db, mut conn)) = PgDb::create() else {
        return;
    };
    check_lists(&mut conn);
}

#[test]
fn two_swapped_columns_are_caught() {
    let mut conn = migrated_sqlite();
    let schema = schema_tables();
    let sources = sources();
    let mut inserts = insert_lists(&sources);
    let households = inserts
        .iter_mut()
        .find(|l| l.table == "households")
        .expect("the households INSERT");
    // `address` and `grid_id`: two text columns, so the swap compiles.
    let a = households.columns.iter().position(|c| c == "address");
    let b = households.columns.iter().position(|c| c == "grid_id");
    households
        .columns
        .swap(a.expect("address"), b.expect("grid_id"));
    let wrong = mismatches(&mut conn, &schema, &inserts, &[]).expect("reading the tables");
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].contains("INSERT INTO households"), "{wrong:?}");
    let mut swapped = schema.clone();
    if let Some(columns) = swapped.get_mut("members") {
        columns.swap(3, 4);
    }
    let copies = [(
        "here".to_owned(),
        "members".to_owned(),
        "(members::id, members::name)".to_owned(),
    )];
    let wrong = mismatches(&mut conn, &swapped, &[], &copies).expect("reading the tables");
    assert_eq!(wrong.len(), 2, "{wrong:?}");
}

// ---------------------------------------------------------------------------------------------
// Values in their columns

fn at(day: u32, micros: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, day)
        .and_then(|d| d.and_hms_micro_opt(4, 5, 6, micros))
        .expect("a time")
}

fn grid(conn: &mut AnyConnection) {
    crate::db::repo::org_units::insert(
        conn,
        &crate::db::repo::org_units::NewOrgUnit {
            id: "unit-grid".into(),
            kind: "grid".into(),
            code: "unit-code".into(),
            name: "unit-name".into(),
            parent_id: None,
            path: "/unit/".into(),
            boundary: None,
            min_lon: None,
            min_lat: None,
            max_lon: None,
            max_lat: None,
            created_at: at(1, 0),
            updated_at: at(1, 0),
        },
    )
    .expect("a grid");
}

/// A household and a member with a different value in every column.
fn household_rows() -> (HouseholdRow, MemberRow) {
    let household = HouseholdRow {
        id: "h-id".into(),
        external_id: Some("h-external".into()),
        address: "h-address".into(),
        lat: Some(31.25),
        lon: Some(120.5),
        grid_id: "unit-grid".into(),
        org_path: "/unit/".into(),
        grid_overridden: true,
        status: "h-status".into(),
        notes: "h-notes \"quoted\", with a comma".into(),
        head_member_id: Some("m-id".into()),
        head_name: Some("h-head-name".into()),
        member_count: 3,
        version: 7,
        created_at: at(2, 123_456),
        updated_at: at(3, 654_321),
    };
    let member = MemberRow {
        id: "m-id".into(),
        household_id: "h-id".into(),
        position: 2,
        name: "m-name".into(),
        relation: "m-relation".into(),
        id_cipher: "m-cipher".into(),
        id_key_id: "m-key".into(),
        id_blind: vec![1, 2, 254],
        id_masked: "m-masked".into(),
        birth_date: NaiveDate::from_ymd_opt(1960, 7, 8).expect("a date"),
        gender: "m-gender".into(),
        health: "m-health".into(),
        disability_type: Some("m-disability".into()),
        disability_level: Some(4),
        daily_living: "m-daily".into(),
        work_status: "m-work".into(),
        student_status: "m-student".into(),
        income: "m-income".into(),
        annual_income_fen: 1_234_567,
        phone_cipher: Some("m-phone-cipher".into()),
        phone_masked: Some("m-phone-masked".into()),
        created_at: at(4, 1),
        updated_at: at(5, 2),
    };
    (household, member)
}

type StoredRecord = (
    String,
    String,
    String,
    i64,
    Vec<u8>,
    String,
    Option<String>,
    Option<String>,
    NaiveDate,
    Option<i64>,
    String,
    NaiveDateTime,
);

/// Writes rows through the bulk writers of `households` and `department_records` (SQLite's
/// prepared INSERTs or PostgreSQL's COPY, whichever `conn` is) and reads them back by column name.
fn values_land_in_their_columns(conn: &mut AnyConnection) {
    use crate::db::schema::{department_records, households as h, members as m};
    grid(conn);
    let (household, member) = household_rows();
    households::insert_new_bulk(
        conn,
        std::slice::from_ref(&household),
        std::slice::from_ref(&member),
    )
    .expect("the bulk write");
    let stored: HouseholdRow = h::table
        .find("h-id")
        .select(HouseholdRow::as_select())
        .first_row(conn)
        .expect("the household");
    assert_eq!(format!("{stored:?}"), format!("{household:?}"));
    let stored: MemberRow = m::table
        .find("m-id")
        .select(MemberRow::as_select())
        .first_row(conn)
        .expect("the member");
    assert_eq!(format!("{stored:?}"), format!("{member:?}"));

    departments::insert_import(
        conn,
        NewImport {
            id: "i-id",
            source: "i-source",
            org_path: "/unit/",
            created_by: None,
            created_at: at(6, 0),
        },
    )
    .expect("the import");
    let record = RecordRow {
        source: "r-source",
        record_id: "r-record".into(),
        import_id: "i-id",
        line: 11,
        id_blind: vec![9, 8, 7],
        id_masked: "r-masked".into(),
        member_id: Some("m-id".into()),
        household_id: Some("h-id".into()),
        event_date: NaiveDate::from_ymd_opt(2025, 12, 31).expect("a date"),
        amount_fen: Some(4_242),
        detail: "{\"r\":\"detail\"}".into(),
        imported_at: at(7, 77),
    };
    departments::insert_records(conn, std::slice::from_ref(&record)).expect("the records");
    let stored: StoredRecord = department_records::table
        .select((
            department_records::source,
            department_records::record_id,
            department_records::import_id,
            department_records::line,
            department_records::id_blind,
            department_records::id_masked,
            department_records::member_id,
            department_records::household_id,
            department_records::event_date,
            department_records::amount_fen,
            department_records::detail,
            department_records::imported_at,
        ))
        .first_row(conn)
        .expect("the record");
    let expected: StoredRecord = (
        record.source.to_owned(),
        record.record_id,
        record.import_id.to_owned(),
        record.line,
        record.id_blind,
        record.id_masked,
        record.member_id,
        record.household_id,
        record.event_date,
        record.amount_fen,
        record.detail,
        record.imported_at,
    );
    assert_eq!(stored, expected);
}

/// The writers SQLite alone takes by hand (PostgreSQL writes them with diesel's own inserts,
/// which go by column name).
fn sqlite_rows_land_in_their_columns(conn: &mut AnyConnection) {
    use crate::db::repo::changes::{self, ChangeInsert, ChangeRow};
    use crate::db::repo::findings::{self, FindingRow};
    use crate::db::repo::tasks::{self, EventRow, TaskRow};
    use crate::db::schema::{changes as c, findings as f, task_events as e, tasks as t};
    let task = TaskRow {
        id: "t-id".into(),
        kind: "verify".into(),
        household_id: "h-id".into(),
        org_path: "/unit/".into(),
        form_key: "t-form".into(),
        form_version: Some(3),
        assignee_id: Some("t-assignee".into()),
        state: "t-state".into(),
        due_date: NaiveDate::from_ymd_opt(2026, 4, 5).expect("a date"),
        priority: 2,
        note: "t-note".into(),
        created_by: Some("t-creator".into()),
        created_at: at(8, 8),
        updated_at: at(9, 9),
    };
    tasks::insert_many(conn, std::slice::from_ref(&task)).expect("the task");
    let stored: TaskRow = t::table
        .select(TaskRow::as_select())
        .first_row(conn)
        .expect("the task");
    assert_eq!(format!("{stored:?}"), format!("{task:?}"));

    let event = EventRow {
        id: "e-id".into(),
        task_id: "t-id".into(),
        from_state: Some("e-from".into()),
        to_state: "e-to".into(),
        actor_id: Some("e-actor".into()),
        note: "e-note".into(),
        at: at(10, 10),
    };
    tasks::record_events(conn, std::slice::from_ref(&event)).expect("the event");
    type StoredEvent = (
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        String,
        NaiveDateTime,
    );
    let stored: StoredEvent = e::table
        .select((
            e::id,
            e::task_id,
            e::from_state,
            e::to_state,
            e::actor_id,
            e::note,
            e::at,
        ))
        .first_row(conn)
        .expect("the event");
    let expected: StoredEvent = (
        event.id,
        event.task_id,
        event.from_state,
        event.to_state,
        event.actor_id,
        event.note,
        event.at,
    );
    assert_eq!(stored, expected);

    let finding = FindingRow {
        id: "f-id".into(),
        kind: "f-kind".into(),
        household_id: Some("h-id".into()),
        self_report_id: Some("f-report".into()),
        org_path: "/unit/".into(),
        rule_id: Some("f-rule".into()),
        rule_version: Some(5),
        source: "f-source".into(),
        source_id: Some("f-source-id".into()),
        inputs: "f-inputs".into(),
        computed: "f-computed".into(),
        categories: "f-categories".into(),
        state: "dismissed".into(),
        reason: Some("f-reason".into()),
        application_id: Some("f-application".into()),
        closed_by: Some("f-closer".into()),
        closed_at: Some(at(11, 11)),
        created_at: at(12, 12),
        updated_at: at(13, 13),
    };
    findings::insert_many(conn, std::slice::from_ref(&finding)).expect("the finding");
    let stored: FindingRow = f::table
        .select(FindingRow::as_select())
        .first_row(conn)
        .expect("the finding");
    assert_eq!(format!("{stored:?}"), format!("{finding:?}"));

    let change = ChangeInsert {
        seq: 41,
        entity: "c-entity",
        entity_id: "c-entity-id",
        worker_id: Some("c-worker"),
        op: "c-op",
        at: at(14, 14),
    };
    changes::insert_many(conn, std::slice::from_ref(&change)).expect("the change");
    let stored: ChangeRow = c::table
        .select(ChangeRow::as_select())
        .first_row(conn)
        .expect("the change");
    assert_eq!(
        (
            stored.seq,
            stored.entity.as_str(),
            stored.entity_id.as_str(),
            stored.worker_id.as_deref(),
            stored.op.as_str(),
            stored.at
        ),
        (
            change.seq,
            change.entity,
            change.entity_id,
            change.worker_id,
            change.op,
            change.at
        )
    );
}

#[test]
fn bulk_writers_put_each_value_in_its_column_on_sqlite() {
    let mut conn = migrated_sqlite();
    values_land_in_their_columns(&mut conn);
    // The rows below name forms, users and applications this test has no need to make.
    diesel::connection::SimpleConnection::batch_execute(&mut conn, "PRAGMA foreign_keys = OFF")
        .expect("foreign keys off");
    sqlite_rows_land_in_their_columns(&mut conn);
}

#[test]
fn bulk_writers_put_each_value_in_its_column_on_postgres() {
    let Some((_db, mut conn)) = PgDb::create() else {
        return;
    };
    values_land_in_their_columns(&mut conn);
}
