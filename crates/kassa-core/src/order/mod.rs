//! Orders: what an authorization becomes once placed, managed through Klarna's Order Management
//! (reference `klarna-order-management.md`). The status moves through [`OrderMachine`]'s table;
//! the amount rules are checked here, before any move, so a refused operation changes nothing:
//!
//! - a capture takes at least 1 and at most the remaining authorized amount;
//! - a refund gives back at least 1 and at most what was captured and not yet refunded;
//! - the authorized amount never falls below what has been captured;
//! - captured and refunded amounts are the sums of the captures and the refunds, and each
//!   capture's refunded amount is what refunds took from it.

mod machine;
mod parts;
mod reference;
#[cfg(test)]
mod tests;

use crate::Timestamp;
use crate::cart::Line;
use crate::machine::{Event, Lifecycle, Rejected};
use crate::wire_enum;
pub use machine::{OrderAction, OrderMachine, OrderStatus};
pub use parts::{Address, Capture, NewCapture, NewRefund, PaymentMethod, Refund, ShippingInfo};
pub use reference::KlarnaReference;
use serde::{Deserialize, Serialize};

/// How long an authorization lasts unless extended (Klarna's default), in days.
pub const AUTHORIZATION_DAYS: i64 = 28;
/// No extension reaches beyond this many days after the order was placed.
pub const MAX_AUTHORIZATION_DAYS: i64 = 180;
/// The due-date extensions a capture offers (days; free in kassa).
pub const DUE_DATE_EXTENSIONS: [i64; 3] = [7, 14, 30];
/// The largest amount Order Management takes in one call.
pub const MAX_AMOUNT: i64 = 200_000_000;

wire_enum! {
    /// Klarna's fraud decision on an order.
    pub enum FraudStatus {
        Accepted = "ACCEPTED",
        Pending = "PENDING",
        Rejected = "REJECTED",
    }
}

wire_enum! {
    /// The error code of a refused operation, as Order Management answers it.
    pub enum OrderErrorCode {
        CaptureNotAllowed = "CAPTURE_NOT_ALLOWED",
        RefundNotAllowed = "REFUND_NOT_ALLOWED",
        CancelNotAllowed = "CANCEL_NOT_ALLOWED",
        NotAllowed = "NOT_ALLOWED",
        NoSuchCapture = "NO_SUCH_CAPTURE",
        BadValue = "BAD_VALUE",
    }
}

/// Why an operation on an order was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OrderRefusal {
    pub code: OrderErrorCode,
    pub message: String,
    /// The request field at fault, for [`OrderErrorCode::BadValue`].
    pub field: Option<&'static str>,
}

impl OrderRefusal {
    fn new(code: OrderErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None }
    }

    fn bad_value(field: &'static str, reason: impl Into<String>) -> Self {
        Self { code: OrderErrorCode::BadValue, message: reason.into(), field: Some(field) }
    }
}

/// An accepted operation: the order after it, the event it yields, and the action it was.
pub type Step = Result<(Order, Event<OrderStatus>, OrderAction), OrderRefusal>;

/// An order, with everything Order Management shows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// A UUID.
    pub order_id: String,
    pub klarna_reference: KlarnaReference,
    pub merchant_id: String,
    pub payment_session_id: String,
    /// The authorization the order was placed with (a token order: the token's authorization).
    pub authorization_token: String,
    /// The customer token a recurring order was placed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_token_id: Option<String>,
    pub lifecycle: Lifecycle<OrderStatus>,
    pub fraud_status: FraudStatus,
    pub purchase_country: String,
    pub purchase_currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The authorized amount now; only an authorization update changes it.
    pub order_amount: i64,
    pub original_order_amount: i64,
    pub order_lines: Vec<Line>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    pub created_at: Timestamp,
    /// Until when the authorization can be captured.
    pub expires_at: Timestamp,
    pub captures: Vec<Capture>,
    pub refunds: Vec<Refund>,
    pub shipping_info: Vec<ShippingInfo>,
    pub acknowledged: bool,
    pub initial_payment_method: PaymentMethod,
    /// Klarna declines raising the authorization (a sandbox control).
    #[serde(default)]
    pub increases_declined: bool,
}

