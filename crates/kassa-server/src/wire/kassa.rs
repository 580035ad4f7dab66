//! Bodies of kassa's own routes (beyond Klarna's API).

use super::hpp::HppSessionV1;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A distribution message kassa sent (or, with the recording sender, recorded) for a session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DistributionMessage {
    pub id: String,
    /// `sms`, `email` or `token`.
    pub method: String,
    /// Phone number, email address or access id.
    pub recipient: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    pub created_at: String,
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
