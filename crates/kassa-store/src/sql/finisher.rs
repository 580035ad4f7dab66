//! Attempt records in batches: the attempts that finish while one batch is written go into the
//! next, in one transaction (relaxed sync, see `dialect::relaxed`).

use super::batch::Batcher;
use super::dialect::{Dialect, relax_transaction, relaxed, restore};
use super::outbox::finish_on;
use crate::{FinishedAttempt, StoreError, StoreResult};
use sqlx::{Acquire, AnyPool};

const MAX_BATCH: usize = 256;

pub(super) type Finisher = Batcher<FinishedAttempt, bool>;

pub(super) fn start(writer: AnyPool, dialect: Dialect) -> Finisher {
    Batcher::start("recording attempts", MAX_BATCH, move |finishes| {
        let writer = writer.clone();
        async move { write(&writer, dialect, &finishes).await }
    })
}

async fn write(
    writer: &AnyPool,
    dialect: Dialect,
    finishes: &[FinishedAttempt],
) -> StoreResult<Vec<StoreResult<bool>>> {
    let mut connection = relaxed(writer, dialect).await?;
    let written = async {
        let mut tx = connection.begin().await?;
        relax_transaction(&mut tx, dialect).await?;
        let mut results = Vec::with_capacity(finishes.len());
        for f in finishes {
            results.push(Ok(finish_on(&mut tx, f).await?));
        }
        tx.commit().await?;
        Ok::<_, StoreError>(results)
    }
    .await;
    restore(connection, dialect).await?;
    written
}
