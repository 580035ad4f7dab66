//! What an operator's metrics read of the store: the backlog of callbacks by policy (pending,
//! due, how long the longest-waiting due one has waited, on its merchant's clock) and of due jobs, the pools, and a word from the group
//! commit for every batch.

use crate::support::{Backend, T0, W0, hpp, insert, merchant, step, window};
use kassa_core::retry::RetryPolicy::{Extended, Klarna};
use kassa_store::{
    Backlog, Change, CommitObserver, CommittedBatch, DeliveryNext, Job, JobKind, JobWrite, Message, PolicyBacklog,
    SessionKind,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

backend_tests!(
    the_backlog_counts_pending_and_due_callbacks_by_policy_and_due_jobs,
    the_pools_and_every_commit_batch_are_reported,
);

const A: &str = "https://a.example/cb";

async fn the_backlog_counts_pending_and_due_callbacks_by_policy_and_due_jobs(b: &Backend) {
    let store = b.store();
    assert_eq!(store.backlog(T0).await.unwrap(), Backlog::default(), "{b}: nothing waits in an empty store");
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    insert(store, &hpp("h2")).await;
    // h1: a Klarna callback due at T0 + 1; h2: two extended ones due at T0 + 5 and T0 + 9.
    step(store, "h1", T0.plus_millis(1), &[(A, Klarna)]).await;
    step(store, "h2", T0.plus_millis(5), &[(A, Extended)]).await;
    step(store, "h2", T0.plus_millis(9), &[(A, Extended)]).await;
    let job = |id: &str, due: i64| {
        JobWrite::Schedule(Job {
            id: id.into(),
            session_kind: SessionKind::Hpp,
            session_id: "h1".into(),
            action: JobKind::ExpireOrder,
            due_at: T0.plus_millis(due),
            attempts: 0,
            created_at: T0,
            caused_by: None,
        })
    };
    store.commit(Change::default().job(job("j1", 3)).job(job("j2", 100))).await.unwrap();
    let message = Message {
        id: "msg1".into(),
        merchant_id: "m1".into(),
        session_id: "h1".into(),
        method: "email".into(),
        recipient: "customer@example.com".into(),
        country: None,
        subject: None,
        body: "pay".into(),
        created_at: T0.plus_millis(4),
        caused_by: None,
    };
    store.commit(Change::default().message(message)).await.unwrap();

    let at = T0.plus_millis(6);
    let backlog = store.backlog(at).await.unwrap();
    assert_eq!(
        backlog.deliveries,
        [
            PolicyBacklog { policy: Extended, pending: 2, due: 1, longest_wait: Some(ms(1)) },
            PolicyBacklog { policy: Klarna, pending: 1, due: 1, longest_wait: Some(ms(5)) },
        ],
        "{b}"
    );
    assert_eq!((backlog.jobs_due, backlog.longest_job_wait, backlog.jobs_set_aside), (1, Some(ms(3)), 0), "{b}");
    assert_eq!((backlog.messages_pending, backlog.longest_message_wait), (1, Some(ms(2))), "{b}");

    // Delivered callbacks leave the backlog; what is not due yet has no age.
    let claimed = store.claim_deliveries(window(at, W0, W0.plus_millis(100), 10)).await.unwrap();
    let klarna = claimed.iter().find(|c| c.delivery.policy == Klarna).unwrap();
    let attempt = kassa_store::Attempt {
        attempt: 1,
        started_at: at,
        duration_ms: 3,
        status_code: Some(204),
        error: None,
        response_excerpt: None,
        probe: false,
    };
    assert!(store.finish_attempt(klarna.finished(attempt, DeliveryNext::Delivered, at)).await.unwrap(), "{b}");
    let backlog = store.backlog(T0.plus_millis(2)).await.unwrap();
    assert_eq!(
        backlog.deliveries,
        [PolicyBacklog { policy: Extended, pending: 2, due: 0, longest_wait: None }],
        "{b}: at T0 + 2 neither extended callback is due"
    );
    assert_eq!((backlog.jobs_due, backlog.longest_job_wait), (0, None), "{b}");
    assert_eq!((backlog.messages_pending, backlog.longest_message_wait), (1, None), "{b}: pending, not due yet");

    // The merchant's sandbox clock 95 ms ahead: due, and waiting, on its clock (as the claims
    // reckon it), though not on the service clock.
    store.advance_sandbox_clock("m1", 95, W0).await.unwrap();
    let backlog = store.backlog(T0.plus_millis(2)).await.unwrap();
    assert_eq!(
        backlog.deliveries,
        [PolicyBacklog { policy: Extended, pending: 2, due: 2, longest_wait: Some(ms(92)) }],
        "{b}: T0 + 97 on m1's clock"
    );
    assert_eq!((backlog.jobs_due, backlog.longest_job_wait), (1, Some(ms(97 - 3))), "{b}: j1 only, j2 at T0 + 100");
    assert_eq!(backlog.longest_message_wait, Some(ms(97 - 4)), "{b}");
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[derive(Default)]
struct Batches(Mutex<Vec<CommittedBatch>>);

impl CommitObserver for Batches {
    fn batch(&self, batch: CommittedBatch) {
        self.0.lock().unwrap().push(batch);
    }
}

async fn the_pools_and_every_commit_batch_are_reported(b: &Backend) {
    let store = b.store();
    let pools = store.pools();
    assert!(!pools.is_empty(), "{b}");
    for pool in &pools {
        assert!(pool.idle <= pool.open && pool.open <= pool.max && pool.max >= 1, "{b}: {pool:?}");
    }
    let batches = Arc::new(Batches::default());
    store.observe_commits(batches.clone());
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    insert(store, &hpp("h2")).await;
    let seen = batches.0.lock().unwrap().clone();
    // The merchant is written apart from the group commit; the two sessions went through it.
    assert_eq!(seen.iter().map(|batch| batch.size).sum::<usize>(), 2, "{b}: {seen:?}");
    assert!(seen.iter().all(|batch| batch.committed), "{b}: {seen:?}");
}
