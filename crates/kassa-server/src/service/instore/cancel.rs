//! Ending an in-store payment: by the partner (`DELETE` of the payment session), by the consumer,
//! or by the 3-hour auto-cancel. The distribution becomes CANCELED and the payment session is
//! cancelled with it, in one commit.

use super::transition;
use crate::app::state::AppState;
use crate::error::ApiError;
use crate::service::payments::{self, PaymentRecord};
use kassa_core::distribution::{Distribution, DistributionCommand};
use kassa_core::payment::PaymentStatus;
use kassa_store::{Change, Merchant, StoreExt, Stored};

/// CANCELED for the distribution, and the payment session cancelled too while it is still open.
pub(crate) async fn cancel_payment_and_distribution(
    state: &AppState,
    merchant: &Merchant,
    before: &Stored<Distribution>,
) -> Result<(Change, Distribution), ApiError> {
    let (change, after) = transition(state, merchant, before, DistributionCommand::Cancel)?;
    let payment: Option<Stored<PaymentRecord>> = state.store.load(&before.session_id).await?;
    let open = payment.filter(|p| p.session.status() == PaymentStatus::Incomplete);
    let change = match open {
        Some(payment) => change.merge(payments::cancel_change(state, merchant, &payment).await?),
        None => change,
    };
    Ok((change, after))
}
