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
    /// The audit key the work run here chains its audit records under (with the request's id
    /// and caller, `audit::Context`).
    pub audit_key: std::sync::Arc<crate::audit::AuditKey>,
}

impl Database {
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

    /// Like [`Database::run`], inside one transaction: all of it is written, or none.
    pub async fn tx<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
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
