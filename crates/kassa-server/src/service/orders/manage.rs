//! Order Management v1: reading a merchant's order and every operation on it. Each operation
//! loads the order, lets the domain decide (`kassa_core::order`), and commits the order with its
//! event, guarded on the order's revision (and by the ledger's CHECK on the amounts).

use crate::app::state::AppState;
use crate::model::ids;
use crate::service::case::{order_moved, order_refused};
use crate::service::error::{Absent, ServiceError, ServiceResult};
use crate::service::idempotency::{self, IdempotencyKey, Receipt};
use crate::service::retry_on_conflict;
use crate::service::validate::{self, schema};
use crate::wire::orders::{
    CaptureRequest, CustomerDetailsRequest, MerchantReferencesRequest, RefundRequest, UpdateAuthorizationRequest, lines,
};
use kassa_core::Timestamp;
use kassa_core::order::{
    Capture, NewCapture, NewRefund, Order, OrderAction, OrderErrorCode, OrderRefusal, Refund, ShippingInfo, Step,
};
use kassa_store::{IdempotentOutcome, Merchant, Message, StoreExt, Stored};

/// The merchant's order `order_id`.
pub async fn read(state: &AppState, merchant: &Merchant, order_id: &str) -> ServiceResult<Order> {
    Ok(load(state, merchant, order_id).await?.record)
}

/// One capture of the merchant's order, with the order.
pub async fn capture_of(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    capture_id: &str,
) -> ServiceResult<(Order, Capture)> {
    let order = read(state, merchant, order_id).await?;
    let capture = order.capture_by_id(capture_id).cloned().ok_or_else(|| no_capture(&order, capture_id))?;
    Ok((order, capture))
}

/// One refund of the merchant's order.
pub async fn refund_of(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    refund_id: &str,
) -> ServiceResult<Refund> {
    let missing = || absent(Absent::Refund, format!("Refund {refund_id} cannot be found for order {order_id}"));
    let order = load(state, merchant, order_id).await.map_err(|error| match error {
        ServiceError::Absent { .. } => missing(),
        other => other,
    })?;
    order.refund_by_id(refund_id).cloned().ok_or_else(missing)
}

/// A new capture (`POST …/captures`); the receipt names it.
pub async fn capture(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    request: CaptureRequest,
) -> ServiceResult<Receipt> {
    schema::shipping_info("shipping_info", &request.shipping_info)?;
    for (field, text, max) in [("description", &request.description, 255), ("reference", &request.reference, 255)] {
        validate::max_chars(field, text.as_deref(), max)?;
    }
    let new = NewCapture {
        capture_id: ids::new_id(),
        captured_amount: request.captured_amount,
        description: request.description.unwrap_or_default(),
        order_lines: lines(&request.order_lines, "order_lines")?,
        reference: request.reference,
        shipping_info: request.shipping_info,
    };
    operate(state, merchant, order_id, key, |order, now| order.capture(new.clone(), now)).await
}

/// A new refund (`POST …/refunds`); the receipt names it. An unknown order is `NOT_FOUND`
/// here, as Klarna's refund endpoints answer.
pub async fn refund(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    request: RefundRequest,
) -> ServiceResult<Receipt> {
    for (field, text, max) in [("description", &request.description, 255), ("reference", &request.reference, 255)] {
        validate::max_chars(field, text.as_deref(), max)?;
    }
    let new = NewRefund {
        refund_id: ids::new_id(),
        refunded_amount: request.refunded_amount,
        description: request.description.unwrap_or_default(),
        order_lines: lines(&request.order_lines, "order_lines")?,
        reference: request.reference,
    };
    let moved = operate(state, merchant, order_id, key, |order, now| order.refund(new.clone(), now)).await;
    moved.map_err(|error| match error {
        ServiceError::Absent { what: Absent::Order, message } => absent(Absent::Refund, message),
        other => other,
    })
}

