//! Who runs a bulk import, how large its transactions are, and the connection settings it runs
//! with (put back afterwards).

use crate::db::bulk_load::BulkLoad;
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
    /// dirties, so they are written once at its commit instead of spilled on the way. From the
    /// command line 512 MiB: with the findings the rules open (730,000 for a million synthetic
    /// households), 256 MiB no longer held a batch's pages (a million households in 62.3 s with
    /// 256 MiB, 55.8–58.5 s with 512; peak RSS 1.6 → 1.9 GiB).
    fn cache_kib(self) -> i64 {
        match self {
            Runner::CommandLine => 512 * 1024,
            Runner::Job => 128 * 1024,
        }
    }
}

/// The connection settings of an import ([`BulkLoad`]) for its runner: foreign key checks off from
/// the command line only (a job's connection goes back to the server's pool, and a failed restore
/// must not leave checks off there).
pub struct ImportTuning(BulkLoad);

impl ImportTuning {
    pub fn apply(conn: &mut AnyConnection, runner: Runner) -> ApiResult<Self> {
        let checks_off = runner == Runner::CommandLine;
        Ok(Self(BulkLoad::apply(conn, runner.cache_kib(), checks_off)?))
    }

    /// Puts the settings back and makes everything imported durable.
    pub fn restore(self, conn: &mut AnyConnection) -> ApiResult<()> {
        Ok(self.0.restore(conn)?)
    }
}
