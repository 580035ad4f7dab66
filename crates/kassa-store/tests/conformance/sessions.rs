//! Reading sessions back: by kind and id, by parent, by consumer-facing token.

use crate::support::{Backend, T0, hpp, insert, merchant};
use kassa_core::distribution::Distribution;
use kassa_core::hpp::HppSession;
use kassa_store::{Change, SessionKind, SessionRecord, SessionWrite, StoreExt, Stored};

backend_tests!(sessions_are_found_by_kind_and_parent, a_token_finds_its_session);

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
