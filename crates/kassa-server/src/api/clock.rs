//! The sandbox clock over HTTP (see [`crate::service::clock`]).

use super::auth::Call;
use super::json::JsonBody;
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::clock;
use crate::wire::kassa::ClockNow;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_clock)).routes(routes!(advance_clock))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClockAdvance {
    /// Seconds to move the clock forward (1 to about ten years; time never goes back).
    pub seconds: Option<i64>,
}

/// Your sandbox clock (it drives every expiry of your sessions, orders and jobs, and your
/// callbacks' retry times); each merchant has its own.
#[utoipa::path(get, path = "/sandbox/v1/clock", tag = "Sandbox", security(("basic" = [])),
    responses((status = 200, body = ClockNow)))]
async fn read_clock(Call { state, merchant }: Call) -> Result<Json<ClockNow>, ApiError> {
    Ok(Json(clock::now(&state, &merchant).await?))
}

/// Move your sandbox clock forward (only yours: other merchants' clocks stay). Your jobs that
/// fall due (such as the 3-hour auto-cancel of in-store sessions) run before the answer.
#[utoipa::path(post, path = "/sandbox/v1/clock/advance", tag = "Sandbox", security(("basic" = [])),
    request_body = ClockAdvance,
    responses((status = 200, body = ClockNow)))]
async fn advance_clock(
    Call { state, merchant }: Call,
    JsonBody(request): JsonBody<ClockAdvance>,
) -> Result<Json<ClockNow>, ApiError> {
    let seconds = request.seconds.ok_or_else(|| ApiError::bad_value("seconds", "is required"))?;
    Ok(Json(clock::advance(&state, &merchant, seconds).await?))
}
