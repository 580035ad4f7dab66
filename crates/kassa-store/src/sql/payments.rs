//! Authorizations and orders as they are read back. Both are written inside a change
//! (`commit.rs`).

use super::rows::{at, get, name, optional};
use crate::StoreResult;
use kassa_core::order::{KlarnaReference, Order, OrderStatus};
use kassa_core::payment::{Authorization, AuthorizationStatus};
use sqlx::AnyPool;
use sqlx::any::AnyRow;

pub(super) async fn authorization(reader: &AnyPool, token: &str) -> StoreResult<Option<Authorization>> {
    optional(reader, sqlx::query("SELECT * FROM authorizations WHERE token = $1").bind(token), authorization_of).await
}

pub(super) async fn order(reader: &AnyPool, order_id: &str) -> StoreResult<Option<Order>> {
    optional(reader, sqlx::query("SELECT * FROM orders WHERE order_id = $1").bind(order_id), order_of).await
}

fn authorization_of(row: &AnyRow) -> StoreResult<Authorization> {
    Ok(Authorization {
        token: get(row, "token")?,
        merchant_id: get(row, "merchant_id")?,
        payment_session_id: get(row, "payment_session_id")?,
        status: name(row, "status", AuthorizationStatus::parse, "authorization status")?,
        created_at: at(row, "created_at")?,
        expires_at: at(row, "expires_at")?,
    })
}

fn order_of(row: &AnyRow) -> StoreResult<Order> {
    Ok(Order {
        order_id: get(row, "order_id")?,
        klarna_reference: name(row, "klarna_reference", KlarnaReference::parse, "klarna_reference")?,
        merchant_id: get(row, "merchant_id")?,
        payment_session_id: get(row, "payment_session_id")?,
        authorization_token: get(row, "authorization_token")?,
        status: name(row, "status", OrderStatus::parse, "order status")?,
        purchase_currency: get(row, "purchase_currency")?,
        order_amount: get(row, "order_amount")?,
        captured_amount: get(row, "captured_amount")?,
        created_at: at(row, "created_at")?,
    })
}
