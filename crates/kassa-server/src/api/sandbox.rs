//! Sandbox controls: the consumer's side of HPP sessions and in-store payments, without a
//! browser or a phone.

use super::auth::Call;
use super::errors::ErrorResponse;
use super::json::JsonBody;
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::instore::ConsumerAction;
use crate::service::orders::manage::{self, KlarnaDecision};
use crate::service::{hpp, instore, tokens, validate};
use crate::wire::decode as json;
use crate::wire::instore::{ConsumerSessionRequest, ConsumerSessionV1, DistributionResult, ForcedFailure};
use crate::wire::kassa::SandboxOutcome;
use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use kassa_core::customer_token::TokenAction;
use kassa_core::distribution::DistributionErrorCode;
use kassa_core::hpp::HppAction;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The actions of `POST /sandbox/v1/orders/{order_id}/{action}` (the document lists them).
pub const ORDER_DECISIONS: [&str; 2] = ["close", "decline-increases"];
/// The actions of `POST /sandbox/v1/distributions/{session_id}/{action}` (the document lists them).
pub const DISTRIBUTION_ACTIONS: [&str; 5] = ["open", "pay", "decline", "cancel", "fail"];

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(consumer_action))
        .routes(routes!(create_consumer_session))
        .routes(routes!(distribution_action))
        .routes(routes!(customer_token_action))
        .routes(routes!(order_decision))
}

/// Act as Klarna on an order: `close` it, or `decline-increases` (its next authorization update
/// that raises the amount is refused, as Klarna's risk check can).
#[utoipa::path(post, path = "/sandbox/v1/orders/{order_id}/{action}", tag = "Sandbox", security(("basic" = [])),
    params(
        ("order_id" = String, Path),
        ("action" = String, Path, description = "close or decline-increases"),
    ),
    responses(
        (status = 204, description = "Done"),
        (status = 403, description = "`NOT_ALLOWED` in the order's status", body = ErrorResponse),
        (status = 404, description = "Unknown order (`NO_SUCH_ORDER`) or action", body = ErrorResponse),
    ))]
async fn order_decision(
    Call { state, merchant }: Call,
    Path((order_id, action)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let decision = match action.as_str() {
        "close" => KlarnaDecision::Close,
        "decline-increases" => KlarnaDecision::DeclineIncreases,
        _ => {
            let expected = ORDER_DECISIONS.join(" or ");
            return Err(ApiError::not_found(format!("Unknown order action {action:?}: use {expected}")));
        }
    };
    manage::klarna_decides(&state, &merchant, &order_id, decision).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Act as Klarna on a customer token: `suspend` it (its orders are refused with
/// `TOKEN_SUSPENDED`) or `resume` it.
#[utoipa::path(post, path = "/sandbox/v1/customer-tokens/{customer_token}/{action}", tag = "Sandbox", security(("basic" = [])),
    params(
        ("customer_token" = String, Path),
        ("action" = String, Path, description = "suspend or resume"),
    ),
    responses(
        (status = 204, description = "Done"),
        (status = 404, description = "Unknown token or action", body = ErrorResponse),
        (status = 403, description = "Not allowed in the token's status (a cancelled token)", body = ErrorResponse),
    ))]
async fn customer_token_action(
    Call { state, merchant }: Call,
    Path((token_id, action)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let action = TokenAction::parse(&action)
        .filter(|a| *a != TokenAction::Cancel)
        .ok_or_else(|| ApiError::not_found(format!("Unknown token action {action:?}: use suspend or resume")))?;
    tokens::change_status(&state, &merchant, &token_id, action).await?;
    Ok(StatusCode::NO_CONTENT)
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
    Call { state, merchant }: Call,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<SandboxOutcome>, ApiError> {
    let action = HppAction::parse(&action).filter(|a| *a != HppAction::Disable).ok_or_else(|| {
        ApiError::not_found(format!(
            "Unknown consumer action {action:?}: use open, approve, decline, back, error or cancel"
        ))
    })?;
    Ok(Json(hpp::consumer_action(&state, &merchant, &id, action).await?))
}

/// Create a consumer session: what a customer's phone gets by scanning a store's static QR. Its
/// `short_code`, sent as `distribution.short_code`, pushes a payment to it until `expires_at`.
#[utoipa::path(post, path = "/sandbox/v1/consumer-sessions", tag = "Sandbox", security(("basic" = [])),
    request_body = ConsumerSessionRequest,
    responses(
        (status = 201, body = ConsumerSessionV1),
        (status = 409, description = "A live consumer session already has this short code", body = ErrorResponse),
    ))]
async fn create_consumer_session(
    Call { state, merchant }: Call,
    JsonBody(request): JsonBody<ConsumerSessionRequest>,
) -> Result<(StatusCode, Json<ConsumerSessionV1>), ApiError> {
    Ok((StatusCode::CREATED, Json(instore::create_consumer_session(&state, &merchant, request).await?)))
}

/// Act on an in-store distribution: as the consumer `open` (the payment link), `pay` (the order
/// is placed and captured), `decline`, `cancel`; or `fail` it with `{"code": "UNKNOWN"}` or
/// `{"code": "CONSUMER_SESSION_NOT_FOUND"}`.
#[utoipa::path(post, path = "/sandbox/v1/distributions/{session_id}/{action}", tag = "Sandbox", security(("basic" = [])),
    params(
        ("session_id" = String, Path),
        ("action" = String, Path, description = "open, pay, decline, cancel or fail"),
    ),
    request_body(content = ForcedFailure, description = "For `fail` only"),
    responses(
        (status = 200, description = "The distribution result now", body = DistributionResult),
        (status = 404, description = "Unknown session or action", body = ErrorResponse),
        (status = 409, description = "Not allowed in the distribution's current status", body = ErrorResponse),
    ))]
async fn distribution_action(
    Call { state, merchant }: Call,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<DistributionResult>, ApiError> {
    let action = match action.as_str() {
        "open" => ConsumerAction::Open,
        "pay" => ConsumerAction::Pay,
        "decline" => ConsumerAction::Decline,
        "cancel" => ConsumerAction::Cancel,
        "fail" => {
            let failure: ForcedFailure = json::parse(&body)?;
            let code = failure.code.ok_or_else(|| ApiError::bad_value("code", "is required"))?;
            let code = validate::one_of("code", &code, DistributionErrorCode::parse, DistributionErrorCode::expected)?;
            ConsumerAction::Fail(code)
        }
        other => {
            let expected = DISTRIBUTION_ACTIONS.join(", ");
            return Err(ApiError::not_found(format!("Unknown distribution action {other:?}: use one of {expected}")));
        }
    };
    Ok(Json(instore::consumer_action(&state, &merchant, &id, action).await?))
}
