//! The outbox: deliveries claimed under a wall-clock lease when due on the service clock, one
//! event after the other per session and target; leases renewed, lost and taken over (the stale
//! holder's outcome is refused), claims given back; and the ledger of every attempt.

use crate::support::{Backend, SECRET, T0, W0, hpp, insert, merchant, step, window};
use kassa_core::Timestamp;
use kassa_core::retry::RetryPolicy::{Extended, Klarna};
use kassa_store::{
    Attempt, Change, ClaimedDelivery, DeliveryNext, DeliveryRecord, DeliveryStatus, Job, JobKind, JobWrite,
    NewDelivery, SessionKind, Store,
};

backend_tests!(
    deliveries_are_claimed_when_due_one_event_after_the_other,
    a_lost_lease_is_taken_over_and_the_stale_holder_is_refused,
    a_released_claim_is_due_again,
    the_ledger_lists_every_delivery_with_its_attempts,
    attempts_finished_together_are_recorded_each_by_its_outcome,
    a_change_with_more_callbacks_than_one_statement_binds_is_written_whole,
);

const A: &str = "https://a.example/cb";
const B: &str = "https://b.example/cb";

fn attempt(status_code: Option<u16>, error: Option<&str>) -> Attempt {
    Attempt {
        attempt: 1,
        started_at: T0.plus_millis(10),
        duration_ms: 12,
        status_code,
        error: error.map(str::to_owned),
        response_excerpt: status_code.map(|s| format!("answered {s}")),
        probe: false,
    }
}

fn ids(claimed: &[ClaimedDelivery]) -> Vec<&str> {
    claimed.iter().map(|c| c.delivery.id.as_str()).collect()
}

async fn claim(store: &dyn Store, due_at: Timestamp, wall_now: Timestamp) -> Vec<ClaimedDelivery> {
    store.claim_deliveries(window(due_at, wall_now, W0.plus_millis(100), 10)).await.unwrap()
}

async fn finish(store: &dyn Store, d: &ClaimedDelivery, attempt: &Attempt, next: DeliveryNext) -> bool {
    store.finish_attempt(d.finished(attempt.clone(), next, T0.plus_millis(20))).await.unwrap()
}

/// One session `h1` with one delivery of its event 2 (`h1-2-0`, to A, due at T0 + 1).
async fn one_delivery(store: &dyn Store) {
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    step(store, "h1", T0.plus_millis(1), &[(A, Klarna)]).await;
}

async fn deliveries_are_claimed_when_due_one_event_after_the_other(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    insert(store, &hpp("h2")).await;
    let opened = step(store, "h1", T0.plus_millis(1), &[(A, Klarna)]).await;
    step(store, "h1", T0.plus_millis(2), &[(A, Klarna), (B, Extended)]).await;
    step(store, "h2", T0.plus_millis(3), &[(A, Klarna)]).await;
    step(store, "h2", T0.plus_millis(4), &[(A, Klarna)]).await;

    assert!(claim(store, T0, W0).await.is_empty(), "{b}: nothing is due yet");
    // Event 3 of h1 waits for event 2 at A (not at B); event 3 of h2 waits for event 2.
    let claimed = claim(store, T0.plus_millis(10), W0).await;
    assert_eq!(ids(&claimed), ["h1-2-0", "h1-3-1", "h2-2-0"], "{b}: due order, n + 1 waits for n");
    let token = claimed[0].lease_token.clone();
    assert!(!token.is_empty() && claimed.iter().all(|c| c.lease_token == token), "{b}: one claim, one token");
    let expected = ClaimedDelivery {
        delivery: NewDelivery {
            id: "h1-2-0".into(),
            event_id: "h1-2".into(),
            merchant_id: "m1".into(),
            session_kind: SessionKind::Hpp,
            session_id: "h1".into(),
            seq: 2,
            target: A.into(),
            url: A.into(),
            policy: Klarna,
            created_at: T0.plus_millis(1),
        },
        attempts: 0,
        body: opened.body.clone(),
        webhook_secrets: vec![SECRET.into()],
        lease_token: token.clone(),
        sandbox: None,
        clock_ahead_millis: 0,
        caused_by: None,
    };
    assert_eq!(claimed[0], expected, "{b}: all that sending needs");
    let second = &claimed[1].delivery;
    assert_eq!((second.seq, second.url.as_str(), second.policy), (3, B, Extended), "{b}");
    assert!(claim(store, T0.plus_millis(10), W0.plus_millis(50)).await.is_empty(), "{b}: all leased or waiting");

    // Delivered: the next event of the session at that target is due.
    assert!(finish(store, &claimed[0], &attempt(Some(200), None), DeliveryNext::Delivered).await, "{b}");
    assert_eq!(ids(&claim(store, T0.plus_millis(10), W0.plus_millis(1)).await), ["h1-3-0"], "{b}");

    // To be retried: still pending, so the next event keeps waiting; due again at its time.
    let retry_at = T0.plus_millis(1000);
    let failed = attempt(Some(500), Some("HTTP 500"));
    assert!(finish(store, &claimed[2], &failed, DeliveryNext::RetryAt(retry_at)).await, "{b}");
    assert!(claim(store, T0.plus_millis(10), W0.plus_millis(2)).await.is_empty(), "{b}: h2 waits for the retry");
    let retried = claim(store, retry_at, W0.plus_millis(2)).await;
    assert_eq!(ids(&retried), ["h2-2-0"], "{b}");
    assert_eq!(retried[0].attempts, 1, "{b}: the attempt was counted");

    // Given up: no longer pending, so it holds nothing back.
    assert!(finish(store, &retried[0], &attempt(Some(410), Some("HTTP 410")), DeliveryNext::Failed).await, "{b}");
    assert_eq!(ids(&claim(store, retry_at, W0.plus_millis(3)).await), ["h2-3-0"], "{b}");
}

