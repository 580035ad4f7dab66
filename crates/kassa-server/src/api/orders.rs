//! Klarna Order Management v1: the order, its captures and refunds, and every operation on them.
//! Writes answer 204 without a body, creations 201 with `Location` and the new id as a header;
//! body-less POSTs take no body, `{}` or anything else (it is ignored). Every write honours
//! `Klarna-Idempotency-Key`: a repeat gets the first answer and does nothing again.

use super::auth::Call;
use super::errors::ErrorResponse;
use super::idempotency::{Body, Keyed, once};
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::error::ServiceResult;
use crate::service::idempotency::{IdempotencyKey, Receipt};
use crate::service::orders::manage;
use crate::wire::examples;
use crate::wire::orders::{
    CaptureRead, CaptureRequest, CustomerDetailsRequest, DueDateOption, DueDateOptions, ExtendDueDateRequest,
    MerchantReferencesRequest, OrderRead, RefundRead, RefundRequest, ShippingInfoRequest, UpdateAuthorizationRequest,
};
use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kassa_core::order::DUE_DATE_EXTENSIONS;
use std::future::Future;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read_order))
        .routes(routes!(acknowledge))
        .routes(routes!(cancel))
        .routes(routes!(update_authorization))
        .routes(routes!(extend_authorization_time))
        .routes(routes!(release_remaining_authorization))
        .routes(routes!(update_merchant_references))
        .routes(routes!(update_customer_details))
        .routes(routes!(add_shipping_info))
        .routes(routes!(create_capture, list_captures))
        .routes(routes!(read_capture))
        .routes(routes!(add_capture_shipping_info))
        .routes(routes!(trigger_send_out))
        .routes(routes!(extend_due_date))
        .routes(routes!(due_date_options))
        .routes(routes!(legacy_capture_customer_details))
        .routes(routes!(create_refund))
        .routes(routes!(read_refund))
}

/// 204 once the work is done (or was, under the same idempotency key).
async fn done(
    Call { state, merchant }: &Call,
    key: Option<&IdempotencyKey>,
    work: impl Future<Output = ServiceResult<Receipt>>,
) -> Result<StatusCode, ApiError> {
    once(state, merchant, key, async { Ok(work.await?) }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 201 with the created resource's absolute URL (under `collection`) and its id as `id_header`.
async fn created(
    Call { state, merchant }: &Call,
    key: Option<&IdempotencyKey>,
    collection: String,
    id_header: &'static str,
    work: impl Future<Output = ServiceResult<Receipt>>,
) -> Result<Response, ApiError> {
    let receipt = once(state, merchant, key, async { Ok(work.await?) }).await?;
    let id = receipt.resource_id.ok_or_else(|| ApiError::Internal("the work created nothing".into()))?;
    let location = state.config.url(&format!("{collection}/{id}"));
    let headers = [(header::LOCATION, location), (HeaderName::from_static(id_header), id)];
    Ok((StatusCode::CREATED, headers).into_response())
}

/// Read an order: status, amounts, lines, addresses, captures and refunds.
#[utoipa::path(get, path = "/ordermanagement/v1/orders/{order_id}", tag = "Order Management", security(("basic" = [])),
    responses(
        (status = 200, body = OrderRead),
        (status = 404, description = "`NO_SUCH_ORDER`", body = ErrorResponse),
    ))]
async fn read_order(Call { state, merchant }: Call, Path(order_id): Path<String>) -> Result<Json<OrderRead>, ApiError> {
    Ok(Json(OrderRead::from(&manage::read(&state, &merchant, &order_id).await?)))
}

/// Acknowledge an order (idempotent; no field of the order shows it).
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/acknowledge", tag = "Order Management", security(("basic" = [])),
    responses((status = 204, description = "Acknowledged"), (status = 404, description = "`NO_SUCH_ORDER`", body = ErrorResponse)))]
async fn acknowledge(
    call: Call,
    Path(order_id): Path<String>,
    Keyed { key, .. }: Keyed<()>,
) -> Result<StatusCode, ApiError> {
    done(&call, key.as_ref(), manage::acknowledge(&call.state, &call.merchant, &order_id, key.as_ref())).await
}

/// Cancel an order that has no captures: the whole authorization is released.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/cancel", tag = "Order Management", security(("basic" = [])),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 403, description = "`CANCEL_NOT_ALLOWED`: the order has captures, or is not open", body = ErrorResponse),
        (status = 404, description = "`NO_SUCH_ORDER`", body = ErrorResponse),
    ))]
