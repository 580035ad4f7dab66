//! Persistence for kassa, written in its use cases.
//!
//! One [`Store`] trait, backends behind it. Every status change reaches the database through
//! [`Store::commit`]: guarded session writes (compare-and-set on status and version), the events
//! they yield, and the authorizations and orders they create, all in one transaction.

mod browser;
mod change;
mod claim;
mod consumer;
mod delivery;
mod error;
mod idempotency;
mod jobs;
mod messages;
mod model;
pub mod notify;
mod record;
mod sandbox;
pub mod sql;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;

pub use browser::BrowserSession;
pub use change::{AuthorizationWrite, Change, ConsumerSessionAttach, OrderLedger, OrderWrite, SessionWrite};
pub use claim::ClaimWindow;
pub use consumer::ConsumerSession;
pub use delivery::{
    Attempt, ClaimedDelivery, DeliveryNext, DeliveryRecord, DeliveryStatus, Destination, EventFilter, FeedPosition,
    FinishedAttempt, NewDelivery,
};
pub use error::StoreError;
pub use idempotency::{IDEMPOTENCY_HOURS, IdempotencyRecord, IdempotentOutcome};
pub use jobs::{ClaimedJob, Job, JobFailure, JobFilter, JobKind, JobRecord, JobRetry, JobStatus, JobWrite};
pub use messages::{ClaimedMessage, FinishedMessage, MessageNext, MessageRecord, MessageStatus};
pub use model::{Merchant, Message, NewEvent, SessionCursor, SessionFilter, SessionKind, SessionSummary, StoredEvent};
pub use record::{SessionRecord, Stored};
pub use sandbox::{CallbackMisbehaviour, SimulatedFailure};
pub use stats::{Backlog, CommitObserver, CommittedBatch, PolicyBacklog, PoolUse};

use async_trait::async_trait;
use kassa_core::Timestamp;
use kassa_core::payment::Authorization;
use kassa_core::retry::RetryPolicy;

