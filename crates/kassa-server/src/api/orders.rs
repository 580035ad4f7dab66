//! Order Management: reading the orders kassa placed.

use super::auth::Authenticated;
use super::errors::ErrorResponse;
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::orders;
use crate::wire::payments::OrderV1;
use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_order))
}

/// Read an order: status, amounts, captured amount.
#[utoipa::path(get, path = "/ordermanagement/v1/orders/{order_id}", tag = "Payments", security(("basic" = [])),
    params(("order_id" = String, Path)),
    responses((status = 200, body = OrderV1), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
async fn read_order(
    State(state): State<AppState>,
    Authenticated(merchant): Authenticated,
    Path(order_id): Path<String>,
) -> Result<Json<OrderV1>, ApiError> {
    Ok(Json(orders::read(&state, &merchant, &order_id).await?))
}
