//! The scheduled work of a distribution: distributing it (right after creation and after a
//! retry) and the 3-hour auto-cancel. Each run commits its effect with [`JobWrite::Done`], so a
//! job that several nodes run takes effect once.

use super::{cancel_payment_and_distribution, transition_change};
use crate::error::ApiError;
use crate::ids;
use crate::service::retry_on_conflict;
use crate::state::AppState;
use kassa_core::Timestamp;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionErrorCode, DistributionStatus};
use kassa_store::{Change, ConsumerSessionAttach, Job, JobWrite, Merchant, SessionKind, StoreError, StoreExt, Stored};

/// The jobs of a distribution (decoded strictly by the store: a row it cannot run is an error).
pub use kassa_store::JobKind as JobAction;

/// Runs of a distribute job that may fail (database trouble) before the distribution is given
/// up as FAILED with `UNKNOWN`, the seed's internal failure.
pub const DISTRIBUTE_ATTEMPTS: u32 = 5;

pub(crate) fn schedule(d: &Distribution, action: JobAction, due_at: Timestamp, now: Timestamp) -> JobWrite {
    JobWrite::Schedule(Job {
        id: ids::new_id(),
        session_kind: SessionKind::Distribution,
        session_id: d.session_id.clone(),
        action,
        due_at,
        attempts: 0,
        created_at: now,
    })
}

/// Commits a job's effect with its deletion; a run that finds the job already done (another run
/// committed first) has nothing left to do.
async fn finish(state: &AppState, job: &Job, effect: Change) -> Result<(), ApiError> {
    match state.commit(effect.job(JobWrite::Done { job_id: job.id.clone() })).await {
        Err(StoreError::JobDone(_)) => Ok(()),
        other => Ok(other?),
    }
}

/// Does a claimed job's work and commits it together with the job's deletion.
pub async fn run(state: &AppState, job: &Job) -> Result<(), ApiError> {
    retry_on_conflict(|| async {
        let found: Option<Stored<Distribution>> = state.store.load(&job.session_id).await?;
        let Some(before) = found else {
            tracing::warn!(job = %job.id, action = %job.action, "dropping a job whose session is gone");
            return finish(state, job, Change::default()).await;
        };
        let merchant = super::owner(state, &before).await?;
        let change = match job.action {
            JobAction::Distribute if job.attempts >= DISTRIBUTE_ATTEMPTS => fail_waiting(state, &merchant, &before)?,
            JobAction::Distribute => distribute(state, &merchant, &before).await?,
            JobAction::AutoCancel if before.is_unscanned() => {
                tracing::info!(session = %before.session_id, "auto-cancelling an unscanned in-store session");
                cancel_payment_and_distribution(state, &merchant, &before).await?.0
            }
            JobAction::AutoCancel => Change::default(),
        };
        finish(state, job, change).await
    })
    .await
}

/// WAITING → DISTRIBUTED with a payment link (pushed to the consumer session of the short code,
/// if one was given), or FAILED with `CONSUMER_SESSION_NOT_FOUND` when no live session has the
/// code (the link stays the fallback).
async fn distribute(state: &AppState, merchant: &Merchant, before: &Stored<Distribution>) -> Result<Change, ApiError> {
    if before.status() != DistributionStatus::Waiting {
        return Ok(Change::default());
    }
    let now = state.now();
    let mut next = before.record.clone();
    next.link_token.get_or_insert_with(ids::random_hex::<16>);
    let (command, attach) = match &before.short_code {
        None => (DistributionCommand::Distribute, None),
        Some(code) => match state.store.free_consumer_session(&merchant.id, code, now).await? {
            Some(consumer) => {
                let attach = ConsumerSessionAttach {
                    consumer_session_id: consumer.id,
                    payment_session_id: before.session_id.clone(),
                };
                (DistributionCommand::Distribute, Some(attach))
            }
            None => (DistributionCommand::Fail(DistributionErrorCode::ConsumerSessionNotFound), None),
        },
    };
    let (after, event) = next.apply(command, now).map_err(|r| ApiError::Internal(r.to_string()))?;
    let change = transition_change(before, &after, &event, merchant, &state.config)?;
    Ok(match attach {
        Some(attach) => change.consumer_session(attach),
        None => change,
    })
}

/// FAILED with `UNKNOWN` (not retryable): the distribution kept failing.
fn fail_waiting(state: &AppState, merchant: &Merchant, before: &Stored<Distribution>) -> Result<Change, ApiError> {
    if before.status() != DistributionStatus::Waiting {
        return Ok(Change::default());
    }
    tracing::error!(session = %before.session_id, "distribution kept failing; it is FAILED with UNKNOWN");
    let unknown = DistributionCommand::Fail(DistributionErrorCode::Unknown);
    let (after, event) = before.apply(unknown, state.now()).map_err(|r| ApiError::Internal(r.to_string()))?;
    transition_change(before, &after, &event, merchant, &state.config)
}
