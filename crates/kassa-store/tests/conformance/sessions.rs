//! Reading sessions back: by kind and id, by parent, by consumer-facing token; and the messages
//! sent for a session.

use crate::support::{Backend, T0, hpp, insert, merchant};
use kassa_core::distribution::Distribution;
use kassa_core::hpp::HppSession;
use kassa_store::{Change, Message, SessionKind, SessionRecord, SessionWrite, StoreExt, Stored};

backend_tests!(sessions_are_found_by_kind_and_parent, a_token_finds_its_session, messages_are_kept_in_order);

async fn sessions_are_found_by_kind_and_parent(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    for id in ["h1", "h2"] {
        let s = hpp(id);
        store.commit(Change::default().session(SessionWrite::insert(&s).unwrap())).await.unwrap();
    }
    let (state, revision) = store.session_state(SessionKind::Hpp, "h1").await.unwrap().unwrap();
    assert_eq!((serde_json::from_value::<HppSession>(state).unwrap(), revision), (hpp("h1"), 1), "{b}");
    assert!(store.session_state(SessionKind::Payment, "h1").await.unwrap().is_none(), "{b}: another kind");
    assert!(store.session_state(SessionKind::Hpp, "h9").await.unwrap().is_none(), "{b}");

    let children = store.child_session_states(SessionKind::Hpp, "p1").await.unwrap();
    assert_eq!(children.iter().map(|(_, r)| *r).collect::<Vec<_>>(), [1, 1], "{b}");
    let children: Vec<Stored<HppSession>> = store.load_children("p1").await.unwrap();
    assert_eq!(children.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["h1", "h2"], "{b}");
    assert!(store.load_children::<HppSession>("p2").await.unwrap().is_empty(), "{b}");
    assert!(store.child_session_states(SessionKind::Distribution, "p1").await.unwrap().is_empty(), "{b}");
}

async fn a_token_finds_its_session(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    let (mut distribution, _) = Distribution::create("p1".into(), "m1".into(), None, None, T0);
    distribution.link_token = Some("link-token".into());
    store.commit(Change::default().session(SessionWrite::insert(&distribution).unwrap())).await.unwrap();
    // HPP sessions keep no token (see `record.rs`): the same id of another kind is not found.
    insert(store, &hpp("p1")).await;

    let found: Option<Stored<Distribution>> = store.load_by_token("link-token").await.unwrap();
    assert_eq!(found.map(|f| f.record), Some(distribution.clone()), "{b}");
    let raw = store.session_state_by_token(SessionKind::Distribution, "link-token").await.unwrap();
    assert_eq!(raw.map(|(_, revision)| revision), Some(1), "{b}");
    assert!(store.session_state_by_token(SessionKind::Hpp, "link-token").await.unwrap().is_none(), "{b}");
    assert!(store.load_by_token::<Distribution>("other").await.unwrap().is_none(), "{b}");
    // Two sessions of one kind cannot share a token.
    let (mut second, _) = Distribution::create("p2".into(), "m1".into(), None, None, T0);
    second.link_token = distribution.token().map(str::to_owned);
    let shared = store.commit(Change::default().session(SessionWrite::insert(&second).unwrap())).await;
    assert!(matches!(shared, Err(kassa_store::StoreError::Conflict(_))), "{b}: {shared:?}");
}

async fn messages_are_kept_in_order(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    let message = |i: i64, method: &str| Message {
        id: format!("msg{i}"),
        merchant_id: "m1".into(),
        session_id: "h1".into(),
        method: method.into(),
        recipient: "r".into(),
        subject: (method == "email").then(|| "Your payment".to_owned()),
        body: "b".into(),
        created_at: T0.plus_millis(i),
    };
    // Inserted out of time order: read back in time order.
    store.insert_message(&message(1, "email")).await.unwrap();
    store.insert_message(&message(0, "sms")).await.unwrap();
    let messages = store.session_messages("h1").await.unwrap();
    assert_eq!(messages, [message(0, "sms"), message(1, "email")], "{b}");
    assert!(store.session_messages("h2").await.unwrap().is_empty(), "{b}");
    let again = store.insert_message(&message(0, "sms")).await;
    assert!(matches!(again, Err(kassa_store::StoreError::Conflict(_))), "{b}: {again:?}");
    // A change records its messages with the rest of it, or not at all.
    store.commit(kassa_store::Change::default().message(message(2, "email"))).await.unwrap();
    assert_eq!(store.session_messages("h1").await.unwrap().len(), 3, "{b}");
    let failed = kassa_store::Change::default().message(message(3, "email")).message(message(2, "email"));
    assert!(store.commit(failed).await.is_err(), "{b}: msg2 exists");
    assert_eq!(store.session_messages("h1").await.unwrap().len(), 3, "{b}: msg3 rolled back with it");
}
