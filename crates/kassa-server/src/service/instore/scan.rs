//! A customer scanning a store's static QR: a short code of their own, unless this client
//! address or the merchant's stores made too many lately (per node, see
//! [`crate::app::scan_limits`]) or every code is live at the moment. Expired codes are handed
//! out again, and their rows deleted by the scheduler ([`prune_consumer_sessions`]).

use super::consumer::create_consumer_session;
use crate::app::scan_limits::Limited;
use crate::app::state::AppState;
use crate::service::error::{Refusal, Rule, ServiceError, ServiceResult};
use crate::wire::instore::{ConsumerSessionRequest, ConsumerSessionV1};
use kassa_store::Merchant;
use std::net::IpAddr;

/// How long an expired consumer session is kept (its page says "expired", and one that took a
/// payment still leads to it) before the scheduler deletes it.
pub const KEPT_AFTER_EXPIRY_MILLIS: i64 = 3600 * 1000;

/// What a customer can be told to wait for when every code is live.
pub const NO_CODE_FREE_RETRY_SECS: u64 = 60;

pub enum Scan {
    Code(ConsumerSessionV1),
    /// Too many codes made lately: wait.
    Limited(Limited),
    /// Every code is live right now (they expire within minutes).
    NoCodeFree,
}

pub async fn scan(state: &AppState, merchant: &Merchant, address: Option<IpAddr>) -> ServiceResult<Scan> {
    if let Err(limited) = state.scan_limiter.take(&merchant.id, address, state.wall_now()) {
        return Ok(Scan::Limited(limited));
    }
    match create_consumer_session(state, merchant, ConsumerSessionRequest::default()).await {
        Ok(code) => Ok(Scan::Code(code)),
        Err(ServiceError::Refused(Refusal { rule: Rule::ShortCodeTaken, .. })) => Ok(Scan::NoCodeFree),
        Err(other) => Err(other),
    }
}

/// Deletes the consumer sessions expired for longer than [`KEPT_AFTER_EXPIRY_MILLIS`] (service
/// clock, on which they expire).
pub async fn prune_consumer_sessions(state: &AppState) {
    match state.store.prune_consumer_sessions(state.now().plus_millis(-KEPT_AFTER_EXPIRY_MILLIS)).await {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "expired consumer sessions deleted"),
        Err(error) => tracing::warn!(%error, "deleting expired consumer sessions failed; it is tried again later"),
    }
}
