//! Finding a merchant's sessions: each loader answers the merchant's own record or
//! [`ServiceError::NotFound`], so a use case never sees another merchant's data.

use super::case::PaymentCase;
use super::error::{Rule, ServiceError, ServiceResult};
use crate::app::state::AppState;
use crate::model::payment::PaymentRecord;
use kassa_core::distribution::Distribution;
use kassa_core::hpp::{HppMachine, HppSession};
use kassa_core::machine::StateMachine;
use kassa_core::payment::Authorization;
use kassa_store::{Merchant, StoreExt, Stored};
use std::borrow::Borrow;
use std::sync::Arc;

const HPP_NOT_FOUND: &str = "HPP session not found (unknown or expired)";
const PAYMENT_NOT_FOUND: &str = "Payment session not found (unknown, expired or cancelled)";
const DISTRIBUTION_NOT_FOUND: &str = "Distribution not found (unknown session, or not an in-store payment session)";

/// The merchant's HPP session, unless it has expired.
pub async fn hpp_session(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<Stored<HppSession>> {
    let session: Option<Stored<HppSession>> = state.store.load(id).await?;
    visible_hpp(state, merchant, session)
}

/// The merchant's HPP session for a plain read, unless it has expired: served from the node's
/// [read cache](crate::app::session_cache) when it holds the session, so never the guard of a
/// write (use [`hpp_session`] for that).
pub async fn read_hpp_session(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
) -> ServiceResult<Arc<Stored<HppSession>>> {
    let session = state.sessions.read::<HppSession>(state.store.as_ref(), id).await?;
    visible_hpp(state, merchant, session)
}

/// `session` if it is the merchant's and has not expired (service clock), else not found.
fn visible_hpp<S: Borrow<Stored<HppSession>>>(
    state: &AppState,
    merchant: &Merchant,
    session: Option<S>,
) -> ServiceResult<S> {
    session
        .filter(|s| {
            let s = s.borrow();
            s.merchant_id == merchant.id && !s.is_expired(state.now_for(&merchant.id))
        })
        .ok_or_else(|| ServiceError::not_found(HPP_NOT_FOUND))
}

/// An HPP session that still accepts distribution: not DISABLED and not otherwise final.
pub async fn open_hpp_session(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<Stored<HppSession>> {
    let session = hpp_session(state, merchant, id).await?;
    if HppMachine::is_final(session.status()) {
        let message = format!("The session is {}, a final status; it can no longer be distributed", session.status());
        return Err(Rule::HppMerchantAction.refuses(message).into());
    }
    Ok(session)
}

/// The merchant's payment session, if it is still live.
pub async fn live_payment(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<Stored<PaymentRecord>> {
    let record: Option<Stored<PaymentRecord>> = state.store.load(id).await?;
    record
        .filter(|r| r.session.merchant_id == merchant.id && r.session.is_live(state.now_for(&merchant.id)))
        .ok_or_else(|| ServiceError::not_found(PAYMENT_NOT_FOUND))
}

/// The whole case of the merchant's payment session `id`, if the payment session is still live.
pub async fn live_case(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<PaymentCase> {
    let now = state.now_for(&merchant.id);
    let case = PaymentCase::load(state.store.as_ref(), id).await?;
    case.filter(|c| c.payment.session.merchant_id == merchant.id && c.payment.session.is_live(now))
        .ok_or_else(|| ServiceError::not_found(PAYMENT_NOT_FOUND))
}

/// The merchant's distribution of payment session `id`.
pub async fn distribution(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<Stored<Distribution>> {
    let found: Option<Stored<Distribution>> = state.store.load(id).await?;
    found.filter(|d| d.merchant_id == merchant.id).ok_or_else(|| ServiceError::not_found(DISTRIBUTION_NOT_FOUND))
}

/// The in-store case of the merchant's payment session `id` (its distribution included, in any
/// status of the payment session).
pub async fn instore_case(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<PaymentCase> {
    let case = PaymentCase::load(state.store.as_ref(), id).await?;
    case.filter(|c| c.payment.session.merchant_id == merchant.id && c.distribution.is_some())
        .ok_or_else(|| ServiceError::not_found(DISTRIBUTION_NOT_FOUND))
}

const NO_AUTHORIZATION: &str = "No usable authorization with this token (unknown, expired, released or already used)";

/// The merchant's authorization `token` if it can still be used, with the live case of its
/// payment session.
pub async fn usable_authorization(
    state: &AppState,
    merchant: &Merchant,
    token: &str,
) -> ServiceResult<(Authorization, PaymentCase)> {
    let now = state.now_for(&merchant.id);
    let authorization = state.store.authorization(token).await?;
    let authorization = authorization
        .filter(|a| a.merchant_id == merchant.id && a.is_usable(now))
        .ok_or_else(|| ServiceError::not_found(NO_AUTHORIZATION))?;
    let case = live_case(state, merchant, &authorization.payment_session_id).await?;
    Ok((authorization, case))
}
