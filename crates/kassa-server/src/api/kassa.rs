//! kassa's own routes beyond Klarna's API.

use super::auth::Call;
use super::errors::ErrorResponse;
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::{events, messages, secrets};
use crate::wire::events::{DeliveryLog, EventPage, Redelivery};
use crate::wire::kassa::{DistributionMessage, DistributionMessages, WebhookSecrets};
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages))
        .routes(routes!(list_order_messages))
        .routes(routes!(retry_message))
        .routes(routes!(list_events))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
        .routes(routes!(webhook_secrets))
}

/// The merchant's webhook signing secrets (`whsec_…`), newest first: what its status callbacks
/// are signed with (two during a rotation). `kassa listen` signs what it forwards with them.
#[utoipa::path(get, path = "/kassa/v1/webhooks/secrets", tag = "kassa", security(("basic" = [])),
    responses((status = 200, body = WebhookSecrets)))]
async fn webhook_secrets(Call { state, merchant }: Call) -> Result<Json<WebhookSecrets>, ApiError> {
    Ok(Json(WebhookSecrets { secrets: secrets::readable_webhook_secrets(&state.config.secrets, &merchant)? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FeedQuery {
    /// Continue after this cursor (`next_cursor` of the previous page); from the start when absent.
    after: Option<String>,
    /// Events per page, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only this session's events.
    session_id: Option<String>,
    /// Only events of this kind of session.
    #[param(pattern = "^(payment|hpp|distribution|order|customer_token)$")]
    kind: Option<String>,
    /// Only events that reached this status (`COMPLETED`, `BACK`, …).
    #[serde(rename = "type")]
    status: Option<String>,
    /// Only events with a callback target that no delivery has reached.
    undelivered: Option<bool>,
}

impl FeedQuery {
    fn request(self) -> events::FeedRequest {
        events::FeedRequest {
            after: self.after,
            after_name: "after",
            limit: self.limit,
            session_id: self.session_id,
            kind: self.kind,
            status: self.status,
            undelivered: self.undelivered.unwrap_or(false),
        }
    }
}

/// The merchant's events in commit order, cursor-paged: the reconciliation batch in one call.
#[utoipa::path(get, path = "/kassa/v1/events", tag = "kassa", security(("basic" = [])),
    params(FeedQuery),
    responses((status = 200, body = EventPage)))]
async fn list_events(
    Call { state, merchant }: Call,
    Query(query): Query<FeedQuery>,
) -> Result<Json<EventPage>, ApiError> {
    Ok(Json(events::page(&state, &merchant, query.request()).await?))
}

/// A session's status callbacks, each with every attempt (status, latency, error).
#[utoipa::path(get, path = "/kassa/v1/sessions/{session_id}/deliveries", tag = "kassa", security(("basic" = [])),
    responses((status = 200, body = DeliveryLog)))]
async fn list_deliveries(
    Call { state, merchant }: Call,
    Path(id): Path<String>,
) -> Result<Json<DeliveryLog>, ApiError> {
    Ok(Json(events::deliveries(&state, &merchant, &id).await?))
}

/// Send an event's callback again (same `event_id`) to the targets it had.
#[utoipa::path(post, path = "/kassa/v1/events/{event_id}/redeliver", tag = "kassa", security(("basic" = [])),
    responses(
        (status = 202, body = Redelivery),
        (status = 400, description = "The event has no callback target", body = ErrorResponse),
    ))]
async fn redeliver(
    Call { state, merchant }: Call,
    Path(event_id): Path<String>,
) -> Result<(StatusCode, Json<Redelivery>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(events::redeliver(&state, &merchant, &event_id).await?)))
}

/// The payment instructions sent again for an order's captures (`trigger-send-out`), oldest first.
#[utoipa::path(get, path = "/kassa/v1/orders/{order_id}/messages", tag = "kassa", security(("basic" = [])),
    responses(
        (status = 200, body = DistributionMessages),
        (status = 404, description = "`NO_SUCH_ORDER`", body = ErrorResponse),
    ))]
async fn list_order_messages(
    Call { state, merchant }: Call,
    Path(order_id): Path<String>,
) -> Result<Json<DistributionMessages>, ApiError> {
    Ok(Json(messages::of_order(&state, &merchant, &order_id).await?))
}

/// Send a failed distribution message again (pending, due now, with a fresh set of attempts),
/// once what made it fail is mended.
#[utoipa::path(post, path = "/kassa/v1/messages/{message_id}/retry", tag = "kassa", security(("basic" = [])),
    responses(
        (status = 202, body = DistributionMessage),
        (status = 404, description = "No such message of the merchant", body = ErrorResponse),
        (status = 409, description = "The message has not failed", body = ErrorResponse),
    ))]
async fn retry_message(
    Call { state, merchant }: Call,
    Path(message_id): Path<String>,
) -> Result<(StatusCode, Json<DistributionMessage>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(messages::retry(&state, &merchant, &message_id).await?)))
}

/// The distribution messages (SMS, email, token) sent for an HPP session, oldest first.
#[utoipa::path(get, path = "/kassa/v1/hpp/sessions/{session_id}/messages", tag = "kassa", security(("basic" = [])),
    responses(
        (status = 200, body = DistributionMessages),
    ))]
async fn list_messages(
    Call { state, merchant }: Call,
    Path(id): Path<String>,
) -> Result<Json<DistributionMessages>, ApiError> {
    Ok(Json(messages::list(&state, &merchant, &id).await?))
}
