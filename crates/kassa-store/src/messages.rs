//! Distribution messages' delivery: the outbox of SMS, email and token-link messages. A message
//! commits with the change that causes it (in [`crate::Change::messages`]), pending; the message
//! worker claims due ones under a wall-clock lease, sends each with no transaction open, and
//! records what became of it under that lease: sent, due again later, or failed for good.

use crate::Message;
use kassa_core::Timestamp;

kassa_core::wire_enum! {
    /// Where a message's delivery stands, spelled as the `messages.status` column keeps it.
    pub enum MessageStatus {
        /// To be sent at its next attempt time (again, after a failed send).
        Pending = "pending",
        /// Handed to its sender (the SMTP server, the SMS gateway; or recorded).
        Sent = "sent",
        /// Refused for good, or out of attempts: never sent, and its last error says why.
        Failed = "failed",
    }
}

/// A message with how its delivery goes, for the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub message: Message,
    pub status: MessageStatus,
    /// Sends made so far.
    pub attempts: u32,
    /// When it is sent next (merchant's clock), while pending.
    pub next_attempt_at: Option<Timestamp>,
    /// Why the last failed send failed (kept once the message is sent after all).
    pub last_error: Option<String>,
    pub sent_at: Option<Timestamp>,
}

/// A due message a worker holds until its lease ends: everything needed to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    pub message: Message,
    /// Sends made before this one.
    pub attempts: u32,
    /// Identifies this claim; recording the outcome needs it.
    pub lease_token: String,
    /// How far the merchant's sandbox clock is ahead of the wall clock (0 in production).
    pub clock_ahead_millis: i64,
}

impl ClaimedMessage {
    /// What became of a send made under this claim, at `now` (the merchant's clock).
    pub fn finished(&self, next: MessageNext, error: Option<String>, now: Timestamp) -> FinishedMessage {
        FinishedMessage { message_id: self.message.id.clone(), lease_token: self.lease_token.clone(), next, error, now }
    }
}

/// What becomes of a message after a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageNext {
    Sent,
    /// It failed and is sent again at this time.
    RetryAt(Timestamp),
    /// Refused for good, or that was its last attempt.
    Failed,
}

/// A send of a claimed message, to be recorded under the claim it was made under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedMessage {
    pub message_id: String,
    pub lease_token: String,
    pub next: MessageNext,
    /// Why the send failed (`None` when it was sent).
    pub error: Option<String>,
    pub now: Timestamp,
}
