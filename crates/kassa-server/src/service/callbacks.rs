//! Which callbacks an event makes: the outbox rows committed with it.

use crate::ids;
use kassa_core::hpp::HppSession;
use kassa_store::{Merchant, NewDelivery, NewEvent};

/// The delivery of an HPP event to the session's `merchant_urls.status_update` (placeholders
/// filled), if it has one. Creation (WAITING) is not a status change and calls nobody.
pub(crate) fn hpp(session: &HppSession, event: &NewEvent, merchant: &Merchant) -> Option<NewDelivery> {
    let template = session.merchant_urls.status_update.as_ref()?;
    (event.seq > 1).then(|| NewDelivery {
        id: ids::new_id(),
        event_id: event.event_id.clone(),
        merchant_id: event.merchant_id.clone(),
        session_kind: event.session_kind,
        session_id: event.session_id.clone(),
        seq: event.seq,
        url: session.placeholders().fill(template),
        policy: merchant.retry_policy.clone(),
        created_at: event.created_at,
    })
}
