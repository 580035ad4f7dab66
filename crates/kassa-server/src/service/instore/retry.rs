//! Retrying a failed distribution (`POST /iss/v1/distributions/{id}/retry`): allowed only from a
//! FAILED whose error is retryable; back to WAITING with the new `distribution`, and distributed
//! again by the scheduler.

use crate::app::state::AppState;
use crate::service::case::{distribution_command, schedule};
use crate::service::context;
use crate::service::error::{Rule, ServiceError, ServiceResult};
use crate::service::load;
use crate::service::validate::instore::distribution_setup;
use crate::service::{retry_on_conflict, views};
use crate::wire::instore::{DistributionRequest, DistributionResult};
use kassa_core::distribution::DistributionCommand;
use kassa_store::{JobKind, Merchant};

/// Retries the merchant's distribution of payment session `id` with `request`.
pub async fn retry(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
    request: DistributionRequest,
) -> ServiceResult<DistributionResult> {
    let setup = distribution_setup(&state.config, "distribution", &request).await?;
    let after = retry_on_conflict(|| async {
        let case = load::instore_case(state, merchant, id).await?;
        let before = case.distribution()?;
        if !before.retryable_failure() {
            return Err(Rule::NotRetryable
                .refuses(match before.error {
                    Some(error) => format!(
                        "The distribution failed with {}, which is not retryable: cancel the payment session and \
                         create a new one",
                        error.code.as_str()
                    ),
                    None => format!(
                        "The distribution is {}: only a FAILED distribution with a retryable error can be retried",
                        before.status()
                    ),
                })
                .into());
        }
        let ctx = context(state, merchant);
        if !case.payment.is_open(ctx.now) {
            return Err(Rule::NotRetryable.refuses("The payment session is no longer open; create a new one").into());
        }
        let command = DistributionCommand::Retry {
            short_code: setup.short_code.clone(),
            status_update_url: setup.status_update_url.clone(),
        };
        let (change, after) = distribution_command(ctx, before, command).map_err(|e| match e {
            ServiceError::Refused(refusal) => Rule::NotRetryable.refuses(refusal.message).into(),
            other => other,
        })?;
        let due = state.config.distribution_due(ctx.now);
        state.commit(change.job(schedule(&after, JobKind::Distribute, due, ctx.now))).await?;
        Ok(after)
    })
    .await?;
    Ok(views::distribution_result(&after, &state.config))
}
