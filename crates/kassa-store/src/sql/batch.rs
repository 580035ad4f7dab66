//! One task that takes requests in batches: the next one, and every other one already waiting.
//! With one request at a time a batch is that request alone (no added wait); under load the
//! fixed cost of a transaction is shared.
//!
//! Up to `in_flight` batches are processed at once (each on a connection of its own): with one,
//! a batch waits for the previous one to finish (SQLite's one writer); with more (PostgreSQL),
//! the next batch is written while the previous one waits for its commit to reach the disk.
//!
//! Each batch runs in a span of its own that follows from the spans of the requests in it, so
//! the work is traced back to them. A failed batch is not logged here: every request gets the
//! error with its cause and logs it once, in its own span.

use crate::{StoreError, StoreResult};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::Instrument;

type Request<T, R> = (T, tracing::Span, oneshot::Sender<StoreResult<R>>);

pub(super) struct Batcher<T, R> {
    requests: mpsc::Sender<Request<T, R>>,
    name: &'static str,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Self { requests: self.requests.clone(), name: self.name }
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the task. `process` handles one batch and answers each request in order; its own
    /// error fails every request of the batch.
    pub fn start<F, Fut>(name: &'static str, max_batch: usize, in_flight: usize, process: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = StoreResult<Vec<StoreResult<R>>>> + Send + 'static,
    {
        let (requests, mut queue) = mpsc::channel::<Request<T, R>>(4 * max_batch);
        let slots = Arc::new(Semaphore::new(in_flight.max(1)));
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                // While every slot is busy, what arrives waits for the next batch.
                let Ok(slot) = slots.clone().acquire_owned().await else { return };
                let mut batch = vec![first];
                while batch.len() < max_batch {
                    match queue.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let span = tracing::debug_span!("batch", name, size = batch.len());
                let mut items = Vec::with_capacity(batch.len());
                let mut replies = Vec::with_capacity(batch.len());
                for (item, caller, reply) in batch {
                    span.follows_from(&caller);
                    items.push(item);
                    replies.push(reply);
                }
                let processing = process(items).instrument(span);
                tokio::spawn(async move {
                    answer(name, replies, processing.await);
                    drop(slot);
                });
            }
        });
        Self { requests, name }
    }

    pub async fn submit(&self, item: T) -> StoreResult<R> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Failed(format!("{} has stopped", self.name));
        self.requests.send((item, tracing::Span::current(), reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Gives each request of a batch its result, or the batch's own error.
fn answer<R>(name: &str, replies: Vec<oneshot::Sender<StoreResult<R>>>, processed: StoreResult<Vec<StoreResult<R>>>) {
    let count = replies.len();
    let results = match processed {
        Ok(results) => results,
        Err(error) => {
            let unavailable = error.is_unavailable();
            let failed = |message: String| {
                if unavailable { StoreError::Unavailable(message) } else { StoreError::Failed(message) }
            };
            (0..count).map(|_| Err(failed(format!("{name} failed: {error}")))).collect()
        }
    };
    for (reply, result) in replies.into_iter().zip(results) {
        // A caller that went away no longer needs its answer; the write is decided.
        let _ = reply.send(result);
    }
}
