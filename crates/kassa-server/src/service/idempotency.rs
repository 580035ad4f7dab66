//! `Klarna-Idempotency-Key`: a repeated key gets the first answer and does nothing twice. The
//! record of work done is committed with the work (so a crash cannot separate them), and other
//! nodes see it at once; a refusal is remembered after it is given.

use crate::app::state::AppState;
use crate::service::error::{ServiceError, ServiceResult};
use kassa_store::{Change, IdempotencyRecord, IdempotentOutcome, Merchant, StoreError};

/// A merchant's key on one operation (`scope`: its method and path), with a digest of the
/// request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
}

/// What an operation did, as a repeat of its key is answered: the resource it created, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub resource_id: Option<String>,
}

impl IdempotencyKey {
    pub fn record(&self, merchant: &Merchant, outcome: IdempotentOutcome, state: &AppState) -> IdempotencyRecord {
        IdempotencyRecord {
            merchant_id: merchant.id.clone(),
            scope: self.scope.clone(),
            key: self.key.clone(),
            request_hash: self.request_hash.clone(),
            outcome,
            created_at: state.now_for(&merchant.id),
        }
    }
}

/// What `key` answered before, if it is live; a different request under the same key is a
/// conflict (kassa's choice: Klarna would replay the first answer regardless of the body).
pub async fn recorded(
    state: &AppState,
    merchant: &Merchant,
    key: &IdempotencyKey,
) -> ServiceResult<Option<IdempotentOutcome>> {
    let Some(record) = state.store.idempotency(&merchant.id, &key.scope, &key.key, state.now_for(&merchant.id)).await?
    else {
        return Ok(None);
    };
    if record.request_hash != key.request_hash {
        return Err(ServiceError::Conflict(format!(
            "Klarna-Idempotency-Key {:?} was used for a different request to {} in the last 24 hours",
            key.key, key.scope
        )));
    }
    Ok(Some(record.outcome))
}

/// The receipt of the work `key` already did, if any: a repeat answers it and does nothing.
pub async fn done_before(
    state: &AppState,
    merchant: &Merchant,
    key: Option<&IdempotencyKey>,
) -> ServiceResult<Option<Receipt>> {
    let Some(key) = key else { return Ok(None) };
    Ok(match recorded(state, merchant, key).await? {
        Some(IdempotentOutcome::Done { resource_id }) => Some(Receipt { resource_id }),
        _ => None,
    })
}

/// Deletes the records whose 24 hours are over (the scheduler calls it now and then).
pub async fn prune(state: &AppState) {
    match state.store.prune_idempotency(state.now()).await {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "expired idempotency records deleted"),
        Err(error) => tracing::warn!(%error, "deleting expired idempotency records failed; it is tried again later"),
    }
}

/// Remembers the answer a refused request got, for a repeat of its key; `false` when the key
/// already had a record (another request's, which wins: the caller answers with it).
pub async fn remember_refusal(
    state: &AppState,
    merchant: &Merchant,
    key: &IdempotencyKey,
    status: u16,
    body: String,
) -> ServiceResult<bool> {
    let record = key.record(merchant, IdempotentOutcome::Refused { status, body }, state);
    match state.commit(Change::default().idempotency(record)).await {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(other) => Err(other.into()),
    }
}
