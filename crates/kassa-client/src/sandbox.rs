//! The sandbox controls (a kassa in sandbox mode): act as the consumer and as Klarna, and move
//! the sandbox clock.

use crate::client::{Client, Request, segment};
use crate::error::Error;
use crate::hpp::HppSession;
use crate::instore::DistributionResult;
use reqwest::Method;
use serde::{Deserialize, Serialize};

/// What the consumer does on the hosted payment page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerAction {
    /// Enters the page (also again after a decline, back or error).
    Open,
    /// Pays; the session ends as its `place_order_mode` says.
    Approve,
    Decline,
    /// Goes back to the shop.
    Back,
    Error,
    Cancel,
}

impl ConsumerAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approve => "approve",
            Self::Decline => "decline",
            Self::Back => "back",
            Self::Error => "error",
            Self::Cancel => "cancel",
        }
    }
}

/// What happens to an in-store distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistributionAction {
    /// The consumer opens the payment link.
    Open,
    /// The consumer pays: the order is placed and captured.
    Pay,
    Decline,
    Cancel,
    /// The distribution fails with `CONSUMER_SESSION_NOT_FOUND` (retryable).
    FailRetryable,
    /// The distribution fails with `UNKNOWN` (not retryable).
    FailUnknown,
}

/// The consumer's action done: the session now, and where their browser went.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConsumerOutcome {
    pub session: HppSession,
    #[serde(default)]
    pub redirect_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConsumerSession {
    pub consumer_session_id: String,
    pub short_code: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClockNow {
    pub now: String,
    pub ahead_seconds: i64,
}

/// How kassa misbehaves when it sends this merchant's status callbacks, each a way
/// at-least-once delivery allows (`GET`/`PUT`/`DELETE /sandbox/v1/callbacks`). A field left
/// out of a `PUT` is its well-behaved value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackSettings {
    /// Every attempt sent twice, identical (same `webhook-id`, timestamp, signature, body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
    /// The first attempt no earlier than this many seconds after the event (sandbox clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<i64>,
    /// The first this many attempts of every callback fail without being sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_first: Option<i64>,
    /// How they fail: `http_500` or `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Every this-many-th callback is dropped: never sent, only reconciliation finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_every: Option<i64>,
}

/// `client.sandbox()`.
pub struct Sandbox<'a>(pub(crate) &'a Client);

impl Sandbox<'_> {
    /// Acts as the consumer on an HPP session.
    pub async fn hpp(&self, session_id: &str, action: ConsumerAction) -> Result<ConsumerOutcome, Error> {
        let path = format!("/sandbox/v1/hpp/sessions/{}/{}", segment(session_id), action.as_str());
        self.0.send(Request::write(Method::POST, path)).await?.json()
    }

    /// Acts on an in-store distribution.
    pub async fn distribution(
        &self,
        session_id: &str,
        action: DistributionAction,
    ) -> Result<DistributionResult, Error> {
        let (name, code) = match action {
            DistributionAction::Open => ("open", None),
            DistributionAction::Pay => ("pay", None),
            DistributionAction::Decline => ("decline", None),
            DistributionAction::Cancel => ("cancel", None),
            DistributionAction::FailRetryable => ("fail", Some("CONSUMER_SESSION_NOT_FOUND")),
            DistributionAction::FailUnknown => ("fail", Some("UNKNOWN")),
        };
        let mut request =
            Request::write(Method::POST, format!("/sandbox/v1/distributions/{}/{name}", segment(session_id)));
        if let Some(code) = code {
            request = request.json(&serde_json::json!({ "code": code }));
        }
        self.0.send(request).await?.json()
    }

    /// A consumer session: the code a customer's phone shows after scanning a store's QR.
    pub async fn consumer_session(&self, short_code: Option<&str>) -> Result<ConsumerSession, Error> {
        let body = serde_json::json!({ "short_code": short_code });
        self.0.send(Request::write(Method::POST, "/sandbox/v1/consumer-sessions").json(&body)).await?.json()
    }

    /// Klarna closes the order.
    pub async fn close_order(&self, order_id: &str) -> Result<(), Error> {
        self.0
            .send(Request::write(Method::POST, format!("/sandbox/v1/orders/{}/close", segment(order_id))))
            .await
            .map(drop)
    }

    /// Klarna suspends (`true`) or resumes a customer token.
    pub async fn suspend_token(&self, token_id: &str, suspend: bool) -> Result<(), Error> {
        let action = if suspend { "suspend" } else { "resume" };
        let path = format!("/sandbox/v1/customer-tokens/{}/{action}", segment(token_id));
        self.0.send(Request::write(Method::POST, path)).await.map(drop)
    }

    /// How the merchant's callbacks misbehave now.
    pub async fn callback_settings(&self) -> Result<CallbackSettings, Error> {
        self.0.send(Request::get("/sandbox/v1/callbacks")).await?.json()
    }

    /// Replaces how the merchant's callbacks misbehave; returns the settings now.
    pub async fn set_callback_settings(&self, settings: &CallbackSettings) -> Result<CallbackSettings, Error> {
        self.0.send(Request::write(Method::PUT, "/sandbox/v1/callbacks").json(settings)).await?.json()
    }

    /// Back to well-behaved callbacks.
    pub async fn reset_callback_settings(&self) -> Result<CallbackSettings, Error> {
        self.0.send(Request::write(Method::DELETE, "/sandbox/v1/callbacks")).await?.json()
    }

    /// The merchant's sandbox clock (each merchant has its own).
    pub async fn clock(&self) -> Result<ClockNow, Error> {
        self.0.send(Request::get("/sandbox/v1/clock")).await?.json()
    }

    /// Moves the merchant's sandbox clock forward; what falls due (expiry, auto-cancel) has run
    /// when this returns.
    pub async fn advance_clock(&self, seconds: i64) -> Result<ClockNow, Error> {
        let body = serde_json::json!({ "seconds": seconds });
        self.0.send(Request::write(Method::POST, "/sandbox/v1/clock/advance").json(&body)).await?.json()
    }
}
