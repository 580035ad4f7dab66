//! The payment aggregate's rules, checked on the changes the builders make (no database).

use super::*;
use crate::app::config::{Config, Mode};
use crate::model::payment::PaymentRecord;
use crate::service::error::{Rule, ServiceError};
use crate::wire::payments::{OrderLine, PaymentSessionRequest};
use kassa_core::Timestamp;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionStatus};
use kassa_core::hpp::{HppAction, HppOptions, HppSession, HppStatus, MerchantUrls, NewHppSession, PlaceOrderMode};
use kassa_core::order::{Order, OrderStatus};
use kassa_core::payment::{AcquiringChannel, PaymentSession};
use kassa_store::{
    AuthorizationWrite, Change, ConsumerSession, Merchant, OrderLedger, OrderWrite, SessionKind, Stored,
};

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn merchant() -> Merchant {
    Merchant {
        id: "m1".into(),
        name: "Shop".into(),
        username: "shop".into(),
        secret_salt: "salt".into(),
        secret_hash: "hash".into(),
        created_at: T0,
        webhook_secrets: vec![],
        retry_policy: kassa_core::retry::RetryPolicy::Klarna,
    }
}

fn stored<T>(record: T) -> Stored<T> {
    Stored { record, revision: 1 }
}

fn cart() -> PaymentSessionRequest {
    PaymentSessionRequest {
        purchase_country: Some("SE".into()),
        purchase_currency: Some("sek".into()),
        order_amount: Some(18_000),
        order_tax_amount: Some(3000),
        order_lines: Some(vec![OrderLine {
            name: Some("Cool Bike".into()),
            quantity: Some(1),
            unit_price: Some(20_000),
            tax_rate: Some(2000),
            total_amount: Some(18_000),
            total_discount_amount: Some(2000),
            total_tax_amount: Some(3000),
            ..OrderLine::default()
        }]),
        ..PaymentSessionRequest::default()
    }
}

fn payment(channel: AcquiringChannel) -> Stored<PaymentRecord> {
    let (session, _) = PaymentSession::create("p1".into(), "m1".into(), channel, T0);
    stored(PaymentRecord { session, request: cart(), client_token: "ct".into(), authorization_token: None })
}

fn hpp(id: &str, mode: PlaceOrderMode, status_update: Option<&str>) -> Stored<HppSession> {
    let new = NewHppSession {
        id: id.into(),
        merchant_id: "m1".into(),
        payment_session_id: "p1".into(),
        payment_session_expires_at: T0.plus_hours(48),
        merchant_urls: MerchantUrls { status_update: status_update.map(str::to_owned), ..MerchantUrls::default() },
        options: HppOptions { place_order_mode: Some(mode), ..HppOptions::default() },
        profile_id: None,
        distribution_token: format!("token-{id}"),
    };
    let (session, _) = HppSession::create(new, T0);
    let (open, _) = session.apply(HppAction::Open, T0).unwrap();
    stored(open)
}

fn distribution(short_code: Option<&str>) -> Stored<Distribution> {
    let (d, _) = Distribution::create(
        "p1".into(),
        "m1".into(),
        short_code.map(str::to_owned),
        Some("https://pos.example/cb".into()),
        T0,
    );
    stored(d)
}

fn accessed() -> Stored<Distribution> {
    let d = distribution(None);
    let (d, _) = d.apply(DistributionCommand::Distribute { link_token: "link".into() }, T0).unwrap();
    let (d, _) = d.apply(DistributionCommand::Access, T0).unwrap();
    stored(d)
}

