//! Customer tokens: created from an authorization (Payments v1), read, cancelled, and placing
//! recurring orders (Customer Token API v1; the order call honours `Klarna-Idempotency-Key`).

use super::auth::Call;
use super::errors::ErrorResponse;
use super::idempotency::{Body, Keyed, once};
use super::json::JsonBody;
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::tokens;
use crate::wire::payments::OrderCreated;
use crate::wire::tokens::{TokenCreated, TokenCreationRequest, TokenOrderRequest, TokenRead, TokenStatusUpdate};
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use kassa_core::placeholders::fill_confirmation;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_token))
        .routes(routes!(read_token))
        .routes(routes!(update_status))
        .routes(routes!(place_order))
}

/// Exchange an authorization of a session created with intent `tokenize` or `buy_and_tokenize`
/// for a customer token.
#[utoipa::path(post, path = "/payments/v1/authorizations/{authorization_token}/customer-token", tag = "Customer tokens", security(("basic" = [])),
    request_body = TokenCreationRequest,
    responses(
        (status = 200, body = TokenCreated),
        (status = 400, description = "`BAD_VALUE`: a missing field, or one that does not match the session", body = ErrorResponse),
        (status = 403, description = "`INVALID_OPERATION`: the session's intent is `buy`", body = ErrorResponse),
        (status = 404, description = "Unknown, expired, released or used authorization", body = ErrorResponse),
    ))]
async fn create_token(
    Call { state, merchant }: Call,
    Path(authorization_token): Path<String>,
    JsonBody(request): JsonBody<TokenCreationRequest>,
) -> Result<Json<TokenCreated>, ApiError> {
    Ok(Json(tokens::create(&state, &merchant, &authorization_token, request).await?))
}

/// Read a customer token: its status and payment method.
#[utoipa::path(get, path = "/customer-token/v1/tokens/{customer_token}", tag = "Customer tokens", security(("basic" = [])),
    responses((status = 200, body = TokenRead), (status = 404, description = "`NOT_FOUND`", body = ErrorResponse)))]
async fn read_token(Call { state, merchant }: Call, Path(token_id): Path<String>) -> Result<Json<TokenRead>, ApiError> {
    let token = tokens::read(&state, &merchant, &token_id).await?;
    Ok(Json(TokenRead { status: token.status().as_str().to_owned(), payment_method_type: token.payment_method_type }))
}

/// Cancel a customer token (`{"status": "CANCELLED"}`); final, and applied at once.
#[utoipa::path(patch, path = "/customer-token/v1/tokens/{customer_token}/status", tag = "Customer tokens", security(("basic" = [])),
    request_body = TokenStatusUpdate,
    responses(
        (status = 202, description = "Cancelled"),
        (status = 400, description = "`BAD_VALUE`: a status other than CANCELLED", body = ErrorResponse),
        (status = 404, description = "`NOT_FOUND`", body = ErrorResponse),
    ))]
async fn update_status(
    Call { state, merchant }: Call,
    Path(token_id): Path<String>,
    JsonBody(request): JsonBody<TokenStatusUpdate>,
) -> Result<StatusCode, ApiError> {
    tokens::cancel(&state, &merchant, &token_id, request.status.as_deref()).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Place a recurring order with a customer token, the consumer absent.
#[utoipa::path(post, path = "/customer-token/v1/tokens/{customer_token}/order", tag = "Customer tokens", security(("basic" = [])),
    request_body = TokenOrderRequest,
    responses(
        (status = 200, body = OrderCreated),
        (status = 400, description = "`BAD_VALUE`: an invalid cart", body = ErrorResponse),
        (status = 403, description = "`TOKEN_CANCELED` or `TOKEN_SUSPENDED`", body = ErrorResponse),
        (status = 404, description = "`TOKEN_NOT_FOUND`", body = ErrorResponse),
        (status = 409, description = "The currency does not match the token's", body = ErrorResponse),
    ))]
async fn place_order(
    Call { state, merchant }: Call,
    Path(token_id): Path<String>,
    Keyed { key, body: Body(request) }: Keyed<Body<TokenOrderRequest>>,
) -> Result<Json<OrderCreated>, ApiError> {
    let work = async { Ok(tokens::place_order(&state, &merchant, &token_id, key.as_ref(), &request).await?) };
    let receipt = once(&state, &merchant, key.as_ref(), work).await?;
    let order_id = receipt.resource_id.ok_or_else(|| ApiError::Internal("the order call placed no order".into()))?;
    let token = tokens::read(&state, &merchant, &token_id).await?;
    let redirect_url =
        request.confirmation_url().map(|url| fill_confirmation(&url, &token.payment_session_id, &order_id));
    Ok(Json(OrderCreated::accepted(order_id, redirect_url)))
}
