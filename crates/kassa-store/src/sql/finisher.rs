//! Attempt records in batches: the attempts that finish while one batch is written go into the
//! next, in one transaction (relaxed sync, see `dialect::relaxed`).

use super::batch::Batcher;
use super::dialect::{Dialect, relax_transaction, relaxed, restore};
use super::outbox::finish_on;
use crate::{Attempt, DeliveryNext, StoreError, StoreResult};
use kassa_core::Timestamp;
use sqlx::{Acquire, AnyPool};

const MAX_BATCH: usize = 256;

pub(super) struct Finish {
    pub delivery_id: String,
    pub token: String,
    pub attempt: Attempt,
    pub next: DeliveryNext,
    pub now: Timestamp,
}

pub(super) type Finisher = Batcher<Finish, bool>;

pub(super) fn start(writer: AnyPool, dialect: Dialect) -> Finisher {
    Batcher::start("recording attempts", MAX_BATCH, move |finishes| {
        let writer = writer.clone();
        async move { write(&writer, dialect, &finishes).await }
    })
}

async fn write(writer: &AnyPool, dialect: Dialect, finishes: &[Finish]) -> StoreResult<Vec<StoreResult<bool>>> {
    let mut connection = relaxed(writer, dialect).await?;
    let written = async {
        let mut tx = connection.begin().await?;
        relax_transaction(&mut tx, dialect).await?;
        let mut results = Vec::with_capacity(finishes.len());
        for f in finishes {
            results.push(Ok(finish_on(&mut tx, &f.delivery_id, &f.token, &f.attempt, f.next, f.now).await?));
        }
        tx.commit().await?;
        Ok::<_, StoreError>(results)
    }
    .await;
    restore(connection, dialect).await?;
    written
}
