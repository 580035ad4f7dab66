//! The sandbox's callback misbehaviour over HTTP (see [`crate::service::sandbox_callbacks`]).

use super::auth::Call;
use super::errors::ErrorResponse;
use super::json::JsonBody;
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::sandbox_callbacks;
use crate::wire::kassa::SandboxCallbacks;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_settings, replace_settings, reset_settings))
}

/// How kassa misbehaves when it sends your status callbacks (every field, well-behaved values
/// included).
#[utoipa::path(get, path = "/sandbox/v1/callbacks", tag = "Sandbox", security(("basic" = [])),
    responses((status = 200, body = SandboxCallbacks)))]
async fn read_settings(Call { state, merchant }: Call) -> Result<Json<SandboxCallbacks>, ApiError> {
    Ok(Json(sandbox_callbacks::read(&state, &merchant).await?))
}

/// Replace how kassa misbehaves when it sends your status callbacks: duplicates, a delay, the
/// first attempts failing (HTTP 500 or a timeout), every Nth callback dropped. A field left out
/// is its well-behaved value. Applies to the next attempt claimed, on every node.
#[utoipa::path(put, path = "/sandbox/v1/callbacks", tag = "Sandbox", security(("basic" = [])),
    request_body = SandboxCallbacks,
    responses(
        (status = 200, description = "The settings now", body = SandboxCallbacks),
        (status = 400, description = "`BAD_VALUE`: a setting out of range or unknown; nothing changed", body = ErrorResponse),
    ))]
async fn replace_settings(
    Call { state, merchant }: Call,
    JsonBody(request): JsonBody<SandboxCallbacks>,
) -> Result<Json<SandboxCallbacks>, ApiError> {
    Ok(Json(sandbox_callbacks::replace(&state, &merchant, request).await?))
}

/// Back to well-behaved callbacks.
#[utoipa::path(delete, path = "/sandbox/v1/callbacks", tag = "Sandbox", security(("basic" = [])),
    responses((status = 200, description = "The settings now (all well-behaved)", body = SandboxCallbacks)))]
async fn reset_settings(Call { state, merchant }: Call) -> Result<Json<SandboxCallbacks>, ApiError> {
    Ok(Json(sandbox_callbacks::reset(&state, &merchant).await?))
}
