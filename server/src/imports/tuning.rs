//! Connection settings for a bulk import, put back afterwards.

use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::ApiResult;

/// Settings for the import's SQLite connection, put back afterwards (the connection may go back
/// to a pool):
/// - a 128 MB page cache instead of 2 MB: the random-order indexes (blind index, head names) are
///   otherwise read back from the file for nearly every insert; bounded, so memory stays flat;
/// - statement journals of the multi-row inserts in memory rather than in temporary files;
/// - `synchronous = NORMAL` and a 40 MB WAL between checkpoints instead of an fsync per batch.
///   A power cut can then lose the last batches (never corrupt the file). That is acceptable here
///   and only here: importing the same file again restores them, and nothing is reported done
///   before [`ImportTuning::restore`] has checkpointed (which syncs the WAL first).
///
/// On PostgreSQL the same trade for the same reason: `synchronous_commit = off` for the session,
/// reset (and the WAL flushed) at the end.
pub struct ImportTuning {
    before: Option<(SqliteSettings, WalAutocheckpoint)>,
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
    const CACHE_KIB: i64 = 128 * 1024;
    const WAL_PAGES: i64 = 10_000;

    pub fn apply(conn: &mut AnyConnection) -> ApiResult<Self> {
        use diesel::connection::SimpleConnection;
        let c = match conn {
            AnyConnection::Sqlite(c) => c,
            AnyConnection::Postgresql(pg) => {
                pg.batch_execute("SET synchronous_commit = off")?;
                return Ok(Self { before: None });
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
            Self::CACHE_KIB,
            Self::WAL_PAGES
        ))?;
        Ok(Self {
            before: Some((before, wal)),
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
