//! Durable timers ([`kassa_store::Job`]) that fall due on the service clock. One step
//! ([`run_due`]) claims a batch under a wall-clock lease, does each job's work (a job belongs to
//! an in-store distribution, [`instore::jobs`], or to an order, [`orders::jobs`]) and postpones a
//! job whose run failed, with backoff. The scheduler (`runtime::scheduler`) runs the step in a loop; the sandbox clock
//! runs it after moving, so what fell due has run when it answers.

use crate::app::state::AppState;
use crate::service::{instore, orders};
use kassa_store::{ClaimWindow, ClaimedJob, JobKind};
use std::time::Duration;
use tokio::task::JoinSet;

/// The most jobs one step claims.
pub const BATCH: usize = 64;
/// How long a claim holds a job: far longer than a run takes.
const LEASE: Duration = Duration::from_secs(30);
/// Backoff after a failed run: 1 s, doubling, at most a minute.
const MAX_BACKOFF_SECONDS: i64 = 60;

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
        running.spawn(async move { run_one(&state, job).await });
    }
    while running.join_next().await.is_some() {}
    count
}

async fn run_one(state: &AppState, claimed: ClaimedJob) {
    let job = &claimed.job;
    let done = match job.action {
        JobKind::ExpireOrder => orders::jobs::run(state, job).await,
        JobKind::Distribute | JobKind::AutoCancel => instore::jobs::run(state, job).await,
    };
    let Err(error) = done else { return };
    let backoff = (1i64 << job.attempts.min(6)).min(MAX_BACKOFF_SECONDS);
    tracing::warn!(job = %job.id, action = %job.action, session = %job.session_id, attempts = job.attempts + 1,
        %error, backoff_seconds = backoff, "job failed; it runs again later");
    let due_at = state.now().plus_millis(backoff * 1000);
    if let Err(error) = state.store.postpone_job(&job.id, &claimed.lease_token, due_at).await {
        tracing::warn!(job = %job.id, %error, "postponing a failed job failed; its lease will run out");
    }
}