/// What an order is placed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub order_id: String,
    pub klarna_reference: KlarnaReference,
    pub merchant_id: String,
    pub payment_session_id: String,
    pub authorization_token: String,
    pub customer_token_id: Option<String>,
    pub purchase_country: String,
    pub purchase_currency: String,
    pub locale: Option<String>,
    pub order_amount: i64,
    pub order_lines: Vec<Line>,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
    pub merchant_data: Option<String>,
    pub billing_address: Option<Address>,
    pub shipping_address: Option<Address>,
    pub initial_payment_method: PaymentMethod,
}

impl Order {
    /// Places an order: AUTHORIZED, its authorization good for [`AUTHORIZATION_DAYS`] days
    /// (until midnight UTC).
    pub fn place(new: NewOrder, now: Timestamp) -> (Self, Event<OrderStatus>) {
        let (lifecycle, event) = Lifecycle::start(OrderStatus::Authorized, now);
        let order = Self {
            order_id: new.order_id,
            klarna_reference: new.klarna_reference,
            merchant_id: new.merchant_id,
            payment_session_id: new.payment_session_id,
            authorization_token: new.authorization_token,
            customer_token_id: new.customer_token_id,
            lifecycle,
            fraud_status: FraudStatus::Accepted,
            purchase_country: new.purchase_country,
            purchase_currency: new.purchase_currency,
            locale: new.locale,
            order_amount: new.order_amount,
            original_order_amount: new.order_amount,
            order_lines: new.order_lines,
            merchant_reference1: new.merchant_reference1,
            merchant_reference2: new.merchant_reference2,
            merchant_data: new.merchant_data,
            billing_address: new.billing_address,
            shipping_address: new.shipping_address,
            created_at: now,
            expires_at: now.start_of_day().plus_days(AUTHORIZATION_DAYS),
            captures: Vec::new(),
            refunds: Vec::new(),
            shipping_info: Vec::new(),
            acknowledged: false,
            initial_payment_method: new.initial_payment_method,
            increases_declined: false,
        };
        (order, event)
    }

    /// Places an order captured whole at once (`auto_capture`, an HPP session in CAPTURE_ORDER
    /// mode, an in-store payment): one operation, so one event; the order is born CAPTURED, with
    /// its one capture of the whole amount.
    pub fn place_captured(
        new: NewOrder,
        capture_id: String,
        now: Timestamp,
    ) -> Result<(Self, Event<OrderStatus>), OrderRefusal> {
        let (placed, _) = Self::place(new, now);
        // Nothing to capture (an order of 0): born CAPTURED without a capture.
        let captured = if placed.order_amount == 0 { placed } else { placed.capture_all(capture_id, now)?.0 };
        let (lifecycle, event) = Lifecycle::start(OrderStatus::Captured, now);
        Ok((Self { lifecycle, ..captured }, event))
    }

    /// Captures all that remains, with the order's lines: what automatic capture does (an
    /// order placed with `auto_capture`, by an HPP session in CAPTURE_ORDER mode, in store).
    pub fn capture_all(&self, capture_id: String, now: Timestamp) -> Step {
        let whole = NewCapture {
            capture_id,
            captured_amount: self.remaining_authorized_amount(),
            description: String::new(),
            order_lines: if self.captures.is_empty() { self.order_lines.clone() } else { Vec::new() },
            reference: None,
            shipping_info: Vec::new(),
        };
        self.capture(whole, now)
    }

    pub fn status(&self) -> OrderStatus {
        self.lifecycle.status
    }

    pub fn captured_amount(&self) -> i64 {
        self.captures.iter().map(|c| c.captured_amount).sum()
    }

