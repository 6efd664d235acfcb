//! Storage: one connection type over SQLite and PostgreSQL, the pool, migrations, and the helper
//! that runs blocking database work off the async workers.

pub mod app_role;
pub mod bulk;
pub mod bulk_load;
#[cfg(test)]
mod column_lists;
pub mod group_commit;
pub mod keyset;
pub mod limit;
pub mod locks;
pub mod one_of;
pub mod pg_copy;
pub mod repo;
mod schema;
pub mod snapshot;
pub mod sqltime;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// A connection to whichever backend the URL named.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = Pool<ConnectionManager<AnyConnection>>;

pub type DbConn = PooledConnection<ConnectionManager<AnyConnection>>;

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("unsupported database URL scheme `{0}`: use sqlite://PATH, a bare file path, or postgres://…")]
    UnsupportedScheme(String),
    #[error("cannot open the database: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("cannot run migrations: {0}")]
    Migration(String),
    #[error("cannot open the SQLite file: {0}")]
    Open(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("cannot create the database folder: {0}")]
    Io(#[from] std::io::Error),
}

/// Decides the backend from the URL and returns the string diesel's connection expects.
pub fn parse_url(url: &str) -> Result<(Backend, String), DbSetupError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok((Backend::Sqlite, path.to_owned()));
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(DbSetupError::UnsupportedScheme(scheme.to_owned()));
    }
    if url.is_empty() || url.contains(':') && !url.starts_with('/') && !url.starts_with('.') {
        let scheme = url.split(':').next().unwrap_or_default();
        return Err(DbSetupError::UnsupportedScheme(scheme.to_owned()));
    }
    Ok((Backend::Sqlite, url.to_owned()))
}

/// Per-connection settings. SQLite: WAL for concurrent readers, `synchronous=FULL` so that a
/// committed transaction (and so every 2xx) survives a power cut, foreign keys on, a busy
/// timeout so writers queue instead of failing, the WAL file cut back to 64 MiB when it restarts
/// (a bulk import lets it grow to hundreds of MB between checkpoints), and reads through a memory map of the file
/// (up to 1 GiB) rather than a `pread` per page that is not in the connection's own small cache:
/// sync reads many pages per request (sqlite.org/mmap.html; writes still go through the WAL).
/// A reader that walks the whole file turns the map off for its reads (`exports`, see
/// [`SQLITE_MMAP_PRAGMA`]).
#[derive(Debug, Clone, Copy)]
struct ConnectionSetup {
    backend: Backend,
}

/// The memory map every pooled SQLite connection reads through (1 GiB); a connection that turned
/// it off runs this before it goes back to the pool.
pub const SQLITE_MMAP_PRAGMA: &str = "PRAGMA mmap_size = 1073741824;";

impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut AnyConnection) -> Result<(), diesel::r2d2::Error> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 67108864;"
            }
            Backend::Postgres => "SET TIME ZONE 'UTC';",
        };
        conn.batch_execute(sql)
            .map_err(diesel::r2d2::Error::QueryError)?;
        if self.backend == Backend::Sqlite {
            conn.batch_execute(SQLITE_MMAP_PRAGMA)
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Opens a pool for the URL, creating the SQLite file's folder if needed.
pub fn connect(url: &str, max_size: u32) -> Result<(Backend, DbPool), DbSetupError> {
    let (backend, target) = parse_url(url)?;
    if backend == Backend::Sqlite {
        if let Some(parent) = std::path::Path::new(&target).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        create_private(std::path::Path::new(&target))?;
    }
    if backend == Backend::Sqlite {
        // WAL is a property of the file: set it once, from one connection, before the pool
        // opens its connections all at once. A new file's first switch to WAL takes a lock that
        // the busy timeout does not cover, and the pool's other connections racing it got
        // "database is locked" (logged as errors at every first start).
        let mut first = <diesel::SqliteConnection as diesel::Connection>::establish(&target)
            .map_err(|e| DbSetupError::Open(e.to_string()))?;
        diesel::connection::SimpleConnection::batch_execute(
            &mut first,
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;",
        )
        .map_err(|e| DbSetupError::Open(format!("switching to WAL: {e}")))?;
    }
    let target = match backend {
        Backend::Postgres => with_connect_timeout(&target),
        Backend::Sqlite => target,
    };
    let manager = ConnectionManager::<AnyConnection>::new(target);
    let pool = Pool::builder()
        .max_size(max_size)
        // Checking a connection before each use costs a query per request. A PostgreSQL
        // connection can go stale (server restart, idle timeout) and is worth it; a SQLite file
        // cannot.
        .test_on_check_out(backend == Backend::Postgres)
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(ConnectionSetup { backend }))
        .build(manager)?;
    Ok((backend, pool))
}

