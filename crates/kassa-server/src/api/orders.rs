//! Order Management: reading the orders kassa placed.

use super::auth::Call;
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::orders;
use crate::wire::payments::OrderV1;
use axum::Json;
use axum::extract::Path;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_order))
}

/// Read an order: status, amounts, captured amount.
#[utoipa::path(get, path = "/ordermanagement/v1/orders/{order_id}", tag = "Payments", security(("basic" = [])),
    responses((status = 200, body = OrderV1)))]
async fn read_order(Call { state, merchant }: Call, Path(order_id): Path<String>) -> Result<Json<OrderV1>, ApiError> {
    Ok(Json(orders::read(&state, &merchant, &order_id).await?))
}