    pub fn refunded_amount(&self) -> i64 {
        self.refunds.iter().map(|r| r.refunded_amount).sum()
    }

    /// What can still be captured: nothing once the order is captured, cancelled, expired or closed.
    pub fn remaining_authorized_amount(&self) -> i64 {
        if self.status().is_open() { self.order_amount - self.captured_amount() } else { 0 }
    }

    pub fn capture_by_id(&self, capture_id: &str) -> Option<&Capture> {
        self.captures.iter().find(|c| c.capture_id == capture_id)
    }

    pub fn refund_by_id(&self, refund_id: &str) -> Option<&Refund> {
        self.refunds.iter().find(|r| r.refund_id == refund_id)
    }

    /// Whether the authorization has run out at `now` (an open order then expires).
    pub fn is_lapsed(&self, now: Timestamp) -> bool {
        self.status().is_open() && now >= self.expires_at
    }

    pub fn capture(&self, new: NewCapture, now: Timestamp) -> Step {
        let code = OrderErrorCode::CaptureNotAllowed;
        positive("captured_amount", new.captured_amount)?;
        lines_total("order_lines", &new.order_lines, new.captured_amount)?;
        if self.fraud_status != FraudStatus::Accepted {
            return Err(OrderRefusal::new(code, "The order is awaiting a fraud decision. Capture not possible."));
        }
        if self.is_lapsed(now) {
            return Err(OrderRefusal::new(code, "The authorization has expired. Capture not possible."));
        }
        let remaining = self.remaining_authorized_amount();
        if self.status().is_open() && new.captured_amount > remaining {
            return Err(OrderRefusal::new(
                code,
                format!(
                    "Captured amount is higher than the remaining authorized amount ({remaining}). Capture not possible."
                ),
            ));
        }
        let action = if new.captured_amount == remaining { OrderAction::CaptureRest } else { OrderAction::CapturePart };
        self.step(action, now, code, |order| {
            let number = order.captures.len() + 1;
            order.captures.push(Capture {
                capture_id: new.capture_id,
                klarna_reference: format!("{}-{number}", order.klarna_reference.as_str()),
                captured_amount: new.captured_amount,
                captured_at: now,
                description: new.description,
                order_lines: new.order_lines,
                reference: new.reference,
                refunded_amount: 0,
                billing_address: order.billing_address.clone(),
                shipping_address: order.shipping_address.clone(),
                shipping_info: new.shipping_info,
                due_date_extended_by: 0,
                send_outs: 0,
            });
        })
    }

    /// Gives money back, taken from the oldest captures with something left first.
    pub fn refund(&self, new: NewRefund, now: Timestamp) -> Step {
        let code = OrderErrorCode::RefundNotAllowed;
        positive("refunded_amount", new.refunded_amount)?;
        if self.captures.is_empty() {
            return Err(OrderRefusal::new(code, "Order has no captures. Refund not possible."));
        }
        let refundable = self.captured_amount() - self.refunded_amount();
        if new.refunded_amount > refundable {
            return Err(OrderRefusal::new(
                code,
                format!("Over refund is not allowed ({refundable} can be refunded). Refund not possible."),
            ));
        }
        self.step(OrderAction::Refund, now, code, |order| {
            let mut left = new.refunded_amount;
            let mut allocation = Vec::new();
            for capture in order.captures.iter_mut().filter(|c| c.refundable() > 0) {
                let taken = left.min(capture.refundable());
                capture.refunded_amount += taken;
                allocation.push((capture.capture_id.clone(), taken));
                left -= taken;
                if left == 0 {
                    break;
                }
            }
            order.refunds.push(Refund {
                refund_id: new.refund_id,
                refunded_amount: new.refunded_amount,
                refunded_at: now,
                description: new.description,
                order_lines: new.order_lines,
                reference: new.reference,
                allocation,
            });
        })
    }