pub async fn cancel(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
) -> ServiceResult<Receipt> {
    operate(state, merchant, order_id, key, |order, now| order.cancel(now)).await
}

pub async fn release_remaining(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
) -> ServiceResult<Receipt> {
    operate(state, merchant, order_id, key, |order, now| order.release_remaining(now)).await
}

pub async fn acknowledge(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
) -> ServiceResult<Receipt> {
    operate(state, merchant, order_id, key, |order, now| order.acknowledge(now)).await
}

pub async fn extend_authorization(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
) -> ServiceResult<Receipt> {
    operate(state, merchant, order_id, key, |order, now| order.extend_authorization(now)).await
}

pub async fn update_authorization(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    request: UpdateAuthorizationRequest,
) -> ServiceResult<Receipt> {
    let order_lines = lines(&request.order_lines, "order_lines")?;
    operate(state, merchant, order_id, key, |order, now| {
        order.update_authorization(request.order_amount, order_lines.clone(), now)
    })
    .await
}

pub async fn update_merchant_references(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    request: MerchantReferencesRequest,
) -> ServiceResult<Receipt> {
    for (field, value) in
        [("merchant_reference1", &request.merchant_reference1), ("merchant_reference2", &request.merchant_reference2)]
    {
        if value.as_ref().is_some_and(|v| v.chars().count() > 255) {
            return Err(ServiceError::bad_value(field, "must be at most 255 characters long"));
        }
    }
    operate(state, merchant, order_id, key, |order, now| {
        order.update_merchant_references(request.merchant_reference1.clone(), request.merchant_reference2.clone(), now)
    })
    .await
}

pub async fn update_customer_details(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    request: CustomerDetailsRequest,
) -> ServiceResult<Receipt> {
    if request.billing_address.is_some() {
        let message = "Billing address cannot be updated for user account order. Customer details cannot be updated.";
        return Err(order_refused(not_allowed(message)));
    }
    let address = request.shipping_address.unwrap_or_default();
    schema::order_address("shipping_address", &address)?;
    operate(state, merchant, order_id, key, |order, now| order.update_customer_details(address.clone(), now)).await
}

pub async fn add_shipping_info(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    shipping_info: Vec<ShippingInfo>,
) -> ServiceResult<Receipt> {
    schema::shipping_info("shipping_info", &shipping_info)?;
    operate(state, merchant, order_id, key, |order, now| order.add_shipping_info(shipping_info.clone(), now)).await
}

pub async fn add_capture_shipping_info(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    capture_id: &str,
    shipping_info: Vec<ShippingInfo>,
) -> ServiceResult<Receipt> {
    schema::shipping_info("shipping_info", &shipping_info)?;
    operate(state, merchant, order_id, key, |order, now| {
        order.add_capture_shipping_info(capture_id, shipping_info.clone(), now)
    })
    .await
}

/// Sends the consumer a capture's payment instructions again: recorded on the capture, as an
/// event, and as a distribution message in the same commit (readable at
/// `GET /kassa/v1/orders/{order_id}/messages`), so a send-out is never committed without it.
pub async fn trigger_send_out(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    capture_id: &str,
) -> ServiceResult<Receipt> {
    let decide = |order: &Order, now| order.trigger_send_out(capture_id, now);
    let message = |order: &Order, now| {
        let email = order.consumer_email()?;
        order.capture_by_id(capture_id).map(|capture| instructions(order, capture, email, now))
    };
    operate_with(state, merchant, order_id, key, decide, message).await
}

/// The payment instructions of `capture`, to the consumer's `email`.
fn instructions(order: &Order, capture: &Capture, email: &str, now: Timestamp) -> Message {
    let due = 30 + capture.due_date_extended_by;
    Message {
        id: ids::ordered_id(now),
        merchant_id: order.merchant_id.clone(),
        session_id: order.order_id.clone(),
        method: "email".into(),
        recipient: email.to_owned(),
        country: None,
        subject: Some(format!("Your invoice {}", capture.klarna_reference)),
        body: format!(
            "Please pay {} {} (in minor units) within {due} days of {}. Reference: {}.",
            capture.refundable(),
            order.purchase_currency,
            capture.captured_at,
            capture.klarna_reference
        ),
        created_at: now,
        caused_by: None,
    }
}

