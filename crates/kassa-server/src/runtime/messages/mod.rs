//! The message worker: claims due distribution messages under a wall-clock lease, sends each with
//! its method's sender and no transaction open, and records what became of it: sent, due again
//! after a back-off (5 s doubling up to 10 minutes by default), or failed for good (a permanent
//! refusal, or its last attempt; the listing and the dashboard show why).
//!
//! One step ([`MessageWorker::run_once`]) claims what is due and starts a send of each, in its own
//! task; the server's worker ([`MessageWorker::run`]) takes steps, woken right after a commit that
//! adds messages and polling for due retries; tests [drain](MessageWorker::drain_due). Sends in
//! flight are bounded. A claim's lease outlasts the longest send ([`MessagingSettings::lease`]), so
//! no message held by a live node is sent twice, and one claimed by a node that died is sent by
//! another (or by the next start, on SQLite) once its lease ends.

use crate::app::messaging::MessagingSettings;
use crate::app::metrics::MessageResult;
use crate::app::sender::{SendFailure, Senders};
use crate::app::state::AppState;
use crate::runtime::worker::{self, Step, Tasks};
use kassa_store::{ClaimWindow, ClaimedMessage, MessageNext};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

/// The most messages one claim takes.
const MAX_CLAIM: usize = 64;

pub struct MessageWorker {
    state: AppState,
    senders: Senders,
    in_flight: Arc<Semaphore>,
    /// The sends this worker started that have not been joined yet.
    tasks: Tasks,
}

impl MessageWorker {
    /// A worker with the senders `state`'s settings configure; `Err` when one cannot be built.
    pub fn new(state: AppState) -> Result<Arc<Self>, String> {
        let settings = &state.config.messaging;
        let senders = Senders::new(settings)?;
        let in_flight = Arc::new(Semaphore::new(settings.max_in_flight.max(1)));
        Ok(Arc::new(Self { state, senders, in_flight, tasks: Tasks::default() }))
    }

    fn settings(&self) -> &MessagingSettings {
        &self.state.config.messaging
    }

    /// Runs [steps](Self::run_once) until the server shuts down, waiting between them for a free
    /// slot or, when nothing is due, for a wake-up or the poll interval; then lets the sends in
    /// flight finish (at most the drain deadline: an abandoned send's claim lapses with its lease).
    pub async fn run(self: Arc<Self>) {
        let shutdown = self.state.shutdown.clone();
        while !shutdown.is_cancelled() {
            match self.run_once().await {
                Step::Started(_) => {}
                Step::Full => tokio::select! {
                    permit = self.in_flight.clone().acquire_owned() => drop(permit),
                    () = shutdown.cancelled() => {}
                },
                Step::Idle => tokio::select! {
                    () = self.state.bus.messages_notified() => {}
                    () = tokio::time::sleep(self.settings().poll_interval) => {}
                    () = shutdown.cancelled() => {}
                },
            }
        }
        let deadline = self.state.config.server.drain_deadline;
        if tokio::time::timeout(deadline, self.tasks.settle()).await.is_err() {
            tracing::warn!(
                ?deadline,
                "shutdown: distribution messages still being sent at the drain deadline were abandoned"
            );
        }
        tracing::info!("message worker stopped");
    }

    /// One step: claims what is due now, as many as there are free slots (at most
    /// [`MAX_CLAIM`]), and starts a send of each in its own task, without waiting for them.
    pub async fn run_once(self: &Arc<Self>) -> Step {
        self.tasks.reap();
        let Some((free, mut slots)) = worker::free_slots(&self.in_flight, MAX_CLAIM) else { return Step::Full };
        let claimed = self.claim(free).await;
        if claimed.is_empty() {
            return Step::Idle;
        }
        let started = claimed.len();
        for message in claimed {
            let Some(slot) = slots.split(1) else { break };
            let span = tracing::info_span!(
                "message",
                message = %message.message.id,
                session = %message.message.session_id,
                merchant = %message.message.merchant_id,
                method = %message.message.method,
                attempt = message.attempts + 1,
                caused_by = message.message.caused_by.as_deref().unwrap_or(""),
            );
            self.tasks.spawn(self.clone().send(message, slot).instrument(span));
        }
        Step::Started(started)
    }

    /// Runs steps until nothing is due and no send this worker started is in flight; answers how
    /// many sends it made. A retry stays pending until its time: move the clock, then drain again.
    pub async fn drain_due(self: &Arc<Self>) -> usize {
        worker::drain(&self.tasks, || self.run_once()).await
    }

    async fn claim(&self, limit: usize) -> Vec<ClaimedMessage> {
        let wall_now = self.state.wall_now();
        let lease =
            i64::try_from(self.settings().lease(self.state.config.ready_within).as_millis()).unwrap_or(i64::MAX / 2);
        let window = ClaimWindow {
            due_at: self.state.now(),
            wall_now,
            lease_until: wall_now.plus_millis(lease),
            limit: limit as u32,
        };
        self.state.store.claim_messages(window).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "claiming distribution messages failed; retrying shortly");
            Vec::new()
        })
    }

    async fn send(self: Arc<Self>, claimed: ClaimedMessage, _slot: OwnedSemaphorePermit) {
        let settings = self.settings();
        let message = &claimed.message;
        let sender = self.senders.of(&message.method);
        let timeout = settings.send_timeout;
        let sent = tokio::time::timeout(timeout, sender.send(message))
            .await
            .unwrap_or_else(|_| Err(SendFailure::retryable(format!("not sent within {} s", timeout.as_secs()))));
        // The merchant's time: the service clock plus its sandbox clock's offset.
        let now = self.state.now_ahead(claimed.clock_ahead_millis);
        let attempt = claimed.attempts + 1;
        let (next, error) = match sent {
            Ok(()) => (MessageNext::Sent, None),
            Err(SendFailure { permanent, reason }) => {
                let retry = settings.retry_after(attempt).filter(|_| !permanent);
                let next = match retry {
                    Some(wait) => MessageNext::RetryAt(now.plus_millis(wait.as_millis() as i64)),
                    None => MessageNext::Failed,
                };
                match next {
                    MessageNext::RetryAt(at) => tracing::warn!(
                        message = %message.id, session_id = %message.session_id, method = %message.method, attempt,
                        %at, error = %reason, "distribution message not sent; it is sent again later"
                    ),
                    _ => tracing::warn!(
                        message = %message.id, session_id = %message.session_id, method = %message.method, attempt,
                        permanent, error = %reason, "distribution message failed; it is not sent again unless an operator retries it"
                    ),
                }
                (next, Some(reason))
            }
        };
        let result = match next {
            MessageNext::Sent => MessageResult::Sent,
            MessageNext::RetryAt(_) => MessageResult::Retrying,
            _ => MessageResult::Failed,
        };
        match self.state.store.finish_message(&claimed.finished(next, error, now)).await {
            Ok(true) => {
                // Counted once recorded: a send whose claim was lost is the new holder's to count.
                self.state.metrics.message(&message.method, result);
                if next == MessageNext::Sent {
                    tracing::debug!(message = %message.id, method = %message.method, attempt, "distribution message sent");
                }
            }
            Ok(false) => tracing::warn!(message = %message.id, "claim lost before a message's send was recorded"),
            Err(error) => tracing::error!(%error, message = %message.id, "could not record a message's send"),
        }
    }
}

/// A message worker for `state`, [drained](MessageWorker::drain_due): answers how many sends it
/// made.
pub async fn drain(state: &AppState) -> Result<usize, String> {
    Ok(MessageWorker::new(state.clone())?.drain_due().await)
}
