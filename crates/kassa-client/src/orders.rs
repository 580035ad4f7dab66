//! Order Management v1: reading an order, capturing, refunding, cancelling, changing it. Every
//! write carries a `Klarna-Idempotency-Key` (a fresh one per call unless one is given with
//! [`Orders::idempotency_key`]), so it is sent again safely and happens once.

use crate::client::{Client, Request, segment};
use crate::error::Error;
use crate::payments::OrderLine;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An order's status. Statuses this client does not know yet read as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Authorized,
    PartCaptured,
    Captured,
    Cancelled,
    Expired,
    Closed,
    #[serde(other)]
    Unknown,
}

/// An order as Order Management reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub status: OrderStatus,
    pub fraud_status: String,
    pub order_amount: i64,
    pub original_order_amount: i64,
    pub captured_amount: i64,
    pub refunded_amount: i64,
    pub remaining_authorized_amount: i64,
    pub purchase_currency: String,
    pub purchase_country: String,
    pub klarna_reference: String,
    #[serde(default)]
    pub merchant_reference1: Option<String>,
    #[serde(default)]
    pub merchant_reference2: Option<String>,
    pub order_lines: Vec<OrderLine>,
    pub captures: Vec<Capture>,
    pub refunds: Vec<Refund>,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Capture {
    pub capture_id: String,
    pub klarna_reference: String,
    pub captured_amount: i64,
    pub captured_at: String,
    pub description: String,
    #[serde(default)]
    pub reference: Option<String>,
    pub refunded_amount: i64,
    pub order_lines: Vec<OrderLine>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub refunded_amount: i64,
    pub refunded_at: String,
    pub description: String,
    #[serde(default)]
    pub reference: Option<String>,
    pub order_lines: Vec<OrderLine>,
}

/// `POST …/captures`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CaptureRequest {
    pub captured_amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_lines: Vec<OrderLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shipping_info: Vec<Value>,
}

/// `POST …/refunds`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RefundRequest {
    pub refunded_amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_lines: Vec<OrderLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// `PATCH …/authorization`: a new amount with the lines that replace the order's.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AuthorizationUpdate {
    pub order_amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_lines: Vec<OrderLine>,
}

/// What a capture or refund created (its id comes in a header, as at Klarna).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: String,
    /// The `Location` to read it at.
    pub location: String,
}

/// `client.orders()`.
pub struct Orders<'a> {
    pub(crate) client: &'a Client,
    pub(crate) key: Option<String>,
}

impl Orders<'_> {
    /// Sends the next write with this idempotency key (a retry of a call that got no answer, in
    /// another process: the server answers as it did the first time and does nothing twice).
    pub fn idempotency_key(mut self, key: &str) -> Self {
        self.key = Some(key.to_owned());
        self
    }

    /// `GET /ordermanagement/v1/orders/{id}`.
    pub async fn read(&self, order_id: &str) -> Result<Order, Error> {
        self.client.send(Request::get(order_path(order_id, ""))).await?.json()
    }

    /// `POST …/captures`.
    pub async fn capture(&self, order_id: &str, capture: &CaptureRequest) -> Result<Created, Error> {
        self.create(order_id, "/captures", capture, "capture-id").await
    }

    /// `GET …/captures`.
    pub async fn captures(&self, order_id: &str) -> Result<Vec<Capture>, Error> {
        self.client.send(Request::get(order_path(order_id, "/captures"))).await?.json()
    }

    /// `POST …/refunds`.
    pub async fn refund(&self, order_id: &str, refund: &RefundRequest) -> Result<Created, Error> {
        self.create(order_id, "/refunds", refund, "refund-id").await
    }

    /// `POST …/cancel`: nothing captured yet.
    pub async fn cancel(&self, order_id: &str) -> Result<(), Error> {
        self.write(Method::POST, order_id, "/cancel", None).await
    }

    /// `POST …/acknowledge`.
    pub async fn acknowledge(&self, order_id: &str) -> Result<(), Error> {
        self.write(Method::POST, order_id, "/acknowledge", None).await
    }

    /// `POST …/release-remaining-authorization`: what is not captured is given up.
    pub async fn release_remaining_authorization(&self, order_id: &str) -> Result<(), Error> {
        self.write(Method::POST, order_id, "/release-remaining-authorization", None).await
    }

    /// `POST …/extend-authorization-time`.
    pub async fn extend_authorization_time(&self, order_id: &str) -> Result<(), Error> {
        self.write(Method::POST, order_id, "/extend-authorization-time", None).await
    }

    /// `PATCH …/authorization`.
    pub async fn update_authorization(&self, order_id: &str, update: &AuthorizationUpdate) -> Result<(), Error> {
        self.write(Method::PATCH, order_id, "/authorization", Some(serde_json::to_value(update).unwrap_or_default()))
            .await
    }

    /// `PATCH …/merchant-references`.
    pub async fn update_merchant_references(
        &self,
        order_id: &str,
        reference1: Option<&str>,
        reference2: Option<&str>,
    ) -> Result<(), Error> {
        let body = serde_json::json!({"merchant_reference1": reference1, "merchant_reference2": reference2});
        self.write(Method::PATCH, order_id, "/merchant-references", Some(body)).await
    }

    async fn write(&self, method: Method, order_id: &str, action: &str, body: Option<Value>) -> Result<(), Error> {
        let mut request = Request::keyed(method, order_path(order_id, action), self.key.as_deref());
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.client.send(request).await.map(drop)
    }

    async fn create(
        &self,
        order_id: &str,
        collection: &str,
        body: &impl Serialize,
        id_header: &str,
    ) -> Result<Created, Error> {
        let request = Request::keyed(Method::POST, order_path(order_id, collection), self.key.as_deref()).json(body);
        let answer = self.client.send(request).await?;
        let location = answer.header("location").unwrap_or_default();
        let id = answer
            .header(id_header)
            .or_else(|| location.rsplit('/').next().map(str::to_owned))
            .ok_or_else(|| Error::Config(format!("the answer has no `{id_header}` header")))?;
        Ok(Created { id, location })
    }
}

fn order_path(order_id: &str, rest: &str) -> String {
    format!("/ordermanagement/v1/orders/{}{rest}", segment(order_id))
}
