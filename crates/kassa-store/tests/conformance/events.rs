//! The event log as read: one event, one session's events (all, or after a sequence number),
//! and a merchant's feed paged by position, by session, and with the `undelivered` filter.

use crate::support::{Backend, T0, W0, hpp, hpp_of, insert, merchant, step, window};
use kassa_core::retry::RetryPolicy::Klarna;
use kassa_store::{Attempt, DeliveryNext, EventFilter, SessionKind, Store, StoredEvent};

backend_tests!(events_are_found_by_id_and_by_session, the_feed_pages_by_position_session_and_delivery);

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
            filter.after = last.position;
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