/// A PostgreSQL URL with libpq's `connect_timeout` (5 s) unless it names one. Without it a
/// connection attempt can wait forever on a database that accepted the TCP connection and never
/// answered (the suspect of the chaos test's rare stall after `pg_ctl stop -m immediate` and a
/// restart): the pool makes its connections on a few helper threads, and once those wait, no
/// request gets a connection again.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout=5")
}

/// Creates the SQLite file readable by its owner only, before SQLite opens it: names, addresses,
/// health and income are in it, and SQLite gives its `-wal` and `-shm` files the database file's
/// permissions. An existing file is left as it is (its owner chose).
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    if path.as_os_str() == ":memory:" || path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Applies every pending migration of the connection's backend.
///
/// On PostgreSQL a database whose migrations are all applied is left alone without diesel's
/// set-up (which creates its table if missing): the application's role of a least-privilege
/// deployment ([`app_role`]) may create nothing. A pending migration then needs the owner:
/// `jiuzhu migrate`.
pub fn migrate(conn: &mut AnyConnection) -> Result<usize, DbSetupError> {
    let applied = match conn {
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        AnyConnection::Postgresql(c) => {
            if pg_all_applied(c)? {
                return Ok(0);
            }
            c.run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len())
        }
    };
    applied.map_err(|e| DbSetupError::Migration(e.to_string()))
}

/// Whether every embedded PostgreSQL migration is recorded as applied (false when the
/// migrations' table does not exist yet).
fn pg_all_applied(c: &mut diesel::PgConnection) -> Result<bool, DbSetupError> {
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Present {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        present: bool,
    }
    let table: Present = diesel::sql_query(
        "SELECT to_regclass('public.__diesel_schema_migrations') IS NOT NULL AS present",
    )
    .get_result(c)?;
    if !table.present {
        return Ok(false);
    }
    let applied: std::collections::HashSet<String> =
        diesel::sql_query("SELECT version::text AS version FROM __diesel_schema_migrations")
            .load::<Version>(c)?
            .into_iter()
            .map(|v| v.version)
            .collect();
    let embedded =
        diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
            .map_err(|e| DbSetupError::Migration(e.to_string()))?;
    Ok(embedded
        .iter()
        .all(|m| applied.contains(&m.name().version().to_string())))
}

/// Applies pending migrations up to and including version `last` (a folder name's date and
/// number without dashes, e.g. `20261128000003`): for tests that store rows in an older schema
/// and then check that the later migrations carry them over.
pub fn migrate_through(conn: &mut AnyConnection, last: &str) -> Result<usize, DbSetupError> {
    fn through<DB: diesel::backend::Backend>(
        c: &mut impl MigrationHarness<DB>,
        source: EmbeddedMigrations,
        last: &str,
    ) -> diesel::migration::Result<usize> {
        let mut applied = 0;
        for m in c.pending_migrations(source)? {
            if m.name().version().to_string().as_str() > last {
                break;
            }
            c.run_migration(&*m)?;
            applied += 1;
        }
        Ok(applied)
    }
    let applied = match conn {
        AnyConnection::Sqlite(c) => through(c, SQLITE_MIGRATIONS, last),
        AnyConnection::Postgresql(c) => through(c, POSTGRES_MIGRATIONS, last),
    };
    applied.map_err(|e| DbSetupError::Migration(e.to_string()))
}