async fn a_lost_lease_is_taken_over_and_the_stale_holder_is_refused(b: &Backend) {
    let store = b.store();
    one_delivery(store).await;
    let due = T0.plus_millis(10);
    let lease = |from: i64, until: i64| window(due, W0.plus_millis(from), W0.plus_millis(until), 10);

    let first = store.claim_deliveries(lease(0, 100)).await.unwrap();
    assert_eq!(ids(&first), ["h1-2-0"], "{b}");
    let stale = &first[0].lease_token;
    assert_eq!(store.renew_leases(&[stale.to_owned()], W0.plus_millis(200)).await.unwrap(), 1, "{b}: held, so renewed");
    assert_eq!(
        store.renew_leases(&["not-the-token".to_owned()], W0.plus_millis(900)).await.unwrap(),
        0,
        "{b}: not its holder"
    );
    assert!(store.claim_deliveries(lease(150, 250)).await.unwrap().is_empty(), "{b}: the renewed lease holds");

    // The lease runs out: another claimer takes the delivery over.
    let second = store.claim_deliveries(lease(201, 300)).await.unwrap();
    assert_eq!(ids(&second), ["h1-2-0"], "{b}");
    let current = &second[0].lease_token;
    assert_ne!(current, stale, "{b}");
    assert_eq!(
        store.renew_leases(&[stale.to_owned()], W0.plus_millis(400)).await.unwrap(),
        0,
        "{b}: the lost lease is not renewed"
    );

    // The stale holder's attempt is recorded, its outcome is not.
    let sent = attempt(Some(200), None);
    assert!(
        !store.finish_attempt(first[0].finished(sent.clone(), DeliveryNext::Delivered, due)).await.unwrap(),
        "{b}: refused"
    );
    let ledger = store.session_deliveries("h1").await.unwrap();
    assert_eq!((ledger[0].status, ledger[0].attempts.len()), (DeliveryStatus::Pending, 1), "{b}");
    assert_eq!(ledger[0].next_attempt_at, Some(T0.plus_millis(1)), "{b}: still due as before");
    assert!(store.claim_deliveries(lease(250, 350)).await.unwrap().is_empty(), "{b}: the new holder keeps it");

    assert!(store.finish_attempt(second[0].finished(sent.clone(), DeliveryNext::Delivered, due)).await.unwrap(), "{b}");
    assert!(!store.finish_attempt(second[0].finished(sent, DeliveryNext::Delivered, due)).await.unwrap(), "{b}: once");
    assert_eq!(
        store.renew_leases(&[current.to_owned()], W0.plus_millis(900)).await.unwrap(),
        0,
        "{b}: delivered, nothing to hold"
    );
    let ledger = store.session_deliveries("h1").await.unwrap();
    assert_eq!((ledger[0].status, ledger[0].next_attempt_at), (DeliveryStatus::Delivered, None), "{b}");
    assert_eq!(ledger[0].attempts.len(), 3, "{b}: every attempt recorded, refused or not");
    assert!(store.claim_deliveries(lease(10_000, 10_100)).await.unwrap().is_empty(), "{b}");
}

