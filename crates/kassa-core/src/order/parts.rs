//! What an order is made of besides its amounts: captures, refunds, shipping information,
//! addresses and the payment method (Order Management's read schemas, §4, §6, §7).

use crate::Timestamp;
use crate::cart::Line;
use serde::{Deserialize, Serialize};

/// An address as Order Management gives it: every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<String>,
}

/// Tracking of a shipment (`shipping_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_shipping_company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_tracking_uri: Option<String>,
}

/// How the consumer paid (`initial_payment_method`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_installments: Option<i64>,
}

impl PaymentMethod {
    /// What kassa's playground consumers pay with: an invoice, due in 30 days.
    pub fn invoice() -> Self {
        Self { kind: "INVOICE".into(), description: "Pay later".into(), number_of_installments: None }
    }
}

/// Money taken from the authorization: one consumer invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub capture_id: String,
    /// The order's reference with `-n`, the capture's number.
    pub klarna_reference: String,
    pub captured_amount: i64,
    pub captured_at: Timestamp,
    pub description: String,
    pub order_lines: Vec<Line>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// What refunds have taken back from this capture.
    pub refunded_amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    pub shipping_info: Vec<ShippingInfo>,
    /// Days the due date was extended by (kassa-internal; Klarna shows no due date).
    #[serde(default)]
    pub due_date_extended_by: i64,
    /// How often the payment instructions were sent again.
    #[serde(default)]
    pub send_outs: u32,
}

impl Capture {
    /// What can still be refunded from this capture.
    pub fn refundable(&self) -> i64 {
        self.captured_amount - self.refunded_amount
    }
}

/// Money given back to the consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub refunded_amount: i64,
    pub refunded_at: Timestamp,
    pub description: String,
    pub order_lines: Vec<Line>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Which captures the refund took back from, and how much from each.
    pub allocation: Vec<(String, i64)>,
}

/// A capture as the merchant asks for it; the caller owns the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCapture {
    pub capture_id: String,
    pub captured_amount: i64,
    pub description: String,
    pub order_lines: Vec<Line>,
    pub reference: Option<String>,
    pub shipping_info: Vec<ShippingInfo>,
}

/// A refund as the merchant asks for it; the caller owns the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    pub refund_id: String,
    pub refunded_amount: i64,
    pub description: String,
    pub order_lines: Vec<Line>,
    pub reference: Option<String>,
}
