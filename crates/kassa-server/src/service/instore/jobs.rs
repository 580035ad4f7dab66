//! The scheduled work of a distribution: distributing it (right after creation and after a
//! retry) and the 3-hour auto-cancel. Each run commits its effect with [`JobWrite::Done`], so a
//! job that several nodes run takes effect once.

use super::owner;
use crate::app::state::AppState;
use crate::model::ids;
use crate::service::case::{PaymentCase, cancel_distribution, distribute, distribution_command, fail_waiting};
use crate::service::context;
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::retry_on_conflict;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionStatus};
use kassa_store::{Change, Job, JobKind, StoreExt};

/// Runs of a distribute job that may fail (database trouble) before the distribution is given
/// up as FAILED with `UNKNOWN`, the seed's internal failure; fewer when jobs are set aside sooner
/// (`Config::job_attempts`), so that the last run a job has gives the distribution up.
pub const DISTRIBUTE_ATTEMPTS: u32 = 5;

fn distribute_attempts(state: &AppState) -> u32 {
    DISTRIBUTE_ATTEMPTS.min(state.config.job_attempts.saturating_sub(1).max(1))
}

/// The in-store work a job asks for.
#[derive(Clone, Copy)]
enum Work {
    Distribute,
    AutoCancel,
}

/// Does a claimed job's work and commits it together with the job's deletion.
pub async fn run(state: &AppState, job: &Job) -> ServiceResult<()> {
    let work = match job.action {
        JobKind::Distribute => Work::Distribute,
        JobKind::AutoCancel => Work::AutoCancel,
        JobKind::ExpireOrder => {
            return Err(ServiceError::internal(format!("job {} is an order's, not a distribution's", job.id)));
        }
    };
    retry_on_conflict(|| async {
        // Distributing touches the distribution alone; the auto-cancel ends the whole payment.
        let case = match work {
            Work::Distribute => None,
            Work::AutoCancel => PaymentCase::load(state.store.as_ref(), &job.session_id).await?,
        };
        let found = match &case {
            Some(case) => case.distribution.clone(),
            None => state.store.load::<Distribution>(&job.session_id).await?,
        };
        let Some(before) = found.as_ref() else {
            return Ok(state.finish_job(job, Change::default()).await?);
        };
        let merchant = owner(state, before).await?;
        let ctx = context(state, &merchant);
        let change = match work {
            Work::Distribute if job.attempts >= distribute_attempts(state) => {
                tracing::error!(session = %before.session_id, "distribution kept failing; it is FAILED with UNKNOWN");
                fail_waiting(ctx, before)?
            }
            Work::Distribute => {
                let consumer = match &before.short_code {
                    Some(code) if before.status() == DistributionStatus::Waiting => {
                        state.store.free_consumer_session(&merchant.id, code, ctx.now).await?
                    }
                    _ => None,
                };
                distribute(ctx, before, consumer, ids::random_hex::<16>())?
            }
            Work::AutoCancel if !before.is_unscanned() => Change::default(),
            Work::AutoCancel => {
                tracing::info!(session = %before.session_id, "auto-cancelling an unscanned in-store session");
                match &case {
                    Some(case) => cancel_distribution(ctx, case)?.0,
                    // No payment session row (never expected): the distribution still ends.
                    None => distribution_command(ctx, before, DistributionCommand::Cancel)?.0,
                }
            }
        };
        Ok(state.finish_job(job, change).await?)
    })
    .await
}