#[doc(hidden)]
pub use kassa_core as __core;

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Adds a merchant; [`StoreError::Conflict`] when the username is taken.
    async fn insert_merchant(&self, merchant: &Merchant) -> StoreResult<()>;
    async fn merchant_by_username(&self, username: &str) -> StoreResult<Option<Merchant>>;
    async fn merchant(&self, id: &str) -> StoreResult<Option<Merchant>>;
    async fn merchant_count(&self) -> StoreResult<u64>;
    /// Every merchant, oldest first (start-up checks and re-encryption of their secrets).
    async fn merchants(&self) -> StoreResult<Vec<Merchant>>;
    /// Replaces a merchant's webhook secrets and retry policy; `false` when no such username.
    async fn set_merchant_webhooks(
        &self,
        username: &str,
        secrets: &[String],
        retry_policy: RetryPolicy,
    ) -> StoreResult<bool>;
    /// Replaces the webhook secrets of merchant `id` only while they are still `expected` (a
    /// re-encryption never overwrites a rotation made meanwhile); `false` when they are not.
    async fn replace_webhook_secrets(&self, id: &str, expected: &[String], secrets: &[String]) -> StoreResult<bool>;

    /// The stored state of one session of `kind`, as its record type serialized it, and the
    /// row's revision (the guard of its next write).
    async fn session_state(&self, kind: SessionKind, id: &str) -> StoreResult<Option<(serde_json::Value, u64)>>;
    /// Sessions of `kind` whose parent is `parent_id` (the HPP sessions of a payment session).
    async fn child_session_states(
        &self,
        kind: SessionKind,
        parent_id: &str,
    ) -> StoreResult<Vec<(serde_json::Value, u64)>>;

    /// The session of `kind` that a consumer-facing token finds.
    async fn session_state_by_token(
        &self,
        kind: SessionKind,
        token: &str,
    ) -> StoreResult<Option<(serde_json::Value, u64)>>;

    /// Adds a consumer session; `false` (nothing written) when a live, free session of the same
    /// merchant at `session.created_at` already has its short code.
    async fn insert_consumer_session(&self, session: &ConsumerSession) -> StoreResult<bool>;

    /// The merchant's consumer session with `short_code` that is live at `now` and has no
    /// payment yet.
    async fn free_consumer_session(
        &self,
        merchant_id: &str,
        short_code: &str,
        now: Timestamp,
    ) -> StoreResult<Option<ConsumerSession>>;

    /// One consumer session by id, expired or not.
    async fn consumer_session(&self, id: &str) -> StoreResult<Option<ConsumerSession>>;

    /// Deletes the consumer sessions that expired at or before `before`, taken or not; answers
    /// how many.
    async fn prune_consumer_sessions(&self, before: Timestamp) -> StoreResult<u64>;

    /// Adds a browser session; [`StoreError::Conflict`] if its token hash is taken.
    async fn insert_browser_session(&self, session: &BrowserSession) -> StoreResult<()>;

    /// The browser session with `token_hash` that is live at `now`.
    async fn browser_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<BrowserSession>>;

    /// Records that a page used the session at `now` (never moves `last_seen_at` back).
    async fn touch_browser_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<()>;

    /// Ends one browser session (logout); `false` when there was none.
    async fn delete_browser_session(&self, token_hash: &str) -> StoreResult<bool>;

    /// Ends every browser session of a merchant (its credentials changed); answers how many.
    async fn delete_merchant_browser_sessions(&self, merchant_id: &str) -> StoreResult<u64>;

    /// Deletes the browser sessions expired at `now`; answers how many.
    async fn prune_browser_sessions(&self, now: Timestamp) -> StoreResult<u64>;

    /// A page of the merchant's sessions, newest first.
    async fn merchant_sessions(&self, merchant_id: &str, filter: &SessionFilter) -> StoreResult<Vec<SessionSummary>>;

    /// Claims the jobs `window` takes: due on the service clock, no live lease (wall clock).
    async fn claim_jobs(&self, window: ClaimWindow) -> StoreResult<Vec<ClaimedJob>>;

    /// A claimed job's run failed: count it, keep its error, let go of the lease, and either try
    /// again at a later time or set the job aside. `false` (nothing written) when the lease was
    /// lost (it ran out and another claim holds the job).
    async fn fail_job(&self, failure: &JobFailure) -> StoreResult<bool>;

    /// The merchant's jobs that `filter` takes, oldest first.
    async fn merchant_jobs(&self, merchant_id: &str, filter: &JobFilter) -> StoreResult<Vec<JobRecord>>;

    /// One of the merchant's jobs.
    async fn merchant_job(&self, merchant_id: &str, job_id: &str) -> StoreResult<Option<JobRecord>>;

    /// Schedules a set-aside job of the merchant again, due at `due_at` with no failures counted
    /// (its last error is kept until it fails again or is done), and answers it as the retry left
    /// it; `None` (nothing written) when the merchant has no such job set aside.
    async fn retry_job(&self, merchant_id: &str, job_id: &str, due_at: Timestamp) -> StoreResult<Option<JobRecord>>;

    async fn authorization(&self, token: &str) -> StoreResult<Option<Authorization>>;

    /// The merchant's live record (younger than [`IDEMPOTENCY_HOURS`] at `now`) of `key` used
    /// for `scope`.
    async fn idempotency(
        &self,
        merchant_id: &str,
        scope: &str,
        key: &str,
        now: Timestamp,
    ) -> StoreResult<Option<IdempotencyRecord>>;

    /// Deletes idempotency records that ran out at `now` (older than [`IDEMPOTENCY_HOURS`]);
    /// answers how many.
    async fn prune_idempotency(&self, now: Timestamp) -> StoreResult<u64>;

    /// Applies `change` atomically. Any guard that does not hold rolls everything back and
    /// answers [`StoreError::Conflict`].
    async fn commit(&self, change: Change) -> StoreResult<()>;

    /// A session's events in sequence order.
    async fn session_events(&self, session_id: &str) -> StoreResult<Vec<StoredEvent>>;

    /// The events of one session of `kind` with a sequence number above `after`, in order.
    async fn session_events_after(
        &self,
        kind: SessionKind,
        session_id: &str,
        after: u64,
    ) -> StoreResult<Vec<StoredEvent>>;

    /// The messages of a session (or an order), oldest first, each with how its delivery goes.
    /// Messages are written only by [`Store::commit`] (with the change that sends them).
    async fn session_messages(&self, session_id: &str) -> StoreResult<Vec<MessageRecord>>;

    /// A message of the merchant (`None` for another merchant's), with how its delivery goes.
    async fn merchant_message(&self, merchant_id: &str, message_id: &str) -> StoreResult<Option<MessageRecord>>;

    /// Makes a failed message of the merchant pending again, due `at` (the merchant's time now)
    /// with all its attempts before it, and answers it as the retry left it; `None` (nothing
    /// written) when it is not a failed message of the merchant (any more).
    async fn retry_message(
        &self,
        merchant_id: &str,
        message_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<MessageRecord>>;

    /// Claims the messages `window` takes: pending, due on their merchant's clock, no live lease.
    async fn claim_messages(&self, window: ClaimWindow) -> StoreResult<Vec<ClaimedMessage>>;

    /// Records what became of a claimed message's send, and lets go of its lease. `false`
    /// (nothing written) when the claim was lost (its lease ran out and another claim holds it).
    async fn finish_message(&self, finished: &FinishedMessage) -> StoreResult<bool>;

    /// Claims the deliveries `window` takes. A delivery is due when its time has come, no live
    /// lease holds it, and no earlier event of the same session is still pending for the same
    /// target.
    async fn claim_deliveries(&self, window: ClaimWindow) -> StoreResult<Vec<ClaimedDelivery>>;

    /// Extends every claim held under `lease_tokens` whose delivery is still pending (the
    /// worker's heartbeat while its attempts run); answers how many deliveries.
    async fn renew_leases(&self, lease_tokens: &[String], lease_until: Timestamp) -> StoreResult<u64>;

    /// Claims, to probe whether a failing target answers again, the first extended-policy
    /// delivery to `target` of `merchant_id` that its session's order lets go, whatever its schedule.
    async fn claim_probe(
        &self,
        merchant_id: &str,
        target: &str,
        window: ClaimWindow,
    ) -> StoreResult<Option<ClaimedDelivery>>;

    /// Makes every delivery to `target` of `merchant_id` waiting for a later retry due at `now`
    /// (the target answered again); answers how many.
    async fn make_target_due(&self, merchant_id: &str, target: &str, now: Timestamp) -> StoreResult<u64>;

    /// Every (merchant id, target) with a failed extended-policy delivery waiting for a retry
    /// (the targets a starting worker probes).
    async fn failing_targets(&self) -> StoreResult<Vec<(String, String)>>;

    /// Records an attempt of a claimed delivery and what becomes of it. Answers `false` when the
    /// claim was lost (lease expired and taken over): the attempt is recorded, the outcome not.
    async fn finish_attempt(&self, finished: FinishedAttempt) -> StoreResult<bool>;

    /// Gives claimed deliveries back without an attempt (shutdown before sending).
    async fn release_claim(&self, delivery_id: &str, lease_token: &str) -> StoreResult<()>;

    /// Gives a claimed delivery back without an attempt, due again at `at` (a sandbox delay);
    /// `false` when the claim was lost.
    async fn defer_delivery(&self, delivery_id: &str, lease_token: &str, at: Timestamp) -> StoreResult<bool>;

    /// How the merchant's callbacks misbehave (sandbox mode); `None` when they behave.
    async fn callback_misbehaviour(&self, merchant_id: &str) -> StoreResult<Option<CallbackMisbehaviour>>;

    /// Replaces (or, with `None`, removes) how the merchant's callbacks misbehave; the count of
    /// callbacks `drop_every` has seen starts again.
    async fn set_callback_misbehaviour(
        &self,
        merchant_id: &str,
        settings: Option<&CallbackMisbehaviour>,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Counts one more callback of the merchant for its `drop_every` setting; answers the count
    /// (0 when the merchant has no settings).
    async fn count_sandbox_callback(&self, merchant_id: &str) -> StoreResult<u64>;

    /// How far (milliseconds) the merchant's sandbox clock is ahead of the wall clock.
    async fn sandbox_clock(&self, merchant_id: &str) -> StoreResult<i64>;

    /// Moves the merchant's sandbox clock `millis` forward; answers how far ahead it is now.
    async fn advance_sandbox_clock(&self, merchant_id: &str, millis: i64, now: Timestamp) -> StoreResult<i64>;

    /// A session's deliveries, oldest first, each with its attempts.
    async fn session_deliveries(&self, session_id: &str) -> StoreResult<Vec<DeliveryRecord>>;

    /// The deliveries made for one event (its targets), oldest first.
    async fn event_deliveries(&self, event_id: &str) -> StoreResult<Vec<DeliveryRecord>>;

    /// One event by id.
    async fn event(&self, event_id: &str) -> StoreResult<Option<StoredEvent>>;

    /// A page of a merchant's events after `filter.after`, in commit order (see [`FeedPosition`]).
    async fn merchant_events(&self, merchant_id: &str, filter: &EventFilter) -> StoreResult<Vec<StoredEvent>>;

    /// Whether a feed page can hold back an event that has committed, until an older change
    /// still running ends ([`Store::merchant_events`]; PostgreSQL, where changes commit side by
    /// side). That older change may end without waking anyone (it wrote no session, or it ran on
    /// another node and wrote none), so a follower of the feed reads again now and then.
    fn feed_may_lag(&self) -> bool;

    /// Changes committed by other nodes, as they commit (PostgreSQL); `None` for a backend that
    /// serves one process (SQLite), where in-process wake-ups are all there is.
    async fn notifications(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<notify::Notification>>>;

    /// Whether the database serves: it answers a read, and a durable write commits (with the
    /// configured durability: on SQLite with `synchronous=FULL` that is a WAL fsync), so a
    /// failing disk, a full one or a lost server is not ready.
    async fn ping(&self) -> StoreResult<()>;

    /// What waits at `now` (the service clock; each item is due on its merchant's clock, `now`
    /// plus the merchant's sandbox offset): pending callbacks by retry policy (how many are due,
    /// and how long the longest-waiting due one has waited), due and set-aside jobs, pending
    /// messages (the operator's backlog metrics).
    async fn backlog(&self, now: Timestamp) -> StoreResult<Backlog>;

    /// How the connection pools are used now.
    fn pools(&self) -> Vec<PoolUse>;

    /// Tells `observer` of every group-commit batch from now on (replacing an earlier one).
    fn observe_commits(&self, observer: std::sync::Arc<dyn CommitObserver>);
}

/// Typed loading on top of the object-safe trait.
#[async_trait]
pub trait StoreExt {
    async fn load<T: SessionRecord>(&self, id: &str) -> StoreResult<Option<Stored<T>>>;
    async fn load_children<T: SessionRecord>(&self, parent_id: &str) -> StoreResult<Vec<Stored<T>>>;
    async fn load_by_token<T: SessionRecord>(&self, token: &str) -> StoreResult<Option<Stored<T>>>;
}

#[async_trait]
impl<S: Store + ?Sized> StoreExt for S {
    async fn load<T: SessionRecord>(&self, id: &str) -> StoreResult<Option<Stored<T>>> {
        self.session_state(T::KIND, id).await?.map(record::decode).transpose()
    }

    async fn load_children<T: SessionRecord>(&self, parent_id: &str) -> StoreResult<Vec<Stored<T>>> {
        let states = self.child_session_states(T::KIND, parent_id).await?;
        states.into_iter().map(record::decode).collect()
    }

    async fn load_by_token<T: SessionRecord>(&self, token: &str) -> StoreResult<Option<Stored<T>>> {
        self.session_state_by_token(T::KIND, token).await?.map(record::decode).transpose()
    }
}