/// Reverts every applied migration (for the up/down/up test and `jiuzhu migrate --revert-all`).
pub fn revert_all(conn: &mut AnyConnection) -> Result<usize, DbSetupError> {
    let reverted = match conn {
        AnyConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        AnyConnection::Postgresql(c) => c
            .revert_all_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    reverted.map_err(|e| DbSetupError::Migration(e.to_string()))
}

/// True when every embedded migration has been applied (for `/readyz`).
pub fn migrations_current(conn: &mut AnyConnection) -> Result<bool, DbSetupError> {
    match conn {
        AnyConnection::Sqlite(c) => c
            .has_pending_migration(SQLITE_MIGRATIONS)
            .map(|p| !p)
            .map_err(|e| DbSetupError::Migration(e.to_string())),
        // Without diesel's set-up, which the application's role may not run (see `migrate`).
        AnyConnection::Postgresql(c) => pg_all_applied(c),
    }
}

/// A description of the schema (tables and columns, in order), for the migration round-trip test.
pub fn describe_schema(conn: &mut AnyConnection) -> Result<Vec<String>, DbSetupError> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    let sql = match conn {
        AnyConnection::Sqlite(_) => {
            "SELECT m.name || '.' || p.name || ':' || p.type || ':' || p.\"notnull\" AS line \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name <> '__diesel_schema_migrations' ORDER BY m.name, p.cid"
        }
        AnyConnection::Postgresql(_) => {
            "SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable AS line \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name <> '__diesel_schema_migrations' ORDER BY table_name, ordinal_position"
        }
    };
    let lines: Vec<Line> = diesel::sql_query(sql).load(conn)?;
    let mut indexes = match conn {
        AnyConnection::Sqlite(c) => diesel::sql_query(
            "SELECT name AS line FROM sqlite_master WHERE type = 'index' ORDER BY name",
        )
        .load::<Line>(c)?,
        AnyConnection::Postgresql(c) => diesel::sql_query(
            "SELECT indexname AS line FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname",
        )
        .load::<Line>(c)?,
    };
    let mut out: Vec<String> = lines.into_iter().map(|l| l.line).collect();
    out.extend(indexes.drain(..).map(|l| format!("index {}", l.line)));
    Ok(out)
}

/// The current UTC time, truncated to microseconds: what both backends store exactly, so a value
/// read back compares equal to the value written.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    let micros = now.and_utc().timestamp_micros();
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.naive_utc())
        .unwrap_or(now)
}

/// Brings PostgreSQL's planner statistics of `tables` up to date (`ANALYZE`); nothing on SQLite,
/// whose planner goes by the indexes it has. A bulk import calls it as its tables grow: planned
/// with the statistics of a table a tenth of its size, PostgreSQL joins a batch's 5,000 blind
/// indexes to households by hashing the whole households table (a full scan per batch: the 1M
/// household import took 4.7 min) instead of probing its primary key, and the autovacuum
/// daemon's own `ANALYZE` comes a minute or more behind an import, and never where autovacuum is
/// off: planned without statistics, a first sync hashed all 51,000 members of the demo city to
/// find its 30 households' 74 (12 ms a sync, 280 syncs/s instead of 1,060).
pub fn refresh_statistics(conn: &mut AnyConnection, tables: &[&str]) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        // As the tables' owner, whatever role the server runs as (migration
        // `2026-12-07-000021_analyze_for_app_role`).
        let names: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
        diesel::sql_query("SELECT analyze_tables($1)")
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(names)
            .execute(pg)?;
    }
    Ok(())
}

/// The tables a household is written to, for [`refresh_statistics`] after a bulk load.
pub const HOUSEHOLD_TABLES: &[&str] = &[
    "households",
    "members",
    "household_tags",
    "household_status_history",
];

