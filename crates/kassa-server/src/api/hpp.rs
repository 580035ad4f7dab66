//! Hosted Payment Page v1 routes.

use super::auth::Call;
use super::errors::ErrorResponse;
use super::json::JsonBody;
use super::watch::{Follow, WaitQuery};
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::{hpp, load, messages};
use crate::wire::examples;
use crate::wire::hpp::{DistributionRequestV1, HppCreateRequest, HppCreated, HppSessionV1};
use crate::wire::kassa::DistributionModuleToken;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session))
        .routes(routes!(read_session, disable_session))
        .routes(routes!(distribute_session))
        .routes(routes!(distribution_module_token))
        .routes(routes!(manual_id_check))
}

/// Create an HPP session for a payment session of the same merchant.
#[utoipa::path(post, path = "/hpp/v1/sessions", tag = "HPP", security(("basic" = [])),
    request_body(content = HppCreateRequest, example = examples::hpp_session),
    responses(
        (status = 201, description = "Created; every key is always present", body = HppCreated, example = json!(examples::hpp_created())),
        (status = 404, description = "The payment session has expired or was cancelled", body = ErrorResponse),
    ))]
async fn create_session(
    Call { state, merchant }: Call,
    JsonBody(request): JsonBody<HppCreateRequest>,
) -> Result<(StatusCode, Json<HppCreated>), ApiError> {
    Ok((StatusCode::CREATED, Json(hpp::create(&state, &merchant, request).await?)))
}

/// Read an HPP session and its status. Answers with an `ETag`; honours `If-None-Match` (304) and
/// `?wait=` (long-poll until the status changes).
#[utoipa::path(get, path = "/hpp/v1/sessions/{session_id}", tag = "HPP", security(("basic" = [])),
    params(("session_id" = String, Path, description = "The HPP session id"), WaitQuery),
    responses(
        (status = 200, body = HppSessionV1, headers(("ETag" = String)), example = json!(examples::hpp_completed())),
        (status = 404, description = "Unknown or expired", body = ErrorResponse),
    ))]
async fn read_session(Call { state, merchant }: Call, follow: Follow) -> Result<Response, ApiError> {
    follow.respond(&state, || hpp::read(&state, &merchant, &follow.id)).await
}

/// Disable an HPP session (DISABLED, final).
#[utoipa::path(delete, path = "/hpp/v1/sessions/{session_id}", tag = "HPP", security(("basic" = [])),
    responses(
        (status = 204, description = "Disabled"),
        (status = 400, description = "The session is COMPLETED or otherwise final", body = ErrorResponse),
    ))]
async fn disable_session(Call { state, merchant }: Call, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    hpp::disable(&state, &merchant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send the payment link by SMS or email, or link a distribution-module token.
#[utoipa::path(post, path = "/hpp/v1/sessions/{session_id}/distribution", tag = "HPP", security(("basic" = [])),
    request_body = DistributionRequestV1,
    responses(
        (status = 204, description = "Distributed"),
        (status = 400, description = "Invalid contact data, or the session is disabled or final", body = ErrorResponse),
    ))]
async fn distribute_session(
    Call { state, merchant }: Call,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<DistributionRequestV1>,
) -> Result<StatusCode, ApiError> {
    messages::distribute(&state, &merchant, &id, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issue a new distribution-module token (the previous one stops working).
#[utoipa::path(post, path = "/hpp/v1/sessions/{session_id}/distribution-module/token", tag = "HPP", security(("basic" = [])),
    responses(
        (status = 200, body = DistributionModuleToken),
        (status = 400, description = "The session is final", body = ErrorResponse),
    ))]
async fn distribution_module_token(
    Call { state, merchant }: Call,
    Path(id): Path<String>,
) -> Result<Json<DistributionModuleToken>, ApiError> {
    Ok(Json(DistributionModuleToken { token: hpp::new_distribution_token(&state, &merchant, &id).await? }))
}

/// Manual identification check. kassa never puts a session into MANUAL_ID_CHECK, so there is
/// never a check to read: the answer is always 404 (naming why, for a session that exists).
#[utoipa::path(get, path = "/hpp/v1/sessions/{session_id}/manual-id-check", tag = "HPP", security(("basic" = [])),
    responses())]
async fn manual_id_check(Call { state, merchant }: Call, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    load::hpp_session(&state, &merchant, &id).await?;
    Err(ApiError::not_found("No manual identification check: kassa does not use the MANUAL_ID_CHECK flow"))
}
