//! What an operator watches of the store: what waits in the outbox and the job table, how its
//! connection pools are used, and how the group commit's batches go.

use kassa_core::retry::RetryPolicy;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The callbacks of one retry policy not yet delivered nor given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBacklog {
    pub policy: RetryPolicy,
    /// Pending deliveries, due or waiting for a later retry.
    pub pending: u64,
    /// Of those, the ones due now.
    pub due: u64,
    /// How long the longest-waiting due delivery has waited since it became due, on its
    /// merchant's clock (`None`: nothing is due).
    pub longest_wait: Option<Duration>,
}

/// What waits at a moment: callbacks by policy, jobs that are due, and messages. "Due" is on
/// each item's merchant's clock (a sandbox merchant's may be ahead of the service clock).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    /// One entry per policy with pending deliveries.
    pub deliveries: Vec<PolicyBacklog>,
    /// Scheduled jobs due now (set-aside ones are not counted: they wait for an operator).
    pub jobs_due: u64,
    /// How long the longest-waiting due job has waited, on its merchant's clock.
    pub longest_job_wait: Option<Duration>,
    /// Jobs set aside for an operator.
    pub jobs_set_aside: u64,
    /// Distribution messages not yet sent nor failed.
    pub messages_pending: u64,
    /// How long the longest-waiting due message has waited, on its merchant's clock.
    pub longest_message_wait: Option<Duration>,
}

/// One connection pool's use now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUse {
    /// `writer` or `reader`.
    pub pool: &'static str,
    /// Connections open.
    pub open: u32,
    /// Of those, the idle ones.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// One group-commit batch, as it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommittedBatch {
    /// Changes in the batch.
    pub size: usize,
    /// From the batch's start to the transaction's answer (the fsync included).
    pub took: Duration,
    /// Whether the transaction committed (each change may still have been refused by its guard).
    pub committed: bool,
}

/// Told of every group-commit batch (the server's metrics).
pub trait CommitObserver: Send + Sync + 'static {
    fn batch(&self, batch: CommittedBatch);
}

/// Where a store keeps its observer; replaced by [`crate::Store::observe_commits`].
#[derive(Clone, Default)]
pub(crate) struct ObserverSlot(Arc<RwLock<Option<Arc<dyn CommitObserver>>>>);

impl ObserverSlot {
    pub fn set(&self, observer: Arc<dyn CommitObserver>) {
        *self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(observer);
    }

    pub fn tell(&self, batch: CommittedBatch) {
        let observer = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        if let Some(observer) = observer {
            observer.batch(batch);
        }
    }
}
