//! Browser sessions (dashboard logins), by the hash of their cookie's token.

use super::rows::{Write, at, get, optional};
use crate::{BrowserSession, StoreResult};
use kassa_core::Timestamp;
use sqlx::AnyPool;
use sqlx::any::AnyRow;

pub(super) async fn insert(writer: &AnyPool, s: &BrowserSession) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO browser_sessions (token_hash, merchant_id, created_at, expires_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&s.token_hash)
    .bind(&s.merchant_id)
    .bind(s.created_at.millis())
    .bind(s.expires_at.millis())
    .bind(s.last_seen_at.millis())
    .write(writer)
    .await?;
    Ok(())
}

pub(super) async fn live(reader: &AnyPool, token_hash: &str, now: Timestamp) -> StoreResult<Option<BrowserSession>> {
    let query = sqlx::query("SELECT * FROM browser_sessions WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash)
        .bind(now.millis());
    optional(reader, query, browser_session).await
}

pub(super) async fn touch(writer: &AnyPool, token_hash: &str, now: Timestamp) -> StoreResult<()> {
    sqlx::query("UPDATE browser_sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $3")
        .bind(now.millis())
        .bind(token_hash)
        .bind(now.millis())
        .write(writer)
        .await?;
    Ok(())
}

pub(super) async fn delete(writer: &AnyPool, token_hash: &str) -> StoreResult<bool> {
    let deleted =
        sqlx::query("DELETE FROM browser_sessions WHERE token_hash = $1").bind(token_hash).write(writer).await?;
    Ok(deleted.rows_affected() == 1)
}

pub(super) async fn delete_of_merchant(writer: &AnyPool, merchant_id: &str) -> StoreResult<u64> {
    let deleted =
        sqlx::query("DELETE FROM browser_sessions WHERE merchant_id = $1").bind(merchant_id).write(writer).await?;
    Ok(deleted.rows_affected())
}

pub(super) async fn prune(writer: &AnyPool, now: Timestamp) -> StoreResult<u64> {
    let deleted =
        sqlx::query("DELETE FROM browser_sessions WHERE expires_at <= $1").bind(now.millis()).write(writer).await?;
    Ok(deleted.rows_affected())
}

fn browser_session(row: &AnyRow) -> StoreResult<BrowserSession> {
    Ok(BrowserSession {
        token_hash: get(row, "token_hash")?,
        merchant_id: get(row, "merchant_id")?,
        created_at: at(row, "created_at")?,
        expires_at: at(row, "expires_at")?,
        last_seen_at: at(row, "last_seen_at")?,
    })
}
