//! `commit`: guarded session writes, all-or-nothing changes, gap-free events, and group commit
//! that still fails changes one by one.

use crate::support::{Backend, T0, event, hpp, insert, load, merchant};
use kassa_core::hpp::{HppAction, HppSession, HppStatus};
use kassa_core::retry::RetryPolicy;
use kassa_store::sql::{Durability, SqlStore};
use kassa_store::{Change, Destination, NewDelivery, SessionWrite, Store, StoreError, StoreExt};

backend_tests!(
    a_guarded_update_wins_once_and_a_stale_one_rolls_everything_back,
    writes_without_a_status_change_are_guarded_too,
    a_change_is_all_or_nothing,
    concurrent_changes_fail_alone,
    a_batch_of_plain_changes_keeps_every_guard,
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

/// Many status changes committed at once (the group commit writes them set-based): every good
/// one is written whole with its event and callback, every stale one writes nothing, and a new
/// session whose id is taken fails alone (the batch then writes one by one).
async fn a_batch_of_plain_changes_keeps_every_guard(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    let ids: Vec<String> = (0..60).map(|i| format!("h{i}")).collect();
    for id in &ids {
        insert(store, &hpp(id)).await;
    }
    let mut read = Vec::new();
    for id in &ids {
        read.push(load(store, id).await);
    }
    // h40 … h59 move first, so their changes below are stale.
    for stale in &read[40..] {
        let (opened, _) = stale.apply(HppAction::Open, T0).unwrap();
        let change = Change::default().session(SessionWrite::update(stale, &opened).unwrap()).event(event(
            &opened,
            2,
            &format!("{}-first", stale.id),
        ));
        store.commit(change).await.unwrap();
    }
    let open = |before: &kassa_store::Stored<HppSession>| {
        let (opened, _) = before.apply(HppAction::Open, T0.plus_millis(1)).unwrap();
        let new = event(&opened, 2, &format!("{}-2", before.id));
        let delivery = NewDelivery::of(
            &new,
            format!("{}-d", before.id),
            Destination::plain("https://a.example/cb"),
            RetryPolicy::Klarna,
            T0,
        );
        Change::default().session(SessionWrite::update(before, &opened).unwrap()).event(new).delivery(delivery)
    };
    let fresh =
        Change::default().session(SessionWrite::insert(&hpp("new")).unwrap()).event(event(&hpp("new"), 1, "new-1"));
    let commits = read.iter().map(open).chain([fresh]).map(|change| store.commit(change));
    let results = futures::future::join_all(commits).await;
    for (i, result) in results[..40].iter().enumerate() {
        assert!(result.is_ok(), "{b}: h{i}: {result:?}");
        assert_eq!(load(store, &ids[i]).await.status(), HppStatus::InProgress, "{b}");
        assert_eq!(store.session_events(&ids[i]).await.unwrap().len(), 2, "{b}");
        assert_eq!(store.session_deliveries(&ids[i]).await.unwrap().len(), 1, "{b}");
    }
    for (i, result) in results[40..60].iter().enumerate() {
        assert!(matches!(result, Err(StoreError::Conflict(_))), "{b}: h{}: {result:?}", i + 40);
        let events = store.session_events(&ids[i + 40]).await.unwrap();
        let seen: Vec<&str> = events.iter().map(|e| e.event.event_id.as_str()).collect();
        assert_eq!(seen, [format!("h{}-1", i + 40), format!("h{}-first", i + 40)], "{b}");
        assert!(store.session_deliveries(&ids[i + 40]).await.unwrap().is_empty(), "{b}");
    }
    assert!(results[60].is_ok(), "{b}: {:?}", results[60]);
    assert_eq!(load(store, "new").await.status(), HppStatus::Waiting, "{b}");

    // A new session whose id is taken, among good changes: it fails alone.
    let taken =
        Change::default().session(SessionWrite::insert(&hpp("h0")).unwrap()).event(event(&hpp("h0"), 1, "h0-again"));
    let mut backs = Vec::new();
    for id in &ids[1..20] {
        let before = load(store, id).await;
        let (back, _) = before.apply(HppAction::Back, T0.plus_millis(2)).unwrap();
        backs.push(Change::default().session(SessionWrite::update(&before, &back).unwrap()).event(event(
            &back,
            3,
            &format!("{id}-3"),
        )));
    }
    let results = futures::future::join_all([taken].into_iter().chain(backs).map(|change| store.commit(change))).await;
    assert!(matches!(results[0], Err(StoreError::Conflict(_))), "{b}: {:?}", results[0]);
    assert!(results[1..].iter().all(Result::is_ok), "{b}: {results:?}");
    assert_eq!(store.session_events("h19").await.unwrap().len(), 3, "{b}");
    assert_eq!(load(store, "h0").await.status(), HppStatus::InProgress, "{b}");
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