    pub fn cancel(&self, now: Timestamp) -> Step {
        let code = OrderErrorCode::CancelNotAllowed;
        if !self.captures.is_empty() {
            return Err(OrderRefusal::new(code, "Order has previous captures. Cancel not possible."));
        }
        self.step(OrderAction::Cancel, now, code, |_| {})
    }

    /// Gives up what remains uncaptured of a part-captured order.
    pub fn release_remaining(&self, now: Timestamp) -> Step {
        let code = OrderErrorCode::NotAllowed;
        match self.status() {
            OrderStatus::Authorized => {
                Err(OrderRefusal::new(code, "The order has no captures: cancel it instead. Release not possible."))
            }
            OrderStatus::Captured => {
                Err(OrderRefusal::new(code, "Order is fully captured. Remaining authorization cannot be released."))
            }
            _ => self.step(OrderAction::ReleaseRemaining, now, code, |_| {}),
        }
    }

    /// A new authorized amount, and the lines that replace the order's (none given: none kept).
    pub fn update_authorization(&self, order_amount: i64, order_lines: Vec<Line>, now: Timestamp) -> Step {
        let code = OrderErrorCode::NotAllowed;
        if !(0..=MAX_AMOUNT).contains(&order_amount) {
            return Err(OrderRefusal::bad_value("order_amount", format!("must be between 0 and {MAX_AMOUNT}")));
        }
        lines_total("order_lines", &order_lines, order_amount)?;
        let captured = self.captured_amount();
        if order_amount < captured {
            return Err(OrderRefusal::new(
                code,
                format!(
                    "Resulting authorization amount {order_amount} cannot be less than the captured amount {captured}."
                ),
            ));
        }
        if order_amount == captured && captured == 0 {
            return Err(OrderRefusal::new(code, "An authorization of 0 leaves nothing to capture: cancel the order."));
        }
        if self.is_lapsed(now) {
            return Err(OrderRefusal::new(code, "Order is expired. Authorization cannot be updated."));
        }
        if order_amount > self.order_amount && self.increases_declined {
            return Err(OrderRefusal::new(
                code,
                "The increase was declined by the risk check. The consumer has to place a new order.",
            ));
        }
        let action =
            if order_amount == captured { OrderAction::SettleAuthorization } else { OrderAction::UpdateAuthorization };
        self.step(action, now, code, |order| {
            order.order_amount = order_amount;
            order.order_lines = order_lines;
        })
    }

    /// The authorization runs another [`AUTHORIZATION_DAYS`] days from today (a second call on
    /// the same day changes nothing), never beyond [`MAX_AUTHORIZATION_DAYS`] after placement.
    pub fn extend_authorization(&self, now: Timestamp) -> Step {
        let code = OrderErrorCode::NotAllowed;
        if self.is_lapsed(now) {
            return Err(OrderRefusal::new(code, "Order is expired. Authorization time cannot be extended."));
        }
        let limit = self.created_at.start_of_day().plus_days(MAX_AUTHORIZATION_DAYS);
        let extended = now.start_of_day().plus_days(AUTHORIZATION_DAYS).min(limit).max(self.expires_at);
        self.step(OrderAction::ExtendAuthorization, now, code, |order| order.expires_at = extended)
    }

    /// A new shipping address: present fields replace, `""` clears, absent fields stay.
    pub fn update_customer_details(&self, shipping_address: Address, now: Timestamp) -> Step {
        let code = OrderErrorCode::NotAllowed;
        let before = self.shipping_address.clone().unwrap_or_default();
        let merged = merge_address(before.clone(), shipping_address);
        let cleared = [
            ("street_address", before.street_address.is_some() && merged.street_address.is_none()),
            ("country", before.country.is_some() && merged.country.is_none()),
        ];
        if let Some((field, _)) = cleared.iter().find(|(_, cleared)| *cleared) {
            return Err(OrderRefusal::new(
                code,
                format!("shipping_address.{field} cannot be cleared. Customer details cannot be updated."),
            ));
        }
        self.step(OrderAction::UpdateCustomerDetails, now, code, |order| order.shipping_address = Some(merged))
    }

