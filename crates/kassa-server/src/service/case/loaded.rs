//! What the builders work on: the loaded aggregate and the moment and merchant they act for.

use crate::app::config::Config;
use crate::model::ids;
use crate::model::payment::PaymentRecord;
use crate::service::error::{Rule, ServiceError, ServiceResult};
use kassa_core::cart::Cart;
use kassa_core::distribution::Distribution;
use kassa_core::hpp::HppSession;
use kassa_core::machine::Named;
use kassa_core::payment::{AcquiringChannel, PaymentStatus};
use kassa_core::{Event, Timestamp};
use kassa_store::{Merchant, NewEvent, SessionRecord, Store, StoreExt, StoreResult, Stored};

/// Who acts, when, and the settings that shape read bodies (URLs).
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub now: Timestamp,
    pub merchant: &'a Merchant,
    pub config: &'a Config,
}

/// A payment session as stored, with its HPP sessions (any status) and, in store, its
/// distribution.
#[derive(Debug, Clone)]
pub struct PaymentCase {
    pub payment: Stored<PaymentRecord>,
    pub hosted: Vec<Stored<HppSession>>,
    pub distribution: Option<Stored<Distribution>>,
}

impl PaymentCase {
    /// The case of payment session `id`, whatever its status; `None` when there is none.
    pub async fn load(store: &dyn Store, id: &str) -> StoreResult<Option<Self>> {
        let Some(payment) = store.load::<PaymentRecord>(id).await? else { return Ok(None) };
        let hosted = store.load_children(id).await?;
        let distribution = match payment.session.acquiring_channel {
            AcquiringChannel::InStore => store.load(id).await?,
            _ => None,
        };
        Ok(Some(Self { payment, hosted, distribution }))
    }

    /// The payment session, if a consumer can still pay with it: live, and without an order.
    pub fn open_payment(&self, now: Timestamp) -> ServiceResult<&Stored<PaymentRecord>> {
        let payment = &self.payment;
        if !payment.session.is_live(now) {
            return Err(Rule::PaymentUnavailable.refuses("The payment session is no longer live").into());
        }
        if payment.session.status() != PaymentStatus::Incomplete {
            let message = "An order has already been placed for the payment session";
            return Err(Rule::PaymentUnavailable.refuses(message).into());
        }
        Ok(payment)
    }

    /// The cart of the payment session, as validated when it was stored.
    pub fn cart(&self) -> ServiceResult<Cart> {
        self.payment.request.cart().parse().map_err(|e| ServiceError::internal(format!("stored cart: {e}")))
    }

    /// The distribution, which an in-store case has.
    pub fn distribution(&self) -> ServiceResult<&Stored<Distribution>> {
        self.distribution
            .as_ref()
            .ok_or_else(|| ServiceError::internal(format!("payment session {} has no distribution", self.payment.id())))
    }
}

/// The event row for one accepted change of `record`, carrying the read body at that moment.
pub fn event_row<T: SessionRecord, S: Named + Copy>(
    record: &T,
    event: &Event<S>,
    body: &impl serde::Serialize,
) -> ServiceResult<NewEvent> {
    let body = serde_json::to_value(body).map_err(ServiceError::internal)?;
    Ok(NewEvent {
        event_id: ids::new_id(),
        merchant_id: record.merchant_id().to_owned(),
        session_kind: T::KIND,
        session_id: record.id().to_owned(),
        seq: event.seq,
        status: event.to.name(),
        body,
        created_at: event.at,
        caused_by: None,
    })
}
