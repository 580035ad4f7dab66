//! Use cases: load, decide through the domain, commit one [`Change`](kassa_store::Change).
//! Handlers and pages call exactly one function here; no use case calls another. What they share
//! is below them: [`case`] (the payment aggregate and the pure builders of its changes),
//! [`views`] (read bodies), [`validate`] (field checks) and [`error`] (the refusals).

pub mod case;
pub mod clock;
pub mod error;
pub mod events;
pub mod hpp;
pub mod idempotency;
pub mod instore;
pub mod jobs;
pub mod load;
pub mod logins;
pub mod messages;
pub mod metrics;
pub mod orders;
pub mod payments;
pub mod sandbox_callbacks;
pub mod secrets;
pub mod tokens;
pub mod validate;
pub mod views;
pub mod watch;

use crate::app::state::AppState;
use case::Context;
use error::{ServiceError, ServiceResult};
use kassa_store::Merchant;
use std::future::Future;

/// What a builder of `case` needs to act for `merchant` now.
pub(crate) fn context<'a>(state: &'a AppState, merchant: &'a Merchant) -> Context<'a> {
    Context { now: state.now_for(&merchant.id), merchant, config: &state.config }
}

/// Runs a load-decide-commit step again when another request won the race for the same rows;
/// the step reloads, so the second try decides on fresh state. Between tries it waits a little,
/// longer each time and by a random share: several requests that keep losing to each other
/// (PostgreSQL writes several group-commit batches at once, and gives up one of two that wait for
/// each other's rows) then stop meeting at the same moment.
pub(crate) async fn retry_on_conflict<T, F, Fut>(mut step: F) -> ServiceResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ServiceResult<T>>,
{
    const ATTEMPTS: u32 = 8;
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        match step().await {
            Err(ServiceError::Conflict(message)) => last = Some(message),
            other => return other,
        }
    }
    Err(ServiceError::Conflict(last.unwrap_or_default()))
}

/// Up to 1 ms before the second try, up to 2 ms before the third, … (real time: it only spreads
/// competing requests apart).
fn backoff(attempt: u32) -> std::time::Duration {
    let mut byte = [0u8; 1];
    let share = if getrandom::fill(&mut byte).is_ok() { f64::from(byte[0]) / 255.0 } else { 0.5 };
    std::time::Duration::from_secs_f64(0.001 * f64::from(1u32 << attempt.min(6)) / 2.0 * share)
}

/// Refuses (404) what only a sandbox has, in production mode: "No sandbox `what` in production
/// mode".
pub(crate) fn sandbox_only(state: &AppState, what: &str) -> ServiceResult<()> {
    match state.config.mode {
        crate::app::config::Mode::Sandbox => Ok(()),
        crate::app::config::Mode::Production => {
            Err(ServiceError::not_found(format!("No sandbox {what} in production mode")))
        }
    }
}
