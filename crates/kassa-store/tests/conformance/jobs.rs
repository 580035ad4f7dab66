//! Durable timers: scheduled in a change, claimed once while leased, postponed after a failed
//! run, and done once (whoever commits the work second is told).

use crate::support::{Backend, T0, W0, hpp, insert, load, merchant, window};
use kassa_core::Timestamp;
use kassa_core::hpp::{HppAction, HppSession};
use kassa_store::{Change, Job, JobKind, JobWrite, SessionKind, SessionWrite, StoreError};

backend_tests!(jobs_are_claimed_once_while_leased_and_done_once);

fn job(id: &str, action: JobKind, session: &HppSession, due_at: Timestamp) -> Job {
    Job {
        id: id.into(),
        session_kind: SessionKind::Hpp,
        session_id: session.id.clone(),
        action,
        due_at,
        attempts: 0,
        created_at: T0,
    }
}

async fn jobs_are_claimed_once_while_leased_and_done_once(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    let session = hpp("h");
    insert(store, &session).await;
    let due = T0.plus_millis(1000);
    let early = job("early", JobKind::AutoCancel, &session, due);
    let change = Change::default().job(JobWrite::Schedule(early.clone())).job(JobWrite::Schedule(job(
        "late",
        JobKind::Distribute,
        &session,
        due.plus_millis(1000),
    )));
    store.commit(change).await.unwrap();

    // Due on the service clock, leased on the wall clock.
    assert!(store.claim_jobs(window(T0, W0, W0.plus_millis(100), 10)).await.unwrap().is_empty(), "{b}: not due");
    let claimed = store.claim_jobs(window(due, W0, W0.plus_millis(100), 10)).await.unwrap();
    assert_eq!(claimed.iter().map(|c| &c.job).collect::<Vec<_>>(), [&early], "{b}: every field as scheduled");
    let held = store.claim_jobs(window(due, W0.plus_millis(50), W0.plus_millis(150), 10)).await.unwrap();
    assert!(held.is_empty(), "{b}: leased");
    // A lease that ran out is taken over.
    let taken = store.claim_jobs(window(due, W0.plus_millis(101), W0.plus_millis(200), 10)).await.unwrap();
    assert_eq!(taken.len(), 1, "{b}");
    assert_ne!(taken[0].lease_token, claimed[0].lease_token, "{b}");

    // Whoever commits the work first deletes the row; the other's change rolls back whole.
    let before = load(store, "h").await;
    let (disabled, _) = before.apply(HppAction::Disable, T0.plus_millis(5)).unwrap();
    let done = || JobWrite::Done { job_id: "early".into() };
    store.commit(Change::default().job(done())).await.unwrap();
    let late = Change::default().session(SessionWrite::update(&before, &disabled).unwrap()).job(done());
    let second = store.commit(late).await;
    assert!(matches!(second, Err(StoreError::JobDone(ref id)) if id == "early"), "{b}: {second:?}");
    assert_eq!(load(store, "h").await, before, "{b}: rolled back");

    // A failed run goes back with one more attempt, due later; a stale token postpones nothing.
    let late_job = store.claim_jobs(window(due.plus_millis(1000), W0, W0.plus_millis(100), 10)).await.unwrap();
    assert_eq!(late_job.iter().map(|c| c.job.action).collect::<Vec<_>>(), [JobKind::Distribute], "{b}");
    store.postpone_job("late", "not-the-token", due.plus_millis(9000)).await.unwrap();
    store.postpone_job("late", &late_job[0].lease_token, due.plus_millis(5000)).await.unwrap();
    assert!(store.claim_jobs(window(due.plus_millis(4000), W0, W0, 10)).await.unwrap().is_empty(), "{b}");
    let again = store.claim_jobs(window(due.plus_millis(5000), W0, W0, 10)).await.unwrap();
    assert_eq!(again.iter().map(|c| (c.job.id.as_str(), c.job.attempts)).collect::<Vec<_>>(), [("late", 1)], "{b}");
    assert!(again[0].job.due_at == due.plus_millis(5000), "{b}");
}
