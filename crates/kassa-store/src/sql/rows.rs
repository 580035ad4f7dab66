//! Row → value decoding for the SQLite backend.

use super::{get, parse_name};
use crate::{Merchant, Message, NewEvent, SessionKind, StoreError, StoreResult, StoredEvent};
use kassa_core::Timestamp;
use kassa_core::order::{KlarnaReference, Order, OrderStatus};
use kassa_core::payment::{Authorization, AuthorizationStatus};
use sqlx::any::AnyRow;

fn at(row: &AnyRow, column: &str) -> StoreResult<Timestamp> {
    Ok(Timestamp::from_millis(get(row, column)?))
}

pub(super) fn json(row: &AnyRow, column: &str) -> StoreResult<serde_json::Value> {
    let text: String = get(row, column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// A session's JSON state and revision.
pub(super) fn state(row: &AnyRow) -> StoreResult<(serde_json::Value, u64)> {
    let revision: i64 = get(row, "revision")?;
    Ok((json(row, "state")?, revision as u64))
}

pub(super) fn merchant(row: &AnyRow) -> StoreResult<Merchant> {
    Ok(Merchant {
        id: get(row, "id")?,
        name: get(row, "name")?,
        username: get(row, "username")?,
        secret_salt: get(row, "secret_salt")?,
        secret_hash: get(row, "secret_hash")?,
        created_at: at(row, "created_at")?,
        webhook_secrets: get::<String>(row, "webhook_secrets")?.split_whitespace().map(str::to_owned).collect(),
        retry_policy: get(row, "retry_policy")?,
    })
}

pub(super) fn authorization(row: &AnyRow) -> StoreResult<Authorization> {
    let status: String = get(row, "status")?;
    Ok(Authorization {
        token: get(row, "token")?,
        merchant_id: get(row, "merchant_id")?,
        payment_session_id: get(row, "payment_session_id")?,
        status: parse_name(&status, AuthorizationStatus::parse, "authorization status")?,
        created_at: at(row, "created_at")?,
        expires_at: at(row, "expires_at")?,
    })
}

pub(super) fn order(row: &AnyRow) -> StoreResult<Order> {
    let status: String = get(row, "status")?;
    let reference: String = get(row, "klarna_reference")?;
    Ok(Order {
        order_id: get(row, "order_id")?,
        klarna_reference: parse_name(&reference, KlarnaReference::parse, "klarna_reference")?,
        merchant_id: get(row, "merchant_id")?,
        payment_session_id: get(row, "payment_session_id")?,
        authorization_token: get(row, "authorization_token")?,
        status: parse_name(&status, OrderStatus::parse, "order status")?,
        purchase_currency: get(row, "purchase_currency")?,
        order_amount: get(row, "order_amount")?,
        captured_amount: get(row, "captured_amount")?,
        created_at: at(row, "created_at")?,
    })
}

pub(super) fn event(row: &AnyRow) -> StoreResult<StoredEvent> {
    let kind: String = get(row, "session_kind")?;
    let seq: i64 = get(row, "seq")?;
    Ok(StoredEvent {
        position: get(row, "position")?,
        event: NewEvent {
            event_id: get(row, "event_id")?,
            merchant_id: get(row, "merchant_id")?,
            session_kind: parse_name(&kind, SessionKind::parse, "session kind")?,
            session_id: get(row, "session_id")?,
            seq: seq as u64,
            status: get(row, "status")?,
            body: json(row, "body")?,
            created_at: at(row, "created_at")?,
        },
    })
}

pub(super) fn message(row: &AnyRow) -> StoreResult<Message> {
    Ok(Message {
        id: get(row, "id")?,
        merchant_id: get(row, "merchant_id")?,
        session_id: get(row, "session_id")?,
        method: get(row, "method")?,
        recipient: get(row, "recipient")?,
        subject: get(row, "subject")?,
        body: get(row, "body")?,
        created_at: at(row, "created_at")?,
    })
}
