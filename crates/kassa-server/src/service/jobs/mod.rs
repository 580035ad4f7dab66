//! Durable timers ([`kassa_store::Job`]) that fall due on the service clock. One step
//! ([`run_due`]) claims a batch under a wall-clock lease, does each job's work (a job belongs to
//! an in-store distribution, [`instore::jobs`], or to an order, [`orders::jobs`]) and postpones a
//! job whose run failed, with backoff ([`backoff_seconds`]), until it has failed
//! `Config::job_attempts` times: then it is set aside with its error (logged once), for an
//! operator to see and retry ([`operator`]); a run that failed because the database was
//! unavailable never sets a job aside. The scheduler (`runtime::scheduler`) runs the step
//! in a loop; the sandbox clock runs it after moving, so what fell due has run when it answers.

pub mod operator;

use crate::app::cause;
use crate::app::metrics::JobResult;
use crate::app::state::AppState;
use crate::service::error::ServiceError;
use crate::service::{instore, orders};
use kassa_store::{ClaimWindow, ClaimedJob, JobFailure, JobKind, JobRetry};
use std::time::Duration;
use tokio::task::JoinSet;
use tracing::Instrument;

/// The most jobs one step claims.
pub const BATCH: usize = 64;
/// How long a claim holds a job: far longer than a run takes.
const LEASE: Duration = Duration::from_secs(30);
/// The longest wait before a failed job runs again.
const MAX_BACKOFF_SECONDS: i64 = 60;

/// How long a job that failed `failures` times waits before its next run: 1 s, doubling, at
/// most a minute.
pub fn backoff_seconds(failures: u32) -> i64 {
    (1i64 << failures.saturating_sub(1).min(6)).min(MAX_BACKOFF_SECONDS)
}

/// Claims one batch of due jobs and runs them to the end; answers how many it claimed. One
/// batch at a time on a node: a call waits for the batch another call is running (so the
/// sandbox clock waits for the jobs a scheduler run already claimed).
pub async fn run_due(state: &AppState) -> usize {
    let _one_batch_at_a_time = state.jobs_gate.lock().await;
    let wall_now = state.wall_now();
    let lease_until = wall_now.plus_millis(LEASE.as_millis() as i64);
    let claimed = match state
        .store
        .claim_jobs(ClaimWindow { due_at: state.now(), wall_now, lease_until, limit: BATCH as u32 })
        .await
    {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::warn!(%error, "claiming due jobs failed");
            return 0;
        }
    };
    let count = claimed.len();
    let mut running = JoinSet::new();
    for job in claimed {
        let state = state.clone();
        let span = tracing::info_span!(
            "job",
            job = %job.job.id,
            action = %job.job.action,
            session = %job.job.session_id,
            caused_by = job.job.caused_by.as_deref().unwrap_or(""),
        );
        // What the run commits is caused by the request that scheduled the job.
        let cause = job.job.caused_by.clone();
        let run = async move { run_one(&state, job).await };
        match cause {
            Some(cause) => running.spawn(cause::within(cause, run).instrument(span)),
            None => running.spawn(run.instrument(span)),
        };
    }
    while running.join_next().await.is_some() {}
    count
}

async fn run_one(state: &AppState, claimed: ClaimedJob) {
    let job = &claimed.job;
    // The job runs at its merchant's time, which its claim read.
    if let Some(merchant_id) = &claimed.merchant_id {
        state.merchant_clocks.observe(merchant_id, claimed.clock_ahead_millis);
    }
    let started = state.now_ahead(claimed.clock_ahead_millis);
    let late = started.since(job.due_at);
    let done = match job.action {
        JobKind::ExpireOrder => orders::jobs::run(state, job).await,
        JobKind::Distribute | JobKind::AutoCancel => instore::jobs::run(state, job).await,
    };
    let result = if done.is_ok() { JobResult::Done } else { JobResult::Failed };
    state.metrics.job(job.action.as_str(), result, late);
    let Err(error) = done else { return };
    let failures = job.attempts + 1;
    let now = state.now_ahead(claimed.clock_ahead_millis);
    // A run that failed because the database is unavailable says nothing about the job: it is
    // retried, but never set aside for it.
    let unavailable = matches!(error, ServiceError::Unavailable(_));
    let next = if failures >= state.config.job_attempts && !unavailable {
        JobRetry::SetAside
    } else {
        JobRetry::At(now.plus_millis(backoff_seconds(failures) * 1000))
    };
    let failure = JobFailure {
        job_id: job.id.clone(),
        lease_token: claimed.lease_token.clone(),
        error: error.to_string(),
        failed_at: now,
        next,
    };
    match (state.store.fail_job(&failure).await, next) {
        (Ok(true), JobRetry::SetAside) => {
            tracing::error!(job = %job.id, action = %job.action, session = %job.session_id, attempts = failures,
                %error, "job failed too often; it is set aside until an operator retries it");
        }
        (Ok(true), JobRetry::At(_)) => {
            tracing::warn!(job = %job.id, action = %job.action, session = %job.session_id, attempts = failures,
                %error, backoff_seconds = backoff_seconds(failures), "job failed; it runs again later");
        }
        (Ok(false), _) => {
            tracing::warn!(job = %job.id, %error, "job failed after its lease was lost; the new holder runs it");
        }
        (Err(store_error), _) => {
            tracing::warn!(job = %job.id, %error, %store_error, "recording a failed job failed; its lease will run out");
        }
    }
}
