//! Liveness and readiness.

use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::wire::kassa::Health;
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(super::openapi::openapi_json))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "Operations", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// The process can reach its database and make a change durable there now.
#[utoipa::path(get, path = "/readyz", tag = "Operations", responses(
    (status = 200, body = Health),
    (status = 503, description = "The database is unreachable or cannot take a durable write", body = crate::api::errors::ErrorResponse),
))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::Unavailable(format!("readiness check failed: {e}"))
    })?;
    Ok(Json(Health { status: "ready".into() }))
}