async fn a_released_claim_is_due_again(b: &Backend) {
    let store = b.store();
    one_delivery(store).await;
    let job = Job {
        id: "j".into(),
        session_kind: SessionKind::Hpp,
        session_id: "h1".into(),
        action: JobKind::AutoCancel,
        due_at: T0,
        attempts: 0,
        created_at: T0,
        caused_by: None,
    };
    store.commit(Change::default().job(JobWrite::Schedule(job))).await.unwrap();
    let due = T0.plus_millis(10);

    let first = claim(store, due, W0).await;
    store.release_claim("h1-2-0", "not-the-token").await.unwrap();
    assert!(claim(store, due, W0.plus_millis(1)).await.is_empty(), "{b}: only the holder gives a claim back");
    store.release_claim("h1-2-0", &first[0].lease_token).await.unwrap();
    let again = claim(store, due, W0.plus_millis(1)).await;
    assert_eq!((ids(&again), again[0].attempts), (vec!["h1-2-0"], 0), "{b}: due at once, no attempt counted");
    assert_ne!(again[0].lease_token, first[0].lease_token, "{b}");

    // At start-up a SQLite process gives back every claim (no other process can hold one); on
    // PostgreSQL other nodes hold claims until their leases end.
    let jobs = store.claim_jobs(window(due, W0, W0.plus_millis(100), 10)).await.unwrap();
    assert_eq!(jobs.len(), 1, "{b}");
    b.store.release_all_claims().await.unwrap();
    let freed = usize::from(!b.is_postgres());
    assert_eq!(claim(store, due, W0.plus_millis(2)).await.len(), freed, "{b}");
    assert_eq!(
        store.claim_jobs(window(due, W0.plus_millis(2), W0.plus_millis(100), 10)).await.unwrap().len(),
        freed,
        "{b}"
    );
}

async fn the_ledger_lists_every_delivery_with_its_attempts(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    insert(store, &hpp("h2")).await;
    step(store, "h1", T0.plus_millis(1), &[(A, Klarna), (B, Extended)]).await;
    step(store, "h1", T0.plus_millis(2), &[(A, Klarna)]).await;
    step(store, "h2", T0.plus_millis(3), &[(A, Klarna)]).await;
    let claimed = claim(store, T0.plus_millis(10), W0).await;
    assert_eq!(ids(&claimed), ["h1-2-0", "h1-2-1", "h2-2-0"], "{b}");
    let timed_out = Attempt { duration_ms: 3000, ..attempt(None, Some("timed out")) };
    let gone = attempt(Some(410), Some("HTTP 410"));
    assert!(finish(store, &claimed[0], &timed_out, DeliveryNext::RetryAt(T0.plus_millis(500))).await, "{b}");
    assert!(finish(store, &claimed[1], &gone, DeliveryNext::Failed).await, "{b}");

    let record =
        |id: &str, seq: u64, url: &str, status, next: Option<i64>, at: i64, attempts: Vec<Attempt>| DeliveryRecord {
            id: id.into(),
            event_id: format!("h1-{seq}"),
            seq,
            target: url.into(),
            url: url.into(),
            policy: if url == B { Extended } else { Klarna },
            status,
            next_attempt_at: next.map(|n| T0.plus_millis(n)),
            created_at: T0.plus_millis(at),
            attempts,
        };
    let expected = [
        record("h1-2-0", 2, A, DeliveryStatus::Pending, Some(500), 1, vec![timed_out]),
        record("h1-2-1", 2, B, DeliveryStatus::Failed, None, 1, vec![gone]),
        record("h1-3-0", 3, A, DeliveryStatus::Pending, Some(2), 2, vec![]),
    ];
    assert_eq!(store.session_deliveries("h1").await.unwrap(), expected, "{b}: oldest first, each with its attempts");
    assert_eq!(store.event_deliveries("h1-2").await.unwrap(), expected[..2], "{b}: the targets of one event");
    assert_eq!(store.event_deliveries("h1-3").await.unwrap(), expected[2..], "{b}");
    assert!(store.event_deliveries("h1-1").await.unwrap().is_empty(), "{b}: creation calls nobody");
    assert!(store.session_deliveries("h9").await.unwrap().is_empty(), "{b}");
}

