//! Hosted Payment Page v1: sessions that host a payment session on Klarna's (kassa's) page.

use crate::client::{Client, Request, segment};
use crate::error::Error;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// `POST /hpp/v1/sessions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HppSessionRequest {
    /// The payment session to host: [`crate::payments::Payments::session_url`].
    pub payment_session_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_urls: Option<MerchantUrls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<HppOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
}

/// Where the consumer goes after each outcome, and where status callbacks go. Placeholders
/// such as `{{session_id}}` and `{{authorization_token}}` are filled in.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MerchantUrls {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub back: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Receives a signed status callback on every change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_update: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HppOptions {
    /// `NONE` (the session ends with an authorization token), `PLACE_ORDER` or
    /// `CAPTURE_ORDER` (kassa places, and captures, the order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place_order_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method_categories: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_fallback: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_type: Option<String>,
}

/// The answer to creating an HPP session.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HppSessionCreated {
    pub session_id: String,
    pub session_url: String,
    /// Where to send the consumer.
    pub redirect_url: String,
    pub qr_code_url: String,
    pub distribution_url: String,
    pub expires_at: String,
}

/// An HPP session's status. Statuses this client does not know yet read as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HppStatus {
    Waiting,
    InProgress,
    Completed,
    Failed,
    Cancelled,
    Back,
    Error,
    Disabled,
    #[serde(other)]
    Unknown,
}

impl HppStatus {
    /// Whether the session can change no more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::Disabled)
    }
}

/// An HPP session as read, and as every status callback carries it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HppSession {
    pub session_id: String,
    pub status: HppStatus,
    pub updated_at: String,
    pub expires_at: String,
    /// COMPLETED with `place_order_mode: NONE`: place the order with it.
    #[serde(default)]
    pub authorization_token: Option<String>,
    /// COMPLETED with an order placed by kassa.
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub klarna_reference: Option<String>,
}

/// A read with its `ETag`, to long-poll for the next change with.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub etag: String,
}

/// `client.hpp()`.
pub struct Hpp<'a>(pub(crate) &'a Client);

impl Hpp<'_> {
    /// `POST /hpp/v1/sessions`.
    pub async fn create_session(&self, request: &HppSessionRequest) -> Result<HppSessionCreated, Error> {
        self.0.send(Request::write(Method::POST, "/hpp/v1/sessions").json(request)).await?.json()
    }

    /// `GET /hpp/v1/sessions/{id}`.
    pub async fn read_session(&self, session_id: &str) -> Result<HppSession, Error> {
        self.0.send(Request::get(session_path(session_id))).await?.json()
    }

    /// Long-polls the session: waits up to `wait_seconds` (at most 60) for it to differ from
    /// the version `etag` names (or, without one, from how it is when the request arrives).
    /// `None`: no change within the wait.
    pub async fn wait_for_change(
        &self,
        session_id: &str,
        etag: Option<&str>,
        wait_seconds: u64,
    ) -> Result<Option<Versioned<HppSession>>, Error> {
        long_poll(self.0, session_path(session_id), etag, wait_seconds).await
    }

    /// `DELETE /hpp/v1/sessions/{id}`: the consumer can no longer pay on the page.
    pub async fn disable_session(&self, session_id: &str) -> Result<(), Error> {
        self.0.send(Request::write(Method::DELETE, session_path(session_id))).await.map(drop)
    }
}

/// A `?wait=` read with `If-None-Match`: the new version, or `None` on 304.
pub(crate) async fn long_poll<T: DeserializeOwned>(
    client: &Client,
    path: String,
    etag: Option<&str>,
    wait_seconds: u64,
) -> Result<Option<Versioned<T>>, Error> {
    let request = Request::get(path).query("wait", Some(wait_seconds.min(60))).header("if-none-match", etag);
    let answer = client.send(request).await?;
    if answer.status == StatusCode::NOT_MODIFIED {
        return Ok(None);
    }
    let etag = answer.header("etag").unwrap_or_default();
    Ok(Some(Versioned { value: answer.json()?, etag }))
}

fn session_path(session_id: &str) -> String {
    format!("/hpp/v1/sessions/{}", segment(session_id))
}
