//! Placing an order: by the merchant from an authorization token, by kassa when the consumer
//! approves an HPP session in PLACE_ORDER or CAPTURE_ORDER mode, and in store when the consumer
//! pays (placed and captured at once).

use super::loaded::{Context, PaymentCase, event_row};
use super::transition::{disable_hosted, distribution_command, hpp_transition};
use crate::model::ids;
use crate::model::payment::PaymentRecord;
use crate::service::error::{Absent, Rule, ServiceError, ServiceResult};
use crate::service::views;
use crate::wire::orders::{OrderEventBody, OrderRead};
use crate::wire::payments::PaymentSessionRequest;
use kassa_core::Event;
use kassa_core::Timestamp;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionStatus, PlacedOrder};
use kassa_core::hpp::{HppAction, HppMachine, HppOutcome, HppSession, PlaceOrderMode};
use kassa_core::order::{NewOrder, Order, OrderAction, OrderErrorCode, OrderRefusal, OrderStatus, PaymentMethod};
use kassa_core::payment::{Authorization, AuthorizationStatus, PaymentAction};
use kassa_store::{AuthorizationWrite, Change, Job, JobKind, JobWrite, SessionKind, SessionWrite, Stored};

/// Everything placing an order writes: the payment session completes, the authorization is
/// used up (`authorization`), the order exists, and the session's open HPP sessions end but
/// `hosted_by` (the one that placed it, if any). `given` is the create-order request, whose
/// references and addresses replace the session's.
pub fn place_order(
    ctx: Context<'_>,
    case: &PaymentCase,
    authorization: AuthorizationWrite,
    token: &str,
    capture: bool,
    given: Option<&PaymentSessionRequest>,
    hosted_by: Option<&str>,
) -> ServiceResult<(Change, Order)> {
    let payment = &case.payment;
    let (session, event) = payment
        .session
        .apply(PaymentAction::PlaceOrder, ctx.now)
        .map_err(|_| Rule::PaymentClosed.refuses("An order has already been placed for this payment session"))?;
    let after = PaymentRecord { session, ..payment.record.clone() };
    let (placing, order) = placed_order(ctx, new_order(case, token, given)?, capture)?;
    let change = Change::default()
        .session(SessionWrite::update(payment, &after)?)
        .event(event_row(&after, &event, &views::payment_read(&after, ctx.config))?)
        .authorization(authorization)
        .merge(placing);
    Ok((change.merge(disable_hosted(ctx, &case.hosted, hosted_by)?), order))
}

/// An order placed (and, with `capture`, captured whole at once: born CAPTURED, one event): its
/// writes, its event and its expiry timer.
pub fn placed_order(ctx: Context<'_>, new: NewOrder, capture: bool) -> ServiceResult<(Change, Order)> {
    let (order, event) = if capture {
        Order::place_captured(new, ids::new_id(), ctx.now).map_err(order_refused)?
    } else {
        Order::place(new, ctx.now)
    };
    let body = OrderEventBody { event_type: "place", order: OrderRead::from(&order) };
    let mut change = Change::default().order_placed(&order)?.event(event_row(&order, &event, &body)?);
    if order.status().is_open() {
        change = change.job(JobWrite::Schedule(expiry_job(&order, ctx.now)));
    }
    Ok((change, order))
}

/// An order moved by `action` from `before` to `after`: the guarded write of the order (and its
/// ledger row) with its event.
pub fn order_moved(
    before: &Stored<Order>,
    after: &Order,
    event: &Event<OrderStatus>,
    action: OrderAction,
) -> ServiceResult<Change> {
    let body = OrderEventBody { event_type: action.as_str(), order: OrderRead::from(after) };
    Ok(Change::default().order_moved(before, after)?.event(event_row(after, event, &body)?))
}

/// The order `case`'s authorization `token` becomes: the authorized cart, with the references
/// and addresses of the create-order request where `given` has them, else the session's.
fn new_order(case: &PaymentCase, token: &str, given: Option<&PaymentSessionRequest>) -> ServiceResult<NewOrder> {
    let cart = case.cart()?;
    let stored = &case.payment.request;
    let pick = |field: fn(&PaymentSessionRequest) -> &Option<String>| {
        given.and_then(|g| field(g).clone()).or_else(|| field(stored).clone())
    };
    // Both were read as Klarna's address schema (`validate::schema`), which this one widens.
    let address = |field: fn(&PaymentSessionRequest) -> &Option<serde_json::Value>| {
        let value = given.and_then(|g| field(g).clone()).or_else(|| field(stored).clone());
        value.and_then(|v| serde_json::from_value(v).ok())
    };
    Ok(NewOrder {
        order_id: ids::new_id(),
        klarna_reference: ids::klarna_reference(),
        merchant_id: case.payment.session.merchant_id.clone(),
        payment_session_id: case.payment.session.id.clone(),
        authorization_token: token.to_owned(),
        customer_token_id: None,
        purchase_country: cart.country(),
        purchase_currency: cart.currency(),
        locale: cart.locale.clone(),
        order_amount: cart.order_amount,
        order_lines: cart.lines,
        merchant_reference1: pick(|r| &r.merchant_reference1),
        merchant_reference2: pick(|r| &r.merchant_reference2),
        merchant_data: pick(|r| &r.merchant_data),
        billing_address: address(|r| &r.billing_address),
        shipping_address: address(|r| &r.shipping_address),
        initial_payment_method: PaymentMethod::invoice(),
    })
}

