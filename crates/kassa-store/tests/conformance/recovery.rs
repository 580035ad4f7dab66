//! A failing target's way back, and claims kept alive while their attempts run: a probe takes
//! the first waiting delivery to a target ahead of its schedule (its session's order still
//! holds) and, when it fails, costs the delivery nothing; a target that answers makes everything
//! waiting for it due at once; the leases a worker holds are renewed together.

use crate::support::{Backend, T0, W0, hpp, insert, merchant, step, window};
use kassa_core::Timestamp;
use kassa_core::retry::RetryPolicy::Extended;
use kassa_store::{Attempt, ClaimedDelivery, DeliveryNext, Store};

backend_tests!(
    a_failing_target_is_probed_ahead_of_schedule_and_made_due_when_it_answers,
    the_leases_of_claims_in_flight_are_renewed_together,
);

const A: &str = "https://a.example/cb?token={{authorization_token}}";
const B: &str = "https://b.example/cb";
const LATER: Timestamp = T0.plus_millis(1_000_000);

fn attempt(probe: bool) -> Attempt {
    Attempt {
        attempt: 1,
        started_at: T0.plus_millis(10),
        duration_ms: 5,
        status_code: Some(503),
        error: Some("HTTP 503".into()),
        response_excerpt: None,
        probe,
    }
}

fn ids(claimed: &[ClaimedDelivery]) -> Vec<&str> {
    claimed.iter().map(|c| c.delivery.id.as_str()).collect()
}

async fn claim(store: &dyn Store, due_at: Timestamp, wall_now: Timestamp) -> Vec<ClaimedDelivery> {
    store.claim_deliveries(window(due_at, wall_now, wall_now.plus_millis(100), 10)).await.unwrap()
}

async fn a_failing_target_is_probed_ahead_of_schedule_and_made_due_when_it_answers(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    for id in ["h1", "h2"] {
        insert(store, &hpp(id)).await;
    }
    step(store, "h1", T0.plus_millis(1), &[(A, Extended)]).await;
    step(store, "h1", T0.plus_millis(2), &[(A, Extended)]).await;
    step(store, "h2", T0.plus_millis(3), &[(A, Extended), (B, Extended)]).await;
    let first = claim(store, T0.plus_millis(10), W0).await;
    assert_eq!(ids(&first), ["h1-2-0", "h2-2-0", "h2-2-1"], "{b}: h1's event 3 waits for event 2");
    assert!(store.failing_targets().await.unwrap().is_empty(), "{b}: nothing has failed yet");
    for claimed in &first[..2] {
        let retry = DeliveryNext::RetryAt(LATER);
        assert!(store.finish_attempt(claimed.finished(attempt(false), retry, T0.plus_millis(20))).await.unwrap());
    }
    let other = first[2].finished(attempt(false), DeliveryNext::Delivered, T0.plus_millis(20));
    assert!(store.finish_attempt(other).await.unwrap(), "{b}");
    assert_eq!(store.failing_targets().await.unwrap(), [("m1".to_owned(), A.to_owned())], "{b}");
    assert!(claim(store, T0.plus_millis(30), W0.plus_millis(200)).await.is_empty(), "{b}: retries are later");

    // A probe takes the first waiting delivery (never h1's event 3 before its event 2).
    let probe_window = window(T0.plus_millis(30), W0.plus_millis(200), W0.plus_millis(300), 1);
    let probe = store.claim_probe("m1", A, probe_window).await.unwrap().expect("a delivery to probe with");
    assert_eq!((probe.delivery.id.as_str(), probe.attempts), ("h1-2-0", 1), "{b}");
    assert_eq!(probe.delivery.target, A, "{b}");
    assert!(store.claim_probe("m1", A, probe_window).await.unwrap().is_some_and(|p| p.delivery.id == "h2-2-0"));
    for (merchant_id, target) in [("m2", A), ("m1", B)] {
        assert!(store.claim_probe(merchant_id, target, probe_window).await.unwrap().is_none(), "{b}: {target}");
    }
    // A failed probe is recorded; the delivery keeps its one attempt and its schedule.
    let failed = probe.finished(attempt(true), DeliveryNext::Unchanged, T0.plus_millis(40));
    assert!(store.finish_attempt(failed).await.unwrap(), "{b}");
    let log = store.session_deliveries("h1").await.unwrap();
    assert_eq!(log[0].attempts.iter().map(|a| a.probe).collect::<Vec<_>>(), [false, true], "{b}");
    assert_eq!(log[0].next_attempt_at, Some(LATER), "{b}: the schedule is unchanged");

    // The target answers: every delivery waiting for it is due now, in per-session order.
    assert_eq!(store.make_target_due("m1", A, T0.plus_millis(50)).await.unwrap(), 2, "{b}");
    assert_eq!(store.make_target_due("m1", A, T0.plus_millis(50)).await.unwrap(), 0, "{b}: nothing waits now");
    let due = claim(store, T0.plus_millis(50), W0.plus_millis(10_000)).await;
    assert_eq!(ids(&due), ["h1-2-0", "h2-2-0"], "{b}: h1's event 3 still waits for event 2");
    assert!(due.iter().all(|d| d.attempts == 1), "{b}: the probe counted no attempt");
}

async fn the_leases_of_claims_in_flight_are_renewed_together(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    for id in ["h1", "h2"] {
        insert(store, &hpp(id)).await;
        step(store, id, T0.plus_millis(1), &[(B, Extended)]).await;
    }
    let claimed = store.claim_deliveries(window(T0.plus_millis(10), W0, W0.plus_millis(100), 10)).await.unwrap();
    assert_eq!(claimed.len(), 2, "{b}");
    let token = claimed[0].lease_token.clone();
    assert_eq!(store.renew_leases(std::slice::from_ref(&token), W0.plus_millis(10_000)).await.unwrap(), 2, "{b}");
    assert_eq!(store.renew_leases(&[], W0.plus_millis(10_000)).await.unwrap(), 0, "{b}");
    assert_eq!(store.renew_leases(&["not-a-token".into()], W0.plus_millis(10_000)).await.unwrap(), 0, "{b}");
    assert!(claim(store, T0.plus_millis(10), W0.plus_millis(5_000)).await.is_empty(), "{b}: still held");
    assert_eq!(claim(store, T0.plus_millis(10), W0.plus_millis(10_001)).await.len(), 2, "{b}: lapsed");
}
