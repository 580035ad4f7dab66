//! Placing orders from authorization tokens, and releasing unused authorizations (Payments v1).

use crate::app::state::AppState;
use crate::service::case::place_order as order_change;
use crate::service::error::{Rule, ServiceError, ServiceResult};
use crate::service::validate::schema;
use crate::service::{context, load, retry_on_conflict};
use crate::wire::payments::{CreateOrderRequest, OrderCreated};
use kassa_core::cart::Cart;
use kassa_core::payment::AuthorizationStatus;
use kassa_core::placeholders::fill_confirmation;
use kassa_store::{AuthorizationWrite, Change, Merchant};

/// The fields of an order's cart that must equal the authorized session's.
fn check_matches(session: &Cart, order: &Cart) -> ServiceResult<()> {
    let mismatch = if session.currency() != order.currency() {
        Some("purchase_currency")
    } else if session.country() != order.country() {
        Some("purchase_country")
    } else if session.order_amount != order.order_amount {
        Some("order_amount")
    } else {
        None
    };
    match mismatch {
        Some(field) => {
            Err(ServiceError::Mismatch { field: field.into(), reason: "does not match the authorized session".into() })
        }
        None => Ok(()),
    }
}

/// Places an order from an authorization token (`POST /payments/v1/authorizations/{token}/order`).
pub async fn place_order(
    state: &AppState,
    merchant: &Merchant,
    token: &str,
    mut request: CreateOrderRequest,
) -> ServiceResult<OrderCreated> {
    let cart = request.cart.cart().parse()?;
    schema::session_objects(&mut request.cart)?;
    retry_on_conflict(|| async {
        let (authorization, case) = load::usable_authorization(state, merchant, token).await?;
        check_matches(&case.cart()?, &cart)?;
        let used = AuthorizationWrite::Transition {
            token: token.to_owned(),
            from: AuthorizationStatus::Valid,
            to: AuthorizationStatus::Ordered,
        };
        let ctx = context(state, merchant);
        let capture = request.auto_capture.unwrap_or(false);
        let (change, order) = order_change(ctx, &case, used, token, capture, Some(&request.cart), None)?;
        state.commit(change).await?;
        let redirect_url = request
            .confirmation_url()
            .map(|url| fill_confirmation(&url, &authorization.payment_session_id, &order.order_id));
        Ok(OrderCreated::accepted(order.order_id, redirect_url))
    })
    .await
}

/// Releases an authorization that has not been used (`DELETE /payments/v1/authorizations/{token}`).
pub async fn release_authorization(state: &AppState, merchant: &Merchant, token: &str) -> ServiceResult<()> {
    retry_on_conflict(|| async {
        let authorization = state.store.authorization(token).await?.filter(|a| a.merchant_id == merchant.id);
        let authorization = authorization.ok_or_else(|| ServiceError::not_found("No authorization with this token"))?;
        match authorization.status {
            AuthorizationStatus::Valid if authorization.is_usable(state.now_for(&merchant.id)) => {
                let release = AuthorizationWrite::Transition {
                    token: token.to_owned(),
                    from: AuthorizationStatus::Valid,
                    to: AuthorizationStatus::Released,
                };
                state.commit(Change::default().authorization(release)).await?;
                Ok(())
            }
            AuthorizationStatus::Valid => Err(ServiceError::not_found("The authorization has expired")),
            AuthorizationStatus::Released => Err(ServiceError::not_found("The authorization was already released")),
            AuthorizationStatus::Ordered => {
                Err(Rule::AuthorizationUsed.refuses("The authorization has been used to place an order").into())
            }
        }
    })
    .await
}
