//! Customer tokens on the wire: creating one from an authorization (Payments v1), reading and
//! cancelling it, and placing a recurring order with it (Customer Token API v1).

use super::payments::OrderLine;
use kassa_core::order::Address;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /payments/v1/authorizations/{token}/customer-token` (`customer_token_creation_request`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TokenCreationRequest {
    pub description: Option<String>,
    /// `SUBSCRIPTION` (any case).
    pub intended_use: Option<String>,
    pub locale: Option<String>,
    pub purchase_country: Option<String>,
    pub purchase_currency: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub billing_address: Option<Address>,
    #[schema(value_type = Option<Object>)]
    pub customer: Option<Value>,
    /// Not in Klarna's schema, but in its example: `confirmation` makes a `redirect_url`.
    #[schema(value_type = Option<Object>)]
    pub merchant_urls: Option<Value>,
}

/// The new token (`customer_token_creation_response`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenCreated {
    pub token_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

/// `GET /customer-token/v1/tokens/{token}` (`customer_token`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenRead {
    /// ACTIVE, CANCELLED or SUSPENDED.
    pub status: String,
    pub payment_method_type: String,
}

/// `PATCH /customer-token/v1/tokens/{token}/status`: only `CANCELLED`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TokenStatusUpdate {
    pub status: Option<String>,
}

/// `POST /customer-token/v1/tokens/{token}/order` (`customer_token_order`). The country, locale
/// and billing address come from the token; sent anyway (as real clients do), they are ignored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TokenOrderRequest {
    pub order_amount: Option<i64>,
    pub order_tax_amount: Option<i64>,
    pub order_lines: Option<Vec<OrderLine>>,
    pub purchase_currency: Option<String>,
    pub auto_capture: Option<bool>,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
    pub merchant_data: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub merchant_urls: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<Address>,
    #[schema(value_type = Option<Object>)]
    pub attachment: Option<Value>,
}

impl TokenOrderRequest {
    /// `merchant_urls.confirmation`, where the consumer would be sent.
    pub fn confirmation_url(&self) -> Option<String> {
        self.merchant_urls.as_ref()?.get("confirmation")?.as_str().map(str::to_owned)
    }
}