async fn cancel(
    call: Call,
    Path(order_id): Path<String>,
    Keyed { key, .. }: Keyed<()>,
) -> Result<StatusCode, ApiError> {
    done(&call, key.as_ref(), manage::cancel(&call.state, &call.merchant, &order_id, key.as_ref())).await
}

/// Set a new authorized amount; the lines given replace the order's.
#[utoipa::path(patch, path = "/ordermanagement/v1/orders/{order_id}/authorization", tag = "Order Management", security(("basic" = [])),
    request_body = UpdateAuthorizationRequest,
    responses(
        (status = 204, description = "Updated"),
        (status = 403, description = "`NOT_ALLOWED`: below the captured amount, or the order is not open", body = ErrorResponse),
    ))]
async fn update_authorization(
    call: Call,
    Path(order_id): Path<String>,
    Keyed { key, body: Body(request) }: Keyed<Body<UpdateAuthorizationRequest>>,
) -> Result<StatusCode, ApiError> {
    done(
        &call,
        key.as_ref(),
        manage::update_authorization(&call.state, &call.merchant, &order_id, key.as_ref(), request),
    )
    .await
}

/// Extend the authorization by the merchant's period (28 days) from today, at most 180 days
/// after the purchase.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/extend-authorization-time", tag = "Order Management", security(("basic" = [])),
    responses((status = 204, description = "Extended"), (status = 403, description = "`NOT_ALLOWED`", body = ErrorResponse)))]
async fn extend_authorization_time(
    call: Call,
    Path(order_id): Path<String>,
    Keyed { key, .. }: Keyed<()>,
) -> Result<StatusCode, ApiError> {
    done(&call, key.as_ref(), manage::extend_authorization(&call.state, &call.merchant, &order_id, key.as_ref())).await
}

/// Release what remains uncaptured of a part-captured order.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/release-remaining-authorization", tag = "Order Management", security(("basic" = [])),
    responses((status = 204, description = "Released"), (status = 403, description = "`NOT_ALLOWED`", body = ErrorResponse)))]
async fn release_remaining_authorization(
    call: Call,
    Path(order_id): Path<String>,
    Keyed { key, .. }: Keyed<()>,
) -> Result<StatusCode, ApiError> {
    done(&call, key.as_ref(), manage::release_remaining(&call.state, &call.merchant, &order_id, key.as_ref())).await
}

/// Replace the merchant references (`""` clears one, an absent one stays).
#[utoipa::path(patch, path = "/ordermanagement/v1/orders/{order_id}/merchant-references", tag = "Order Management", security(("basic" = [])),
    request_body = MerchantReferencesRequest,
    responses((status = 204, description = "Updated"), (status = 403, description = "`NOT_ALLOWED`", body = ErrorResponse)))]
async fn update_merchant_references(
    call: Call,
    Path(order_id): Path<String>,
    Keyed { key, body: Body(request) }: Keyed<Body<MerchantReferencesRequest>>,
) -> Result<StatusCode, ApiError> {
    done(
        &call,
        key.as_ref(),
        manage::update_merchant_references(&call.state, &call.merchant, &order_id, key.as_ref(), request),
    )
    .await
}

/// Update the shipping address (the billing address can no longer change).
#[utoipa::path(patch, path = "/ordermanagement/v1/orders/{order_id}/customer-details", tag = "Order Management", security(("basic" = [])),
    request_body = CustomerDetailsRequest,
    responses((status = 204, description = "Updated"), (status = 403, description = "`NOT_ALLOWED`", body = ErrorResponse)))]
async fn update_customer_details(
    call: Call,
    Path(order_id): Path<String>,
    Keyed { key, body: Body(request) }: Keyed<Body<CustomerDetailsRequest>>,
) -> Result<StatusCode, ApiError> {
    done(
        &call,
        key.as_ref(),
        manage::update_customer_details(&call.state, &call.merchant, &order_id, key.as_ref(), request),
    )
    .await
}

/// Add shipping information to the order.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/shipping-info", tag = "Order Management", security(("basic" = [])),
    request_body = ShippingInfoRequest,
    responses((status = 204, description = "Added"), (status = 404, description = "`NO_SUCH_ORDER`", body = ErrorResponse)))]
