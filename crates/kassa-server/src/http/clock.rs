//! The sandbox clock: see it, and move it forward to make expiry (and every other deadline)
//! happen without waiting.

use super::auth::Authenticated;
use super::errors::ErrorResponse;
use super::json::JsonBody;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_clock)).routes(routes!(advance_clock))
}

/// The longest single step: ten years.
const MAX_STEP_SECONDS: i64 = 10 * 366 * 24 * 3600;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClockAdvance {
    /// Seconds to move the clock forward (1 to about ten years; time never goes back).
    pub seconds: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClockNow {
    /// The sandbox's time now.
    pub now: String,
    /// How far the sandbox clock is ahead of the wall clock, in seconds.
    pub ahead_seconds: i64,
}

fn now(state: &AppState) -> Result<ClockNow, ApiError> {
    let clock =
        state.sandbox_clock.as_ref().ok_or_else(|| ApiError::not_found("No sandbox clock in production mode"))?;
    Ok(ClockNow { now: state.now().to_string(), ahead_seconds: clock.offset_millis() / 1000 })
}

/// The sandbox clock (it drives every expiry).
#[utoipa::path(get, path = "/sandbox/v1/clock", tag = "Sandbox", security(("basic" = [])),
    responses((status = 200, body = ClockNow), (status = 401, body = ErrorResponse)))]
async fn read_clock(State(state): State<AppState>, _merchant: Authenticated) -> Result<Json<ClockNow>, ApiError> {
    Ok(Json(now(&state)?))
}

/// Move the sandbox clock forward (for every merchant of this kassa: the clock is one). Jobs
/// that fall due (such as the 3-hour auto-cancel of in-store sessions) run before the answer.
#[utoipa::path(post, path = "/sandbox/v1/clock/advance", tag = "Sandbox", security(("basic" = [])),
    request_body = ClockAdvance,
    responses((status = 200, body = ClockNow), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
async fn advance_clock(
    State(state): State<AppState>,
    _merchant: Authenticated,
    JsonBody(request): JsonBody<ClockAdvance>,
) -> Result<Json<ClockNow>, ApiError> {
    let seconds = request.seconds.ok_or_else(|| ApiError::bad_value("seconds", "is required"))?;
    if !(1..=MAX_STEP_SECONDS).contains(&seconds) {
        return Err(ApiError::bad_value("seconds", format!("must be between 1 and {MAX_STEP_SECONDS}")));
    }
    if let Some(clock) = &state.sandbox_clock {
        clock.advance(seconds * 1000);
        tracing::info!(seconds, now = %state.now(), "sandbox clock moved forward");
        // What fell due runs before the answer (jobs another run holds finish on their own);
        // callbacks that fell due are sent by the worker.
        while crate::scheduler::run_due(&state).await > 0 {}
        state.deliveries_due.notify_one();
        state.jobs_due.notify_one();
    }
    Ok(Json(now(&state)?))
}
