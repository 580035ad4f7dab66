//! Attempt records in batches: the attempts that finish while one batch is written go into the
//! next, in one transaction (relaxed sync, see `deliveries::relaxed`).

use super::deliveries::{finish_on, relaxed, restore};
use crate::{Attempt, DeliveryNext, StoreError, StoreResult};
use kassa_core::Timestamp;
use sqlx::{Acquire, SqlitePool};
use tokio::sync::{mpsc, oneshot};

const MAX_BATCH: usize = 256;

pub(super) struct Finish {
    pub delivery_id: String,
    pub token: String,
    pub attempt: Attempt,
    pub next: DeliveryNext,
    pub now: Timestamp,
}

type Request = (Finish, oneshot::Sender<StoreResult<bool>>);

#[derive(Clone)]
pub(super) struct Finisher {
    requests: mpsc::Sender<Request>,
}

impl Finisher {
    pub fn start(writer: SqlitePool, synchronous: &'static str) -> Self {
        let (requests, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(writer, synchronous, queue));
        Self { requests }
    }

    pub async fn finish(&self, finish: Finish) -> StoreResult<bool> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Failed("the attempt recorder has stopped".into());
        self.requests.send((finish, reply)).await.map_err(|_| stopped())?;
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
        let (finishes, replies): (Vec<Finish>, Vec<_>) = batch.into_iter().unzip();
        let results = match write(&writer, synchronous, &finishes).await {
            Ok(results) => results,
            Err(error) => {
                tracing::error!(%error, attempts = finishes.len(), "recording attempts failed");
                finishes
                    .iter()
                    .map(|_| Err(StoreError::Failed(format!("recording the attempt failed: {error}"))))
                    .collect()
            }
        };
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

async fn write(writer: &SqlitePool, synchronous: &str, finishes: &[Finish]) -> StoreResult<Vec<StoreResult<bool>>> {
    let mut connection = relaxed(writer).await?;
    let written = async {
        let mut tx = connection.begin().await?;
        let mut results = Vec::with_capacity(finishes.len());
        for f in finishes {
            results.push(Ok(finish_on(&mut tx, &f.delivery_id, &f.token, &f.attempt, f.next, f.now).await?));
        }
        tx.commit().await?;
        Ok::<_, StoreError>(results)
    }
    .await;
    restore(connection, synchronous).await?;
    written
}
