//! What every handler can reach.

use crate::app::clock::{Clock, SandboxClock, SystemClock};
use crate::app::config::{Config, Mode};
use crate::app::sender::{MessageSender, RecordingSender};
use kassa_store::{Change, JobWrite, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Present in sandbox mode: the clock that sandbox controls move forward.
    pub sandbox_clock: Option<Arc<SandboxClock>>,
    pub sender: Arc<dyn MessageSender>,
    pub config: Arc<Config>,
    /// Woken after a commit that added deliveries (the delivery worker waits on it).
    pub deliveries_due: Arc<Notify>,
    /// Woken after a commit that scheduled jobs, and when the sandbox clock moves (the
    /// scheduler waits on it).
    pub jobs_due: Arc<Notify>,
    /// Held while this process claims and runs a batch of jobs: one batch at a time, so the
    /// sandbox clock can wait for the jobs a scheduler run already claimed.
    pub jobs_running: Arc<tokio::sync::Mutex<()>>,
    /// Every committed status change, for long-poll and stream waiters in this process.
    pub changes: broadcast::Sender<SessionChanged>,
    /// Cancelled when the server shuts down: the worker, long-polls and streams end on it.
    pub shutdown: CancellationToken,
}

/// A session got a new event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionChanged {
    pub session_id: String,
}

impl AppState {
    /// The standard wiring: a movable clock in sandbox mode, the system clock in production,
    /// distribution messages recorded in the database.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        let sandbox_clock = (config.mode == Mode::Sandbox).then(|| Arc::new(SandboxClock::default()));
        let clock: Arc<dyn Clock> = match &sandbox_clock {
            Some(clock) => clock.clone(),
            None => Arc::new(SystemClock),
        };
        let sender = Arc::new(RecordingSender::new(store.clone()));
        let (changes, _) = broadcast::channel(1024);
        let deliveries_due = Arc::new(Notify::new());
        let jobs_due = Arc::new(Notify::new());
        let shutdown = CancellationToken::new();
        Self {
            store,
            clock,
            sandbox_clock,
            sender,
            config: Arc::new(config),
            deliveries_due,
            jobs_due,
            jobs_running: Arc::default(),
            changes,
            shutdown,
        }
    }

    /// Commits a change, then wakes whoever waits for it: the delivery worker when it added
    /// deliveries, and long-poll and stream waiters of every session it changed.
    pub async fn commit(&self, change: Change) -> Result<(), StoreError> {
        let wake_worker = !change.deliveries.is_empty();
        let wake_scheduler = change.jobs.iter().any(|j| matches!(j, JobWrite::Schedule(_)));
        // Every session written: status changes (events), and updates that change a read body
        // without one (a payment session's cart).
        let changed: Vec<SessionChanged> =
            change.sessions.iter().map(|w| SessionChanged { session_id: w.id.clone() }).collect();
        self.store.commit(change).await?;
        if wake_worker {
            self.deliveries_due.notify_one();
        }
        if wake_scheduler {
            self.jobs_due.notify_one();
        }
        for event in changed {
            // No receiver is fine: nobody is waiting.
            let _ = self.changes.send(event);
        }
        Ok(())
    }

    pub fn now(&self) -> kassa_core::Timestamp {
        self.clock.now()
    }
}
