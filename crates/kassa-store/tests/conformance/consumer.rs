//! Consumer sessions: a short code finds one live, free session of its merchant; one payment
//! takes it; nodes handing out the same code at once never share it.

use crate::support::{Backend, T0, merchant};
use kassa_core::Timestamp;
use kassa_store::{Change, ConsumerSession, ConsumerSessionAttach, StoreError};

backend_tests!(
    a_short_code_finds_one_live_free_consumer_session,
    concurrent_consumer_sessions_never_share_a_live_code,
    an_expired_code_is_handed_out_again_and_expired_sessions_are_pruned
);

fn consumer(id: &str, merchant: &str, code: &str, expires_at: Timestamp) -> ConsumerSession {
    ConsumerSession {
        id: id.into(),
        merchant_id: merchant.into(),
        short_code: code.into(),
        created_at: T0,
        expires_at,
        payment_session_id: None,
    }
}

async fn a_short_code_finds_one_live_free_consumer_session(b: &Backend) {
    let store = b.store();
    merchant(store, "m").await;
    merchant(store, "n").await;
    let until = T0.plus_millis(60_000);
    assert!(store.insert_consumer_session(&consumer("c1", "m", "2005", until)).await.unwrap(), "{b}");
    // The code is live and free: not twice for the same merchant; another merchant has its own.
    assert!(!store.insert_consumer_session(&consumer("c2", "m", "2005", until)).await.unwrap(), "{b}");
    assert!(store.consumer_session("c2").await.unwrap().is_none(), "{b}: nothing written");
    assert!(store.insert_consumer_session(&consumer("c3", "n", "2005", until)).await.unwrap(), "{b}");
    let found = store.free_consumer_session("m", "2005", T0).await.unwrap();
    assert_eq!(found, Some(consumer("c1", "m", "2005", until)), "{b}");
    assert!(store.free_consumer_session("m", "2005", until).await.unwrap().is_none(), "{b}: expired");
    assert!(store.free_consumer_session("m", "2006", T0).await.unwrap().is_none(), "{b}");

    // One payment takes it; a second cannot.
    let take = |payment: &str| {
        Change::default().consumer_session(ConsumerSessionAttach {
            consumer_session_id: "c1".into(),
            payment_session_id: payment.into(),
        })
    };
    store.commit(take("p1")).await.unwrap();
    let second = store.commit(take("p2")).await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{b}: {second:?}");
    assert!(store.free_consumer_session("m", "2005", T0).await.unwrap().is_none(), "{b}: taken");
    let taken = store.consumer_session("c1").await.unwrap().unwrap();
    assert_eq!(taken.payment_session_id.as_deref(), Some("p1"), "{b}");
    // Found by id whether expired or not; once taken, the code can be handed out again.
    assert!(store.insert_consumer_session(&consumer("c4", "m", "2005", until)).await.unwrap(), "{b}");
    assert!(store.insert_consumer_session(&consumer("c5", "m", "2007", T0)).await.unwrap(), "{b}");
    assert_eq!(store.consumer_session("c5").await.unwrap(), Some(consumer("c5", "m", "2007", T0)), "{b}");
    assert!(store.consumer_session("c9").await.unwrap().is_none(), "{b}");
}

/// Many nodes handing out the same code at once: one wins.
async fn concurrent_consumer_sessions_never_share_a_live_code(b: &Backend) {
    let store = b.store();
    merchant(store, "m").await;
    let attempts = (0..16).map(|i| consumer(&format!("c{i}"), "m", "3007", T0.plus_millis(60_000)));
    let inserted =
        futures::future::join_all(attempts.map(|c| async move { store.insert_consumer_session(&c).await.unwrap() }))
            .await;
    assert_eq!(inserted.iter().filter(|won| **won).count(), 1, "{b}: {inserted:?}");
}

/// A code is unique only among live sessions: once its session expired it can be handed out
/// again; expired sessions, taken or not, are deleted by the pruning.
async fn an_expired_code_is_handed_out_again_and_expired_sessions_are_pruned(b: &Backend) {
    let store = b.store();
    merchant(store, "m").await;
    let minute = |n: i64| T0.plus_millis(n * 60_000);
    assert!(store.insert_consumer_session(&consumer("old", "m", "4001", minute(10))).await.unwrap(), "{b}");
    assert!(store.insert_consumer_session(&consumer("other", "m", "4002", minute(30))).await.unwrap(), "{b}");
    let again = ConsumerSession { created_at: minute(9), ..consumer("again", "m", "4001", minute(19)) };
    assert!(!store.insert_consumer_session(&again).await.unwrap(), "{b}: still live");
    let again = ConsumerSession { created_at: minute(10), ..consumer("again", "m", "4001", minute(20)) };
    assert!(store.insert_consumer_session(&again).await.unwrap(), "{b}: expired, handed out again");
    assert_eq!(store.free_consumer_session("m", "4001", minute(10)).await.unwrap(), Some(again), "{b}");

    assert_eq!(store.prune_consumer_sessions(minute(9)).await.unwrap(), 0, "{b}");
    assert_eq!(store.prune_consumer_sessions(minute(20)).await.unwrap(), 2, "{b}: old and again");
    assert!(store.consumer_session("old").await.unwrap().is_none(), "{b}");
    assert!(store.consumer_session("other").await.unwrap().is_some(), "{b}");
}
