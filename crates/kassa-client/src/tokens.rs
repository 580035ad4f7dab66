//! Customer tokens: recurring orders without the consumer.

use crate::client::{Client, Request, segment};
use crate::error::Error;
use crate::payments::{OrderLine, OrderPlaced};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /payments/v1/authorizations/{token}/customer-token`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TokenRequest {
    pub purchase_country: String,
    pub purchase_currency: String,
    pub locale: String,
    pub description: String,
    /// `SUBSCRIPTION`.
    pub intended_use: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenCreated {
    pub token_id: String,
    #[serde(default)]
    pub redirect_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TokenStatus {
    Active,
    Cancelled,
    Suspended,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CustomerToken {
    pub status: TokenStatus,
    pub payment_method_type: String,
}

/// `POST /customer-token/v1/tokens/{token}/order`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TokenOrderRequest {
    pub order_amount: i64,
    pub order_tax_amount: i64,
    pub order_lines: Vec<OrderLine>,
    pub purchase_currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_capture: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_reference1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_reference2: Option<String>,
}

/// `client.tokens()`.
pub struct CustomerTokens<'a>(pub(crate) &'a Client);

impl CustomerTokens<'_> {
    /// `POST /payments/v1/authorizations/{token}/customer-token`: a token for recurring orders,
    /// from a `tokenize` or `buy_and_tokenize` session's authorization.
    pub async fn create(&self, authorization_token: &str, request: &TokenRequest) -> Result<TokenCreated, Error> {
        let path = format!("/payments/v1/authorizations/{}/customer-token", segment(authorization_token));
        self.0.send(Request::write(Method::POST, path).json(request)).await?.json()
    }

    /// `GET /customer-token/v1/tokens/{token}`.
    pub async fn read(&self, token_id: &str) -> Result<CustomerToken, Error> {
        self.0.send(Request::get(token_path(token_id, ""))).await?.json()
    }

    /// `PATCH …/status` to `CANCELLED`.
    pub async fn cancel(&self, token_id: &str) -> Result<(), Error> {
        let request = Request::write(Method::PATCH, token_path(token_id, "/status"))
            .json(&serde_json::json!({"status": "CANCELLED"}));
        self.0.send(request).await.map(drop)
    }

    /// `POST …/order`: a recurring order. Sent with a fresh `Klarna-Idempotency-Key` (or
    /// `key`), so a retry places it once.
    pub async fn place_order(
        &self,
        token_id: &str,
        order: &TokenOrderRequest,
        key: Option<&str>,
    ) -> Result<OrderPlaced, Error> {
        self.0.send(Request::keyed(Method::POST, token_path(token_id, "/order"), key).json(order)).await?.json()
    }
}

fn token_path(token_id: &str, rest: &str) -> String {
    format!("/customer-token/v1/tokens/{}{rest}", segment(token_id))
}
