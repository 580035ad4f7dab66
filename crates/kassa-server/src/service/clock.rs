//! The sandbox clock: read it, move it forward so expiry and every other deadline happen
//! without waiting.

use crate::app::state::AppState;
use crate::service::error::ServiceError;
use crate::wire::kassa::ClockNow;

/// The longest single step: ten years.
pub const MAX_STEP_SECONDS: i64 = 10 * 366 * 24 * 3600;

pub fn now(state: &AppState) -> Result<ClockNow, ServiceError> {
    let clock =
        state.sandbox_clock.as_ref().ok_or_else(|| ServiceError::not_found("No sandbox clock in production mode"))?;
    Ok(ClockNow { now: state.now().to_string(), ahead_seconds: clock.offset_millis() / 1000 })
}

/// Moves the clock (one for every merchant of this kassa) `seconds` forward. Jobs that fall due
/// (such as the 3-hour auto-cancel of in-store sessions) run before this returns; callbacks that
/// fall due are sent by the worker.
pub async fn advance(state: &AppState, seconds: i64) -> Result<ClockNow, ServiceError> {
    if !(1..=MAX_STEP_SECONDS).contains(&seconds) {
        return Err(ServiceError::bad_value("seconds", format!("must be between 1 and {MAX_STEP_SECONDS}")));
    }
    let clock =
        state.sandbox_clock.as_ref().ok_or_else(|| ServiceError::not_found("No sandbox clock in production mode"))?;
    clock.advance(seconds * 1000);
    tracing::info!(seconds, now = %state.now(), "sandbox clock moved forward");
    // Waits for a batch the scheduler is running, then runs what is still due.
    while super::jobs::run_due(state).await > 0 {}
    state.bus.deliveries_due();
    state.bus.jobs_due();
    now(state)
}
