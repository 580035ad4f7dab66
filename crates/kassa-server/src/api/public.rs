//! Unauthenticated resources a consumer's device fetches: QR images and badges.

use super::errors::ErrorResponse;
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::qr::{Asked, QrError, QrQuery, qr_image};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kassa_core::hpp::HppSession;
use kassa_store::{StoreExt, Stored};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(hpp_qr)).routes(routes!(badge))
}

/// QR image of an HPP session's `redirect_url` (public, as Klarna's `qr_code_url`).
#[utoipa::path(get, path = "/hpp/payments/{payment_id}/qr", tag = "Public",
    params(("payment_id" = String, Path, description = "The HPP session id"), QrQuery),
    responses(
        (status = 200, description = "The QR code", content(("image/svg+xml"), ("image/png"))),
        (status = 400, description = "Unknown format", body = ErrorResponse),
        (status = 404, description = "Unknown or expired session", body = ErrorResponse),
    ))]
async fn hpp_qr(
    State(state): State<AppState>,
    Path(id): Path<String>,
    format: Result<Asked, QrError>,
) -> Result<Response, ApiError> {
    let session: Option<Stored<HppSession>> = state.store.load(&id).await?;
    let gone = || ApiError::not_found("HPP session not found (unknown or expired)");
    let session = session.ok_or_else(gone)?;
    if session.is_expired(state.merchant_now(&session.merchant_id).await) {
        return Err(gone());
    }
    Ok(qr_image(state.config.url(&format!("/hpp/payments/{}", session.id)), format).await?)
}

const BADGE: &str = include_str!("../../assets/badge.svg");

/// The badge image of every payment method category (`asset_urls`).
#[utoipa::path(get, path = "/assets/badges/klarna.svg", tag = "Public",
    responses((status = 200, description = "SVG badge", content_type = "image/svg+xml")))]
async fn badge() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], BADGE)
}
