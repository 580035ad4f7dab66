//! Rows that are not sessions.

use kassa_core::Timestamp;
use kassa_core::customer_token::TokenStatus;
use kassa_core::distribution::DistributionStatus;
use kassa_core::hpp::HppStatus;
use kassa_core::order::OrderStatus;
use kassa_core::payment::PaymentStatus;
use kassa_core::retry::RetryPolicy;
use serde::{Deserialize, Serialize};

kassa_core::wire_enum! {
    /// The kinds of session kept in the `sessions` table.
    pub enum SessionKind {
        Payment = "payment",
        Hpp = "hpp",
        Distribution = "distribution",
        Order = "order",
        CustomerToken = "customer_token",
    }
}

impl SessionKind {
    /// The status of this kind that `name` spells, as the kind's status type names it; `None`
    /// when this kind has no such status.
    pub fn status_name(self, name: &str) -> Option<&'static str> {
        match self {
            Self::Payment => PaymentStatus::parse(name).map(PaymentStatus::as_str),
            Self::Hpp => HppStatus::parse(name).map(HppStatus::as_str),
            Self::Distribution => DistributionStatus::parse(name).map(DistributionStatus::as_str),
            Self::Order => OrderStatus::parse(name).map(OrderStatus::as_str),
            Self::CustomerToken => TokenStatus::parse(name).map(TokenStatus::as_str),
        }
    }
}

/// A merchant (API user). The secret is kept only as a salted SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub id: String,
    pub name: String,
    pub username: String,
    pub secret_salt: String,
    pub secret_hash: String,
    pub created_at: Timestamp,
    /// Standard Webhooks signing secrets (`whsec_…`), newest first; two during a rotation.
    pub webhook_secrets: Vec<String>,
    /// Retry policy of the merchant's callbacks.
    pub retry_policy: RetryPolicy,
}

/// An event to append: one accepted status change and the read body at that moment.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: String,
    pub merchant_id: String,
    pub session_kind: SessionKind,
    pub session_id: String,
    pub seq: u64,
    /// The status the change reached, as the session kind's status type names it.
    pub status: &'static str,
    pub body: serde_json::Value,
    pub created_at: Timestamp,
    /// The correlation id of the request (or the job) whose change this event is; stamped at
    /// commit, so the callbacks of the event are traced back to it.
    pub caused_by: Option<String>,
}

/// An appended event with its global position (increasing in insert order) and its transaction
/// (see [`FeedPosition`](crate::FeedPosition)).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: i64,
    pub tx: i64,
    pub event: NewEvent,
}

impl StoredEvent {
    /// Where the event is in its merchant's feed.
    pub fn feed_position(&self) -> crate::FeedPosition {
        crate::FeedPosition { tx: self.tx, position: self.position }
    }
}

/// A distribution message (SMS, email or token link) sent for a session (see [`crate::MessageRecord`]
/// for how its delivery goes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub merchant_id: String,
    pub session_id: String,
    pub method: String,
    /// The address: a phone number (SMS), an email address, or an access id (token).
    pub recipient: String,
    /// An SMS recipient's phone country (ISO 3166 alpha-2); `None` for the other methods.
    pub country: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: Timestamp,
    /// The correlation id of the request (or the job) whose change wrote the message.
    pub caused_by: Option<String>,
}

/// Which sessions a listing holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub kind: Option<SessionKind>,
    /// Only sessions in this status (as the wire writes it).
    pub status: Option<String>,
    /// Only sessions after this one in the listing's order (the previous page's last).
    pub after: Option<SessionCursor>,
    pub limit: u32,
}

/// A place in the listing's order: newest first, then by id and kind (a payment session and its
/// distribution share both time and id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCursor {
    pub created_at: Timestamp,
    pub id: String,
    pub kind: SessionKind,
}

impl SessionSummary {
    pub fn cursor(&self) -> SessionCursor {
        SessionCursor { created_at: self.created_at, id: self.id.clone(), kind: self.kind }
    }
}

/// A session as a listing shows it: what every kind has in common.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub kind: SessionKind,
    pub id: String,
    pub parent_id: Option<String>,
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}