async fn add_shipping_info(
    call: Call,
    Path(order_id): Path<String>,
    Keyed { key, body: Body(request) }: Keyed<Body<ShippingInfoRequest>>,
) -> Result<StatusCode, ApiError> {
    done(
        &call,
        key.as_ref(),
        manage::add_shipping_info(&call.state, &call.merchant, &order_id, key.as_ref(), request.shipping_info),
    )
    .await
}

/// Capture part or all of the remaining authorized amount.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/captures", tag = "Order Management", security(("basic" = [])),
    request_body(content = CaptureRequest, example = examples::capture),
    responses(
        (status = 201, description = "Captured", headers(("Location" = String), ("Capture-Id" = String))),
        (status = 403, description = "`CAPTURE_NOT_ALLOWED`: more than remains, or the order is not open", body = ErrorResponse),
        (status = 404, description = "`NO_SUCH_ORDER`", body = ErrorResponse),
    ))]
async fn create_capture(
    call: Call,
    Path(order_id): Path<String>,
    Keyed { key, body: Body(request) }: Keyed<Body<CaptureRequest>>,
) -> Result<Response, ApiError> {
    let collection = format!("/ordermanagement/v1/orders/{order_id}/captures");
    let work = manage::capture(&call.state, &call.merchant, &order_id, key.as_ref(), request);
    created(&call, key.as_ref(), collection, "capture-id", work).await
}

/// The order's captures, oldest first.
#[utoipa::path(get, path = "/ordermanagement/v1/orders/{order_id}/captures", tag = "Order Management", security(("basic" = [])),
    responses((status = 200, body = Vec<CaptureRead>), (status = 404, description = "`NO_SUCH_ORDER`", body = ErrorResponse)))]
async fn list_captures(
    Call { state, merchant }: Call,
    Path(order_id): Path<String>,
) -> Result<Json<Vec<CaptureRead>>, ApiError> {
    let order = manage::read(&state, &merchant, &order_id).await?;
    Ok(Json(order.captures.iter().map(CaptureRead::from).collect()))
}

/// One capture.
#[utoipa::path(get, path = "/ordermanagement/v1/orders/{order_id}/captures/{capture_id}", tag = "Order Management", security(("basic" = [])),
    responses((status = 200, body = CaptureRead), (status = 404, description = "`NO_SUCH_ORDER` or `NO_SUCH_CAPTURE`", body = ErrorResponse)))]
async fn read_capture(
    Call { state, merchant }: Call,
    Path((order_id, capture_id)): Path<(String, String)>,
) -> Result<Json<CaptureRead>, ApiError> {
    let (_, capture) = manage::capture_of(&state, &merchant, &order_id, &capture_id).await?;
    Ok(Json(CaptureRead::from(&capture)))
}

/// Add shipping information to a capture.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/captures/{capture_id}/shipping-info", tag = "Order Management", security(("basic" = [])),
    request_body = ShippingInfoRequest,
    responses((status = 204, description = "Added"), (status = 404, description = "`NO_SUCH_CAPTURE`", body = ErrorResponse)))]
async fn add_capture_shipping_info(
    call: Call,
    Path((order_id, capture_id)): Path<(String, String)>,
    Keyed { key, body: Body(request) }: Keyed<Body<ShippingInfoRequest>>,
) -> Result<StatusCode, ApiError> {
    let (state, merchant, shipping) = (&call.state, &call.merchant, request.shipping_info);
    done(
        &call,
        key.as_ref(),
        manage::add_capture_shipping_info(state, merchant, &order_id, key.as_ref(), &capture_id, shipping),
    )
    .await
}

/// Send the consumer the capture's payment instructions again (recorded on the capture).
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/captures/{capture_id}/trigger-send-out", tag = "Order Management", security(("basic" = [])),
    responses(
        (status = 204, description = "Sent"),
        (status = 403, description = "`NOT_ALLOWED`: the order has no email to send to", body = ErrorResponse),
        (status = 404, description = "`NO_SUCH_CAPTURE`", body = ErrorResponse),
    ))]
async fn trigger_send_out(
    call: Call,
    Path((order_id, capture_id)): Path<(String, String)>,
    Keyed { key, .. }: Keyed<()>,
) -> Result<StatusCode, ApiError> {
    done(
        &call,
        key.as_ref(),
        manage::trigger_send_out(&call.state, &call.merchant, &order_id, key.as_ref(), &capture_id),
    )
    .await
}

