use super::*;
use crate::machine::StateMachine;
use crate::machine::laws::check_machine;
use proptest::prelude::*;

fn new_order(amount: i64) -> NewOrder {
    NewOrder {
        order_id: "o1".into(),
        klarna_reference: KlarnaReference::parse("X438HG0Q").unwrap(),
        merchant_id: "m".into(),
        payment_session_id: "p".into(),
        authorization_token: "t".into(),
        customer_token_id: None,
        purchase_country: "SE".into(),
        purchase_currency: "SEK".into(),
        locale: Some("sv-SE".into()),
        order_amount: amount,
        order_lines: Vec::new(),
        merchant_reference1: None,
        merchant_reference2: None,
        merchant_data: None,
        billing_address: None,
        shipping_address: Some(Address {
            street_address: Some("Sveavägen 46".into()),
            email: Some("consumer@example.com".into()),
            ..Address::default()
        }),
        initial_payment_method: PaymentMethod::invoice(),
    }
}

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

fn capture(id: &str, amount: i64) -> NewCapture {
    NewCapture {
        capture_id: id.into(),
        captured_amount: amount,
        description: String::new(),
        order_lines: Vec::new(),
        reference: None,
        shipping_info: Vec::new(),
    }
}

fn refund(id: &str, amount: i64) -> NewRefund {
    NewRefund {
        refund_id: id.into(),
        refunded_amount: amount,
        description: String::new(),
        order_lines: Vec::new(),
        reference: None,
    }
}

#[test]
fn table_and_laws() {
    check_machine::<OrderMachine>(OrderStatus::ALL, OrderAction::ALL);
}

#[test]
fn authorization_runs_28_days_to_midnight() {
    // Klarna's sample: placed 2022-07-08T09:48:16.680Z, expires 2022-08-05T00:00:00.000Z.
    let (order, _) = Order::place(new_order(200), at(1_657_273_696_680));
    assert_eq!(order.expires_at.to_string(), "2022-08-05T00:00:00.000Z");
}

#[test]
fn two_partial_captures_then_a_refund() {
    let (order, _) = Order::place(new_order(10_000), at(0));
    let (order, first, _) = order.capture(capture("c1", 4_000), at(1)).unwrap();
    assert_eq!((order.status(), order.remaining_authorized_amount()), (OrderStatus::PartCaptured, 6_000));
    let (order, second, _) = order.capture(capture("c2", 6_000), at(2)).unwrap();
    assert_eq!((order.status(), order.remaining_authorized_amount()), (OrderStatus::Captured, 0));
    assert_eq!((first.seq, second.seq), (2, 3));
    assert_eq!(order.captures[1].klarna_reference, "X438HG0Q-2");
    // A refund larger than the first capture spills over into the second.
    let (order, ..) = order.refund(refund("r1", 5_000), at(3)).unwrap();
    assert_eq!(order.status(), OrderStatus::Captured);
    assert_eq!((order.captures[0].refunded_amount, order.captures[1].refunded_amount), (4_000, 1_000));
    assert_eq!(order.refunds[0].allocation, [("c1".to_owned(), 4_000), ("c2".to_owned(), 1_000)]);
}

#[test]
fn refusals_name_klarnas_codes() {
    let (order, _) = Order::place(new_order(1_000), at(0));
    assert_eq!(order.capture(capture("c", 1_001), at(1)).unwrap_err().code, OrderErrorCode::CaptureNotAllowed);
    assert_eq!(order.refund(refund("r", 1), at(1)).unwrap_err().code, OrderErrorCode::RefundNotAllowed);
    assert_eq!(order.release_remaining(at(1)).unwrap_err().code, OrderErrorCode::NotAllowed);
    assert_eq!(order.capture(capture("c", 0), at(1)).unwrap_err().code, OrderErrorCode::BadValue);
    let (captured, ..) = order.capture(capture("c", 400), at(1)).unwrap();
    assert_eq!(captured.cancel(at(2)).unwrap_err().code, OrderErrorCode::CancelNotAllowed);
    assert_eq!(captured.refund(refund("r", 401), at(2)).unwrap_err().code, OrderErrorCode::RefundNotAllowed);
    assert_eq!(captured.update_authorization(399, Vec::new(), at(2)).unwrap_err().code, OrderErrorCode::NotAllowed);
    assert_eq!(captured.trigger_send_out("nope", at(2)).unwrap_err().code, OrderErrorCode::NoSuchCapture);
    assert!(captured.trigger_send_out("c", at(2)).is_ok());
    let mut unreachable = captured.clone();
    unreachable.shipping_address.as_mut().unwrap().email = Some(" ".into());
    let refused = unreachable.trigger_send_out("c", at(2)).unwrap_err();
    assert_eq!((refused.code, refused.message.contains("no email")), (OrderErrorCode::NotAllowed, true));
    let (cancelled, ..) = order.cancel(at(1)).unwrap();
    assert_eq!(cancelled.capture(capture("c", 1), at(2)).unwrap_err().code, OrderErrorCode::CaptureNotAllowed);
    assert_eq!(cancelled.remaining_authorized_amount(), 0);
}

