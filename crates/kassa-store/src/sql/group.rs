//! Group commit: the changes of concurrent requests share one transaction and one fsync. Each
//! change is written inside its own savepoint: a change whose guard fails is rolled back alone
//! and its caller told; the others commit together.

use super::batch::Batcher;
use super::commit;
use super::dialect::{self, Dialect};
use crate::{Change, StoreResult};
use sqlx::{Acquire, AnyConnection, AnyPool};

const MAX_BATCH: usize = 128;

pub(super) type GroupCommitter = Batcher<Change, ()>;

/// Starts the committing task; the durable setting is put on the writer before every batch.
pub(super) fn start(writer: AnyPool, dialect: Dialect) -> GroupCommitter {
    Batcher::start("the group commit", MAX_BATCH, move |changes| {
        let writer = writer.clone();
        async move { commit_batch(&writer, dialect, &changes).await }
    })
}

/// One transaction; each change in a savepoint. The outer error means nothing was committed,
/// and the connection is closed rather than given back: after a failed write or fsync SQLite
/// may leave the transaction open or its pages in doubt, and no later batch may commit on it.
async fn commit_batch(writer: &AnyPool, dialect: Dialect, changes: &[Change]) -> StoreResult<Vec<StoreResult<()>>> {
    let mut connection = dialect::durable(writer, dialect).await?;
    let written = write_batch(&mut connection, dialect, changes).await;
    if written.is_err() {
        connection.close_on_drop();
    }
    written
}

async fn write_batch(
    connection: &mut AnyConnection,
    dialect: Dialect,
    changes: &[Change],
) -> StoreResult<Vec<StoreResult<()>>> {
    let mut tx = connection.begin().await?;
    let mut results = Vec::with_capacity(changes.len());
    for change in changes {
        let mut savepoint = tx.begin().await?;
        match commit::apply(&mut savepoint, change, dialect).await {
            Ok(()) => {
                savepoint.commit().await?;
                results.push(Ok(()));
            }
            Err(error) => {
                savepoint.rollback().await?;
                results.push(Err(error.retryable()));
            }
        }
    }
    tx.commit().await?;
    Ok(results)
}
