//! Who runs a bulk import, how large its transactions are, and the connection settings it runs
//! with (put back afterwards).

use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::ApiResult;

/// Who runs an import, which decides how much of the database it may take from everyone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// `jiuzhu import …`, typically setting up a city or catching up a department's backlog:
    /// large transactions (SQLite's one writer is held for a few seconds at a time) and a larger
    /// page cache.
    CommandLine,
    /// A background job inside the server, beside requests that write: short transactions.
    Job,
}

impl Runner {
    /// Households per write transaction. Each transaction writes every page of the random-order
    /// indexes (the blind index above all) it touched, so fewer, larger ones write far less:
    /// 17 GB for a million households in transactions of 10,000, 7 GB in transactions of 50,000.
    pub fn households_per_batch(self) -> usize {
        match self {
            Runner::CommandLine => 50_000,
            Runner::Job => 2_000,
        }
    }

    /// Department records per write transaction of an import's first pass; as above for the two
    /// household-keyed indexes of `department_records` (13 GB written for a million claims in
    /// transactions of 5,000, 5 GB in transactions of 50,000).
    pub fn records_per_batch(self) -> usize {
        match self {
            Runner::CommandLine => 50_000,
            Runner::Job => 5_000,
        }
    }

    /// SQLite's page cache while importing, in KiB: enough for the pages one transaction
    /// dirties, so they are written once at its commit instead of spilled on the way.
    fn cache_kib(self) -> i64 {
        match self {
            Runner::CommandLine => 256 * 1024,
            Runner::Job => 128 * 1024,
        }
    }
}

/// Settings for the import's SQLite connection, put back afterwards (the connection may go back
/// to a pool):
/// - a page cache of 128 MB (256 MB from the command line) instead of 2 MB: the random-order
///   indexes (blind index, household-keyed records) are otherwise read back from the file for
///   nearly every insert; bounded, so memory stays flat;
/// - statement journals of the multi-row inserts in memory rather than in temporary files;
/// - `synchronous = NORMAL` and up to 400 MB of WAL between checkpoints instead of an fsync per
///   batch and a checkpoint per commit (a checkpoint copies each page once however many commits
///   rewrote it). A power cut can then lose the last batches (never corrupt the file). That is
///   acceptable here and only here: importing the same file again restores them, and nothing is
///   reported done before [`ImportTuning::restore`] has made the WAL durable;
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
pub struct ImportTuning {
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

impl ImportTuning {
    const WAL_PAGES: i64 = 100_000;

    pub fn apply(conn: &mut AnyConnection, runner: Runner) -> ApiResult<Self> {
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
            runner.cache_kib(),
            Self::WAL_PAGES
        ))?;
        let checks_off = runner == Runner::CommandLine;
        if checks_off {
            c.batch_execute("PRAGMA foreign_keys = OFF")?;
        }
        Ok(Self {
            before: Some((before, wal)),
            checks_off,
        })
    }

    /// Puts the settings back and makes everything imported durable.
    pub fn restore(self, conn: &mut AnyConnection) -> ApiResult<()> {
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
