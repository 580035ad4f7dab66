//! Cross-node wake-ups: on PostgreSQL a commit on one handle notifies every other handle that
//! listens (sent with the commit, dropped with a change that fails); SQLite serves one process
//! and has no notifications (`None`: in-process wake-ups are all there is).

use crate::support::{Backend, T0, event, hpp, insert, load, merchant, step};
use kassa_core::hpp::HppAction;
use kassa_core::retry::RetryPolicy::Klarna;
use kassa_store::notify::Notification;
use kassa_store::{Change, SessionWrite, Store, StoreError};
use std::time::Duration;

backend_tests!(a_commit_notifies_the_other_handles);

async fn a_commit_notifies_the_other_handles(b: &Backend) {
    let other = b.another_handle().await;
    let Some(mut changes) = other.notifications().await.unwrap() else {
        assert!(!b.is_postgres(), "{b}: PostgreSQL notifies");
        assert!(b.store().notifications().await.unwrap().is_none(), "{b}");
        return;
    };
    assert!(b.is_postgres(), "{b}: SQLite does not notify");
    let store = b.store();
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    let before = load(store, "h1").await;
    step(store, "h1", T0.plus_millis(1), &[("https://a.example/cb", Klarna)]).await;
    // A change that fails sends nothing.
    let (stale, _) = before.apply(HppAction::Disable, T0).unwrap();
    let lost = store.commit(
        Change::default().session(SessionWrite::update(&before, &stale).unwrap()).event(event(&stale, 2, "lost")),
    );
    assert!(matches!(lost.await, Err(StoreError::Conflict(_))), "{b}");
    step(store, "h1", T0.plus_millis(2), &[]).await;

    let notification = |seq, deliveries| Some(Notification { session_id: "h1".into(), seq, deliveries });
    assert_eq!(next(&mut changes).await, notification(1, false), "{b}: the insert");
    assert_eq!(next(&mut changes).await, notification(2, true), "{b}: a change with deliveries says so");
    assert_eq!(next(&mut changes).await, notification(3, false), "{b}: and nothing of the change that failed");
}

async fn next(changes: &mut tokio::sync::mpsc::Receiver<Notification>) -> Option<Notification> {
    tokio::time::timeout(Duration::from_secs(10), changes.recv()).await.ok().flatten()
}
