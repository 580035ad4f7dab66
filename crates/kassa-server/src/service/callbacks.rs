//! Which callbacks an event makes: the outbox rows committed with it.

use crate::ids;
use kassa_core::distribution::{Distribution, DistributionStatus};
use kassa_core::hpp::HppSession;
use kassa_store::{Merchant, NewDelivery, NewEvent};

/// The delivery of an HPP event to the session's `merchant_urls.status_update` (placeholders
/// filled), if it has one. Creation (WAITING) is not a status change and calls nobody.
pub(crate) fn hpp(session: &HppSession, event: &NewEvent, merchant: &Merchant) -> Option<NewDelivery> {
    let template = session.merchant_urls.status_update.as_ref()?;
    (event.seq > 1).then(|| {
        let url = session.placeholders().fill(template);
        NewDelivery::of(event, ids::new_id(), url, merchant.retry_policy, event.created_at)
    })
}

/// The delivery of an in-store distribution event to `distribution.callback_urls.status_update`,
/// exactly as the merchant gave it (their own query parameters, such as a one-time token,
/// untouched). Seed 000 calls back on every status but WAITING (creation, and after a retry).
pub(crate) fn distribution(d: &Distribution, event: &NewEvent, merchant: &Merchant) -> Option<NewDelivery> {
    let url = d.status_update_url.as_ref()?;
    (d.status() != DistributionStatus::Waiting)
        .then(|| NewDelivery::of(event, ids::new_id(), url.clone(), merchant.retry_policy, event.created_at))
}
