//! Browser sessions (dashboard logins): found by their token's hash while live, touched, ended
//! one by one (logout) or all of a merchant's at once (new credentials), expired ones pruned.

use crate::support::{Backend, T0, merchant};
use kassa_store::{BrowserSession, StoreError};

backend_tests!(browser_sessions_live_until_they_expire_or_are_ended);

fn session(hash: &str, merchant: &str, minutes: i64) -> BrowserSession {
    BrowserSession {
        token_hash: hash.into(),
        merchant_id: merchant.into(),
        created_at: T0,
        expires_at: T0.plus_millis(minutes * 60_000),
        last_seen_at: T0,
    }
}

async fn browser_sessions_live_until_they_expire_or_are_ended(b: &Backend) {
    let store = b.store();
    merchant(store, "m").await;
    merchant(store, "n").await;
    for s in [session("h1", "m", 60), session("h2", "m", 60), session("h3", "n", 60), session("h4", "n", 1)] {
        store.insert_browser_session(&s).await.unwrap();
    }
    let taken = store.insert_browser_session(&session("h1", "n", 60)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{b}: {taken:?}");
    assert_eq!(store.browser_session("h1", T0).await.unwrap(), Some(session("h1", "m", 60)), "{b}");
    assert!(store.browser_session("h9", T0).await.unwrap().is_none(), "{b}");
    assert!(store.browser_session("h4", T0.plus_millis(60_000)).await.unwrap().is_none(), "{b}: expired");

    // Touched forward, never back.
    store.touch_browser_session("h1", T0.plus_millis(5_000)).await.unwrap();
    store.touch_browser_session("h1", T0.plus_millis(1_000)).await.unwrap();
    let seen = store.browser_session("h1", T0).await.unwrap().unwrap().last_seen_at;
    assert_eq!(seen, T0.plus_millis(5_000), "{b}");

    // Logout ends one; new credentials end all of a merchant's, and only its.
    assert!(store.delete_browser_session("h1").await.unwrap(), "{b}");
    assert!(!store.delete_browser_session("h1").await.unwrap(), "{b}: already ended");
    assert!(store.browser_session("h1", T0).await.unwrap().is_none(), "{b}");
    assert!(store.browser_session("h2", T0).await.unwrap().is_some(), "{b}");
    assert_eq!(store.delete_merchant_browser_sessions("m").await.unwrap(), 1, "{b}");
    assert!(store.browser_session("h2", T0).await.unwrap().is_none(), "{b}");
    assert!(store.browser_session("h3", T0).await.unwrap().is_some(), "{b}: the other merchant's");

    // Only expired ones are pruned.
    assert_eq!(store.prune_browser_sessions(T0.plus_millis(60_000)).await.unwrap(), 1, "{b}: h4");
    assert!(store.browser_session("h3", T0).await.unwrap().is_some(), "{b}");
    assert_eq!(store.prune_browser_sessions(T0.plus_millis(60_000)).await.unwrap(), 0, "{b}");
}