    /// Present references replace, `""` clears, absent ones stay.
    pub fn update_merchant_references(
        &self,
        reference1: Option<String>,
        reference2: Option<String>,
        now: Timestamp,
    ) -> Step {
        self.step(OrderAction::UpdateMerchantReferences, now, OrderErrorCode::NotAllowed, |order| {
            merge_field(&mut order.merchant_reference1, reference1);
            merge_field(&mut order.merchant_reference2, reference2);
        })
    }

    pub fn add_shipping_info(&self, shipping_info: Vec<ShippingInfo>, now: Timestamp) -> Step {
        non_empty("shipping_info", shipping_info.len())?;
        self.step(OrderAction::AddShippingInfo, now, OrderErrorCode::NotAllowed, |order| {
            order.shipping_info.extend(shipping_info);
        })
    }

    pub fn acknowledge(&self, now: Timestamp) -> Step {
        self.step(OrderAction::Acknowledge, now, OrderErrorCode::NotAllowed, |order| order.acknowledged = true)
    }

    pub fn add_capture_shipping_info(
        &self,
        capture_id: &str,
        shipping_info: Vec<ShippingInfo>,
        now: Timestamp,
    ) -> Step {
        non_empty("shipping_info", shipping_info.len())?;
        self.on_capture(capture_id, OrderAction::AddCaptureShippingInfo, now, |capture| {
            capture.shipping_info.extend(shipping_info);
        })
    }

    /// Sends the consumer the capture's payment instructions again, to [their email](Self::consumer_email):
    /// refused when the order has none (nothing could arrive).
    pub fn trigger_send_out(&self, capture_id: &str, now: Timestamp) -> Step {
        let step = self.on_capture(capture_id, OrderAction::TriggerSendOut, now, |capture| capture.send_outs += 1)?;
        if self.consumer_email().is_none() {
            return Err(OrderRefusal::new(
                OrderErrorCode::NotAllowed,
                "The order has no email address (billing or shipping) to send the payment instructions to.",
            ));
        }
        Ok(step)
    }

    /// Where the consumer's email goes: the billing address's email, else the shipping address's.
    pub fn consumer_email(&self) -> Option<&str> {
        [&self.billing_address, &self.shipping_address]
            .into_iter()
            .filter_map(|address| address.as_ref()?.email.as_deref())
            .find(|email| !email.trim().is_empty())
    }

    /// Moves the capture's due date by one of [`DUE_DATE_EXTENSIONS`].
    pub fn extend_due_date(&self, capture_id: &str, number_of_days: i64, now: Timestamp) -> Step {
        if !DUE_DATE_EXTENSIONS.contains(&number_of_days) {
            let offered = DUE_DATE_EXTENSIONS.map(|d| d.to_string()).join(", ");
            return Err(OrderRefusal::new(
                OrderErrorCode::NotAllowed,
                format!("The due date can be extended by {offered} days, not {number_of_days}."),
            ));
        }
        self.on_capture(capture_id, OrderAction::ExtendDueDate, now, |capture| {
            capture.due_date_extended_by += number_of_days;
        })
    }

    /// The authorization ran out: nothing captured → EXPIRED; part captured → CAPTURED, the
    /// rest released.
    pub fn expire(&self, now: Timestamp) -> Step {
        let code = OrderErrorCode::NotAllowed;
        if !self.is_lapsed(now) {
            return Err(OrderRefusal::new(code, format!("The authorization runs until {}", self.expires_at)));
        }
        self.step(OrderAction::Expire, now, code, |_| {})
    }

    /// Klarna closes the order (a sandbox control, or the operator).
    pub fn close(&self, now: Timestamp) -> Step {
        self.step(OrderAction::Close, now, OrderErrorCode::NotAllowed, |_| {})
    }

