//! Group commit: the changes of concurrent requests share one transaction and one fsync. The
//! plain ones are written set-based, each guard checked row by row, so a change whose guard fails
//! writes nothing and its caller is told; should that write fail, the batch is begun again with
//! each change in its own savepoint. The others commit together. On PostgreSQL several batches
//! are written at once, each on its own connection (the compare-and-set guards and row locks keep
//! them apart), and each batch tells the other nodes of its sessions in one `NOTIFY`.

use super::batch::Batcher;
use super::dialect::{self, Dialect, Purpose};
use super::{bulk, commit};
use crate::stats::{CommittedBatch, ObserverSlot};
use crate::{Change, StoreResult};
use sqlx::{Acquire, AnyConnection, AnyPool};
use tokio::time::Instant;

const MAX_BATCH: usize = 128;

/// How many batches PostgreSQL writes at once (SQLite: one, its one writer).
const POSTGRES_IN_FLIGHT: usize = 4;

pub(super) type GroupCommitter = Batcher<Change, ()>;

/// Starts the committing task; the durable setting is put on the writer before every batch, and
/// `observer` is told how each batch went.
pub(super) fn start(writer: AnyPool, dialect: Dialect, observer: ObserverSlot) -> GroupCommitter {
    let in_flight = if dialect.serves_one_process() { 1 } else { POSTGRES_IN_FLIGHT };
    Batcher::start("the group commit", MAX_BATCH, in_flight, move |changes| {
        let (writer, observer) = (writer.clone(), observer.clone());
        async move {
            let started = Instant::now();
            let written = commit_batch(&writer, dialect, &changes).await;
            let batch = CommittedBatch { size: changes.len(), took: started.elapsed(), committed: written.is_ok() };
            observer.tell(batch);
            written
        }
    })
}

/// One transaction; each change in a savepoint. The outer error means nothing was committed,
/// and the connection is closed rather than given back: after a failed write or fsync SQLite
/// may leave the transaction open or its pages in doubt, and no later batch may commit on it.
async fn commit_batch(writer: &AnyPool, dialect: Dialect, changes: &[Change]) -> StoreResult<Vec<StoreResult<()>>> {
    let mut connection = writer.acquire().await?;
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
    let mut tx = dialect::begin(connection, dialect, Purpose::Change).await?;
    let mut results: Vec<Option<StoreResult<()>>> = changes.iter().map(|_| None).collect();
    let plain = bulk::plain(changes);
    if !plain.is_empty() {
        // No savepoint around the set-based write (two round trips a batch): it fails only on the
        // unexpected, and then the whole transaction is begun again.
        match bulk::apply(&mut tx, changes, &plain).await {
            Ok(written) => {
                for (&index, ok) in plain.iter().zip(written) {
                    results[index] =
                        Some(if ok { Ok(()) } else { Err(commit::session_changed(&changes[index].sessions[0])) });
                }
            }
            // One by one instead, each in its own savepoint, below.
            Err(_) => {
                tx.rollback().await?;
                tx = dialect::begin(connection, dialect, Purpose::Change).await?;
            }
        }
    }
    for (change, result) in changes.iter().zip(results.iter_mut()).filter(|(_, r)| r.is_none()) {
        let mut savepoint = tx.begin().await?;
        match commit::apply(&mut savepoint, change).await {
            Ok(()) => {
                savepoint.commit().await?;
                *result = Some(Ok(()));
            }
            Err(error) => {
                savepoint.rollback().await?;
                *result = Some(Err(error.retryable()));
            }
        }
    }
    let results: Vec<StoreResult<()>> = results.into_iter().flatten().collect();
    if !dialect.serves_one_process() {
        let written = changes.iter().zip(&results).filter(|(_, r)| r.is_ok());
        let notifications: Vec<_> = written.flat_map(|(change, _)| commit::notifications(change)).collect();
        commit::notify(&mut tx, &notifications).await?;
    }
    tx.commit().await?;
    Ok(results)
}
