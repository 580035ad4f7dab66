//! Klarna Payments v1 routes.

use super::auth::Call;
use super::errors::ErrorResponse;
use super::json::JsonBody;
use super::watch::{Follow, WaitQuery};
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::{orders, payments};
use crate::wire::examples;
use crate::wire::payments::{
    CreateOrderRequest, MerchantSession, OrderCreated, PaymentPatch, PaymentSessionRead, PaymentSessionRequest,
};
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session))
        .routes(routes!(read_session, update_session, cancel_session))
        .routes(routes!(place_order))
        .routes(routes!(release_authorization))
}

/// Create a payment session.
#[utoipa::path(post, path = "/payments/v1/sessions", tag = "Payments", security(("basic" = [])),
    request_body(content = PaymentSessionRequest, example = examples::cart),
    responses(
        (status = 200, body = MerchantSession, example = json!(examples::merchant_session())),
        (status = 400, description = "Invalid cart (`BAD_VALUE` names the field) or malformed request", body = ErrorResponse),
    ))]
async fn create_session(
    Call { state, merchant }: Call,
    JsonBody(request): JsonBody<PaymentSessionRequest>,
) -> Result<Json<MerchantSession>, ApiError> {
    Ok(Json(payments::create(&state, &merchant, request).await?))
}

/// Read a payment session. Answers with an `ETag`; honours `If-None-Match` (304) and `?wait=`
/// (long-poll until the session changes status).
#[utoipa::path(get, path = "/payments/v1/sessions/{session_id}", tag = "Payments", security(("basic" = [])),
    params(("session_id" = String, Path, description = "The payment session id"), WaitQuery),
    responses(
        (status = 200, body = PaymentSessionRead, headers(("ETag" = String))),
        (status = 404, description = "Unknown, expired or cancelled", body = ErrorResponse),
    ))]
async fn read_session(Call { state, merchant }: Call, follow: Follow) -> Result<Response, ApiError> {
    follow.respond(&state, || payments::read(&state, &merchant, &follow.id)).await
}

/// Update a payment session: the given keys replace the stored ones.
#[utoipa::path(post, path = "/payments/v1/sessions/{session_id}", tag = "Payments", security(("basic" = [])),
    request_body(content = PaymentSessionRequest, example = examples::session_update),
    responses(
        (status = 204, description = "Updated"),
        (status = 403, description = "The session is complete", body = ErrorResponse),
    ))]
async fn update_session(
    Call { state, merchant }: Call,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<StatusCode, ApiError> {
    payments::update(&state, &merchant, &id, PaymentPatch::decode(patch)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cancel a payment session; its HPP sessions that are not final become DISABLED.
#[utoipa::path(delete, path = "/payments/v1/sessions/{session_id}", tag = "Payments", security(("basic" = [])),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 403, description = "The session is complete", body = ErrorResponse),
    ))]
async fn cancel_session(Call { state, merchant }: Call, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    payments::cancel(&state, &merchant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Place an order from an authorization token (`auto_capture: true` captures it at once).
#[utoipa::path(post, path = "/payments/v1/authorizations/{authorization_token}/order", tag = "Payments", security(("basic" = [])),
    request_body(content = CreateOrderRequest, example = examples::order_placement),
    responses(
        (status = 200, body = OrderCreated, example = json!(examples::order_created())),
        (status = 403, description = "An order was already placed for the session", body = ErrorResponse),
        (status = 404, description = "Unknown, expired, released or used authorization", body = ErrorResponse),
        (status = 409, description = "The cart does not match the authorized session", body = ErrorResponse),
    ))]
async fn place_order(
    Call { state, merchant }: Call,
    Path(token): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<OrderCreated>, ApiError> {
    Ok(Json(orders::place_order(&state, &merchant, &token, CreateOrderRequest::decode(body)?).await?))
}

/// Release an authorization that will not be used.
#[utoipa::path(delete, path = "/payments/v1/authorizations/{authorization_token}", tag = "Payments", security(("basic" = [])),
    responses(
        (status = 204, description = "Released"),
        (status = 403, description = "Already used for an order", body = ErrorResponse),
    ))]
async fn release_authorization(
    Call { state, merchant }: Call,
    Path(token): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    orders::release_authorization(&state, &merchant, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}