#[test]
fn release_and_settle_end_a_part_captured_order() {
    let (order, _) = Order::place(new_order(1_000), at(0));
    let (part, ..) = order.capture(capture("c", 300), at(1)).unwrap();
    let (released, ..) = part.release_remaining(at(2)).unwrap();
    assert_eq!(
        (released.status(), released.remaining_authorized_amount(), released.order_amount),
        (OrderStatus::Captured, 0, 1_000)
    );
    let (settled, ..) = part.update_authorization(300, Vec::new(), at(2)).unwrap();
    assert_eq!(
        (settled.status(), settled.order_amount, settled.original_order_amount),
        (OrderStatus::Captured, 300, 1_000)
    );
}

#[test]
fn a_declined_risk_check_refuses_increases_only() {
    let (order, ..) = Order::place(new_order(1_000), at(0));
    let (declining, ..) = order.decline_increases(at(1)).unwrap();
    assert_eq!(declining.update_authorization(1_001, Vec::new(), at(2)).unwrap_err().code, OrderErrorCode::NotAllowed);
    assert!(declining.update_authorization(900, Vec::new(), at(2)).is_ok(), "a decrease needs no risk check");
    assert!(order.update_authorization(1_001, Vec::new(), at(2)).is_ok());
}

#[test]
fn expiry_and_extension() {
    let (order, _) = Order::place(new_order(1_000), at(0));
    assert!(order.expire(at(0)).is_err(), "not before expires_at");
    let (extended, ..) = order.extend_authorization(at(20 * crate::time::DAY + 5)).unwrap();
    assert_eq!(extended.expires_at, at(48 * crate::time::DAY));
    let (again, ..) = extended.extend_authorization(at(20 * crate::time::DAY + 9)).unwrap();
    assert_eq!(again.expires_at, extended.expires_at, "a second call the same day changes nothing");
    let late = at(400 * crate::time::DAY);
    let (expired, ..) = order.expire(late).unwrap();
    assert_eq!((expired.status(), expired.remaining_authorized_amount()), (OrderStatus::Expired, 0));
    assert!(order.capture(capture("c", 1), late).is_err());
    let (part, ..) = order.capture(capture("c", 10), at(1)).unwrap();
    let (ended, ..) = part.expire(late).unwrap();
    assert_eq!((ended.status(), ended.captured_amount()), (OrderStatus::Captured, 10));
}

#[test]
fn an_order_placed_captured_is_born_captured_with_one_event() {
    let (order, event) = Order::place_captured(new_order(500), "c".into(), at(0)).unwrap();
    assert_eq!((event.seq, event.from, event.to), (1, None, OrderStatus::Captured));
    assert_eq!((order.lifecycle.version, order.captured_amount(), order.remaining_authorized_amount()), (1, 500, 0));
    let (refunded, ..) = order.refund(refund("r", 100), at(1)).unwrap();
    assert_eq!(refunded.lifecycle.version, 2);
}

#[test]
fn an_order_of_nothing_placed_captured_has_no_capture() {
    let (order, event) = Order::place_captured(new_order(0), "c".into(), at(0)).unwrap();
    assert_eq!((event.to, order.captures.len(), order.remaining_authorized_amount()), (OrderStatus::Captured, 0, 0));
}

#[test]
fn auto_capture_takes_the_whole_order_in_one_capture() {
    let (order, _) = Order::place(new_order(500), at(0));
    let (order, captured, action) = order.capture_all("c".into(), at(0)).unwrap();
    assert_eq!((captured.seq, action, order.status()), (2, OrderAction::CaptureRest, OrderStatus::Captured));
    assert_eq!(order.captures[0].klarna_reference, "X438HG0Q-1");
    assert_eq!(order.captures[0].captured_amount, 500);
    assert_eq!(order.captures[0].shipping_address, order.shipping_address);
}

