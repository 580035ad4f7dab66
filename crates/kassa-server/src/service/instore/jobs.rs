//! The scheduled work of a distribution: distributing it (right after creation and after a
//! retry) and the 3-hour auto-cancel. Each run commits its effect with [`JobWrite::Done`], so a
//! job that several nodes run takes effect once.

use super::owner;
use crate::app::state::AppState;
use crate::model::ids;
use crate::service::case::{PaymentCase, cancel_distribution, distribute, distribution_command, fail_waiting};
use crate::service::context;
use crate::service::error::ServiceResult;
use crate::service::retry_on_conflict;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionStatus};
use kassa_store::{Change, Job, JobKind, JobWrite, StoreError, StoreExt};

/// Runs of a distribute job that may fail (database trouble) before the distribution is given
/// up as FAILED with `UNKNOWN`, the seed's internal failure.
pub const DISTRIBUTE_ATTEMPTS: u32 = 5;

/// Commits a job's effect with its deletion; a run that finds the job already done (another run
/// committed first) has nothing left to do.
async fn finish(state: &AppState, job: &Job, effect: Change) -> ServiceResult<()> {
    match state.commit(effect.job(JobWrite::Done { job_id: job.id.clone() })).await {
        Err(StoreError::JobDone(_)) => Ok(()),
        other => Ok(other?),
    }
}

/// Does a claimed job's work and commits it together with the job's deletion.
pub async fn run(state: &AppState, job: &Job) -> ServiceResult<()> {
    let action = job.action;
    retry_on_conflict(|| async {
        // Distributing touches the distribution alone; the auto-cancel ends the whole payment.
        let case = match action {
            JobKind::Distribute => None,
            JobKind::AutoCancel => PaymentCase::load(state.store.as_ref(), &job.session_id).await?,
        };
        let found = match &case {
            Some(case) => case.distribution.clone(),
            None => state.store.load::<Distribution>(&job.session_id).await?,
        };
        let Some(before) = found.as_ref() else {
            return finish(state, job, Change::default()).await;
        };
        let merchant = owner(state, before).await?;
        let ctx = context(state, &merchant);
        let change = match action {
            JobKind::Distribute if job.attempts >= DISTRIBUTE_ATTEMPTS => {
                tracing::error!(session = %before.session_id, "distribution kept failing; it is FAILED with UNKNOWN");
                fail_waiting(ctx, before)?
            }
            JobKind::Distribute => {
                let consumer = match &before.short_code {
                    Some(code) if before.status() == DistributionStatus::Waiting => {
                        state.store.free_consumer_session(&merchant.id, code, ctx.now).await?
                    }
                    _ => None,
                };
                distribute(ctx, before, consumer, ids::random_hex::<16>())?
            }
            JobKind::AutoCancel if !before.is_unscanned() => Change::default(),
            JobKind::AutoCancel => {
                tracing::info!(session = %before.session_id, "auto-cancelling an unscanned in-store session");
                match &case {
                    Some(case) => cancel_distribution(ctx, case)?.0,
                    // No payment session row (never expected): the distribution still ends.
                    None => distribution_command(ctx, before, DistributionCommand::Cancel)?.0,
                }
            }
        };
        finish(state, job, change).await
    })
    .await
}