/// The timer that expires `order` when its authorization runs out.
pub fn expiry_job(order: &Order, now: Timestamp) -> Job {
    Job {
        id: ids::new_id(),
        session_kind: SessionKind::Order,
        session_id: order.order_id.clone(),
        action: JobKind::ExpireOrder,
        due_at: order.expires_at,
        attempts: 0,
        created_at: now,
        caused_by: None,
    }
}

/// A refusal of the order's rules, in the use cases' words.
pub fn order_refused(refusal: OrderRefusal) -> ServiceError {
    match refusal.code {
        OrderErrorCode::BadValue => ServiceError::bad_value(refusal.field.unwrap_or("body"), refusal.message),
        OrderErrorCode::NoSuchCapture => ServiceError::Absent { what: Absent::Capture, message: refusal.message },
        code => Rule::Order(code).refuses(refusal.message).into(),
    }
}

/// The consumer approves HPP session `before` of `case`: COMPLETED with an authorization token
/// (`place_order_mode` NONE; the token is also recorded on the payment session) or with the
/// order kassa places (and captures).
pub fn approve_hpp(
    ctx: Context<'_>,
    case: &PaymentCase,
    before: &Stored<HppSession>,
) -> ServiceResult<(Change, HppSession)> {
    // Refuse on the HPP status first: that is what the consumer did wrong.
    let refused = |r| Rule::HppConsumerAction.rejects(r);
    before.lifecycle.apply::<HppMachine>(HppAction::Approve, ctx.now).map_err(refused)?;
    let payment = case.open_payment(ctx.now)?;
    let mut authorization = Authorization::issue(ids::new_id(), &payment.session, ctx.now);
    let token = authorization.token.clone();
    let (change, outcome) = match before.options.place_order_mode() {
        PlaceOrderMode::None => {
            let after = PaymentRecord { authorization_token: Some(token.clone()), ..payment.record.clone() };
            let change = Change::default()
                .session(SessionWrite::update(payment, &after)?)
                .authorization(AuthorizationWrite::Insert(authorization));
            (change, HppOutcome::Authorization { authorization_token: token })
        }
        mode => {
            authorization.status = AuthorizationStatus::Ordered;
            let capture = mode == PlaceOrderMode::CaptureOrder;
            let written = AuthorizationWrite::Insert(authorization);
            let (change, order) = place_order(ctx, case, written, &token, capture, None, Some(&before.id))?;
            let reference = order.klarna_reference.as_str().to_owned();
            (change, HppOutcome::Order { order_id: order.order_id, klarna_reference: reference })
        }
    };
    let (after, event) = before.approve(outcome, ctx.now).map_err(refused)?;
    Ok((hpp_transition(ctx, before, &after, &event)?.merge(change), after))
}

/// The consumer pays on the open payment page of `case`'s distribution: an authorization used
/// at once for an order that is placed and captured, the distribution COMPLETED with the order.
pub fn pay_distribution(ctx: Context<'_>, case: &PaymentCase) -> ServiceResult<(Change, Distribution)> {
    let before = case.distribution()?;
    require_open_page(before, "pay")?;
    let payment = case.open_payment(ctx.now)?;
    let mut authorization = Authorization::issue(ids::new_id(), &payment.session, ctx.now);
    authorization.status = AuthorizationStatus::Ordered;
    let token = authorization.token.clone();
    let (order_change, order) =
        place_order(ctx, case, AuthorizationWrite::Insert(authorization), &token, true, None, None)?;
    let placed = PlacedOrder { order_id: order.order_id, klarna_reference: order.klarna_reference.as_str().to_owned() };
    let (change, after) = distribution_command(ctx, before, DistributionCommand::Complete(placed))?;
    Ok((change.merge(order_change), after))
}

/// What the consumer does on the payment page needs the page open (ACCESSED).
pub fn require_open_page(d: &Distribution, what: &str) -> ServiceResult<()> {
    if d.status() == DistributionStatus::Accessed {
        return Ok(());
    }
    let message =
        format!("The consumer can {what} only on the open payment page (ACCESSED); the distribution is {}", d.status());
    Err(Rule::DistributionStatus.refuses(message).into())
}
