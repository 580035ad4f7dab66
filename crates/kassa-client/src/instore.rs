//! In-store payments (Klarna's in-store distribution): the distribution result and its retry.

use crate::client::{Client, Request, segment};
use crate::error::Error;
use crate::hpp::{Versioned, long_poll};
use reqwest::Method;
use serde::{Deserialize, Serialize};

/// A payment session's `distribution` (with `acquiring_channel: in_store`), and a retry's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DistributionRequest {
    /// `one_qr`: a dynamic QR and a payment link (and a push to `short_code`, if given).
    pub method: String,
    /// The code on the customer's phone (static-QR flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_urls: Option<DistributionCallbackUrls>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DistributionCallbackUrls {
    /// Receives the distribution result, signed, on every change but WAITING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_update: Option<String>,
}

/// A distribution's status. Statuses this client does not know yet read as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DistributionStatus {
    Waiting,
    Distributed,
    Accessed,
    Completed,
    Canceled,
    Failed,
    #[serde(other)]
    Unknown,
}

/// What the result URL answers and every in-store callback carries.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DistributionResult {
    pub status: DistributionStatus,
    #[serde(default)]
    pub retry_url: Option<String>,
    #[serde(default)]
    pub qr: Option<String>,
    #[serde(default)]
    pub payment_link: Option<String>,
    #[serde(default)]
    pub error: Option<DistributionError>,
    /// COMPLETED: the order placed (and captured) automatically.
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub klarna_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DistributionError {
    /// `CONSUMER_SESSION_NOT_FOUND` (retryable) or `UNKNOWN`.
    pub code: String,
    pub retryable: bool,
}

/// `client.instore()`.
pub struct InStore<'a>(pub(crate) &'a Client);

impl InStore<'_> {
    /// `GET /iss/v1/distributions/{session_id}`.
    pub async fn read_result(&self, session_id: &str) -> Result<DistributionResult, Error> {
        self.0.send(Request::get(result_path(session_id))).await?.json()
    }

    /// Long-polls the result (see [`crate::hpp::Hpp::wait_for_change`]).
    pub async fn wait_for_change(
        &self,
        session_id: &str,
        etag: Option<&str>,
        wait_seconds: u64,
    ) -> Result<Option<Versioned<DistributionResult>>, Error> {
        long_poll(self.0, result_path(session_id), etag, wait_seconds).await
    }

    /// `POST /iss/v1/distributions/{session_id}/retry`: after a retryable failure.
    pub async fn retry(
        &self,
        session_id: &str,
        distribution: &DistributionRequest,
    ) -> Result<DistributionResult, Error> {
        let body = serde_json::json!({ "distribution": distribution });
        let path = format!("{}/retry", result_path(session_id));
        self.0.send(Request::write(Method::POST, path).json(&body)).await?.json()
    }
}

fn result_path(session_id: &str) -> String {
    format!("/iss/v1/distributions/{}", segment(session_id))
}