/// Attempts that finish at once are recorded in one batch: each delivery gets its own outcome,
/// a failed probe only ends its claim, and an attempt whose claim was lost is recorded but
/// changes nothing.
async fn attempts_finished_together_are_recorded_each_by_its_outcome(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    for i in 0..8 {
        let id = format!("h{i}");
        insert(store, &hpp(&id)).await;
        step(store, &id, T0.plus_millis(1), &[(A, Klarna)]).await;
    }
    let claimed = claim(store, T0.plus_millis(10), W0).await;
    assert_eq!(claimed.len(), 8, "{b}");
    let retry = DeliveryNext::RetryAt(T0.plus_millis(500));
    let outcomes = [
        DeliveryNext::Delivered,
        retry,
        DeliveryNext::Failed,
        DeliveryNext::Unchanged,
        DeliveryNext::Delivered,
        retry,
        DeliveryNext::Unchanged,
        DeliveryNext::Delivered,
    ];
    let finishes = claimed.iter().zip(outcomes).enumerate().map(|(i, (d, next))| {
        let mut finished = d.finished(attempt(Some(500), None), next, T0.plus_millis(20));
        finished.attempt.probe = next == DeliveryNext::Unchanged;
        if i == 7 {
            finished.lease_token = "lost".into();
        }
        store.finish_attempt(finished)
    });
    let held = futures::future::join_all(finishes).await;
    let held: Vec<bool> = held.into_iter().map(Result::unwrap).collect();
    assert_eq!(held, [true, true, true, true, true, true, true, false], "{b}");
    for (i, next) in outcomes.iter().enumerate() {
        let [record] = store.session_deliveries(&format!("h{i}")).await.unwrap().try_into().unwrap();
        let (status, attempts) = match next {
            _ if i == 7 => (DeliveryStatus::Pending, 1),
            DeliveryNext::Delivered => (DeliveryStatus::Delivered, 1),
            DeliveryNext::RetryAt(_) => (DeliveryStatus::Pending, 1),
            DeliveryNext::Failed => (DeliveryStatus::Failed, 1),
            DeliveryNext::Unchanged => (DeliveryStatus::Pending, 1),
        };
        assert_eq!((record.status, record.attempts.len()), (status, attempts), "{b}: h{i}");
        assert_eq!(record.attempts[0].probe, *next == DeliveryNext::Unchanged, "{b}: h{i}");
        if matches!(next, DeliveryNext::RetryAt(_)) {
            assert_eq!(record.next_attempt_at, Some(T0.plus_millis(500)), "{b}: h{i}");
        }
    }
    // The probes and the retries are claimable again (not before their time); the lost claim
    // still holds its lease.
    let again = claim(store, T0.plus_millis(30), W0.plus_millis(1)).await;
    assert_eq!(ids(&again), ["h3-2-0", "h6-2-0"], "{b}");
}

/// 2,400 callbacks of one change are 31,200 bound values, more than one statement takes
/// (SQLite: 32,766 in all, kassa keeps below 30,000): the insert is split, and every row lands.
async fn a_change_with_more_callbacks_than_one_statement_binds_is_written_whole(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    let targets: Vec<String> = (0..2400).map(|i| format!("https://t{i}.example/cb")).collect();
    let targets: Vec<(&str, _)> = targets.iter().map(|t| (t.as_str(), Klarna)).collect();
    step(store, "h1", T0.plus_millis(1), &targets).await;
    assert_eq!(store.session_deliveries("h1").await.unwrap().len(), 2400, "{b}");
}
