//! The merchant's sandbox clock: read it, move it forward so expiry and every other deadline of
//! this merchant happen without waiting. Each merchant has its own: the service clock plus the
//! merchant's offset, kept in the database (`sandbox_clocks`), so every node agrees and no other
//! merchant's time moves.

use crate::app::state::AppState;
use crate::service::error::ServiceError;
use crate::wire::kassa::ClockNow;
use kassa_store::Merchant;

/// The longest single step: ten years.
pub const MAX_STEP_SECONDS: i64 = 10 * 366 * 24 * 3600;

/// The merchant's time, read from the database (not this node's copy).
pub async fn now(state: &AppState, merchant: &Merchant) -> Result<ClockNow, ServiceError> {
    super::sandbox_only(state, "clock")?;
    let ahead = state.store.sandbox_clock(&merchant.id).await?;
    state.merchant_clocks.observe(&merchant.id, ahead);
    Ok(view(state, ahead))
}

/// The merchant's time, and how far it is ahead of the wall clock: the offsets added, not two
/// clock readings subtracted (readings a millisecond apart would show a whole second less).
fn view(state: &AppState, ahead_millis: i64) -> ClockNow {
    let ahead_seconds = (state.service_ahead_millis() + ahead_millis) / 1000;
    ClockNow { now: state.now_ahead(ahead_millis).to_string(), ahead_seconds }
}

/// Moves the merchant's clock `seconds` forward. Its jobs that fall due (such as the 3-hour
/// auto-cancel of in-store sessions) run before this returns; its callbacks that fall due are
/// sent by the worker. Other merchants' clocks stay where they are.
pub async fn advance(state: &AppState, merchant: &Merchant, seconds: i64) -> Result<ClockNow, ServiceError> {
    if !(1..=MAX_STEP_SECONDS).contains(&seconds) {
        return Err(ServiceError::bad_value("seconds", format!("must be between 1 and {MAX_STEP_SECONDS}")));
    }
    super::sandbox_only(state, "clock")?;
    let ahead = state.store.advance_sandbox_clock(&merchant.id, seconds * 1000, state.wall_now()).await?;
    state.merchant_clocks.observe(&merchant.id, ahead);
    tracing::info!(seconds, merchant = %merchant.id, now = %state.now_for(&merchant.id), "a merchant's sandbox clock moved forward");
    // Waits for a batch the scheduler is running, then runs what is still due.
    while super::jobs::run_due(state).await > 0 {}
    state.bus.deliveries_due();
    state.bus.jobs_due();
    Ok(view(state, ahead))
}