    /// Klarna's risk check will decline raising the authorization from now on (a sandbox control).
    pub fn decline_increases(&self, now: Timestamp) -> Step {
        self.step(OrderAction::DeclineIncreases, now, OrderErrorCode::NotAllowed, |order| {
            order.increases_declined = true;
        })
    }

    fn on_capture(
        &self,
        capture_id: &str,
        action: OrderAction,
        now: Timestamp,
        change: impl FnOnce(&mut Capture),
    ) -> Step {
        if self.capture_by_id(capture_id).is_none() {
            return Err(OrderRefusal::new(
                OrderErrorCode::NoSuchCapture,
                format!("Capture {capture_id} could not be found for order {}", self.order_id),
            ));
        }
        self.step(action, now, OrderErrorCode::NotAllowed, |order| {
            if let Some(capture) = order.captures.iter_mut().find(|c| c.capture_id == capture_id) {
                change(capture);
            }
        })
    }

    /// Moves the order by `action` through the table and applies `change` to the copy; a move
    /// the table refuses is answered with `code`.
    fn step(&self, action: OrderAction, now: Timestamp, code: OrderErrorCode, change: impl FnOnce(&mut Self)) -> Step {
        let (lifecycle, event) =
            self.lifecycle.apply::<OrderMachine>(action, now).map_err(|rejected| match rejected {
                Rejected::NotAllowed { status, .. } | Rejected::Final { status, .. } => {
                    OrderRefusal::new(code, format!("Not possible for an order in status {status} ({action})"))
                }
                Rejected::Guard(reason) => OrderRefusal::new(code, reason),
            })?;
        let mut next = Self { lifecycle, ..self.clone() };
        change(&mut next);
        Ok((next, event, action))
    }
}

fn positive(field: &'static str, amount: i64) -> Result<(), OrderRefusal> {
    if (1..=MAX_AMOUNT).contains(&amount) {
        Ok(())
    } else {
        Err(OrderRefusal::bad_value(field, format!("must be between 1 and {MAX_AMOUNT}")))
    }
}

fn non_empty(field: &'static str, len: usize) -> Result<(), OrderRefusal> {
    if (1..=500).contains(&len) { Ok(()) } else { Err(OrderRefusal::bad_value(field, "must hold 1 to 500 entries")) }
}

/// Lines sent with an amount must add up to it (none sent is fine).
fn lines_total(field: &'static str, lines: &[Line], amount: i64) -> Result<(), OrderRefusal> {
    let total: i64 = lines.iter().map(|l| l.total_amount).sum();
    if lines.is_empty() || total == amount {
        Ok(())
    } else {
        Err(OrderRefusal::bad_value(field, format!("the lines' total_amount add up to {total}, not {amount}")))
    }
}

/// A present value replaces, `""` clears, `None` keeps.
fn merge_field(into: &mut Option<String>, value: Option<String>) {
    match value {
        Some(text) if text.is_empty() => *into = None,
        Some(text) => *into = Some(text),
        None => {}
    }
}

fn merge_address(mut into: Address, from: Address) -> Address {
    let Address {
        given_name,
        family_name,
        title,
        street_address,
        street_address2,
        postal_code,
        city,
        region,
        country,
        email,
        phone,
        organization_name,
        attention,
    } = from;
    merge_field(&mut into.given_name, given_name);
    merge_field(&mut into.family_name, family_name);
    merge_field(&mut into.title, title);
    merge_field(&mut into.street_address, street_address);
    merge_field(&mut into.street_address2, street_address2);
    merge_field(&mut into.postal_code, postal_code);
    merge_field(&mut into.city, city);
    merge_field(&mut into.region, region);
    merge_field(&mut into.country, country);
    merge_field(&mut into.email, email);
    merge_field(&mut into.phone, phone);
    merge_field(&mut into.organization_name, organization_name);
    merge_field(&mut into.attention, attention);
    into
}
