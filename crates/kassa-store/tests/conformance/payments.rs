//! Authorizations and orders: inserted and moved inside a change, read back by key.

use crate::support::{Backend, T0, merchant};
use kassa_core::order::{KlarnaReference, NewOrder, NewRefund, Order, PaymentMethod, Refund};
use kassa_core::payment::{AcquiringChannel, Authorization, AuthorizationStatus, PaymentSession};
use kassa_store::{AuthorizationWrite, Change, StoreError, StoreExt};

backend_tests!(one_order_per_payment_session_and_guarded_authorizations, order_amounts_are_guarded_in_sql);

fn order(id: &str, token: &str, reference: &str) -> Order {
    let new = NewOrder {
        order_id: id.into(),
        klarna_reference: KlarnaReference::parse(reference).unwrap(),
        merchant_id: "m1".into(),
        payment_session_id: "p1".into(),
        authorization_token: token.into(),
        customer_token_id: None,
        purchase_country: "SE".into(),
        purchase_currency: "SEK".into(),
        locale: None,
        order_amount: 100,
        order_lines: Vec::new(),
        merchant_reference1: None,
        merchant_reference2: None,
        merchant_data: None,
        billing_address: None,
        shipping_address: None,
        initial_payment_method: PaymentMethod::invoice(),
    };
    let (placed, _) = Order::place(new, T0);
    placed.capture_all(format!("{id}-c1"), T0).unwrap().0
}

fn placed(order: &Order) -> Change {
    Change::default().order_placed(order).unwrap()
}

async fn one_order_per_payment_session_and_guarded_authorizations(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    let (payment, _) = PaymentSession::create("p1".into(), "m1".into(), AcquiringChannel::Ecommerce, T0);
    let (a1, a2) = (Authorization::issue("a1".into(), &payment, T0), Authorization::issue("a2".into(), &payment, T0));
    let change = Change::default()
        .authorization(AuthorizationWrite::Insert(a1.clone()))
        .authorization(AuthorizationWrite::Insert(a2));
    store.commit(change).await.unwrap();
    assert_eq!(store.authorization("a1").await.unwrap(), Some(a1), "{b}: every field as written");
    assert!(store.authorization("a9").await.unwrap().is_none(), "{b}");
    let use_a1 = AuthorizationWrite::Transition {
        token: "a1".into(),
        from: AuthorizationStatus::Valid,
        to: AuthorizationStatus::Ordered,
    };
    store.commit(placed(&order("o1", "a1", "ABCD1234")).authorization(use_a1.clone())).await.unwrap();
    let o1 = store.load::<Order>("o1").await.unwrap().map(|s| s.record);
    assert_eq!(o1, Some(order("o1", "a1", "ABCD1234")), "{b}: every field as written");
    assert!(store.load::<Order>("o9").await.unwrap().is_none(), "{b}");
    assert_eq!(store.authorization("a1").await.unwrap().unwrap().status, AuthorizationStatus::Ordered, "{b}");
    // The token cannot be used twice, and the session cannot get a second order.
    let twice = store.commit(Change::default().authorization(use_a1)).await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{b}: {twice:?}");
    let use_a2 = AuthorizationWrite::Transition {
        token: "a2".into(),
        from: AuthorizationStatus::Valid,
        to: AuthorizationStatus::Ordered,
    };
    let second = store.commit(placed(&order("o2", "a2", "WXYZ9876")).authorization(use_a2)).await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{b}: {second:?}");
    assert_eq!(
        store.authorization("a2").await.unwrap().unwrap().status,
        AuthorizationStatus::Valid,
        "{b}: rolled back"
    );
    assert!(store.load::<Order>("o2").await.unwrap().is_none(), "{b}");
}

/// Whatever the code above it decides, the database refuses amounts beyond Klarna's rules, and
/// two moves from the same order version cannot both commit.
async fn order_amounts_are_guarded_in_sql(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    let (payment, _) = PaymentSession::create("p1".into(), "m1".into(), AcquiringChannel::Ecommerce, T0);
    let a1 = Authorization::issue("a1".into(), &payment, T0);
    let placement = placed(&order("o1", "a1", "ABCD1234")).authorization(AuthorizationWrite::Insert(a1));
    store.commit(placement).await.unwrap();
    let before = store.load::<Order>("o1").await.unwrap().unwrap();

    // A refund of more than was captured, written around the domain's rules.
    let mut over = before.record.clone();
    over.refunds.push(Refund {
        refund_id: "r1".into(),
        refunded_amount: 101,
        refunded_at: T0,
        description: String::new(),
        order_lines: Vec::new(),
        reference: None,
        allocation: Vec::new(),
    });
    let refused = store.commit(Change::default().order_moved(&before, &over).unwrap()).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{b}: {refused:?}");
    assert_eq!(store.load::<Order>("o1").await.unwrap().unwrap(), before, "{b}: nothing changed");

    // Two refunds decided from the same read: the first commits, the second finds the row moved.
    let refund = |id: &str| {
        let new = NewRefund {
            refund_id: id.into(),
            refunded_amount: 60,
            description: String::new(),
            order_lines: Vec::new(),
            reference: None,
        };
        before.refund(new, T0).unwrap().0
    };
    store.commit(Change::default().order_moved(&before, &refund("r1")).unwrap()).await.unwrap();
    let second = store.commit(Change::default().order_moved(&before, &refund("r2")).unwrap()).await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{b}: {second:?}");
    let after = store.load::<Order>("o1").await.unwrap().unwrap();
    assert_eq!((after.refunded_amount(), after.refunds.len()), (60, 1), "{b}");
}
