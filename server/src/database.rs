//! The database as a service: the pool and, on SQLite, the group commit. Services that run their
//! own transactions (a photo's two trips around its processing, a refused write's conflict
//! record) take a `&Database` rather than the whole application state.

use crate::db::group_commit::GroupCommit;
use crate::db::{write_transaction, AnyConnection, DbPool};
use crate::error::{ApiError, ApiResult};

pub struct Database {
    pub pool: DbPool,
    /// SQLite only: folds concurrent small writes (visit submissions) into one durable commit.
    pub group_commit: Option<GroupCommit>,
    /// SQLite only: the requests' write transactions ([`Database::tx`]) take their turn here,
    /// one at a time, before they take a pooled connection. SQLite runs one write transaction
    /// at a time anyway (they begin `IMMEDIATE`); without the gate, writers waiting behind a
    /// long one (a batch of a household import, a figures job) each held a pooled connection and
    /// a blocking thread while they waited, until a reader found no connection left and answered
    /// 503. Waiting here holds neither.
    pub write_gate: Option<tokio::sync::Semaphore>,
    /// The audit key the work run here chains its audit records under (with the request's id
    /// and caller, `audit::Context`).
    pub audit_key: std::sync::Arc<crate::audit::AuditKey>,
}

/// The longest a write waits for its turn at the gate: as long as it would have waited for a
/// pooled connection.
pub const GATE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Database {
    /// The database service over `pool`; `group_commit` is given on SQLite, which also gets
    /// the write gate.
    pub fn new(
        pool: DbPool,
        group_commit: Option<GroupCommit>,
        audit_key: std::sync::Arc<crate::audit::AuditKey>,
    ) -> Self {
        let write_gate = group_commit
            .is_some()
            .then(|| tokio::sync::Semaphore::new(1));
        Self {
            pool,
            group_commit,
            write_gate,
            audit_key,
        }
    }

    /// Runs blocking database work on the blocking pool, inside the caller's tracing span.
    pub async fn run<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let audit = crate::audit::Context::new(self.audit_key.clone());
        actix_web::web::block(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(ApiError::from)?;
            audit.enter(|| work(&mut conn))
        })
        .await?
    }

    /// Like [`Database::run`], inside one transaction: all of it is written, or none. On
    /// SQLite it waits for its turn at the write gate first (503 `busy` after [`GATE_WAIT`]).
    pub async fn tx<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let _turn = match &self.write_gate {
            Some(gate) => Some(
                tokio::time::timeout(GATE_WAIT, gate.acquire())
                    .await
                    .map_err(|_| ApiError::busy(1))?
                    .map_err(ApiError::internal)?,
            ),
            None => None,
        };
        self.run(move |conn| write_transaction(conn, work)).await
    }

    /// Like [`Database::tx`], but on SQLite the transaction may share its commit (and its fsync)
    /// with other writes queued at the same moment. For short, independent writes.
    pub async fn tx_grouped<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.group_commit {
            Some(group) => {
                let audit = crate::audit::Context::new(self.audit_key.clone());
                group.run(move |conn| audit.enter(|| work(conn))).await
            }
            None => self.tx(work).await,
        }
    }
}
