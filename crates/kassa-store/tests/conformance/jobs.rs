//! Durable timers: scheduled in a change, claimed once while leased, postponed after a failed
//! run, and done once (whoever commits the work second is told); a job that failed too often is
//! set aside with its error, never claimed, listed for its merchant, and retried by them.

use crate::support::{Backend, T0, W0, hpp, hpp_of, insert, load, merchant, window};
use kassa_core::Timestamp;
use kassa_core::hpp::{HppAction, HppSession};
use kassa_store::{
    Change, ClaimedJob, Job, JobFailure, JobFilter, JobKind, JobRecord, JobRetry, JobStatus, JobWrite, SessionKind,
    SessionWrite, StoreError,
};

backend_tests!(
    jobs_are_claimed_once_while_leased_and_done_once,
    a_job_that_failed_too_often_is_set_aside_until_retried
);

fn job(id: &str, action: JobKind, session: &HppSession, due_at: Timestamp) -> Job {
    Job {
        id: id.into(),
        session_kind: SessionKind::Hpp,
        session_id: session.id.clone(),
        action,
        due_at,
        attempts: 0,
        created_at: T0,
        caused_by: None,
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
    let stale = failure(&late_job[0], JobRetry::At(due.plus_millis(9000)));
    let stale = JobFailure { lease_token: "not-the-token".into(), ..stale };
    assert!(!store.fail_job(&stale).await.unwrap(), "{b}: a stale token postpones nothing");
    assert!(store.fail_job(&failure(&late_job[0], JobRetry::At(due.plus_millis(5000)))).await.unwrap(), "{b}");
    assert!(store.claim_jobs(window(due.plus_millis(4000), W0, W0, 10)).await.unwrap().is_empty(), "{b}");
    let again = store.claim_jobs(window(due.plus_millis(5000), W0, W0, 10)).await.unwrap();
    assert_eq!(again.iter().map(|c| (c.job.id.as_str(), c.job.attempts)).collect::<Vec<_>>(), [("late", 1)], "{b}");
    assert!(again[0].job.due_at == due.plus_millis(5000), "{b}");
}

fn failure(claimed: &ClaimedJob, next: JobRetry) -> JobFailure {
    JobFailure {
        job_id: claimed.job.id.clone(),
        lease_token: claimed.lease_token.clone(),
        error: format!("run {} failed", claimed.job.attempts + 1),
        failed_at: T0.plus_millis(i64::from(claimed.job.attempts)),
        next,
    }
}

fn set_aside_filter() -> JobFilter {
    JobFilter { session_id: None, status: Some(JobStatus::SetAside), limit: 10 }
}

async fn a_job_that_failed_too_often_is_set_aside_until_retried(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    merchant(store, "m2").await;
    let (mine, theirs) = (hpp("h"), hpp_of("o", "m2"));
    insert(store, &mine).await;
    insert(store, &theirs).await;
    let change = Change::default()
        .job(JobWrite::Schedule(job("failing", JobKind::Distribute, &mine, T0)))
        .job(JobWrite::Schedule(job("fine", JobKind::AutoCancel, &mine, T0.plus_hours(3))))
        .job(JobWrite::Schedule(job("theirs", JobKind::AutoCancel, &theirs, T0.plus_hours(3))));
    store.commit(change).await.unwrap();

    // A failed run is counted with its error and due again later.
    let claimed = store.claim_jobs(window(T0, W0, W0.plus_millis(100), 10)).await.unwrap();
    assert_eq!(claimed.iter().map(|c| c.job.id.as_str()).collect::<Vec<_>>(), ["failing"], "{b}");
    assert!(store.fail_job(&failure(&claimed[0], JobRetry::At(T0.plus_millis(1000)))).await.unwrap(), "{b}");
    let listed = store.merchant_job("m1", "failing").await.unwrap().expect("listed");
    let expected = JobRecord {
        job: Job { attempts: 1, due_at: T0.plus_millis(1000), ..job("failing", JobKind::Distribute, &mine, T0) },
        status: JobStatus::Scheduled,
        last_error: Some("run 1 failed".into()),
        failed_at: Some(T0),
    };
    assert_eq!(listed, expected, "{b}: every field as failed");

    // Set aside: kept with its last error, never claimed again, however late.
    let again = store.claim_jobs(window(T0.plus_millis(1000), W0, W0.plus_millis(100), 10)).await.unwrap();
    assert!(store.fail_job(&failure(&again[0], JobRetry::SetAside)).await.unwrap(), "{b}");
    let aside = store.merchant_job("m1", "failing").await.unwrap().expect("kept");
    assert_eq!(
        (aside.status, aside.job.attempts, aside.job.due_at),
        (JobStatus::SetAside, 2, T0.plus_millis(1000)),
        "{b}"
    );
    assert_eq!(aside.last_error.as_deref(), Some("run 2 failed"), "{b}");
    let later = T0.plus_hours(1000);
    let claimed = store.claim_jobs(window(later, W0.plus_hours(1), W0.plus_hours(2), 10)).await.unwrap();
    let claimed: Vec<_> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(claimed, ["fine", "theirs"], "{b}: a set-aside job is never claimed");
    assert!(!store.fail_job(&failure(&again[0], JobRetry::At(later))).await.unwrap(), "{b}: nor failed again");

    // Each merchant lists their own, by status and by session.
    let listed = store.merchant_jobs("m1", &set_aside_filter()).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&aside), "{b}");
    assert!(store.merchant_jobs("m2", &set_aside_filter()).await.unwrap().is_empty(), "{b}: not the other's");
    let all = store.merchant_jobs("m1", &JobFilter { status: None, ..set_aside_filter() }).await.unwrap();
    assert_eq!(all.iter().map(|r| r.job.id.as_str()).collect::<Vec<_>>(), ["failing", "fine"], "{b}");
    let one = JobFilter { status: None, session_id: Some("o".into()), limit: 1 };
    assert_eq!(store.merchant_jobs("m2", &one).await.unwrap().len(), 1, "{b}");
    assert!(store.merchant_jobs("m1", &one).await.unwrap().is_empty(), "{b}");
    assert_eq!(store.merchant_job("m2", "failing").await.unwrap(), None, "{b}: only its merchant sees it");

    // Retried by its merchant only, and only while set aside: due again, no failure counted.
    assert!(store.retry_job("m2", "failing", later).await.unwrap().is_none(), "{b}: not the other merchant");
    assert!(store.retry_job("m1", "fine", later).await.unwrap().is_none(), "{b}: not a scheduled job");
    let answered = store.retry_job("m1", "failing", later).await.unwrap();
    assert!(store.retry_job("m1", "failing", later).await.unwrap().is_none(), "{b}: once");
    let retried = store.merchant_job("m1", "failing").await.unwrap().expect("kept");
    assert_eq!(answered.as_ref(), Some(&retried), "{b}: answered as the retry left it");
    assert_eq!((retried.status, retried.job.attempts, retried.job.due_at), (JobStatus::Scheduled, 0, later), "{b}");
    assert_eq!(retried.last_error.as_deref(), Some("run 2 failed"), "{b}: the last error is kept");
    // (The other two are still leased.)
    let claimed = store.claim_jobs(window(later, W0.plus_minutes(90), W0.plus_hours(4), 10)).await.unwrap();
    assert_eq!(claimed.iter().map(|c| c.job.id.as_str()).collect::<Vec<_>>(), ["failing"], "{b}: claimed again");

    // The schema itself refuses a set-aside job without its error.
    let raw = b.raw().await;
    let refused =
        sqlx::query("UPDATE jobs SET status = 'set_aside', last_error = NULL WHERE id = 'fine'").execute(&raw).await;
    assert!(refused.is_err(), "{b}: {refused:?}");
    let unknown = sqlx::query("UPDATE jobs SET status = 'parked' WHERE id = 'fine'").execute(&raw).await;
    assert!(unknown.is_err(), "{b}: {unknown:?}");
}