pub async fn extend_due_date(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    capture_id: &str,
    number_of_days: i64,
) -> ServiceResult<Receipt> {
    operate(state, merchant, order_id, key, |order, now| order.extend_due_date(capture_id, number_of_days, now)).await
}

/// What Klarna decides about an order, played by a sandbox control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KlarnaDecision {
    /// Klarna closes the order: nothing more can be captured, refunded or cancelled.
    Close,
    /// Klarna's risk check will decline raising the authorization.
    DeclineIncreases,
}

pub async fn klarna_decides(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    decision: KlarnaDecision,
) -> ServiceResult<Receipt> {
    operate(state, merchant, order_id, None, |order, now| match decision {
        KlarnaDecision::Close => order.close(now),
        KlarnaDecision::DeclineIncreases => order.decline_increases(now),
    })
    .await
}

/// Loads the merchant's order, lets `decide` move it, and commits the move with its event (and
/// the record of `key`, if given: a repeat then answers the same receipt without doing it again).
/// Operations on one order take turns on this node; between nodes, the order's revision guard
/// decides (and the loser decides again on fresh state).
async fn operate(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    decide: impl Fn(&Order, Timestamp) -> Step,
) -> ServiceResult<Receipt> {
    operate_with(state, merchant, order_id, key, decide, |_, _| None).await
}

/// [`operate`], committing the message `message` makes of the order after the move, if any.
async fn operate_with(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
    key: Option<&IdempotencyKey>,
    decide: impl Fn(&Order, Timestamp) -> Step,
    message: impl Fn(&Order, Timestamp) -> Option<Message>,
) -> ServiceResult<Receipt> {
    let _turn = state.turns.take(order_id).await;
    retry_on_conflict(|| async {
        if let Some(receipt) = idempotency::done_before(state, merchant, key).await? {
            return Ok(receipt);
        }
        let before = load(state, merchant, order_id).await?;
        let now = state.now_for(&merchant.id);
        let (after, event, action) = decide(&before, now).map_err(order_refused)?;
        let resource_id = created(&after, action);
        let mut change = order_moved(&before, &after, &event, action)?;
        if let Some(key) = key {
            let done = IdempotentOutcome::Done { resource_id: resource_id.clone() };
            change = change.idempotency(key.record(merchant, done, state));
        }
        if let Some(message) = message(&after, now) {
            change = change.message(message);
        }
        state.commit(change).await?;
        Ok(Receipt { resource_id })
    })
    .await
}

/// What `action` created on `order`: its newest capture or refund.
fn created(order: &Order, action: OrderAction) -> Option<String> {
    match action {
        OrderAction::CapturePart | OrderAction::CaptureRest => order.captures.last().map(|c| c.capture_id.clone()),
        OrderAction::Refund => order.refunds.last().map(|r| r.refund_id.clone()),
        _ => None,
    }
}

async fn load(state: &AppState, merchant: &Merchant, order_id: &str) -> ServiceResult<Stored<Order>> {
    let order: Option<Stored<Order>> = state.store.load(order_id).await?;
    order
        .filter(|o| o.merchant_id == merchant.id)
        .ok_or_else(|| absent(Absent::Order, format!("Order {order_id} cannot be found")))
}

fn absent(what: Absent, message: String) -> ServiceError {
    ServiceError::Absent { what, message }
}

fn no_capture(order: &Order, capture_id: &str) -> ServiceError {
    absent(Absent::Capture, format!("Capture {capture_id} could not be found for order {}", order.order_id))
}

fn not_allowed(message: &str) -> OrderRefusal {
    OrderRefusal { code: OrderErrorCode::NotAllowed, message: message.into(), field: None }
}
