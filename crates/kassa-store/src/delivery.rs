//! Status-callback deliveries: the outbox rows and their attempts.

use crate::SessionKind;
use kassa_core::Timestamp;
use kassa_core::retry::RetryPolicy;
use serde::{Deserialize, Serialize};

/// A callback to send, inserted with the event it carries (in the same [`crate::Change`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: String,
    pub event_id: String,
    pub merchant_id: String,
    pub session_kind: SessionKind,
    pub session_id: String,
    pub seq: u64,
    /// The target as the merchant gave it (placeholders unfilled): a session's callbacks to one
    /// target go in order, and a target that answers again makes its waiting ones due.
    pub target: String,
    /// The target, placeholders filled.
    pub url: String,
    pub policy: RetryPolicy,
    pub created_at: Timestamp,
}

/// Where a delivery goes: the merchant's `target` and the `url` it expands to for this event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub target: String,
    pub url: String,
}

impl Destination {
    /// A target without placeholders: sent to exactly as given.
    pub fn plain(url: impl Into<String>) -> Self {
        let url = url.into();
        Self { target: url.clone(), url }
    }
}

impl NewDelivery {
    /// A delivery of `event` to `to` with `policy`, due at `created_at`.
    pub fn of(
        event: &crate::NewEvent,
        id: String,
        to: Destination,
        policy: RetryPolicy,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id,
            event_id: event.event_id.clone(),
            merchant_id: event.merchant_id.clone(),
            session_kind: event.session_kind,
            session_id: event.session_id.clone(),
            seq: event.seq,
            target: to.target,
            url: to.url,
            policy,
            created_at,
        }
    }
}

/// A delivery claimed by a worker: everything needed to send it, with no further reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    /// The delivery as it was inserted.
    pub delivery: NewDelivery,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The event's body (the read body at the time of the change).
    pub body: serde_json::Value,
    pub webhook_secrets: Vec<String>,
    /// Identifies this claim; finishing an attempt needs it.
    pub lease_token: String,
    /// How the merchant's callbacks misbehave (sandbox mode; `None` when they behave).
    pub sandbox: Option<crate::CallbackMisbehaviour>,
    /// How far the merchant's sandbox clock is ahead of the wall clock (0 in production).
    pub clock_ahead_millis: i64,
    /// The correlation id of the request (or the job) whose change made the event.
    pub caused_by: Option<String>,
}

impl ClaimedDelivery {
    /// `attempt`, made under this claim, and what becomes of the delivery at `now`.
    pub fn finished(&self, attempt: Attempt, next: DeliveryNext, now: Timestamp) -> FinishedAttempt {
        FinishedAttempt {
            delivery_id: self.delivery.id.clone(),
            lease_token: self.lease_token.clone(),
            attempt,
            next,
            now,
        }
    }
}

/// An attempt of a claimed delivery, to be recorded under the claim it was made under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedAttempt {
    pub delivery_id: String,
    pub lease_token: String,
    pub attempt: Attempt,
    /// What becomes of the delivery.
    pub next: DeliveryNext,
    pub now: Timestamp,
}

/// One HTTP attempt, as it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub attempt: u32,
    pub started_at: Timestamp,
    pub duration_ms: u64,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    /// Sent ahead of the delivery's schedule, to learn whether its failing target answers again.
    #[serde(default)]
    pub probe: bool,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNext {
    Delivered,
    RetryAt(Timestamp),
    /// Given up: the policy has no attempt left, or the receiver said stop (410).
    Failed,
    /// A probe failed: the delivery keeps its attempt count and its schedule.
    Unchanged,
}

kassa_core::wire_enum! {
    pub enum DeliveryStatus {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

/// A delivery with every attempt made, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: String,
    pub event_id: String,
    pub seq: u64,
    pub target: String,
    pub url: String,
    pub policy: RetryPolicy,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub attempts: Vec<Attempt>,
}

/// Where an event is in its merchant's feed: the feed is in commit order, by the id of the
/// event's transaction, then its position. On PostgreSQL the transaction id orders what committed
/// side by side; on SQLite (one writer, commits in position order) and for events from before it
/// was kept, it is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedPosition {
    pub tx: i64,
    pub position: i64,
}

/// Which events a feed page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events after this one (the last of the previous page).
    pub after: FeedPosition,
    pub limit: u32,
    pub session_id: Option<String>,
    /// Only events of this kind of session.
    pub session_kind: Option<SessionKind>,
    /// Only events that reached this status (as the session kind names it).
    pub status: Option<String>,
    /// Only events with a callback target that no delivery has reached (yet).
    pub undelivered: bool,
}
