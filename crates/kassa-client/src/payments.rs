//! Klarna Payments v1: sessions, authorizations and the order placed with one.

use crate::client::{Client, Request, segment};
use crate::error::Error;
use crate::instore::DistributionRequest;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A cart: what a payment session holds and an order repeats. Amounts are in minor units
/// (öre, cents); `order_amount` includes tax and discounts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub purchase_country: String,
    pub purchase_currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    pub order_amount: i64,
    #[serde(default)]
    pub order_tax_amount: i64,
    #[serde(default)]
    pub order_lines: Vec<OrderLine>,
    /// `in_store` for an in-store payment (with `distribution`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquiring_channel: Option<String>,
    /// In-store: how the payment reaches the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<DistributionRequest>,
    /// `buy`, `tokenize` or `buy_and_tokenize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_data: Option<String>,
    /// `{"confirmation": …, "notification": …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_urls: Option<Value>,
    /// In-store: the store's `application/vnd.klarna.internal.emd-v2+json` attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub content_type: String,
    /// The attachment's JSON, as a string.
    pub body: String,
}

/// One line of a cart, a capture or a refund.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    /// `physical`, `digital`, `discount`, `shipping_fee`, `sales_tax`, `gift_card`, …
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub name: String,
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_unit: Option<String>,
    pub unit_price: i64,
    /// In hundredths of a percent: 2500 is 25 %.
    #[serde(default)]
    pub tax_rate: i64,
    pub total_amount: i64,
    #[serde(default)]
    pub total_discount_amount: i64,
    #[serde(default)]
    pub total_tax_amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_data: Option<String>,
}

/// The answer to creating a payment session.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PaymentSession {
    pub session_id: String,
    pub client_token: String,
    #[serde(default)]
    pub payment_method_categories: Vec<PaymentMethodCategory>,
    /// In-store sessions: where the distribution result is read.
    #[serde(default)]
    pub distribution: Option<DistributionCreated>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DistributionCreated {
    pub result_url: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PaymentMethodCategory {
    pub identifier: String,
    pub name: String,
}

/// A payment session as read: the cart, and where it stands.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PaymentSessionRead {
    #[serde(flatten)]
    pub cart: Cart,
    /// `incomplete` until an order is placed, then `complete`.
    pub status: String,
    #[serde(default)]
    pub authorization_token: Option<String>,
    pub expires_at: String,
    pub client_token: String,
}

/// Placing an order: the authorized cart again, and whether to capture at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrderRequest {
    #[serde(flatten)]
    pub cart: Cart,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_capture: Option<bool>,
}

impl From<Cart> for OrderRequest {
    fn from(cart: Cart) -> Self {
        Self { cart, auto_capture: None }
    }
}

/// The answer to placing an order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderPlaced {
    pub order_id: String,
    #[serde(default)]
    pub redirect_url: Option<String>,
    pub fraud_status: String,
}

/// `client.payments()`.
pub struct Payments<'a>(pub(crate) &'a Client);

impl Payments<'_> {
    /// `POST /payments/v1/sessions`.
    pub async fn create_session(&self, cart: &Cart) -> Result<PaymentSession, Error> {
        self.0.send(Request::write(Method::POST, "/payments/v1/sessions").json(cart)).await?.json()
    }

    /// `GET /payments/v1/sessions/{id}`.
    pub async fn read_session(&self, session_id: &str) -> Result<PaymentSessionRead, Error> {
        self.0.send(Request::get(session_path(session_id))).await?.json()
    }

    /// `POST /payments/v1/sessions/{id}`: the keys of `patch` (a JSON object) replace the
    /// session's.
    pub async fn update_session(&self, session_id: &str, patch: &Value) -> Result<(), Error> {
        self.0.send(Request::write(Method::POST, session_path(session_id)).json(patch)).await.map(drop)
    }

    /// `DELETE /payments/v1/sessions/{id}`.
    pub async fn cancel_session(&self, session_id: &str) -> Result<(), Error> {
        self.0.send(Request::write(Method::DELETE, session_path(session_id))).await.map(drop)
    }

    /// The URL an HPP session is given to host this payment session.
    pub fn session_url(&self, session_id: &str) -> String {
        self.0.url(&session_path(session_id))
    }

    /// `POST /payments/v1/authorizations/{token}/order`.
    pub async fn place_order(&self, authorization_token: &str, order: &OrderRequest) -> Result<OrderPlaced, Error> {
        let path = format!("/payments/v1/authorizations/{}/order", segment(authorization_token));
        self.0.send(Request::write(Method::POST, path).json(order)).await?.json()
    }

    /// `DELETE /payments/v1/authorizations/{token}`: gives the authorization up.
    pub async fn release_authorization(&self, authorization_token: &str) -> Result<(), Error> {
        let path = format!("/payments/v1/authorizations/{}", segment(authorization_token));
        self.0.send(Request::write(Method::DELETE, path)).await.map(drop)
    }
}

fn session_path(session_id: &str) -> String {
    format!("/payments/v1/sessions/{}", segment(session_id))
}
