//! Ending a payment: by the merchant (`DELETE` of the payment session), or in store by the
//! consumer or the 3-hour auto-cancel. Either way the payment session is cancelled, its open HPP
//! sessions DISABLED and its distribution CANCELED, in one change.

use super::loaded::{Context, PaymentCase, event_row};
use super::transition::{disable_hosted, distribution_command};
use crate::model::payment::PaymentRecord;
use crate::service::error::{Rule, ServiceResult};
use crate::service::views;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionMachine};
use kassa_core::hpp::HppSession;
use kassa_core::machine::StateMachine;
use kassa_core::payment::{PaymentAction, PaymentStatus};
use kassa_store::{Change, SessionWrite, Stored};

/// The payment session cancelled (a refusal by [`Rule::PaymentClosed`] once it has an order),
/// with its event, and its open HPP sessions DISABLED.
pub fn payment_cancelled(
    ctx: Context<'_>,
    payment: &Stored<PaymentRecord>,
    hosted: &[Stored<HppSession>],
) -> ServiceResult<Change> {
    let (session, event) =
        payment.session.apply(PaymentAction::Cancel, ctx.now).map_err(|r| Rule::PaymentClosed.rejects(r))?;
    let after = PaymentRecord { session, ..payment.record.clone() };
    let change = Change::default().session(SessionWrite::update(payment, &after)?).event(event_row(
        &after,
        &event,
        &views::payment_read(&after, ctx.config),
    )?);
    Ok(change.merge(disable_hosted(ctx, hosted, None)?))
}

/// The merchant cancels the payment session: everything that hangs on it ends too.
pub fn cancel_payment(ctx: Context<'_>, case: &PaymentCase) -> ServiceResult<Change> {
    let mut change = payment_cancelled(ctx, &case.payment, &case.hosted)?;
    if let Some(distribution) = case.distribution.as_ref().filter(|d| !DistributionMachine::is_final(d.status())) {
        change = change.merge(distribution_command(ctx, distribution, DistributionCommand::Cancel)?.0);
    }
    Ok(change)
}

/// The distribution CANCELED (by the consumer or the auto-cancel), and the payment session
/// cancelled with it while it is still open.
pub fn cancel_distribution(ctx: Context<'_>, case: &PaymentCase) -> ServiceResult<(Change, Distribution)> {
    let (change, after) = distribution_command(ctx, case.distribution()?, DistributionCommand::Cancel)?;
    let change = match case.payment.session.status() {
        PaymentStatus::Incomplete => change.merge(payment_cancelled(ctx, &case.payment, &case.hosted)?),
        _ => change,
    };
    Ok((change, after))
}
