//! Klarna Payments v1 request and response bodies.

use crate::wire::decode::{self, DecodeError};
use kassa_core::cart::{CartInput, LineInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `session_create` / `session` / `create_order_request` cart (keys absent stay absent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentSessionRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquiring_channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub billing_address: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_payment_method_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub customer: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design: Option<String>,
    /// In-store distribution (`acquiring_channel: in_store`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub distribution: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_reference1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_reference2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub merchant_urls: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub options: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_lines: Option<Vec<OrderLine>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_tax_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub content_type: Option<String>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_discount_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_tax_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub product_identifiers: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub subscription: Option<Value>,
}

impl PaymentSessionRequest {
    pub fn cart(&self) -> CartInput {
        CartInput {
            purchase_country: self.purchase_country.clone(),
            purchase_currency: self.purchase_currency.clone(),
            locale: self.locale.clone(),
            order_amount: self.order_amount,
            order_tax_amount: self.order_tax_amount,
            order_lines: self.order_lines.as_ref().map(|lines| lines.iter().map(OrderLine::input).collect()),
        }
    }
}

impl OrderLine {
    pub fn input(&self) -> LineInput {
        LineInput {
            kind: self.kind.clone(),
            name: self.name.clone(),
            reference: self.reference.clone(),
            quantity: self.quantity,
            quantity_unit: self.quantity_unit.clone(),
            unit_price: self.unit_price,
            tax_rate: self.tax_rate,
            total_amount: self.total_amount,
            total_discount_amount: self.total_discount_amount,
            total_tax_amount: self.total_tax_amount,
            image_url: self.image_url.clone(),
            product_url: self.product_url.clone(),
            merchant_data: self.merchant_data.clone(),
        }
    }
}

/// `merchant_session`: the answer to creating a payment session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MerchantSession {
    pub session_id: String,
    pub client_token: String,
    pub payment_method_categories: Vec<PaymentMethodCategory>,
    /// In-store sessions: where the distribution result is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<super::instore::DistributionCreated>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentMethodCategory {
    pub identifier: String,
    pub name: String,
    pub asset_urls: AssetUrls,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetUrls {
    pub descriptive: String,
    pub standard: String,
}

/// `create_order_request`: the cart again (it must match the authorized session), and whether
/// to capture at once. Read as JSON and checked field by field; this type describes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreateOrderRequest {
    #[serde(flatten)]
    pub cart: PaymentSessionRequest,
    /// Capture the order when it is placed.
    pub auto_capture: Option<bool>,
}

impl CreateOrderRequest {
    /// The request from its JSON, field by field (`auto_capture` must be a boolean).
    pub fn decode(body: Value) -> Result<Self, DecodeError> {
        let auto_capture = match body.get("auto_capture") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(DecodeError::BadValue { field: "auto_capture".into(), reason: "must be a boolean".into() });
            }
        };
        Ok(Self { cart: decode::from_value(body)?, auto_capture })
    }

    /// The merchant's `merchant_urls.confirmation`, where the consumer goes after the order.
    pub fn confirmation_url(&self) -> Option<String> {
        let urls = self.cart.merchant_urls.as_ref()?;
        urls.get("confirmation").and_then(Value::as_str).map(str::to_owned)
    }
}

/// An update of a payment session: the keys given replace the session's (Klarna's
/// `POST /payments/v1/sessions/{id}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaymentPatch(pub serde_json::Map<String, Value>);

impl PaymentPatch {
    pub fn decode(body: Value) -> Result<Self, DecodeError> {
        match body {
            Value::Object(fields) => Ok(Self(fields)),
            _ => Err(DecodeError::Malformed("The request body must be a JSON object".into())),
        }
    }

    /// `request` with the patch's keys replaced.
    pub fn apply(&self, request: &PaymentSessionRequest) -> Result<PaymentSessionRequest, DecodeError> {
        let mut merged = serde_json::to_value(request).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if let Value::Object(fields) = &mut merged {
            fields.extend(self.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        decode::from_value(merged)
    }
}

/// `session_read`: the session as created or updated, plus its read-only fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentSessionRead {
    #[serde(flatten)]
    pub request: PaymentSessionRequest,
    /// `incomplete` until an order is placed, then `complete`.
    pub status: String,
    /// The latest authorization token issued for the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_token: Option<String>,
    pub expires_at: String,
    pub client_token: String,
    pub payment_method_categories: Vec<PaymentMethodCategory>,
}

/// `order`: the answer to placing an order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderCreated {
    pub order_id: String,
    /// Where the consumer may be sent after the order (kassa sends them to `merchant_urls.confirmation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    pub fraud_status: String,
    pub authorized_payment_method: AuthorizedPaymentMethod,
}

impl OrderCreated {
    /// An order kassa's playground accepted: no fraud review, paid by invoice in 30 days.
    pub fn accepted(order_id: String, redirect_url: Option<String>) -> Self {
        Self {
            order_id,
            redirect_url,
            fraud_status: "ACCEPTED".into(),
            authorized_payment_method: AuthorizedPaymentMethod {
                kind: "invoice".into(),
                number_of_days: 30,
                number_of_installments: 1,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuthorizedPaymentMethod {
    #[serde(rename = "type")]
    pub kind: String,
    pub number_of_days: i32,
    pub number_of_installments: i32,
}
