//! One session's status change as a [`Change`]: the guarded write, the event carrying the read
//! body at that moment, and the callback the event makes (the outbox row committed with it).

use super::loaded::{Context, event_row};
use crate::model::ids;
use crate::service::error::{Rule, ServiceResult};
use crate::service::views;
use crate::wire::hpp::HppSessionV1;
use kassa_core::Event;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionStatus};
use kassa_core::hpp::{HppAction, HppSession, HppStatus};
use kassa_store::{Change, Destination, Merchant, NewDelivery, NewEvent, SessionWrite, Stored};

/// `before → after` of an HPP session, with its event and the event's callback.
pub fn hpp_transition(
    ctx: Context<'_>,
    before: &Stored<HppSession>,
    after: &HppSession,
    event: &Event<HppStatus>,
) -> ServiceResult<Change> {
    let row = event_row(after, event, &HppSessionV1::from(after))?;
    let mut change = Change::default().session(SessionWrite::update(before, after)?);
    if let Some(delivery) = hpp_callback(after, &row, ctx.merchant) {
        change = change.delivery(delivery);
    }
    Ok(change.event(row))
}

/// `action` on an HPP session other than an approval; a refusal by `rule`.
pub fn hpp_action(
    ctx: Context<'_>,
    before: &Stored<HppSession>,
    action: HppAction,
    rule: Rule,
) -> ServiceResult<(Change, HppSession)> {
    let (after, event) = before.apply(action, ctx.now).map_err(|r| rule.rejects(r))?;
    Ok((hpp_transition(ctx, before, &after, &event)?, after))
}

/// DISABLED for every HPP session in `hosted` that is not final, but `except`: an HPP session
/// ends with the payment session it hosts (reference §2.1).
pub fn disable_hosted(ctx: Context<'_>, hosted: &[Stored<HppSession>], except: Option<&str>) -> ServiceResult<Change> {
    let mut change = Change::default();
    for hpp in hosted.iter().filter(|s| Some(s.id.as_str()) != except) {
        if let Ok((disabled, event)) = hpp.apply(HppAction::Disable, ctx.now) {
            change = change.merge(hpp_transition(ctx, hpp, &disabled, &event)?);
        }
    }
    Ok(change)
}

/// A distribution moved by `command` (a refusal of the table or a guard by
/// [`Rule::DistributionStatus`]), with its event (the result payload) and its callback.
pub fn distribution_command(
    ctx: Context<'_>,
    before: &Stored<Distribution>,
    command: DistributionCommand,
) -> ServiceResult<(Change, Distribution)> {
    let (after, event) = before.apply(command, ctx.now).map_err(|r| Rule::DistributionStatus.rejects(r))?;
    let row = event_row(&after, &event, &views::distribution_result(&after, ctx.config))?;
    let mut change = Change::default().session(SessionWrite::update(before, &after)?);
    if let Some(delivery) = distribution_callback(&after, &row, ctx.merchant) {
        change = change.delivery(delivery);
    }
    Ok((change.event(row), after))
}

/// The delivery of an HPP event to the session's `merchant_urls.status_update` (placeholders
/// filled), if it has one. Creation (WAITING) is not a status change and calls nobody.
fn hpp_callback(session: &HppSession, event: &NewEvent, merchant: &Merchant) -> Option<NewDelivery> {
    let template = session.merchant_urls.status_update.as_ref()?;
    (event.seq > 1).then(|| {
        let to = Destination { target: template.clone(), url: session.placeholders().fill(template) };
        NewDelivery::of(event, ids::new_id(), to, merchant.retry_policy, event.created_at)
    })
}

/// The delivery of an in-store distribution event to `distribution.callback_urls.status_update`,
/// exactly as the merchant gave it (their own query parameters, such as a one-time token,
/// untouched). Seed 000 calls back on every status but WAITING (creation, and after a retry).
fn distribution_callback(d: &Distribution, event: &NewEvent, merchant: &Merchant) -> Option<NewDelivery> {
    let url = d.status_update_url.as_ref()?;
    (d.status() != DistributionStatus::Waiting).then(|| {
        NewDelivery::of(event, ids::new_id(), Destination::plain(url), merchant.retry_policy, event.created_at)
    })
}
