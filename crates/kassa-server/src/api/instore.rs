//! In-store payments (seed 000): the distribution result and its retry (merchant API), and the
//! QR image (public). The payment link's page is in [`crate::pages`].

use super::auth::Call;
use super::errors::ErrorResponse;
use super::json::JsonBody;
use super::watch::{Follow, WaitQuery};
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::qr::{Asked, QrError, QrQuery, qr_image};
use crate::service::{instore, views};
use crate::wire::instore::{DistributionRequest, DistributionResult};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use kassa_core::distribution::Distribution;
use kassa_store::{StoreExt, Stored};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_result)).routes(routes!(retry)).routes(routes!(qr))
}

/// The distribution result of an in-store payment session (`distribution.result_url`). Answers
/// with an `ETag`; honours `If-None-Match` (304) and `?wait=` (long-poll until the status changes).
#[utoipa::path(get, path = "/iss/v1/distributions/{session_id}", tag = "In-store", security(("basic" = [])),
    params(("session_id" = String, Path, description = "The payment session id"), WaitQuery),
    responses(
        (status = 200, body = DistributionResult, headers(("ETag" = String))),
        (status = 404, description = "No in-store session with this id", body = ErrorResponse),
    ))]
async fn read_result(Call { state, merchant }: Call, follow: Follow) -> Result<Response, ApiError> {
    follow.respond(&state, || instore::read(&state, &merchant, &follow.id)).await
}

/// Retry a FAILED distribution whose error is retryable, with a new `distribution`
/// (`{"distribution": {"method": "one_qr", "short_code": …, "callback_urls": …}}`). The status goes
/// back to WAITING, and kassa distributes again.
#[utoipa::path(post, path = "/iss/v1/distributions/{session_id}/retry", tag = "In-store", security(("basic" = [])),
    params(("session_id" = String, Path, description = "The payment session id")),
    request_body = DistributionRequest,
    responses(
        (status = 200, description = "Retrying: the result now (WAITING)", body = DistributionResult),
        (status = 400, description = "Not FAILED with a retryable error, or a bad `distribution`", body = ErrorResponse),
    ))]
async fn retry(
    Call { state, merchant }: Call,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<DistributionResult>, ApiError> {
    Ok(Json(instore::retry(&state, &merchant, &id, DistributionRequest::decode_retry(&body)?).await?))
}

/// The QR image of a distribution's `payment_link` (the result's `qr`; public).
#[utoipa::path(get, path = "/iss/v1/distributions/{session_id}/qr/{token}", tag = "Public",
    params(QrQuery),
    responses(
        (status = 200, description = "The QR code", content(("image/svg+xml"), ("image/png"))),
        (status = 400, description = "Unknown format", body = ErrorResponse),
        (status = 404, description = "Unknown, or the link is not shown in the current status", body = ErrorResponse),
    ))]
async fn qr(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    format: Result<Asked, QrError>,
) -> Result<Response, ApiError> {
    let found: Option<Stored<Distribution>> = state.store.load(&id).await?;
    let shown = found.filter(|d| d.link_token.as_deref() == Some(token.as_str()) && d.shows_link());
    shown.ok_or_else(|| ApiError::not_found("No payment link to show for this distribution now"))?;
    Ok(qr_image(views::payment_link(&state.config, &token), format).await?)
}
