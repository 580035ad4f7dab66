//! The event log as read: one event, one session's events (all, or after a sequence number),
//! and a merchant's feed paged in commit order, by session, kind and status, and with the
//! `undelivered` filter; a feed read while changes commit side by side misses nothing.

use crate::support::{Backend, T0, W0, hpp, hpp_of, insert, merchant, step, window};
use kassa_core::retry::RetryPolicy::Klarna;
use kassa_store::{Attempt, DeliveryNext, EventFilter, FeedPosition, SessionKind, Store, StoredEvent};
use std::collections::HashMap;

backend_tests!(
    events_are_found_by_id_and_by_session,
    the_feed_pages_by_position_session_and_delivery,
    the_feed_filters_by_session_kind_and_status,
    an_event_that_commits_behind_a_running_transaction_is_shown_after_it,
    a_feed_read_while_changes_commit_side_by_side_misses_nothing,
);

const A: &str = "https://a.example/cb";
const B: &str = "https://b.example/cb";

fn event_ids(events: &[StoredEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.event_id.as_str()).collect()
}

/// Merchant m1's sessions h1 and h2 and merchant m2's g1. Callbacks: h1-2 delivered, h1-3
/// pending; h2-2 failed at A, pending at B; h2-3 has none (nor has any creation).
async fn feed(store: &dyn Store) {
    merchant(store, "m1").await;
    merchant(store, "m2").await;
    insert(store, &hpp("h1")).await;
    insert(store, &hpp("h2")).await;
    insert(store, &hpp_of("g1", "m2")).await;
    step(store, "h1", T0.plus_millis(1), &[(A, Klarna)]).await;
    step(store, "h2", T0.plus_millis(2), &[(A, Klarna), (B, Klarna)]).await;
    step(store, "h1", T0.plus_millis(3), &[(A, Klarna)]).await;
    step(store, "h2", T0.plus_millis(4), &[]).await;
    let claimed = store.claim_deliveries(window(T0.plus_millis(10), W0, W0.plus_millis(100), 10)).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|c| c.delivery.id.as_str()).collect();
    assert_eq!(ids, ["h1-2-0", "h2-2-0", "h2-2-1"]);
    let attempt = Attempt {
        attempt: 1,
        started_at: T0,
        duration_ms: 1,
        status_code: Some(200),
        error: None,
        response_excerpt: None,
        probe: false,
    };
    let now = T0.plus_millis(20);
    for (claim, next) in [(&claimed[0], DeliveryNext::Delivered), (&claimed[1], DeliveryNext::Failed)] {
        assert!(store.finish_attempt(claim.finished(attempt.clone(), next, now)).await.unwrap());
    }
    store.release_claim(&claimed[2].delivery.id, &claimed[2].lease_token).await.unwrap();
}

async fn events_are_found_by_id_and_by_session(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    let opened = step(store, "h1", T0.plus_millis(1), &[]).await;
    let backed = step(store, "h1", T0.plus_millis(2), &[]).await;

    let found = store.event("h1-2").await.unwrap().unwrap();
    assert_eq!(found.event, opened, "{b}: every field as appended");
    assert!(store.event("nope").await.unwrap().is_none(), "{b}");

    let all = store.session_events("h1").await.unwrap();
    assert_eq!(event_ids(&all), ["h1-1", "h1-2", "h1-3"], "{b}");
    assert_eq!(all[1], found, "{b}");
    assert_eq!(all.iter().map(|e| e.event.status).collect::<Vec<_>>(), ["WAITING", "IN_PROGRESS", "BACK"], "{b}");
    assert!(all.windows(2).all(|w| w[0].position < w[1].position), "{b}: positions increase");

    let after = store.session_events_after(SessionKind::Hpp, "h1", 1).await.unwrap();
    assert_eq!(after.iter().map(|e| &e.event).collect::<Vec<_>>(), [&opened, &backed], "{b}");
    assert!(store.session_events_after(SessionKind::Hpp, "h1", 3).await.unwrap().is_empty(), "{b}");
    for beyond in [i64::MAX as u64, 1 << 63, u64::MAX] {
        assert!(store.session_events_after(SessionKind::Hpp, "h1", beyond).await.unwrap().is_empty(), "{b}: {beyond}");
    }
    assert!(store.session_events_after(SessionKind::Distribution, "h1", 0).await.unwrap().is_empty(), "{b}");
    assert!(store.session_events("h9").await.unwrap().is_empty(), "{b}");
}

async fn the_feed_pages_by_position_session_and_delivery(b: &Backend) {
    let store = b.store();
    feed(store).await;
    // Pages of the whole feed, each after the last position of the one before.
    let pages = |merchant: &'static str, base: EventFilter| async move {
        let (mut filter, mut pages) = (base, Vec::new());
        loop {
            let page = store.merchant_events(merchant, &filter).await.unwrap();
            let Some(last) = page.last() else { break };
            filter.after = last.feed_position();
            pages.push(event_ids(&page).into_iter().map(str::to_owned).collect::<Vec<_>>());
        }
        pages
    };
    let by_two = EventFilter { limit: 2, ..EventFilter::default() };
    let expected = [["h1-1", "h2-1"], ["h1-2", "h2-2"], ["h1-3", "h2-3"]];
    assert_eq!(pages("m1", by_two.clone()).await, expected, "{b}: no gap, no repeat, not another merchant's");
    assert_eq!(pages("m2", by_two.clone()).await, [["g1-1"]], "{b}");

    let h2 = EventFilter { session_id: Some("h2".into()), limit: 10, ..EventFilter::default() };
    assert_eq!(pages("m1", h2.clone()).await, [["h2-1", "h2-2", "h2-3"]], "{b}");

    // Undelivered: a callback target that no delivery has reached (pending or given up).
    let undelivered = EventFilter { undelivered: true, limit: 1, ..EventFilter::default() };
    assert_eq!(pages("m1", undelivered.clone()).await, [["h2-2"], ["h1-3"]], "{b}: paged as well");
    let of_h1 = EventFilter { session_id: Some("h1".into()), ..undelivered };
    assert_eq!(pages("m1", of_h1).await, [["h1-3"]], "{b}");
    assert!(pages("m2", EventFilter { undelivered: true, limit: 10, ..h2 }).await.is_empty(), "{b}");
}

