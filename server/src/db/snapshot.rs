//! A consistent copy of a live SQLite database, and what a backup or a restore checks in one:
//! the tables and their row counts, the migration level, `PRAGMA integrity_check`, and the
//! photo objects the rows name. SQLite only: PostgreSQL has `pg_dump` and point-in-time
//! recovery (docs/operations.md).

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::schema::photos;
use super::AnyConnection;

/// Why a snapshot cannot be taken or read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("this is a PostgreSQL database: use pg_dump and point-in-time recovery (docs/operations.md) / PostgreSQL 数据库请用 pg_dump 与时间点恢复")]
    Postgres,
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("cannot open the snapshot: {0}")]
    Open(String),
}

/// Writes a transactionally consistent copy of the database into `dest` (which must not
/// exist) with `VACUUM INTO`. It reads inside one read transaction, so with the WAL the server's
/// writers carry on and the copy holds exactly the transactions committed before it began, none
/// of a later one; the copy is compacted and has no `-wal` file to go with it.
pub fn sqlite_snapshot(conn: &mut AnyConnection, dest: &Path) -> Result<(), SnapshotError> {
    let AnyConnection::Sqlite(c) = conn else {
        return Err(SnapshotError::Postgres);
    };
    let dest = dest
        .to_str()
        .ok_or_else(|| SnapshotError::Open("the snapshot path is not UTF-8".into()))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(dest)
        .execute(c)?;
    Ok(())
}

/// Opens a SQLite file on its own (no pool, no migrations): a snapshot being written or checked.
pub fn open_sqlite_file(path: &Path) -> Result<AnyConnection, SnapshotError> {
    let path = path
        .to_str()
        .ok_or_else(|| SnapshotError::Open("the path is not UTF-8".into()))?;
    let mut conn = <diesel::SqliteConnection as Connection>::establish(path)
        .map_err(|e| SnapshotError::Open(e.to_string()))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000;")?;
    Ok(AnyConnection::Sqlite(conn))
}

/// What a snapshot holds, as the manifest records it and a restore checks it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Census {
    /// The last migration applied (diesel's version, e.g. `20261205000001`).
    pub migration: String,
    /// Every table (but SQLite's own) with its number of rows, by name.
    pub tables: std::collections::BTreeMap<String, i64>,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Tables and row counts and the migration level of a SQLite file.
pub fn census(conn: &mut AnyConnection) -> Result<Census, SnapshotError> {
    let AnyConnection::Sqlite(c) = conn else {
        return Err(SnapshotError::Postgres);
    };
    let names: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .load(c)?;
    let mut tables = std::collections::BTreeMap::new();
    for Name { name } in names {
        // The names come from sqlite_master; quoting keeps any name a single identifier.
        let quoted = name.replace('"', "\"\"");
        let count: Count =
            diesel::sql_query(format!("SELECT count(*) AS n FROM \"{quoted}\"")).get_result(c)?;
        tables.insert(name, count.n);
    }
    let migration: Name = diesel::sql_query(
        "SELECT coalesce(max(version), '') AS name FROM __diesel_schema_migrations",
    )
    .get_result(c)?;
    Ok(Census {
        migration: migration.name,
        tables,
    })
}

/// `PRAGMA integrity_check` and `PRAGMA foreign_key_check`: the problems found, none when the
/// file is sound.
pub fn integrity_problems(conn: &mut AnyConnection) -> Result<Vec<String>, SnapshotError> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        integrity_check: String,
    }
    #[derive(QueryableByName)]
    struct Dangling {
        #[diesel(sql_type = Text)]
        table: String,
        #[diesel(sql_type = Text)]
        parent: String,
    }
    let AnyConnection::Sqlite(c) = conn else {
        return Err(SnapshotError::Postgres);
    };
    let mut problems: Vec<String> = diesel::sql_query("PRAGMA integrity_check")
        .load::<Line>(c)?
        .into_iter()
        .map(|l| l.integrity_check)
        .filter(|l| l != "ok")
        .collect();
    let dangling: Vec<Dangling> =
        diesel::sql_query("SELECT \"table\", parent FROM pragma_foreign_key_check").load(c)?;
    problems.extend(
        dangling
            .into_iter()
            .map(|d| format!("a row of {} names a missing row of {}", d.table, d.parent)),
    );
    Ok(problems)
}

/// Every photo object key the rows name (original, display and thumbnail), each once, sorted.
pub fn photo_objects(conn: &mut AnyConnection) -> QueryResult<Vec<String>> {
    let rows: Vec<(String, String, String)> = photos::table
        .select((photos::original_key, photos::display_key, photos::thumb_key))
        .load(conn)?;
    let keys: std::collections::BTreeSet<String> = rows
        .into_iter()
        .flat_map(|(original, display, thumb)| [original, display, thumb])
        .collect();
    Ok(keys.into_iter().collect())
}

/// Whether the URL's database is SQLite, and its file.
pub fn sqlite_file(url: &str) -> Result<Option<std::path::PathBuf>, super::DbSetupError> {
    Ok(match super::parse_url(url)? {
        (super::Backend::Sqlite, path) => Some(path.into()),
        (super::Backend::Postgres, _) => None,
    })
}

/// The newest migration this binary carries for SQLite: a snapshot at a later one was written
/// by a newer `jiuzhu`, whose schema this one does not know.
pub fn newest_sqlite_migration() -> Result<String, SnapshotError> {
    use diesel::migration::MigrationSource;
    let list = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&super::SQLITE_MIGRATIONS)
        .map_err(|e| SnapshotError::Open(e.to_string()))?;
    Ok(list
        .iter()
        .map(|m| m.name().version().to_string())
        .max()
        .unwrap_or_default())
}
