//! The connection settings a bulk load runs with, put back afterwards.

use diesel::prelude::*;

use crate::db::AnyConnection;

/// Settings for a bulk load's SQLite connection, put back afterwards (the connection may go back
/// to a pool):
/// - a page cache of 128 MB (256 MB from the command line) instead of 2 MB: the random-order
///   indexes (blind index, household-keyed records) are otherwise read back from the file for
///   nearly every insert; bounded, so memory stays flat;
/// - statement journals of the multi-row inserts in memory rather than in temporary files;
/// - `synchronous = NORMAL` and up to 400 MB of WAL between checkpoints instead of an fsync per
///   batch and a checkpoint per commit (a checkpoint copies each page once however many commits
///   rewrote it). A power cut can then lose the last batches (never corrupt the file). That is
///   acceptable here and only here: importing the same file again restores them, and nothing is
///   reported done before [`BulkLoad::restore`] has made the WAL durable;
/// - from the command line only, `foreign_keys = OFF`: every reference an import writes is to a
///   row it read or wrote in the same write transaction (households to the grids loaded at the
///   start, which are never deleted; members to the households inserted just before them;
///   records to the members they matched), so SQLite's per-row check of the parent (an index
///   probe per row, a tenth of the household import) finds nothing to catch. Not for a job: its
///   connection goes back to the server's pool, and a failed restore must not leave checks off
///   there. The CLI tests run `PRAGMA foreign_key_check` after importing.
///
/// On PostgreSQL the same trade for the same reason: `synchronous_commit = off` for the session,
/// reset (and the WAL flushed) at the end.
pub struct BulkLoad {
    before: Option<(SqliteSettings, WalAutocheckpoint)>,
    checks_off: bool,
}

#[derive(QueryableByName)]
struct SqliteSettings {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    cache_size: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    synchronous: i64,
}

/// `wal_autocheckpoint` has no table-valued form.
#[derive(QueryableByName)]
struct WalAutocheckpoint {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    wal_autocheckpoint: i64,
}

impl BulkLoad {
    const WAL_PAGES: i64 = 100_000;

    /// Applies the settings: a page cache of `cache_kib` KiB, and foreign key checks off when
    /// `checks_off` (for the command line only, see above).
    pub fn apply(conn: &mut AnyConnection, cache_kib: i64, checks_off: bool) -> QueryResult<Self> {
        use diesel::connection::SimpleConnection;
        let c = match conn {
            AnyConnection::Sqlite(c) => c,
            AnyConnection::Postgresql(pg) => {
                pg.batch_execute("SET synchronous_commit = off")?;
                return Ok(Self {
                    before: None,
                    checks_off: false,
                });
            }
        };
        let before = diesel::sql_query(
            "SELECT (SELECT cache_size FROM pragma_cache_size) AS cache_size, \
             (SELECT synchronous FROM pragma_synchronous) AS synchronous",
        )
        .get_result::<SqliteSettings>(c)?;
        let wal =
            diesel::sql_query("PRAGMA wal_autocheckpoint").get_result::<WalAutocheckpoint>(c)?;
        c.batch_execute(&format!(
            "PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY; PRAGMA synchronous = NORMAL; \
             PRAGMA wal_autocheckpoint = {};",
            cache_kib,
            Self::WAL_PAGES
        ))?;
        if checks_off {
            c.batch_execute("PRAGMA foreign_keys = OFF")?;
        }
        Ok(Self {
            before: Some((before, wal)),
            checks_off,
        })
    }

    /// Puts the settings back and makes everything imported durable.
    pub fn restore(self, conn: &mut AnyConnection) -> QueryResult<()> {
        use diesel::connection::SimpleConnection;
        let c = match conn {
            AnyConnection::Sqlite(c) => c,
            AnyConnection::Postgresql(pg) => {
                // Back to the server's setting; a write transaction then flushes the WAL, and
                // with it every batch before it.
                pg.batch_execute(
                    "RESET synchronous_commit; BEGIN; SELECT txid_current(); COMMIT;",
                )?;
                return Ok(());
            }
        };
        let Some((b, wal)) = self.before else {
            return Ok(());
        };
        if self.checks_off {
            c.batch_execute("PRAGMA foreign_keys = ON")?;
        }
        // With `synchronous` back to its setting, one small committed write syncs the WAL and
        // with it every batch before it (a PASSIVE checkpoint alone may skip the sync when a
        // reader holds an old snapshot).
        c.batch_execute(&format!(
            "PRAGMA cache_size = {}; PRAGMA temp_store = DEFAULT; PRAGMA synchronous = {}; \
             PRAGMA wal_autocheckpoint = {}; \
             BEGIN IMMEDIATE; UPDATE change_head SET seq = seq WHERE id = 1; COMMIT; \
             PRAGMA wal_checkpoint(PASSIVE);",
            b.cache_size, b.synchronous, wal.wal_autocheckpoint
        ))?;
        Ok(())
    }
}
