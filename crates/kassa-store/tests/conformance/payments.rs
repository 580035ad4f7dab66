//! Authorizations and orders: inserted and moved inside a change, read back by key.

use crate::support::{Backend, T0, merchant};
use kassa_core::order::{KlarnaReference, Order, OrderStatus};
use kassa_core::payment::{AcquiringChannel, Authorization, AuthorizationStatus, PaymentSession};
use kassa_store::{AuthorizationWrite, Change, StoreError};

backend_tests!(one_order_per_payment_session_and_guarded_authorizations);

fn order(id: &str, token: &str, reference: &str) -> Order {
    Order {
        order_id: id.into(),
        klarna_reference: KlarnaReference::parse(reference).unwrap(),
        merchant_id: "m1".into(),
        payment_session_id: "p1".into(),
        authorization_token: token.into(),
        status: OrderStatus::Captured,
        purchase_currency: "SEK".into(),
        order_amount: 100,
        captured_amount: 100,
        created_at: T0,
    }
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
    store.commit(Change::default().authorization(use_a1.clone()).order(order("o1", "a1", "ABCD1234"))).await.unwrap();
    assert_eq!(store.order("o1").await.unwrap(), Some(order("o1", "a1", "ABCD1234")), "{b}");
    assert!(store.order("o9").await.unwrap().is_none(), "{b}");
    assert_eq!(store.authorization("a1").await.unwrap().unwrap().status, AuthorizationStatus::Ordered, "{b}");
    // The token cannot be used twice, and the session cannot get a second order.
    let twice = store.commit(Change::default().authorization(use_a1)).await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{b}: {twice:?}");
    let use_a2 = AuthorizationWrite::Transition {
        token: "a2".into(),
        from: AuthorizationStatus::Valid,
        to: AuthorizationStatus::Ordered,
    };
    let second = store.commit(Change::default().authorization(use_a2).order(order("o2", "a2", "WXYZ9876"))).await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{b}: {second:?}");
    assert_eq!(
        store.authorization("a2").await.unwrap().unwrap().status,
        AuthorizationStatus::Valid,
        "{b}: rolled back"
    );
    assert!(store.order("o2").await.unwrap().is_none(), "{b}");
}
