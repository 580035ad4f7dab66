//! Sandbox controls: the consumer's side of an HPP session, without a browser.

use super::auth::Authenticated;
use super::errors::ErrorResponse;
use crate::error::ApiError;
use crate::service::hpp;
use crate::state::AppState;
use crate::wire::kassa::SandboxOutcome;
use axum::Json;
use axum::extract::{Path, State};
use kassa_core::hpp::HppAction;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(consumer_action))
}

/// Act as the consumer on an HPP session: `open` (enter the page, also after a decline, back or
/// error), `approve` (honours `place_order_mode`), `decline`, `back`, `error`, `cancel`.
#[utoipa::path(post, path = "/sandbox/v1/hpp/sessions/{session_id}/{action}", tag = "Sandbox", security(("basic" = [])),
    params(
        ("session_id" = String, Path),
        ("action" = String, Path, description = "open, approve, decline, back, error or cancel"),
    ),
    responses(
        (status = 200, description = "The new status and where the consumer's browser goes", body = SandboxOutcome),
        (status = 404, description = "Unknown session or action", body = ErrorResponse),
        (status = 409, description = "Not allowed in the session's current status", body = ErrorResponse),
    ))]
async fn consumer_action(
    State(state): State<AppState>,
    Authenticated(merchant): Authenticated,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<SandboxOutcome>, ApiError> {
    let action = HppAction::parse(&action).filter(|a| *a != HppAction::Disable).ok_or_else(|| {
        ApiError::not_found(format!(
            "Unknown consumer action {action:?}: use open, approve, decline, back, error or cancel"
        ))
    })?;
    Ok(Json(hpp::consumer_action(&state, &merchant, &id, action).await?))
}
