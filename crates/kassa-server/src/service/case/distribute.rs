//! A distribution's life in the background: it starts WAITING with its work scheduled (the
//! distribution itself, and the 3-hour auto-cancel) in the same commit as its payment session;
//! the scheduler then distributes it, or gives it up.

use super::loaded::{Context, event_row};
use super::transition::distribution_command;
use crate::model::ids;
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::validate::instore::InStoreSetup;
use crate::service::views;
use kassa_core::Timestamp;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionErrorCode, DistributionStatus};
use kassa_store::{
    Change, ConsumerSession, ConsumerSessionAttach, Job, JobKind, JobWrite, SessionKind, SessionWrite, Stored,
};

/// `action` on `d`, due at `due_at`.
pub fn schedule(d: &Distribution, action: JobKind, due_at: Timestamp, now: Timestamp) -> JobWrite {
    JobWrite::Schedule(Job {
        id: ids::new_id(),
        session_kind: SessionKind::Distribution,
        session_id: d.session_id.clone(),
        action,
        due_at,
        attempts: 0,
        created_at: now,
        caused_by: None,
    })
}

/// The distribution of a new in-store payment session `payment_session_id`: WAITING, its
/// distribution due after the configured delay (none by default) and its auto-cancel three hours
/// after creation.
pub fn start_distribution(ctx: Context<'_>, payment_session_id: &str, setup: InStoreSetup) -> ServiceResult<Change> {
    let (distribution, event) = Distribution::create(
        payment_session_id.to_owned(),
        ctx.merchant.id.clone(),
        setup.short_code,
        setup.status_update_url,
        ctx.now,
    );
    let body = views::distribution_result(&distribution, ctx.config);
    let due = ctx.config.distribution_due(ctx.now);
    Ok(Change::default()
        .session(SessionWrite::insert(&distribution)?)
        .event(event_row(&distribution, &event, &body)?)
        .job(schedule(&distribution, JobKind::Distribute, due, ctx.now))
        .job(schedule(&distribution, JobKind::AutoCancel, distribution.auto_cancel_at(), ctx.now)))
}

/// WAITING → DISTRIBUTED with the payment link `link_token`, pushed to `consumer` (the live
/// consumer session of the distribution's short code) when there is a short code; FAILED with
/// `CONSUMER_SESSION_NOT_FOUND` when no live session has the code (the link stays the
/// fallback). A distribution no longer WAITING is left as it is.
pub fn distribute(
    ctx: Context<'_>,
    before: &Stored<Distribution>,
    consumer: Option<ConsumerSession>,
    link_token: String,
) -> ServiceResult<Change> {
    if before.status() != DistributionStatus::Waiting {
        return Ok(Change::default());
    }
    let (command, attach) = match (&before.short_code, consumer) {
        (None, _) => (DistributionCommand::Distribute { link_token }, None),
        (Some(_), Some(consumer)) => {
            let attach = ConsumerSessionAttach {
                consumer_session_id: consumer.id,
                payment_session_id: before.session_id.clone(),
            };
            (DistributionCommand::Distribute { link_token }, Some(attach))
        }
        (Some(_), None) => {
            let code = DistributionErrorCode::ConsumerSessionNotFound;
            (DistributionCommand::Fail { code, fallback_link: Some(link_token) }, None)
        }
    };
    let (change, _) = distribution_command(ctx, before, command).map_err(internal)?;
    Ok(match attach {
        Some(attach) => change.consumer_session(attach),
        None => change,
    })
}

/// FAILED with `UNKNOWN` (not retryable): the distribution kept failing.
pub fn fail_waiting(ctx: Context<'_>, before: &Stored<Distribution>) -> ServiceResult<Change> {
    if before.status() != DistributionStatus::Waiting {
        return Ok(Change::default());
    }
    let unknown = DistributionCommand::Fail { code: DistributionErrorCode::Unknown, fallback_link: None };
    Ok(distribution_command(ctx, before, unknown).map_err(internal)?.0)
}

/// A WAITING distribution always accepts these: a refusal is kassa's fault.
fn internal(error: ServiceError) -> ServiceError {
    match error {
        ServiceError::Refused(refusal) => ServiceError::internal(refusal),
        other => other,
    }
}