/// [`refresh_statistics`] as a bulk write goes: when its count of rows reaches 25,000, then at
/// each doubling (six times for a million rows), so the planner never works from a table a
/// half of its size.
pub struct GrowingTables {
    tables: &'static [&'static str],
    next: u64,
}

impl GrowingTables {
    pub fn new(tables: &'static [&'static str]) -> Self {
        Self {
            tables,
            next: 25_000,
        }
    }

    /// Called between transactions with the rows written so far.
    pub fn grown_to(&mut self, conn: &mut AnyConnection, rows: u64) -> QueryResult<()> {
        if rows >= self.next {
            refresh_statistics(conn, self.tables)?;
            self.next = rows.saturating_mul(2);
        }
        Ok(())
    }
}

/// Runs `read` on a SQLite connection with its memory map off, and turns the map back on
/// ([`SQLITE_MMAP_PRAGMA`]) before the connection goes back to the pool. An export reads the
/// whole table once: through the map, every page of the file it touched would stay mapped in the
/// process and count in its resident memory (RssFile), which then grows with the rows up to the
/// map's 1 GiB (measured: 1,012 MiB at a million visits, while the heap stayed at 9 MiB); without
/// it a page is read into SQLite's own small page cache and memory stays flat. Turning the map off
/// drops the connection's mapping; the next reader maps the file again on its first read.
/// PostgreSQL: just `read`.
pub fn without_mmap<T>(
    conn: &mut AnyConnection,
    read: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    if !matches!(conn, AnyConnection::Sqlite(_)) {
        return read(conn);
    }
    conn.batch_execute("PRAGMA mmap_size = 0;")?;
    let result = read(conn);
    let restored = conn.batch_execute(SQLITE_MMAP_PRAGMA);
    let value = result?;
    restored?;
    Ok(value)
}

/// Runs `work` in a write transaction. On SQLite it begins `IMMEDIATE`, taking the write lock up
/// front: a deferred transaction that reads and then writes can fail at once with `SQLITE_BUSY`
/// (the busy timeout does not apply to the upgrade) when another writer committed in between.
pub fn write_transaction<T, E, F>(conn: &mut AnyConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <AnyConnection as Connection>::TransactionManager;
    match conn {
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Postgresql(_) => Manager::begin_transaction(conn)?,
    }
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            Manager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Runs the same diesel expression on whichever concrete connection is inside, for the few
/// queries `MultiConnection` cannot express generically (multi-row inserts).
#[macro_export]
macro_rules! each_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Sqlite($c) => $body,
            $crate::db::AnyConnection::Postgresql($c) => $body,
        }
    };
}

/// Rows per multi-row INSERT: well under SQLite's bound-parameter limit for a 32-column table.
pub const INSERT_CHUNK: usize = 500;

#[cfg(test)]
mod connect_timeout_tests {
    use super::with_connect_timeout;

    #[test]
    fn postgres_urls_get_a_connect_timeout_unless_they_name_one() {
        assert_eq!(
            with_connect_timeout("postgres://u@h:5432/db"),
            "postgres://u@h:5432/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=disable"),
            "postgres://u@h/db?sslmode=disable&connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?connect_timeout=30"),
            "postgres://u@h/db?connect_timeout=30"
        );
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod private_file_tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_database_and_its_journal_are_the_owners_alone() {
        let dir = std::env::temp_dir().join(format!("jiuzhu-perm-{}", uuid::Uuid::new_v4()));
        let path = dir.join("jiuzhu.db");
        let (_, pool) = super::connect(path.to_str().unwrap_or_default(), 2).unwrap();
        let mut conn = pool.get().unwrap();
        super::migrate(&mut conn).unwrap();
        for name in ["jiuzhu.db", "jiuzhu.db-wal", "jiuzhu.db-shm"] {
            let mode = std::fs::metadata(dir.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{name}: {mode:o}");
        }
        drop(conn);
        drop(pool);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
