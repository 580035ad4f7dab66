//! `commit`: guarded session writes, all-or-nothing changes, gap-free events, and group commit
//! that still fails changes one by one.

use crate::support::{Backend, T0, event, hpp, insert, load, merchant};
use kassa_core::hpp::{HppAction, HppSession, HppStatus};
use kassa_store::sql::{Durability, SqlStore};
use kassa_store::{Change, SessionWrite, Store, StoreError, StoreExt};

backend_tests!(
    a_guarded_update_wins_once_and_a_stale_one_rolls_everything_back,
    writes_without_a_status_change_are_guarded_too,
    a_change_is_all_or_nothing,
    concurrent_changes_fail_alone,
    another_handle_sees_every_commit,
);

async fn a_guarded_update_wins_once_and_a_stale_one_rolls_everything_back(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    let created = load(store, "h1").await;
    assert_eq!(created.revision, 1, "{b}");

    let (opened, _) = created.apply(HppAction::Open, T0.plus_millis(1)).unwrap();
    let first =
        Change::default().session(SessionWrite::update(&created, &opened).unwrap()).event(event(&opened, 2, "e2"));
    store.commit(first).await.unwrap();

    // A second writer that decided on the old state loses, and its event is not appended.
    let (disabled, _) = created.apply(HppAction::Disable, T0.plus_millis(2)).unwrap();
    let stale =
        Change::default().session(SessionWrite::update(&created, &disabled).unwrap()).event(event(&disabled, 2, "e3"));
    let lost = store.commit(stale).await;
    assert!(matches!(lost, Err(StoreError::Conflict(_))), "{b}: {lost:?}");

    let loaded = load(store, "h1").await;
    assert_eq!((loaded.record.clone(), loaded.revision), (opened, 2), "{b}");
    let events = store.session_events("h1").await.unwrap();
    let seen: Vec<(u64, &str)> = events.iter().map(|e| (e.event.seq, e.event.status)).collect();
    assert_eq!(seen, [(1, "WAITING"), (2, "IN_PROGRESS")], "{b}");
    assert!(events[0].position < events[1].position, "{b}");
    assert!(store.event("e3").await.unwrap().is_none(), "{b}: the stale event was not appended");
}

/// A write that changes no status still moves the revision, so a stale writer cannot undo it.
async fn writes_without_a_status_change_are_guarded_too(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    let before = load(store, "h1").await;
    let rotated = HppSession { distribution_token: "new".into(), ..before.record.clone() };
    store.commit(Change::default().session(SessionWrite::update(&before, &rotated).unwrap())).await.unwrap();
    // The same status and version as `before`, but not the same revision.
    let (disabled, _) = before.apply(HppAction::Disable, T0).unwrap();
    let stale = Change::default().session(SessionWrite::update(&before, &disabled).unwrap());
    assert!(matches!(store.commit(stale).await, Err(StoreError::Conflict(_))), "{b}");
    // `unchanged` asserts a row another decision depends on, and fails once it moved.
    let moved = store.commit(Change::default().session(SessionWrite::unchanged(&before).unwrap())).await;
    assert!(matches!(moved, Err(StoreError::Conflict(_))), "{b}: {moved:?}");
    let current = load(store, "h1").await;
    assert_eq!(current.revision, 2, "{b}");
    store.commit(Change::default().session(SessionWrite::unchanged(&current).unwrap())).await.unwrap();
    assert_eq!(load(store, "h1").await, current, "{b}: an assertion writes nothing new");
}

async fn a_change_is_all_or_nothing(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    let first = hpp("h1");
    store
        .commit(Change::default().session(SessionWrite::insert(&first).unwrap()).event(event(&first, 1, "e1")))
        .await
        .unwrap();
    // The second session's insert is fine, but the duplicate event id fails the change.
    let second = hpp("h2");
    let change = Change::default().session(SessionWrite::insert(&second).unwrap()).event(event(&second, 1, "e1"));
    assert!(matches!(store.commit(change).await, Err(StoreError::Conflict(_))), "{b}");
    assert!(store.load::<HppSession>("h2").await.unwrap().is_none(), "{b}");
    assert!(store.session_events("h2").await.unwrap().is_empty(), "{b}");
    // An event must carry its session's new version: neither a repeated nor a skipped number.
    let first = load(store, "h1").await;
    let (opened, _) = first.apply(HppAction::Open, T0).unwrap();
    for (seq, id) in [(1, "e8"), (3, "e9")] {
        let change =
            Change::default().session(SessionWrite::update(&first, &opened).unwrap()).event(event(&opened, seq, id));
        assert!(matches!(store.commit(change).await, Err(StoreError::Conflict(_))), "{b}: seq {seq}");
        assert_eq!(load(store, "h1").await, first, "{b}: rolled back");
    }
}

/// Changes committed together (group commit) still succeed or fail one by one.
async fn concurrent_changes_fail_alone(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    for id in ["h1", "h2"] {
        insert(store, &hpp(id)).await;
    }
    let (one, two) = (load(store, "h1").await, load(store, "h2").await);
    let (opened, _) = one.apply(HppAction::Open, T0).unwrap();
    let (disabled, _) = two.apply(HppAction::Disable, T0).unwrap();
    // A stale write of h1 (same revision as `one`), racing with the good ones.
    let (stale, _) = one.apply(HppAction::Disable, T0).unwrap();
    let good_one =
        Change::default().session(SessionWrite::update(&one, &opened).unwrap()).event(event(&opened, 2, "a"));
    let good_two =
        Change::default().session(SessionWrite::update(&two, &disabled).unwrap()).event(event(&disabled, 2, "b"));
    let bad = Change::default().session(SessionWrite::update(&one, &stale).unwrap()).event(event(&stale, 2, "c"));
    let (r1, r2, r3) = tokio::join!(store.commit(good_one), store.commit(good_two), store.commit(bad));
    assert!(r2.is_ok(), "{b}: {r2:?}");
    // Exactly one of the two writers of h1 wins.
    assert!(r1.is_ok() != r3.is_ok(), "{b}: {r1:?} {r3:?}");
    assert_eq!(load(store, "h2").await.status(), HppStatus::Disabled, "{b}");
    assert_eq!(store.session_events("h1").await.unwrap().len(), 2, "{b}");
}

/// What one handle committed, another handle of the same database reads (another node, or the
/// same node after a restart).
async fn another_handle_sees_every_commit(b: &Backend) {
    merchant(b.store(), "m1").await;
    insert(b.store(), &hpp("h1")).await;
    let other = b.another_handle().await;
    assert_eq!(load(&other, "h1").await.record, hpp("h1"), "{b}");
    assert_eq!(other.session_events("h1").await.unwrap().len(), 1, "{b}");
}

/// SQLite: a database closed and opened again keeps every acknowledged commit.
#[tokio::test]
async fn sqlite_a_reopened_database_keeps_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    {
        let store = SqlStore::open(&url, Durability::Full).await.unwrap();
        merchant(&store, "m1").await;
        insert(&store, &hpp("h1")).await;
    }
    let store = SqlStore::open(&url, Durability::Full).await.unwrap();
    assert_eq!(load(&store, "h1").await.record, hpp("h1"));
    assert_eq!(store.session_events("h1").await.unwrap().len(), 1);
}
