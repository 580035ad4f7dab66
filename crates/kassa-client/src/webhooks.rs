//! Checking that a status callback came from kassa: Standard Webhooks v1 signatures
//! (<https://www.standardwebhooks.com/>), and kassa's own headers read into a [`Callback`].
//!
//! ```
//! use kassa_client::webhooks::{Webhook, VerifyError};
//! use reqwest::header::HeaderMap;
//!
//! // The merchant's secret (`kassa merchant add` prints it; `client.events().signing_secrets()`).
//! let webhook = Webhook::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
//! let body = br#"{"status":"COMPLETED"}"#;
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
//! let mut headers = HeaderMap::new();
//! headers.insert("webhook-id", "msg_1".parse().unwrap());
//! headers.insert("webhook-timestamp", now.to_string().parse().unwrap());
//! headers.insert("webhook-signature", webhook.sign("msg_1", now, body).parse().unwrap());
//! assert_eq!(webhook.verify(&headers, body), Ok(()));
//! assert_eq!(webhook.verify(&headers, br#"{"status":"CANCELLED"}"#), Err(VerifyError::NoMatch));
//! ```

use kassa_core::signature::{WebhookSecret, sign};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const WEBHOOK_ID: &str = "webhook-id";
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// The per-session sequence number of the event (gap-free from 1).
pub const SEQUENCE_HEADER: &str = "kassa-event-sequence";
/// The session the event belongs to.
pub const SESSION_HEADER: &str = "kassa-session-id";
/// The kind of that session (`hpp`, `distribution`), as the events feed names it.
pub const SESSION_KIND_HEADER: &str = "kassa-session-kind";
/// How far a callback's timestamp may be from the receiver's clock (the spec's 5 minutes):
/// an older callback is a replay.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Why a callback was not accepted as kassa's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the `{0}` header is missing or not text")]
    MissingHeader(&'static str),
    #[error("`webhook-timestamp` is not a number of seconds")]
    BadTimestamp,
    #[error("`webhook-timestamp` is more than 5 minutes from now: a replay, or a wrong clock")]
    OutsideTolerance,
    #[error("no signature matches (a wrong secret, or the body was changed)")]
    NoMatch,
    #[error("the secret is not a `whsec_` secret: {0}")]
    BadSecret(String),
    #[error("the callback's kassa headers or body are malformed: {0}")]
    Malformed(String),
}

/// The secrets a receiver accepts signatures of (during a rotation, the old and the new one).
#[derive(Debug, Clone)]
pub struct Webhook {
    secrets: Vec<WebhookSecret>,
}

impl Webhook {
    /// A verifier for the merchant's `whsec_…` secret.
    pub fn new(secret: &str) -> Result<Self, VerifyError> {
        Self::with_secrets([secret])
    }

    /// A verifier that accepts a signature by any of `secrets`.
    pub fn with_secrets<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Result<Self, VerifyError> {
        let secrets = secrets
            .into_iter()
            .map(|s| WebhookSecret::parse(s).map_err(|e| VerifyError::BadSecret(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Err(VerifyError::BadSecret("no secret given".into()));
        }
        Ok(Self { secrets })
    }

    /// Checks the signature, and that the callback is not older (or newer) than [`TOLERANCE`].
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        self.verify_at(headers, body, SystemTime::now())
    }

    /// [`Webhook::verify`] with the receiver's clock given.
    pub fn verify_at(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<(), VerifyError> {
        let id = header(headers, WEBHOOK_ID)?;
        let timestamp: i64 = header(headers, WEBHOOK_TIMESTAMP)?.parse().map_err(|_| VerifyError::BadTimestamp)?;
        let signatures = header(headers, WEBHOOK_SIGNATURE)?;
        let now_secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
        if timestamp.abs_diff(now_secs) > TOLERANCE.as_secs() {
            return Err(VerifyError::OutsideTolerance);
        }
        let matches = self.secrets.iter().any(|secret| {
            let expected = sign(std::slice::from_ref(secret), id, timestamp, body);
            signatures.split(' ').any(|given| constant_time_eq(given.as_bytes(), expected.as_bytes()))
        });
        if matches { Ok(()) } else { Err(VerifyError::NoMatch) }
    }

    /// The `webhook-signature` value for a callback (what kassa sends; `kassa listen` signs the
    /// events it forwards with it).
    pub fn sign(&self, id: &str, timestamp_secs: i64, body: &[u8]) -> String {
        sign(&self.secrets, id, timestamp_secs, body)
    }

    /// Verifies the callback, then reads it.
    pub fn read(&self, headers: &HeaderMap, body: &[u8]) -> Result<Callback, VerifyError> {
        self.verify(headers, body)?;
        Callback::parse(headers, body)
    }
}

/// A verified status callback.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    /// The event's id (`webhook-id`): the same on every attempt and redelivery.
    pub event_id: String,
    pub session_id: String,
    /// `hpp` or `distribution` (absent from kassas older than this client).
    pub session_kind: Option<String>,
    /// The event's number within its session, gap-free from 1 (creation).
    pub sequence: u64,
    /// The session's read body at the change (HPP: the callback's `session`; in-store: the
    /// distribution result, which is the whole callback).
    pub body: Value,
}

impl Callback {
    /// Reads kassa's headers and the body (unverified: see [`Webhook::read`]). The signature
    /// covers the id, the timestamp and the body, not kassa's own headers: a session id that
    /// contradicts the signed body is refused.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, VerifyError> {
        let sequence = header(headers, SEQUENCE_HEADER)?
            .parse()
            .map_err(|_| VerifyError::Malformed(format!("`{SEQUENCE_HEADER}` is not a number")))?;
        let mut body: Value =
            serde_json::from_slice(body).map_err(|e| VerifyError::Malformed(format!("the body is not JSON: {e}")))?;
        let session_kind = header(headers, SESSION_KIND_HEADER).ok().map(str::to_owned);
        let event_id = header(headers, WEBHOOK_ID)?.to_owned();
        // HPP wraps the read body as `{"event_id", "session"}`.
        let hpp = session_kind.as_deref().map_or_else(|| body_is_hpp_envelope(&body), |kind| kind == "hpp");
        if hpp {
            if body.get("event_id").and_then(Value::as_str) != Some(event_id.as_str()) {
                return Err(VerifyError::Malformed("the body's event_id is not the webhook-id".into()));
            }
            body = body["session"].take();
        }
        let session_id = header(headers, SESSION_HEADER)?.to_owned();
        if body.get("session_id").and_then(Value::as_str).is_some_and(|signed| signed != session_id) {
            return Err(VerifyError::Malformed(format!("`{SESSION_HEADER}` is not the signed body's session_id")));
        }
        Ok(Self { event_id, session_id, session_kind, sequence, body })
    }
}

fn body_is_hpp_envelope(body: &Value) -> bool {
    body.as_object().is_some_and(|o| o.len() == 2 && o.contains_key("event_id") && o.contains_key("session"))
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, VerifyError> {
    headers.get(name).and_then(|v| v.to_str().ok()).ok_or(VerifyError::MissingHeader(name))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
