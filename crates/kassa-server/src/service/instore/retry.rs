//! Retrying a failed distribution (`POST /iss/v1/distributions/{id}/retry`): allowed only from a
//! FAILED whose error is retryable; back to WAITING with the new `distribution`, and distributed
//! again by the scheduler.

use super::initiate::distribution_setup;
use super::jobs::{self, JobAction};
use super::{result_view, transition_change};
use crate::app::state::AppState;
use crate::error::ApiError;
use crate::service::{payments, retry_on_conflict};
use crate::wire::instore::DistributionResult;
use kassa_core::distribution::DistributionCommand;
use kassa_core::payment::PaymentStatus;
use kassa_store::Merchant;
use serde_json::Value;

/// `body` is `{"distribution": {...}}` as seed 000 shows it (a bare distribution object is
/// accepted too).
pub async fn retry(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
    body: Value,
) -> Result<DistributionResult, ApiError> {
    let distribution = match body.get("distribution") {
        Some(inner) => inner.clone(),
        None => body,
    };
    let setup = distribution_setup(state, "distribution", &distribution).await?;
    let after = retry_on_conflict(|| async {
        let before = super::load(state, merchant, id).await?;
        if !before.retryable_failure() {
            return Err(ApiError::BadRequest(match before.error {
                Some(error) => format!(
                    "The distribution failed with {}, which is not retryable: cancel the payment session and \
                     create a new one",
                    error.code.as_str()
                ),
                None => format!(
                    "The distribution is {}: only a FAILED distribution with a retryable error can be retried",
                    before.status()
                ),
            }));
        }
        let open = match payments::load(state, merchant, id).await {
            Ok(payment) => payment.session.status() == PaymentStatus::Incomplete,
            Err(ApiError::NotFound(_)) => false,
            Err(other) => return Err(other),
        };
        if !open {
            return Err(ApiError::BadRequest("The payment session is no longer open; create a new one".into()));
        }
        let now = state.now();
        let command = DistributionCommand::Retry {
            short_code: setup.short_code.clone(),
            status_update_url: setup.status_update_url.clone(),
        };
        let (after, event) = before.apply(command, now).map_err(|r| ApiError::BadRequest(r.to_string()))?;
        let due = state.config.distribution_due(now);
        let change = transition_change(&before, &after, &event, merchant, &state.config)?.job(jobs::schedule(
            &after,
            JobAction::Distribute,
            due,
            now,
        ));
        state.commit(change).await?;
        Ok(after)
    })
    .await?;
    Ok(result_view(&after, &state.config))
}