#[test]
fn customer_details_merge_and_cannot_clear_the_street() {
    let (order, _) = Order::place(new_order(500), at(0));
    let change = Address { city: Some("Stockholm".into()), ..Address::default() };
    let (changed, ..) = order.update_customer_details(change, at(1)).unwrap();
    let address = changed.shipping_address.unwrap();
    assert_eq!((address.street_address.as_deref(), address.city.as_deref()), (Some("Sveavägen 46"), Some("Stockholm")));
    let clear = Address { street_address: Some(String::new()), ..Address::default() };
    assert_eq!(order.update_customer_details(clear, at(1)).unwrap_err().code, OrderErrorCode::NotAllowed);
}

/// One operation of a random sequence.
#[derive(Debug, Clone)]
enum Op {
    Capture(i64),
    Refund(i64),
    Cancel,
    Release,
    Update(i64),
    Extend(i64),
    Expire(i64),
    Close,
    DeclineIncreases,
    Acknowledge,
    SendOut(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0i64..1_200).prop_map(Op::Capture),
        3 => (0i64..1_200).prop_map(Op::Refund),
        1 => Just(Op::Cancel),
        1 => Just(Op::Release),
        2 => (0i64..1_500).prop_map(Op::Update),
        1 => (0i64..200).prop_map(Op::Extend),
        1 => (0i64..200).prop_map(Op::Expire),
        1 => Just(Op::Close),
        1 => Just(Op::DeclineIncreases),
        1 => Just(Op::Acknowledge),
        1 => (0usize..4).prop_map(Op::SendOut),
    ]
}

fn apply(order: &Order, op: &Op, i: usize) -> Step {
    let now = at(i as i64 + 1);
    match *op {
        Op::Capture(amount) => order.capture(capture(&format!("c{i}"), amount), now),
        Op::Refund(amount) => order.refund(refund(&format!("r{i}"), amount), now),
        Op::Cancel => order.cancel(now),
        Op::Release => order.release_remaining(now),
        Op::Update(amount) => order.update_authorization(amount, Vec::new(), now),
        Op::Extend(days) => order.extend_authorization(at(days * crate::time::DAY)),
        Op::Expire(days) => order.expire(at(days * crate::time::DAY)),
        Op::Close => order.close(now),
        Op::DeclineIncreases => order.decline_increases(now),
        Op::Acknowledge => order.acknowledge(now),
        Op::SendOut(n) => {
            let id = order.captures.get(n).map_or("none", |c| c.capture_id.as_str()).to_owned();
            order.trigger_send_out(&id, now)
        }
    }
}

fn check_invariants(order: &Order) {
    let captured = order.captured_amount();
    let refunded = order.refunded_amount();
    assert!(captured <= order.order_amount, "captured {captured} over authorized {}", order.order_amount);
    assert!(refunded <= captured, "refunded {refunded} over captured {captured}");
    assert!(order.remaining_authorized_amount() >= 0);
    assert_eq!(order.captures.iter().map(|c| c.refunded_amount).sum::<i64>(), refunded);
    assert!(order.captures.iter().all(|c| c.captured_amount >= 1 && c.refunded_amount <= c.captured_amount));
    for refund in &order.refunds {
        assert_eq!(refund.allocation.iter().map(|(_, taken)| taken).sum::<i64>(), refund.refunded_amount);
    }
    assert_eq!(order.original_order_amount, 1_000);
    match order.status() {
        OrderStatus::Authorized | OrderStatus::Cancelled | OrderStatus::Expired => assert_eq!(captured, 0),
        OrderStatus::PartCaptured => assert!(captured > 0 && captured < order.order_amount),
        OrderStatus::Captured => assert!(captured > 0),
        OrderStatus::Closed => {}
    }
}

proptest! {
    /// Random operations never break an amount rule, and each accepted one yields exactly one
    /// event, the next in sequence, whose target is the order's new status.
    #[test]
    fn operations_keep_every_invariant(ops in proptest::collection::vec(op(), 0..40)) {
        let (mut order, first) = Order::place(new_order(1_000), at(0));
        let mut events = vec![first];
        for (i, op) in ops.iter().enumerate() {
            if let Ok((next, event, action)) = apply(&order, op, i) {
                prop_assert!(OrderMachine::TRANSITIONS.iter().any(|(f, a, _)| *f == order.status() && *a == action));
                prop_assert_eq!(event.seq, order.lifecycle.version + 1);
                prop_assert_eq!(event.to, next.status());
                events.push(event);
                order = next;
            }
            check_invariants(&order);
        }
        prop_assert_eq!(order.lifecycle.version, events.len() as u64);
    }
}
