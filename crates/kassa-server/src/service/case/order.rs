//! Placing an order: by the merchant from an authorization token, by kassa when the consumer
//! approves an HPP session in PLACE_ORDER or CAPTURE_ORDER mode, and in store when the consumer
//! pays (placed and captured at once).

use super::loaded::{Context, PaymentCase, event_row};
use super::transition::{disable_hosted, distribution_command, hpp_transition};
use crate::model::ids;
use crate::model::payment::PaymentRecord;
use crate::service::error::{Rule, ServiceResult};
use crate::service::views;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionStatus, PlacedOrder};
use kassa_core::hpp::{HppAction, HppMachine, HppOutcome, HppSession, PlaceOrderMode};
use kassa_core::order::{Order, OrderStatus};
use kassa_core::payment::{Authorization, AuthorizationStatus, PaymentAction};
use kassa_store::{AuthorizationWrite, Change, SessionWrite, Stored};

/// Everything placing an order writes: the payment session completes, the authorization is
/// used up (`authorization`), the order exists, and the session's open HPP sessions end but
/// `hosted_by` (the one that placed it, if any).
pub fn place_order(
    ctx: Context<'_>,
    case: &PaymentCase,
    authorization: AuthorizationWrite,
    token: &str,
    capture: bool,
    hosted_by: Option<&str>,
) -> ServiceResult<(Change, Order)> {
    let payment = &case.payment;
    let (session, event) = payment
        .session
        .apply(PaymentAction::PlaceOrder, ctx.now)
        .map_err(|_| Rule::PaymentClosed.refuses("An order has already been placed for this payment session"))?;
    let cart = case.cart()?;
    let after = PaymentRecord { session, ..payment.record.clone() };
    let order = Order {
        order_id: ids::new_id(),
        klarna_reference: ids::klarna_reference(),
        merchant_id: payment.session.merchant_id.clone(),
        payment_session_id: payment.session.id.clone(),
        authorization_token: token.to_owned(),
        status: if capture { OrderStatus::Captured } else { OrderStatus::Authorized },
        purchase_currency: cart.currency(),
        order_amount: cart.order_amount,
        captured_amount: if capture { cart.order_amount } else { 0 },
        created_at: ctx.now,
    };
    let change = Change::default()
        .session(SessionWrite::update(payment, &after)?)
        .event(event_row(&after, &event, &views::payment_read(&after, ctx.config))?)
        .authorization(authorization)
        .order(order.clone());
    Ok((change.merge(disable_hosted(ctx, &case.hosted, hosted_by)?), order))
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
            let (change, order) = place_order(ctx, case, written, &token, capture, Some(&before.id))?;
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
    let (order_change, order) = place_order(ctx, case, AuthorizationWrite::Insert(authorization), &token, true, None)?;
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
