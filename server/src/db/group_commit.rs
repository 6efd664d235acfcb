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

use diesel::Connection;
use tokio::sync::oneshot;

use super::{write_transaction, AnyConnection, DbPool};
use crate::error::{ApiError, ApiResult};

type Output = Box<dyn Any + Send>;
type Work = Box<dyn FnOnce(&mut AnyConnection) -> ApiResult<Output> + Send>;

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
                    let pool = &pool;
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        commit_batch(pool, batch)
                    }))
                    .is_err()
                    {
                        tracing::error!("a group commit batch panicked");
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
        let sender = self.sender.clone();
        // The queue is bounded: wait for room off the async workers.
        actix_web::web::block(move || sender.send(job))
            .await?
            .map_err(|_| ApiError::unavailable(anyhow::anyhow!("group commit stopped")))?;
        let out = answer.await.map_err(|_| {
            ApiError::unavailable(anyhow::anyhow!("group commit dropped a write"))
        })??;
        out.downcast::<T>()
            .map(|b| *b)
            .map_err(|_| ApiError::internal(anyhow::anyhow!("group commit type mix-up")))
    }
}

fn commit_batch(pool: &DbPool, batch: Vec<Job>) {
    let mut conn = match pool.get() {
        Ok(c) => c,
        Err(e) => {
            let msg = e.to_string();
            for job in batch {
                let _ = job.reply.send(Err(ApiError::unavailable(anyhow::anyhow!(
                    "no database connection: {msg}"
                ))));
            }
            return;
        }
    };
    let mut results: Vec<(oneshot::Sender<ApiResult<Output>>, ApiResult<Output>)> =
        Vec::with_capacity(batch.len());
    let committed = write_transaction(&mut conn, |conn| -> ApiResult<()> {
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
