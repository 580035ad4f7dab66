//! The idempotency ledger: what a merchant's request with a `Klarna-Idempotency-Key` did, so
//! that the same key gets the same answer and the work is done once. A record of work done is
//! written in the same transaction as the work; a refusal is recorded after it.

use kassa_core::Timestamp;

/// How long a key holds (Klarna: 24 hours from the first attempt).
pub const IDEMPOTENCY_HOURS: i64 = 24;

/// One key of one merchant's operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub merchant_id: String,
    /// The operation the key was used for (its method and path).
    pub scope: String,
    pub key: String,
    /// A digest of the request body, to tell a retry from another request under the same key.
    pub request_hash: String,
    pub outcome: IdempotentOutcome,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotentOutcome {
    /// The work was done; `resource_id` names what it created (a capture, a refund), if anything.
    Done { resource_id: Option<String> },
    /// The request was refused: the answer as it was given (status and error body).
    Refused { status: u16, body: String },
}
