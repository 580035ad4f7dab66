//! Use cases: load, decide through the domain, commit one [`Change`](kassa_store::Change).
//! Handlers call exactly one function here.

mod callbacks;
pub mod clock;
pub mod events;
pub mod hpp;
pub mod instore;
pub mod jobs;
pub mod messages;
pub mod orders;
pub mod payments;
pub mod validate;
pub mod watch;

use crate::error::ApiError;
use crate::model::ids;
use kassa_core::Event;
use kassa_core::machine::Named;
use kassa_store::{NewEvent, SessionRecord};
use std::future::Future;

/// The event row for one accepted change of `record`, carrying the read body at that moment.
pub(crate) fn event_row<T: SessionRecord, S: Named + Copy>(
    record: &T,
    event: &Event<S>,
    body: &impl serde::Serialize,
) -> Result<NewEvent, ApiError> {
    let body = serde_json::to_value(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(NewEvent {
        event_id: ids::new_id(),
        merchant_id: record.merchant_id().to_owned(),
        session_kind: T::KIND,
        session_id: record.id().to_owned(),
        seq: event.seq,
        status: event.to.name().to_owned(),
        body,
        created_at: event.at,
    })
}

/// Runs a load-decide-commit step again when another request won the race for the same rows;
/// the step reloads, so the second try decides on fresh state.
pub(crate) async fn retry_on_conflict<T, F, Fut>(mut step: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    const ATTEMPTS: usize = 5;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match step().await {
            Err(ApiError::Conflict(message)) => last = Some(message),
            other => return other,
        }
    }
    Err(ApiError::Conflict(last.unwrap_or_default()))
}
