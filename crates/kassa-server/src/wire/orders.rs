//! Order Management v1 on the wire: the order, capture and refund read bodies (Klarna's
//! `MerchantOrderDto`, `Capture`, `Refund`) and the request bodies of its writes.

use super::payments::OrderLine;
use kassa_core::cart::{CartError, Line, parse_lines};
use kassa_core::order::{Address, Capture, Order, PaymentMethod, Refund, ShippingInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An order as Order Management reads it. `captures` and `refunds` are always present (Klarna's
/// PHP SDK loops over `captures` without checking).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderRead {
    pub order_id: String,
    /// AUTHORIZED, PART_CAPTURED, CAPTURED, CANCELLED, EXPIRED or CLOSED.
    pub status: String,
    pub fraud_status: String,
    pub order_amount: i64,
    pub original_order_amount: i64,
    pub captured_amount: i64,
    pub refunded_amount: i64,
    pub remaining_authorized_amount: i64,
    pub purchase_currency: String,
    pub purchase_country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub order_lines: Vec<Line>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_reference1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_reference2: Option<String>,
    pub klarna_reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub billing_address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<Address>,
    pub created_at: String,
    pub expires_at: String,
    pub captures: Vec<CaptureRead>,
    pub refunds: Vec<RefundRead>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_data: Option<String>,
    #[schema(value_type = Object)]
    pub initial_payment_method: PaymentMethod,
    #[schema(value_type = Vec<Object>)]
    pub shipping_info: Vec<ShippingInfo>,
}

impl From<&Order> for OrderRead {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.order_id.clone(),
            status: o.status().as_str().to_owned(),
            fraud_status: o.fraud_status.as_str().to_owned(),
            order_amount: o.order_amount,
            original_order_amount: o.original_order_amount,
            captured_amount: o.captured_amount(),
            refunded_amount: o.refunded_amount(),
            remaining_authorized_amount: o.remaining_authorized_amount(),
            purchase_currency: o.purchase_currency.clone(),
            purchase_country: o.purchase_country.clone(),
            locale: o.locale.clone(),
            order_lines: o.order_lines.clone(),
            merchant_reference1: o.merchant_reference1.clone(),
            merchant_reference2: o.merchant_reference2.clone(),
            klarna_reference: o.klarna_reference.as_str().to_owned(),
            billing_address: o.billing_address.clone(),
            shipping_address: o.shipping_address.clone(),
            created_at: o.created_at.to_string(),
            expires_at: o.expires_at.to_string(),
            captures: o.captures.iter().map(CaptureRead::from).collect(),
            refunds: o.refunds.iter().map(RefundRead::from).collect(),
            merchant_data: o.merchant_data.clone(),
            initial_payment_method: o.initial_payment_method.clone(),
            shipping_info: o.shipping_info.clone(),
        }
    }
}

/// A capture as Order Management reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaptureRead {
    pub capture_id: String,
    pub klarna_reference: String,
    pub captured_amount: i64,
    pub captured_at: String,
    pub description: String,
    #[schema(value_type = Vec<Object>)]
    pub order_lines: Vec<Line>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub refunded_amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub billing_address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<Address>,
    #[schema(value_type = Vec<Object>)]
    pub shipping_info: Vec<ShippingInfo>,
}

impl From<&Capture> for CaptureRead {
    fn from(c: &Capture) -> Self {
        Self {
            capture_id: c.capture_id.clone(),
            klarna_reference: c.klarna_reference.clone(),
            captured_amount: c.captured_amount,
            captured_at: c.captured_at.to_string(),
            description: c.description.clone(),
            order_lines: c.order_lines.clone(),
            reference: c.reference.clone(),
            refunded_amount: c.refunded_amount,
            billing_address: c.billing_address.clone(),
            shipping_address: c.shipping_address.clone(),
            shipping_info: c.shipping_info.clone(),
        }
    }
}

/// A refund as Order Management reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefundRead {
    pub refund_id: String,
    pub refunded_amount: i64,
    pub refunded_at: String,
    pub description: String,
    #[schema(value_type = Vec<Object>)]
    pub order_lines: Vec<Line>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Only B2B invoice orders are refunded as credit invoices; kassa's never are.
    pub credit_invoice: bool,
}

impl From<&Refund> for RefundRead {
    fn from(r: &Refund) -> Self {
        Self {
            refund_id: r.refund_id.clone(),
            refunded_amount: r.refunded_amount,
            refunded_at: r.refunded_at.to_string(),
            description: r.description.clone(),
            order_lines: r.order_lines.clone(),
            reference: r.reference.clone(),
            credit_invoice: false,
        }
    }
}

/// What an order event carries in the events feed: the operation and the order after it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderEventBody {
    /// The operation (`capture_part`, `refund`, `cancel`, …), or `place` for the placement.
    pub event_type: &'static str,
    pub order: OrderRead,
}

/// `POST …/captures` (Klarna's `CaptureObject`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CaptureRequest {
    pub captured_amount: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub order_lines: Vec<OrderLine>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub shipping_info: Vec<ShippingInfo>,
    /// Accepted and ignored, as Klarna's read does not show it either.
    #[serde(default)]
    pub shipping_delay: Option<i64>,
}

/// `POST …/refunds` (Klarna's `RefundObject`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RefundRequest {
    pub refunded_amount: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub order_lines: Vec<OrderLine>,
    #[serde(default)]
    pub reference: Option<String>,
}

/// `PATCH …/authorization`: the new amount and the lines that replace the order's.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct UpdateAuthorizationRequest {
    pub order_amount: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub order_lines: Vec<OrderLine>,
}

/// `PATCH …/merchant-references`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct MerchantReferencesRequest {
    #[serde(default)]
    pub merchant_reference1: Option<String>,
    #[serde(default)]
    pub merchant_reference2: Option<String>,
}

/// `PATCH …/customer-details` (Klarna's `UpdateConsumer`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CustomerDetailsRequest {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<Address>,
    /// Klarna no longer lets the billing address change; sending one is refused.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub billing_address: Option<serde_json::Value>,
}

/// `POST …/shipping-info` of an order or a capture.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ShippingInfoRequest {
    #[schema(value_type = Vec<Object>)]
    pub shipping_info: Vec<ShippingInfo>,
}

/// `PATCH …/captures/{id}/extend-due-date`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ExtendDueDateRequest {
    pub number_of_days: i64,
}

/// `GET …/captures/{id}/extend-due-date-options`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DueDateOptions {
    pub currency: String,
    pub options: Vec<DueDateOption>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DueDateOption {
    /// The fee, in minor units (kassa charges none).
    pub amount: i64,
    pub number_of_days: i64,
}

/// Lines sent with an Order Management write, at JSON path `field`.
pub fn lines(lines: &[OrderLine], field: &str) -> Result<Vec<Line>, CartError> {
    let inputs: Vec<_> = lines.iter().map(OrderLine::input).collect();
    parse_lines(&inputs, field)
}
