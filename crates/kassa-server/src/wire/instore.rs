//! In-store payments (seed 000): the `distribution` of a payment session, the distribution
//! result, and kassa's consumer sessions.

use crate::wire::decode::{self, DecodeError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `distribution` when initiating an in-store payment session, and in a retry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DistributionRequest {
    /// `one_qr`: a dynamic QR and a payment link (and a push to a short code, if given).
    pub method: Option<String>,
    /// 2–20 digits from the customer's phone (static-QR flow); null or absent for none.
    pub short_code: Option<String>,
    pub callback_urls: Option<DistributionCallbackUrls>,
}

impl DistributionRequest {
    /// The `distribution` object at `field`; what does not fit is Klarna's in-store
    /// `BAD_REQUEST`, naming the field.
    pub fn decode(field: &str, value: &Value) -> Result<Self, DecodeError> {
        if !value.is_object() {
            return Err(DecodeError::Malformed(format!("{field}: must be an object")));
        }
        decode::from_value(value.clone()).map_err(|e| match e {
            DecodeError::BadValue { field: inner, reason } => {
                DecodeError::Malformed(format!("{field}.{inner}: {reason}"))
            }
            other => other,
        })
    }

    /// A retry's body: `{"distribution": {...}}` as seed 000 shows it (a bare distribution
    /// object is accepted too).
    pub fn decode_retry(body: &Value) -> Result<Self, DecodeError> {
        Self::decode("distribution", body.get("distribution").unwrap_or(body))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DistributionCallbackUrls {
    /// Receives the distribution result on every status change but WAITING, exactly as given.
    pub status_update: Option<String>,
}

/// The answer's `distribution` when an in-store payment session is created.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DistributionCreated {
    /// `GET` it (merchant auth, empty body) for the distribution result.
    pub result_url: String,
}

/// The distribution result: what `result_url` answers and what every callback carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DistributionResult {
    /// WAITING, DISTRIBUTED, ACCESSED, COMPLETED, CANCELED or FAILED.
    pub status: String,
    /// FAILED: where to retry the distribution (`POST`, allowed when `error.retryable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_url: Option<String>,
    /// URL of a QR image (SVG; PNG with `?format=png`) that encodes `payment_link`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr: Option<String>,
    /// The consumer's payment page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_link: Option<String>,
    /// FAILED: why, and whether a retry can help.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<DistributionErrorV1>,
    /// COMPLETED: the order placed (and captured) automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub klarna_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DistributionErrorV1 {
    /// `CONSUMER_SESSION_NOT_FOUND` (retryable) or `UNKNOWN` (not retryable).
    pub code: String,
    pub retryable: bool,
}

/// Sandbox: a consumer session to create (both fields optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ConsumerSessionRequest {
    /// The short code to use (2–20 digits); kassa picks six digits when absent.
    pub short_code: Option<String>,
    /// How long the code stays valid (default 600, at most 86400).
    pub ttl_seconds: Option<u64>,
}

/// A consumer session: the phone's side of the static-QR flow.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsumerSessionV1 {
    pub consumer_session_id: String,
    pub short_code: String,
    pub expires_at: String,
}

/// Sandbox: force a distribution failure.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ForcedFailure {
    /// `CONSUMER_SESSION_NOT_FOUND` or `UNKNOWN`.
    pub code: Option<String>,
}
