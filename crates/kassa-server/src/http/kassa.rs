//! kassa's own routes beyond Klarna's API.

use super::auth::Authenticated;
use super::errors::ErrorResponse;
use crate::error::ApiError;
use crate::service::messages;
use crate::state::AppState;
use crate::wire::kassa::DistributionMessages;
use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_messages))
}

/// The distribution messages (SMS, email, token) sent for an HPP session, oldest first.
#[utoipa::path(get, path = "/kassa/v1/hpp/sessions/{session_id}/messages", tag = "kassa", security(("basic" = [])),
    params(("session_id" = String, Path)),
    responses(
        (status = 200, body = DistributionMessages),
        (status = 404, body = ErrorResponse),
    ))]
async fn list_messages(
    State(state): State<AppState>,
    Authenticated(merchant): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<DistributionMessages>, ApiError> {
    Ok(Json(messages::list(&state, &merchant, &id).await?))
}