/// Every page of `merchant`'s feed after `filter.after`, as event ids.
async fn whole_feed(store: &dyn Store, merchant: &str, mut filter: EventFilter) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let page = store.merchant_events(merchant, &filter).await.unwrap();
        let Some(last) = page.last() else { return ids };
        filter.after = last.feed_position();
        ids.extend(event_ids(&page).into_iter().map(str::to_owned));
    }
}

async fn the_feed_filters_by_session_kind_and_status(b: &Backend) {
    let store = b.store();
    feed(store).await;
    let by = |session_kind, status: Option<&str>| EventFilter {
        limit: 1,
        session_kind,
        status: status.map(str::to_owned),
        ..EventFilter::default()
    };
    assert_eq!(whole_feed(store, "m1", by(None, Some("BACK"))).await, ["h1-3", "h2-3"], "{b}");
    assert_eq!(whole_feed(store, "m1", by(Some(SessionKind::Hpp), Some("IN_PROGRESS"))).await, ["h1-2", "h2-2"], "{b}");
    assert_eq!(whole_feed(store, "m1", by(Some(SessionKind::Hpp), None)).await.len(), 6, "{b}");
    assert!(whole_feed(store, "m1", by(Some(SessionKind::Payment), None)).await.is_empty(), "{b}");
    assert!(whole_feed(store, "m1", by(None, Some("COMPLETED"))).await.is_empty(), "{b}");
}

/// A transaction that appended an event first but commits last (its position is the lower one):
/// a page read in between must not show the later transaction's event, or the reader's cursor
/// would pass the earlier event before it commits. Only PostgreSQL commits side by side; on
/// SQLite the held transaction would hold its one writer, and
/// `a_feed_read_while_changes_commit_side_by_side_misses_nothing` covers it.
async fn an_event_that_commits_behind_a_running_transaction_is_shown_after_it(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    insert(store, &hpp("h2")).await;
    let all = EventFilter { limit: 10, ..EventFilter::default() };
    assert_eq!(whole_feed(store, "m1", all.clone()).await, ["h1-1", "h2-1"], "{b}");
    if !b.is_postgres() {
        return;
    }
    let raw = b.raw().await;
    let mut held = raw.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events (event_id, merchant_id, session_kind, session_id, seq, status, body, created_at)
         VALUES ('held', 'm1', 'hpp', 'h1', 99, 'WAITING', '{}', 0)",
    )
    .execute(&mut *held)
    .await
    .unwrap();
    step(store, "h2", T0.plus_millis(1), &[]).await;
    let seen = store.merchant_events("m1", &all).await.unwrap();
    let cursor = seen.last().unwrap().feed_position();
    assert_eq!(event_ids(&seen), ["h1-1", "h2-1"], "{b}: h2-2 waits for the transaction running before it");
    held.commit().await.unwrap();
    let after = EventFilter { after: cursor, ..all };
    assert_eq!(whole_feed(store, "m1", after).await, ["held", "h2-2"], "{b}: both, in commit order");
}

/// Changes committed from many tasks at once (on PostgreSQL several batches in flight) while a
/// reader pages the feed: the reader sees every event once, each session's in order.
async fn a_feed_read_while_changes_commit_side_by_side_misses_nothing(b: &Backend) {
    const SESSIONS: usize = 24;
    const STEPS: usize = 8;
    let store = b.store();
    merchant(store, "m1").await;
    let ids: Vec<String> = (0..SESSIONS).map(|n| format!("s{n}")).collect();
    for id in &ids {
        insert(store, &hpp(id)).await;
    }
    let writers = futures::future::join_all(ids.iter().map(|id| async move {
        for n in 0..STEPS {
            step(store, id, T0.plus_millis(n as i64 + 1), &[]).await;
        }
    }));
    let expected = SESSIONS * (STEPS + 1);
    let reader = async {
        let mut filter = EventFilter { limit: 7, ..EventFilter::default() };
        let mut seen: Vec<StoredEvent> = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while seen.len() < expected && std::time::Instant::now() < deadline {
            let page = store.merchant_events("m1", &filter).await.unwrap();
            match page.last() {
                Some(last) => filter.after = last.feed_position(),
                None => tokio::task::yield_now().await,
            }
            seen.extend(page);
        }
        // Whatever is left once the writers are done (the reader may have run ahead of them).
        seen
    };
    let (_, mut seen) = futures::future::join(writers, reader).await;
    let after = seen.last().map_or(FeedPosition::default(), StoredEvent::feed_position);
    let rest = EventFilter { after, limit: 1000, ..EventFilter::default() };
    seen.extend(store.merchant_events("m1", &rest).await.unwrap());
    let mut per_session: HashMap<&str, Vec<u64>> = HashMap::new();
    for event in &seen {
        per_session.entry(event.event.session_id.as_str()).or_default().push(event.event.seq);
    }
    assert_eq!(seen.len(), expected, "{b}: every event once ({} seen)", seen.len());
    let in_order: Vec<u64> = (1..=STEPS as u64 + 1).collect();
    for id in &ids {
        assert_eq!(per_session.get(id.as_str()), Some(&in_order), "{b}: {id}'s events, once each, in order");
    }
}
