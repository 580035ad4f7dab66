//! Bodies of the events feed and the delivery log (kassa's own routes).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// One status change of a session, as committed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventV1 {
    pub event_id: String,
    /// `hpp`, `payment` or `distribution`.
    pub session_kind: String,
    pub session_id: String,
    /// Per-session sequence number, gap-free from 1 (creation).
    pub sequence: u64,
    pub status: String,
    pub created_at: String,
    /// The read endpoint's body at the moment of the change (for HPP: what the callback carries
    /// as `session`).
    #[schema(value_type = Object)]
    pub body: Value,
    /// Opaque cursor: pass it as `after` to continue after this event.
    pub cursor: String,
}

/// A page of the events feed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventV1>,
    /// The cursor to pass as `after` for the next page (unchanged when the page is empty).
    pub next_cursor: String,
    /// Whether the page was full, so more events may follow at once.
    pub has_more: bool,
}

/// One HTTP attempt of a callback.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttemptV1 {
    pub attempt: u32,
    pub started_at: String,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_excerpt: Option<String>,
    /// Sent ahead of schedule to learn whether a failing target answers again (extended policy);
    /// a failed probe does not count against the delivery's attempts, and shares its number
    /// with the scheduled attempt that follows.
    pub probe: bool,
}

/// A callback of one event to one target, with every attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryV1 {
    pub delivery_id: String,
    pub event_id: String,
    pub sequence: u64,
    /// The target as the merchant gave it (placeholders unfilled); callbacks of a session to
    /// one target arrive in order.
    pub target: String,
    /// The target with its placeholders filled for this event.
    pub url: String,
    /// `klarna` or `extended`.
    pub policy: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub attempts: Vec<AttemptV1>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryLog {
    pub deliveries: Vec<DeliveryV1>,
}

/// The deliveries a redelivery request created.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Redelivery {
    pub delivery_ids: Vec<String>,
}
