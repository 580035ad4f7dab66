//! Group commit: the changes of concurrent requests share one transaction and one fsync.
//!
//! One task owns committing. It takes the next change, and every other one already waiting (up to
//! [`MAX_BATCH`]), and writes them in one transaction, each inside its own savepoint: a change
//! whose guard fails is rolled back alone and its caller told, the others commit together. With
//! one request at a time this is a plain transaction per change and adds no wait; under load the
//! cost of `synchronous=FULL` is shared.

use super::commit;
use crate::{Change, StoreError, StoreResult};
use sqlx::{Acquire, SqlitePool};
use tokio::sync::{mpsc, oneshot};

const MAX_BATCH: usize = 128;

type Request = (Change, oneshot::Sender<StoreResult<()>>);

#[derive(Clone)]
pub(super) struct GroupCommitter {
    requests: mpsc::Sender<Request>,
}

impl GroupCommitter {
    /// Starts the committing task; `synchronous` is restored on the writer before every batch.
    pub fn start(writer: SqlitePool, synchronous: &'static str) -> Self {
        let (requests, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(writer, synchronous, queue));
        Self { requests }
    }

    pub async fn commit(&self, change: Change) -> StoreResult<()> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Failed("the committer has stopped".into());
        self.requests.send((change, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(writer: SqlitePool, synchronous: &'static str, mut queue: mpsc::Receiver<Request>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (changes, replies): (Vec<Change>, Vec<_>) = batch.into_iter().unzip();
        let results = match commit_batch(&writer, synchronous, &changes).await {
            Ok(results) => results,
            Err(error) => {
                tracing::error!(%error, changes = changes.len(), "a group commit failed");
                changes.iter().map(|_| Err(StoreError::Failed(format!("the write failed: {error}")))).collect()
            }
        };
        for (reply, result) in replies.into_iter().zip(results) {
            // A caller that went away no longer needs its answer; its change is decided anyway.
            let _ = reply.send(result);
        }
    }
}

/// One transaction; each change in a savepoint. The outer error means nothing was committed.
async fn commit_batch(writer: &SqlitePool, synchronous: &str, changes: &[Change]) -> StoreResult<Vec<StoreResult<()>>> {
    let mut connection = writer.acquire().await?;
    sqlx::query(&format!("PRAGMA synchronous = {synchronous}")).execute(&mut *connection).await?;
    let mut tx = connection.begin().await?;
    let mut results = Vec::with_capacity(changes.len());
    for change in changes {
        let mut savepoint = tx.begin().await?;
        match commit::apply(&mut savepoint, change).await {
            Ok(()) => {
                savepoint.commit().await?;
                results.push(Ok(()));
            }
            Err(error) => {
                savepoint.rollback().await?;
                results.push(Err(error));
            }
        }
    }
    tx.commit().await?;
    Ok(results)
}
