//! Bodies of kassa's own routes (beyond Klarna's API).

use super::hpp::HppSessionV1;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A distribution message kassa sends (or, with the recording sender, records) for a session,
/// with how its delivery goes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DistributionMessage {
    pub id: String,
    /// `sms`, `email` or `token`.
    pub method: String,
    /// Phone number with its country (`+46701740615 (SE)`), email address or access id.
    pub recipient: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    pub created_at: String,
    /// `pending` (to be sent, again after a failed send), `sent` (handed to the SMTP server or
    /// the SMS gateway, or recorded by the recording sender) or `failed` (refused for good, or
    /// out of attempts; never sent).
    #[schema(example = "sent")]
    pub status: String,
    /// Sends made so far.
    pub attempts: u32,
    /// When the next send is due, while `pending`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// Why the last failed send failed (kept once a later send succeeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DistributionMessages {
    pub messages: Vec<DistributionMessage>,
}

/// The outcome of a sandbox consumer action.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SandboxOutcome {
    /// The session as the read endpoint now returns it.
    pub session: HppSessionV1,
    /// Where the consumer's browser is sent now (the matching merchant URL, placeholders
    /// filled), or null when the merchant gave none for this outcome.
    pub redirect_url: Option<String>,
}

/// A fresh distribution-module token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DistributionModuleToken {
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClockNow {
    /// The sandbox's time now.
    pub now: String,
    /// How far the sandbox clock is ahead of the wall clock, in seconds.
    pub ahead_seconds: i64,
}

/// A merchant's webhook signing secrets.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookSecrets {
    /// `whsec_…`, newest first.
    pub secrets: Vec<String>,
}

/// How kassa misbehaves when it sends the merchant's status callbacks (sandbox mode). Each
/// setting is one way at-least-once delivery allows; a field left out is its well-behaved value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxCallbacks {
    /// Every attempt that is sent is sent twice: the identical request (same `webhook-id`,
    /// `webhook-timestamp`, signature and body), the copy right after the first is answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
    /// A callback's first attempt is made no earlier than this many seconds after its event, on
    /// the merchant's sandbox clock (0 to 3600; moving the clock forward shortens the wait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<i64>,
    /// The first this many attempts of every callback (0 to 10) fail without being sent, as
    /// `failure` says; the retry policy schedules the next one. With as many failures as the
    /// policy has attempts (4 for `klarna`, 10 for `extended`) the callback is given up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_first: Option<i64>,
    /// How a failure of `fail_first` is recorded: `http_500` (default) or `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Every this-many-th callback (counted from when the settings were written; 0: none, up to
    /// 1000) is dropped: never sent, not retried, shown `failed` in the delivery log, and its
    /// event is listed by `GET /kassa/v1/events?undelivered=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_every: Option<i64>,
}