/// Extend a capture's due date by one of the offered numbers of days.
#[utoipa::path(patch, path = "/ordermanagement/v1/orders/{order_id}/captures/{capture_id}/extend-due-date", tag = "Order Management", security(("basic" = [])),
    request_body = ExtendDueDateRequest,
    responses((status = 204, description = "Extended"), (status = 403, description = "`NOT_ALLOWED`: not an offered option", body = ErrorResponse)))]
async fn extend_due_date(
    call: Call,
    Path((order_id, capture_id)): Path<(String, String)>,
    Keyed { key, body: Body(request) }: Keyed<Body<ExtendDueDateRequest>>,
) -> Result<StatusCode, ApiError> {
    let (state, merchant, days) = (&call.state, &call.merchant, request.number_of_days);
    done(&call, key.as_ref(), manage::extend_due_date(state, merchant, &order_id, key.as_ref(), &capture_id, days))
        .await
}

/// The due-date extensions a capture offers (kassa charges no fee).
#[utoipa::path(get, path = "/ordermanagement/v1/orders/{order_id}/captures/{capture_id}/extend-due-date-options", tag = "Order Management", security(("basic" = [])),
    responses((status = 200, body = DueDateOptions), (status = 404, description = "`NO_SUCH_CAPTURE`", body = ErrorResponse)))]
async fn due_date_options(
    Call { state, merchant }: Call,
    Path((order_id, capture_id)): Path<(String, String)>,
) -> Result<Json<DueDateOptions>, ApiError> {
    let (order, _) = manage::capture_of(&state, &merchant, &order_id, &capture_id).await?;
    let options = DUE_DATE_EXTENSIONS.iter().map(|&number_of_days| DueDateOption { amount: 0, number_of_days });
    Ok(Json(DueDateOptions { currency: order.purchase_currency.to_ascii_lowercase(), options: options.collect() }))
}

/// Refund part or all of what was captured.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/refunds", tag = "Order Management", security(("basic" = [])),
    request_body(content = RefundRequest, example = examples::refund),
    responses(
        (status = 201, description = "Refunded", headers(("Location" = String), ("Refund-Id" = String))),
        (status = 403, description = "`REFUND_NOT_ALLOWED`: no captures, or more than was captured", body = ErrorResponse),
        (status = 404, description = "`NOT_FOUND`", body = ErrorResponse),
    ))]
async fn create_refund(
    call: Call,
    Path(order_id): Path<String>,
    Keyed { key, body: Body(request) }: Keyed<Body<RefundRequest>>,
) -> Result<Response, ApiError> {
    let collection = format!("/ordermanagement/v1/orders/{order_id}/refunds");
    let work = manage::refund(&call.state, &call.merchant, &order_id, key.as_ref(), request);
    created(&call, key.as_ref(), collection, "refund-id", work).await
}

/// One refund.
#[utoipa::path(get, path = "/ordermanagement/v1/orders/{order_id}/refunds/{refund_id}", tag = "Order Management", security(("basic" = [])),
    responses((status = 200, body = RefundRead), (status = 404, description = "`NOT_FOUND`", body = ErrorResponse)))]
async fn read_refund(
    Call { state, merchant }: Call,
    Path((order_id, refund_id)): Path<(String, String)>,
) -> Result<Json<RefundRead>, ApiError> {
    Ok(Json(RefundRead::from(&manage::refund_of(&state, &merchant, &order_id, &refund_id).await?)))
}

/// A capture's customer details: an old route Klarna's PHP SDK still calls. Customer details
/// are the order's (`PATCH …/customer-details`); here they cannot change.
#[utoipa::path(patch, path = "/ordermanagement/v1/orders/{order_id}/captures/{capture_id}/customer-details", tag = "Order Management", security(("basic" = [])),
    responses((status = 403, description = "`NOT_ALLOWED`: change the order's customer details instead", body = ErrorResponse)))]
async fn legacy_capture_customer_details(
    Call { state, merchant }: Call,
    Path((order_id, capture_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    manage::capture_of(&state, &merchant, &order_id, &capture_id).await?;
    Err(ApiError::Forbidden {
        code: "NOT_ALLOWED",
        message: "A capture's customer details cannot be updated; update the order's (PATCH …/customer-details)".into(),
    })
}
