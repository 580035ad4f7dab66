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

/// The process can reach its database and make a change durable there now, within
/// `Config::ready_within` (one check a second, shared by every probe: `app::readiness`).
#[utoipa::path(get, path = "/readyz", tag = "Operations", responses(
    (status = 200, body = Health),
    (status = 503, description = "The database is unreachable or cannot take a durable write in time", body = crate::api::errors::ErrorResponse),
))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let deadline = state.config.ready_within;
    let checked = state
        .readiness
        .check(|| async {
            match tokio::time::timeout(deadline, state.store.ping()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err(format!("a durable write took longer than {deadline:?}")),
            }
        })
        .await;
    if let Err(cause) = checked {
        tracing::warn!(%cause, "readiness check failed");
        return Err(ApiError::Unavailable(format!("readiness check failed: {cause}")));
    }
    Ok(Json(Health { status: "ready".into() }))
}
