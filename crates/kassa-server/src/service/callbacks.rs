//! Which callbacks an event makes: the outbox rows committed with it.

use crate::ids;
use kassa_core::hpp::HppSession;
use kassa_store::{Merchant, NewDelivery, NewEvent};

/// The delivery of an HPP event to the session's `merchant_urls.status_update` (placeholders
/// filled), if it has one. Creation (WAITING) is not a status change and calls nobody.
pub(crate) fn hpp(session: &HppSession, event: &NewEvent, merchant: &Merchant) -> Option<NewDelivery> {
    let template = session.merchant_urls.status_update.as_ref()?;
    (event.seq > 1).then(|| {
        let url = session.placeholders().fill(template);
        NewDelivery::of(event, ids::new_id(), url, merchant.retry_policy.clone(), event.created_at)
    })
}
