//! Group commit: the changes of concurrent requests share one transaction and one fsync. Each
//! change is written inside its own savepoint: a change whose guard fails is rolled back alone
//! and its caller told; the others commit together.

use super::batch::Batcher;
use super::commit;
use crate::{Change, StoreResult};
use sqlx::{Acquire, SqlitePool};

const MAX_BATCH: usize = 128;

pub(super) type GroupCommitter = Batcher<Change, ()>;

/// Starts the committing task; `synchronous` is set on the writer before every batch.
pub(super) fn start(writer: SqlitePool, synchronous: &'static str) -> GroupCommitter {
    Batcher::start("the group commit", MAX_BATCH, move |changes| {
        let writer = writer.clone();
        async move { commit_batch(&writer, synchronous, &changes).await }
    })
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
