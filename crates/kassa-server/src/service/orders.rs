//! Authorizations and orders.

use super::payments::{self, PaymentRecord, disable_open, read_view};
use super::{event_row, retry_on_conflict};
use crate::app::state::AppState;
use crate::error::ApiError;
use crate::model::ids;
use crate::wire::decode as json;
use crate::wire::payments::{AuthorizedPaymentMethod, OrderCreated, OrderV1, PaymentSessionRequest};
use axum::http::StatusCode;
use kassa_core::order::{Order, OrderStatus};
use kassa_core::payment::{AuthorizationStatus, PaymentAction};
use kassa_store::{AuthorizationWrite, Change, Merchant, SessionWrite, StoreExt, Stored};
use serde_json::Value;

/// Everything placing an order writes: the payment session completes, the authorization is
/// used up, the order exists, and the session's other open HPP sessions end. `authorization` is
/// the write that marks the token as ordered; `hosted_by` the HPP session that placed it, if any.
pub(crate) async fn order_change(
    state: &AppState,
    merchant: &Merchant,
    payment: &Stored<PaymentRecord>,
    authorization: AuthorizationWrite,
    token: &str,
    capture: bool,
    hosted_by: Option<&str>,
) -> Result<(Change, Order), ApiError> {
    let now = state.now();
    let (session, event) = payment.session.apply(PaymentAction::PlaceOrder, now).map_err(|_| {
        ApiError::invalid_operation(StatusCode::FORBIDDEN, "An order has already been placed for this payment session")
    })?;
    let after = PaymentRecord { session, ..payment.record.clone() };
    let amount = payment.request.order_amount.unwrap_or(0);
    let order = Order {
        order_id: ids::new_id(),
        klarna_reference: ids::klarna_reference(),
        merchant_id: payment.session.merchant_id.clone(),
        payment_session_id: payment.session.id.clone(),
        authorization_token: token.to_owned(),
        status: if capture { OrderStatus::Captured } else { OrderStatus::Authorized },
        purchase_currency: payment.request.purchase_currency.clone().unwrap_or_default().to_uppercase(),
        order_amount: amount,
        captured_amount: if capture { amount } else { 0 },
        created_at: now,
    };
    let change = Change::default()
        .session(SessionWrite::update(payment, &after)?)
        .event(event_row(&after, &event, &read_view(&after, &state.config))?)
        .authorization(authorization)
        .order(order.clone());
    let hosted = state.store.load_children(&payment.session.id).await?;
    Ok((change.merge(disable_open(&hosted, hosted_by, now, merchant)?), order))
}

const NO_AUTHORIZATION: &str = "No usable authorization with this token (unknown, expired, released or already used)";

/// The fields of an order request that must equal the authorized session's.
fn check_matches(session: &PaymentSessionRequest, order: &PaymentSessionRequest) -> Result<(), ApiError> {
    let text = |v: &Option<String>| v.as_deref().unwrap_or("").to_ascii_uppercase();
    let mismatch = if text(&session.purchase_currency) != text(&order.purchase_currency) {
        Some("purchase_currency")
    } else if text(&session.purchase_country) != text(&order.purchase_country) {
        Some("purchase_country")
    } else if session.order_amount != order.order_amount {
        Some("order_amount")
    } else {
        None
    };
    match mismatch {
        Some(field) => {
            Err(ApiError::Mismatch { field: field.into(), reason: "does not match the authorized session".into() })
        }
        None => Ok(()),
    }
}

/// Places an order from an authorization token (`POST /payments/v1/authorizations/{token}/order`).
pub async fn place_order(
    state: &AppState,
    merchant: &Merchant,
    token: &str,
    body: Value,
) -> Result<OrderCreated, ApiError> {
    let auto_capture = match body.get("auto_capture") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad_value("auto_capture", "must be a boolean")),
    };
    let request: PaymentSessionRequest = json::from_value(body)?;
    request.cart().validate()?;
    retry_on_conflict(|| async {
        let authorization = state.store.authorization(token).await?;
        let authorization = authorization
            .filter(|a| a.merchant_id == merchant.id && a.is_usable(state.now()))
            .ok_or_else(|| ApiError::not_found(NO_AUTHORIZATION))?;
        let payment = payments::load(state, merchant, &authorization.payment_session_id).await?;
        check_matches(&payment.request, &request)?;
        let used = AuthorizationWrite::Transition {
            token: token.to_owned(),
            from: AuthorizationStatus::Valid,
            to: AuthorizationStatus::Ordered,
        };
        let (change, order) = order_change(state, merchant, &payment, used, token, auto_capture, None).await?;
        state.commit(change).await?;
        let confirmation = request.merchant_urls.as_ref().and_then(|u| u.get("confirmation")).and_then(Value::as_str);
        Ok(OrderCreated {
            order_id: order.order_id,
            redirect_url: confirmation.map(str::to_owned),
            fraud_status: "ACCEPTED".into(),
            authorized_payment_method: AuthorizedPaymentMethod {
                kind: "invoice".into(),
                number_of_days: 30,
                number_of_installments: 1,
            },
        })
    })
    .await
}

/// Releases an authorization that has not been used (`DELETE /payments/v1/authorizations/{token}`).
pub async fn release_authorization(state: &AppState, merchant: &Merchant, token: &str) -> Result<(), ApiError> {
    retry_on_conflict(|| async {
        let authorization = state.store.authorization(token).await?.filter(|a| a.merchant_id == merchant.id);
        let authorization = authorization.ok_or_else(|| ApiError::not_found("No authorization with this token"))?;
        match authorization.status {
            AuthorizationStatus::Valid if authorization.is_usable(state.now()) => {
                let release = AuthorizationWrite::Transition {
                    token: token.to_owned(),
                    from: AuthorizationStatus::Valid,
                    to: AuthorizationStatus::Released,
                };
                state.commit(Change::default().authorization(release)).await?;
                Ok(())
            }
            AuthorizationStatus::Valid => Err(ApiError::not_found("The authorization has expired")),
            AuthorizationStatus::Released => Err(ApiError::not_found("The authorization was already released")),
            AuthorizationStatus::Ordered => Err(ApiError::invalid_operation(
                StatusCode::FORBIDDEN,
                "The authorization has been used to place an order",
            )),
        }
    })
    .await
}

/// An order of the merchant (`GET /ordermanagement/v1/orders/{order_id}`).
pub async fn read(state: &AppState, merchant: &Merchant, order_id: &str) -> Result<OrderV1, ApiError> {
    let order = state.store.order(order_id).await?.filter(|o| o.merchant_id == merchant.id);
    let order = order.ok_or_else(|| ApiError::not_found("Order not found"))?;
    Ok(OrderV1 {
        status: order.status.as_str().to_owned(),
        klarna_reference: order.klarna_reference.as_str().to_owned(),
        purchase_currency: order.purchase_currency,
        order_amount: order.order_amount,
        original_order_amount: order.order_amount,
        captured_amount: order.captured_amount,
        refunded_amount: 0,
        remaining_authorized_amount: order.order_amount - order.captured_amount,
        created_at: order.created_at.to_string(),
        order_id: order.order_id,
    })
}
