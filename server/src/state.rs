//! What every request handler shares: the pool, settings, secrets, the grid index and the hasher.

use std::sync::{Arc, RwLock};

use crate::auth::PasswordHasher;
use crate::config::{Secrets, Settings};
use crate::db::{AnyConnection, Backend, DbPool};
use crate::domain::geo::GridLookup;
use crate::error::{ApiError, ApiResult};
use crate::telemetry::Metrics;

/// What the lookup answers about a grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridKey {
    pub id: String,
    pub name: String,
}

/// The grid lookup and the fingerprint of the boundaries it was built from.
pub struct GridIndex {
    current: RwLock<(Arc<GridLookup<GridKey>>, String)>,
}

impl GridIndex {
    pub fn new(lookup: GridLookup<GridKey>, fingerprint: String) -> Self {
        Self {
            current: RwLock::new((Arc::new(lookup), fingerprint)),
        }
    }

    pub fn get(&self) -> Arc<GridLookup<GridKey>> {
        match self.current.read() {
            Ok(guard) => guard.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        }
    }

    pub fn fingerprint(&self) -> String {
        match self.current.read() {
            Ok(guard) => guard.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    pub fn replace(&self, lookup: GridLookup<GridKey>, fingerprint: String) {
        let value = (Arc::new(lookup), fingerprint);
        match self.current.write() {
            Ok(mut guard) => *guard = value,
            Err(poisoned) => *poisoned.into_inner() = value,
        }
    }
}

pub struct AppState {
    pub pool: DbPool,
    pub backend: Backend,
    pub settings: Settings,
    pub secrets: Secrets,
    /// Seals ID and phone numbers and computes their blind index.
    pub cipher: crate::crypto::FieldCipher,
    /// Signs and checks sync cursors.
    pub cursors: crate::changes::CursorSigner,
    /// Parsed definitions of published (immutable) form versions.
    pub definitions: crate::forms::DefinitionCache,
    pub hasher: PasswordHasher,
    pub grids: GridIndex,
    /// Compiled form versions (immutable once published).
    pub forms: crate::forms::FormCache,
    /// Photo processing and storage.
    pub photos: crate::photos::PhotoService,
    /// SQLite only: folds concurrent small writes (visit submissions) into one durable commit.
    pub group_commit: Option<crate::db::group_commit::GroupCommit>,
    /// Compiled rule versions (immutable once stored).
    pub rules: crate::rules::RuleBook,
    /// Working days, for the application deadlines.
    pub calendar: crate::calendar::Calendar,
    /// How citizens' verification codes are sent.
    pub sms: crate::citizens::SmsSender,
    /// The audit chain's key and its checkpoint file.
    pub audit: crate::audit::Auditor,
    pub metrics: Metrics,
}

impl AppState {
    /// Runs blocking database work on the blocking pool, inside the caller's tracing span.
    pub async fn db<T, F>(self: &Arc<Self>, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let audit = self.audit.context();
        actix_web::web::block(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(ApiError::from)?;
            audit.enter(|| work(&mut conn))
        })
        .await?
    }

    /// Like [`AppState::db`], inside one transaction: all of it is written, or none.
    pub async fn tx<T, F>(self: &Arc<Self>, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.db(move |conn| crate::db::write_transaction(conn, work))
            .await
    }

    /// Like [`AppState::tx`], but on SQLite the transaction may share its commit (and its fsync)
    /// with other writes queued at the same moment. For short, independent writes.
    pub async fn tx_grouped<T, F>(self: &Arc<Self>, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.group_commit {
            Some(group) => {
                let audit = self.audit.context();
                group.run(move |conn| audit.enter(|| work(conn))).await
            }
            None => self.tx(work).await,
        }
    }
}