fn refused_by(result: Result<impl std::fmt::Debug, ServiceError>) -> Rule {
    match result {
        Err(ServiceError::Refused(refusal)) => refusal.rule,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The sessions a change writes, but the order it places (see [`placed`]).
fn statuses(change: &Change) -> Vec<(String, &'static str)> {
    change.sessions.iter().filter(|w| w.kind != SessionKind::Order).map(|w| (w.id.clone(), w.status)).collect()
}

/// The one order a change places, as the change leaves it (placed, maybe captured at once), with
/// its ledger row.
fn placed(change: &Change) -> Order {
    let Some(OrderWrite::Place(_)) = change.orders.first() else { panic!("an order placed: {:?}", change.orders) };
    let (OrderWrite::Place(ledger) | OrderWrite::Amounts(ledger)) = change.orders.last().unwrap();
    let write = change.sessions.iter().rfind(|w| w.kind == SessionKind::Order).expect("the order's session");
    let order: Order = serde_json::from_value(write.state.clone()).unwrap();
    assert_eq!(ledger, &OrderLedger::of(&order), "the ledger row is the order's");
    order
}

fn run<T>(f: impl FnOnce(Context<'_>) -> T) -> T {
    let config = Config::new("https://kassa.example", Mode::Sandbox);
    let merchant = merchant();
    f(Context { now: T0.plus_millis(1000), merchant: &merchant, config: &config })
}

#[test]
fn cancelling_a_payment_ends_its_hpp_sessions_and_its_distribution() {
    let case = PaymentCase {
        payment: payment(AcquiringChannel::InStore),
        hosted: vec![
            hpp("h1", PlaceOrderMode::None, Some("https://shop.example/cb")),
            hpp("h2", PlaceOrderMode::None, None),
        ],
        distribution: Some(distribution(None)),
    };
    let change = run(|ctx| cancel_payment(ctx, &case)).unwrap();
    assert_eq!(
        statuses(&change),
        [("p1".into(), "cancelled"), ("h1".into(), "DISABLED"), ("h2".into(), "DISABLED"), ("p1".into(), "CANCELED")]
    );
    // One event per session written; a callback only where a session has a target.
    assert_eq!(change.events.len(), 4);
    let targets: Vec<_> = change.deliveries.iter().map(|d| d.url.as_str()).collect();
    assert_eq!(targets, ["https://shop.example/cb", "https://pos.example/cb"]);
}

#[test]
fn a_payment_with_an_order_cannot_be_cancelled() {
    let mut case = PaymentCase { payment: payment(AcquiringChannel::Ecommerce), hosted: vec![], distribution: None };
    let (complete, _) = case.payment.session.apply(kassa_core::payment::PaymentAction::PlaceOrder, T0).unwrap();
    case.payment.record.session = complete;
    assert_eq!(refused_by(run(|ctx| cancel_payment(ctx, &case))), Rule::PaymentClosed);
}

#[test]
fn approving_without_placing_an_order_issues_an_authorization() {
    let before = hpp("h1", PlaceOrderMode::None, None);
    let case =
        PaymentCase { payment: payment(AcquiringChannel::Ecommerce), hosted: vec![before.clone()], distribution: None };
    let (change, after) = run(|ctx| approve_hpp(ctx, &case, &before)).unwrap();
    assert_eq!(after.status(), HppStatus::Completed);
    let Some(kassa_core::hpp::HppOutcome::Authorization { authorization_token: token }) = after.outcome.clone() else {
        panic!("an authorization outcome: {:?}", after.outcome)
    };
    assert!(change.orders.is_empty());
    assert!(matches!(&change.authorizations[..], [AuthorizationWrite::Insert(a)] if a.token == token));
    // The payment session records the token and stays incomplete (no event of its own).
    assert_eq!(statuses(&change), [("h1".into(), "COMPLETED"), ("p1".into(), "incomplete")]);
    assert_eq!(change.events.len(), 1);
}

#[test]
fn approving_in_capture_mode_places_a_captured_order_and_ends_the_other_sessions() {
    let before = hpp("h1", PlaceOrderMode::CaptureOrder, None);
    let other = hpp("h2", PlaceOrderMode::None, None);
    let case = PaymentCase {
        payment: payment(AcquiringChannel::Ecommerce),
        hosted: vec![before.clone(), other],
        distribution: None,
    };
    let (change, after) = run(|ctx| approve_hpp(ctx, &case, &before)).unwrap();
    let order = placed(&change);
    assert_eq!((order.status(), order.order_amount, order.captured_amount()), (OrderStatus::Captured, 18_000, 18_000));
    assert_eq!(order.captures.len(), 1, "captured in one capture of the whole amount");
    assert_eq!(order.purchase_currency, "SEK");
    assert!(
        matches!(&after.outcome, Some(kassa_core::hpp::HppOutcome::Order { order_id, .. }) if *order_id == order.order_id)
    );
    assert_eq!(statuses(&change), [("h1".into(), "COMPLETED"), ("p1".into(), "complete"), ("h2".into(), "DISABLED")]);
}

#[test]
fn a_consumer_cannot_pay_with_a_payment_that_has_an_order() {
    let before = hpp("h1", PlaceOrderMode::None, None);
    let mut case = PaymentCase { payment: payment(AcquiringChannel::Ecommerce), hosted: vec![], distribution: None };
    let (complete, _) = case.payment.session.apply(kassa_core::payment::PaymentAction::PlaceOrder, T0).unwrap();
    case.payment.record.session = complete;
    assert_eq!(refused_by(run(|ctx| approve_hpp(ctx, &case, &before))), Rule::PaymentUnavailable);
    // A status that does not allow approval is the consumer's mistake, named first.
    let (back, _) = before.apply(HppAction::Back, T0).unwrap();
    assert_eq!(refused_by(run(|ctx| approve_hpp(ctx, &case, &stored(back)))), Rule::HppConsumerAction);
}

#[test]
fn paying_in_store_completes_the_distribution_with_a_captured_order() {
    let case =
        PaymentCase { payment: payment(AcquiringChannel::InStore), hosted: vec![], distribution: Some(accessed()) };
    let (change, after) = run(|ctx| pay_distribution(ctx, &case)).unwrap();
    assert_eq!(after.status(), DistributionStatus::Completed);
    let order = placed(&change);
    assert_eq!(order.status(), OrderStatus::Captured);
    assert_eq!(after.order.as_ref().map(|o| o.order_id.as_str()), Some(order.order_id.as_str()));
    assert_eq!(change.deliveries.len(), 1, "the COMPLETED callback");
    // Only on the open page.
    let waiting = PaymentCase { distribution: Some(distribution(None)), ..case };
    assert_eq!(refused_by(run(|ctx| pay_distribution(ctx, &waiting))), Rule::DistributionStatus);
}

#[test]
fn distributing_pushes_to_the_short_code_or_fails_with_the_link_as_fallback() {
    let consumer = ConsumerSession {
        id: "c1".into(),
        merchant_id: "m1".into(),
        short_code: "123456".into(),
        created_at: T0,
        expires_at: T0.plus_hours(1),
        payment_session_id: None,
    };
    let with_code = distribution(Some("123456"));
    let change = run(|ctx| distribute(ctx, &with_code, Some(consumer), "link".into())).unwrap();
    assert_eq!(statuses(&change), [("p1".into(), "DISTRIBUTED")]);
    assert_eq!(change.consumer_sessions.len(), 1);
    let change = run(|ctx| distribute(ctx, &with_code, None, "link".into())).unwrap();
    assert_eq!(statuses(&change), [("p1".into(), "FAILED")]);
    let failed: Distribution = serde_json::from_value(change.sessions[0].state.clone()).unwrap();
    assert!(failed.shows_link(), "the link is the fallback of a retryable failure");
    // Only a WAITING distribution is distributed.
    let change = run(|ctx| distribute(ctx, &accessed(), None, "other".into())).unwrap();
    assert!(change.sessions.is_empty());
}

#[test]
fn a_new_distribution_schedules_its_work() {
    let setup = crate::service::validate::instore::InStoreSetup { short_code: None, status_update_url: None };
    let change = run(|ctx| start_distribution(ctx, "p1", setup)).unwrap();
    assert_eq!(statuses(&change), [("p1".into(), "WAITING")]);
    assert_eq!(change.jobs.len(), 2, "distribute and auto-cancel");
    assert!(change.deliveries.is_empty(), "creation calls nobody");
}
