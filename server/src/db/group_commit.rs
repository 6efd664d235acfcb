//! Group commit for SQLite: many small write transactions folded into one.
//!
//! SQLite has one writer and a durable commit costs an fsync, so one transaction per visit caps
//! submissions at the disk's fsync rate. Here a single thread takes whatever writes are queued,
//! runs each inside its own savepoint of one `BEGIN IMMEDIATE` transaction, commits once, and only
//! then answers each caller: a write that fails rolls back to its savepoint and answers with its
//! error, the others still commit; if the commit itself fails, every caller in the batch gets an
//! error. Nothing is acknowledged before it is durable.

use std::any::Any;
use std::sync::mpsc;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, PooledConnection};
use diesel::Connection;
use tokio::sync::oneshot;

use super::{write_transaction, AnyConnection, DbPool};
use crate::error::{ApiError, ApiResult};

type Output = Box<dyn Any + Send>;
type Work = Box<dyn FnOnce(&mut AnyConnection) -> ApiResult<Output> + Send>;
type Held = PooledConnection<ConnectionManager<AnyConnection>>;

/// Page cache of the committing connection, in KiB (SQLite's negative `cache_size`).
const WRITER_CACHE_KIB: i64 = 64 * 1024;

struct Job {
    work: Work,
    reply: oneshot::Sender<ApiResult<Output>>,
}

/// The queue in front of the committing thread.
pub struct GroupCommit {
    sender: mpsc::SyncSender<Job>,
}

impl GroupCommit {
    /// Starts the committing thread. At most `max_batch` writes share a commit; the queue holds
    /// `4 × max_batch` before callers wait.
    pub fn start(pool: DbPool, max_batch: usize) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::sync_channel::<Job>(max_batch * 4);
        std::thread::Builder::new()
            .name("jiuzhu-group-commit".into())
            .spawn(move || {
                // One connection for the thread's life, with a large page cache. A connection
                // taken from the pool per batch usually finds its cache stale (another
                // connection committed since) and reads its pages again, those still in the WAL
                // by `pread` (the memory map covers the database file only). In the visit storm
                // the gain was within the noise of a loaded machine (`bench/results/history-to-2026-11.md`); the cost is
                // one pooled connection.
                let mut held: Option<Held> = None;
                while let Ok(first) = receiver.recv() {
                    let mut batch = vec![first];
                    while batch.len() < max_batch {
                        match receiver.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    // A panic in one batch must not stop every later submission; its callers
                    // see their replies dropped (a retryable 503) and the connection, left
                    // mid-transaction, is discarded by the pool as broken.
                    let mut conn = match held.take() {
                        Some(conn) => conn,
                        None => match writer_connection(&pool) {
                            Ok(conn) => conn,
                            Err(e) => {
                                refuse_all(batch, &e);
                                continue;
                            }
                        },
                    };
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        commit_batch(&mut conn, batch)
                    })) {
                        Ok(()) => held = Some(conn),
                        // Dropped, not kept: the pool discards it if the panic left it broken.
                        Err(_) => tracing::error!("a group commit batch panicked"),
                    }
                }
            })?;
        Ok(Self { sender })
    }

    /// Runs `work` in the next group transaction and returns its result once committed.
    pub async fn run<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let span = tracing::Span::current();
        let job = Job {
            work: Box::new(move |conn| {
                let _entered = span.enter();
                work(conn).map(|v| Box::new(v) as Output)
            }),
            reply,
        };
        let stopped = || ApiError::unavailable(anyhow::anyhow!("group commit stopped"));
        // The queue is bounded: when it is full, wait for room off the async workers (a trip to
        // the blocking pool that a queue with room does not need).
        match self.sender.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(job)) => {
                let sender = self.sender.clone();
                actix_web::web::block(move || sender.send(job))
                    .await?
                    .map_err(|_| stopped())?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(stopped()),
        }
        let out = answer.await.map_err(|_| {
            ApiError::unavailable(anyhow::anyhow!("group commit dropped a write"))
        })??;
        out.downcast::<T>()
            .map(|b| *b)
            .map_err(|_| ApiError::internal(anyhow::anyhow!("group commit type mix-up")))
    }
}

/// A connection from the pool, with a page cache large enough for the pages every visit touches
/// (task, household and visit indexes, the change log's head), and its statement journals in
/// memory: each write's savepoint journals the pages it changes, which SQLite otherwise writes
/// to a temporary file (`pwrite`s that were a tenth of this thread's time in the visit storm).
/// Nothing durable lives there: a crash loses the open transaction, never a committed one.
fn writer_connection(pool: &DbPool) -> Result<Held, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    if matches!(*conn, AnyConnection::Sqlite(_)) {
        conn.batch_execute(&format!(
            "PRAGMA cache_size = -{WRITER_CACHE_KIB}; PRAGMA temp_store = MEMORY"
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(conn)
}

fn refuse_all(batch: Vec<Job>, msg: &str) {
    for job in batch {
        let _ = job.reply.send(Err(ApiError::unavailable(anyhow::anyhow!(
            "no database connection: {msg}"
        ))));
    }
}

fn commit_batch(conn: &mut AnyConnection, batch: Vec<Job>) {
    let mut results: Vec<(oneshot::Sender<ApiResult<Output>>, ApiResult<Output>)> =
        Vec::with_capacity(batch.len());
    let committed = write_transaction(conn, |conn| -> ApiResult<()> {
        for job in batch {
            // Each write in its own savepoint: its failure undoes only itself.
            let result = conn.transaction::<Output, ApiError, _>(|c| (job.work)(c));
            results.push((job.reply, result));
        }
        Ok(())
    });
    match committed {
        Ok(()) => {
            for (reply, result) in results {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed; every write in it is refused");
            for (reply, _) in results {
                let _ = reply.send(Err(ApiError::unavailable(anyhow::anyhow!(
                    "the group commit failed"
                ))));
            }
        }
    }
}
