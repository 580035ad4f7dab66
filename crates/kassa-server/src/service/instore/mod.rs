//! In-store payments (seed 000): a payment session distributed as a QR code, a payment link and,
//! with a short code, a push to the customer's phone; followed through the distribution result.

mod cancel;
mod consumer;
mod initiate;
pub mod jobs;
mod retry;

pub(crate) use cancel::cancel_payment_and_distribution;
pub use consumer::{ConsumerAction, consumer_action, create_consumer_session, open_link};
pub(crate) use initiate::{check_fixed_fields, setup, start};
pub use retry::retry;

use super::watch::{Tagged, etag};
use super::{callbacks, event_row};
use crate::app::config::Config;
use crate::app::state::AppState;
use crate::error::ApiError;
use crate::wire::instore::{DistributionErrorV1, DistributionResult};
use axum::http::StatusCode;
use kassa_core::Event;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionStatus};
use kassa_store::{Change, Merchant, SessionWrite, StoreExt, Stored};

const NOT_FOUND: &str = "Distribution not found (unknown session, or not an in-store payment session)";

/// The result payload of `distribution` now: the body of the result endpoint and of callbacks.
pub fn result_view(d: &Distribution, config: &Config) -> DistributionResult {
    let id = &d.session_id;
    let link = d.link_token.as_ref().filter(|_| d.shows_link());
    let failed = d.status() == DistributionStatus::Failed;
    DistributionResult {
        status: d.status().as_str().to_owned(),
        retry_url: failed.then(|| config.url(&format!("/iss/v1/distributions/{id}/retry"))),
        qr: link.map(|token| config.url(&format!("/iss/v1/distributions/{id}/qr/{token}"))),
        payment_link: link.map(|token| payment_link(config, token)),
        error: d.error.map(|e| DistributionErrorV1 { code: e.code.as_str().to_owned(), retryable: e.retryable }),
        order_id: d.order.as_ref().map(|(order_id, _)| order_id.clone()),
        klarna_reference: d.order.as_ref().map(|(_, reference)| reference.clone()),
    }
}

/// The `merchant_store_id` of the first store in a session's store-info attachment.
pub fn merchant_store_id(request: &crate::wire::payments::PaymentSessionRequest) -> Option<String> {
    let body: serde_json::Value = serde_json::from_str(request.attachment.as_ref()?.body.as_deref()?).ok()?;
    body.pointer("/in_store_payment/0/store_info/merchant_store_id")?.as_str().map(str::to_owned)
}

/// The consumer's payment page for a link token.
pub fn payment_link(config: &Config, token: &str) -> String {
    config.url(&format!("/hpp/payments/{token}"))
}

/// The merchant's distribution of payment session `id`.
pub async fn load(state: &AppState, merchant: &Merchant, id: &str) -> Result<Stored<Distribution>, ApiError> {
    let found: Option<Stored<Distribution>> = state.store.load(id).await?;
    found.filter(|d| d.merchant_id == merchant.id).ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

/// The distribution result, tagged by the distribution's sequence number (the body changes
/// only with it).
pub async fn read(state: &AppState, merchant: &Merchant, id: &str) -> Result<Tagged<DistributionResult>, ApiError> {
    let d = load(state, merchant, id).await?;
    Ok(Tagged { etag: etag(d.lifecycle.version), body: result_view(&d, &state.config) })
}

/// `before` moved by `command` (409 when the table or a guard refuses), with its event and
/// callback.
pub(crate) fn transition(
    state: &AppState,
    merchant: &Merchant,
    before: &Stored<Distribution>,
    command: DistributionCommand,
) -> Result<(Change, Distribution), ApiError> {
    let (after, event) = before.apply(command, state.now()).map_err(|r| ApiError::rejected(StatusCode::CONFLICT, r))?;
    Ok((transition_change(before, &after, &event, merchant, &state.config)?, after))
}

/// The merchant a distribution belongs to (for work not started by the merchant).
async fn owner(state: &AppState, d: &Distribution) -> Result<Merchant, ApiError> {
    let merchant = state.store.merchant(&d.merchant_id).await?;
    merchant.ok_or_else(|| ApiError::Internal(format!("no merchant {}", d.merchant_id)))
}

/// `before → after` with its event (the result payload at that moment) and its callback.
pub(crate) fn transition_change(
    before: &Stored<Distribution>,
    after: &Distribution,
    event: &Event<DistributionStatus>,
    merchant: &Merchant,
    config: &Config,
) -> Result<Change, ApiError> {
    let row = event_row(after, event, &result_view(after, config))?;
    let mut change = Change::default().session(SessionWrite::update(before, after)?);
    if let Some(delivery) = callbacks::distribution(after, &row, merchant) {
        change = change.delivery(delivery);
    }
    Ok(change.event(row))
}
