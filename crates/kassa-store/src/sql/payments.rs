//! Authorizations as they are read back; they are written inside a change (`commit.rs`).

use super::rows::{at, get, name, optional};
use crate::StoreResult;
use kassa_core::payment::{Authorization, AuthorizationStatus};
use sqlx::AnyPool;
use sqlx::any::AnyRow;

pub(super) async fn authorization(reader: &AnyPool, token: &str) -> StoreResult<Option<Authorization>> {
    optional(reader, sqlx::query("SELECT * FROM authorizations WHERE token = $1").bind(token), authorization_of).await
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
