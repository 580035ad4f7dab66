//! Merchants: the API users, their webhook secrets and callback retry policy.

use super::rows::{Write, all, at, get, name, optional, words};
use crate::{Merchant, StoreResult};
use kassa_core::retry::RetryPolicy;
use sqlx::AnyPool;
use sqlx::any::AnyRow;

pub(super) async fn insert(writer: &AnyPool, m: &Merchant) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO merchants (id, name, username, secret_salt, secret_hash, created_at, webhook_secrets, retry_policy)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&m.id)
    .bind(&m.name)
    .bind(&m.username)
    .bind(&m.secret_salt)
    .bind(&m.secret_hash)
    .bind(m.created_at.millis())
    .bind(m.webhook_secrets.join(" "))
    .bind(m.retry_policy.as_str())
    .write(writer)
    .await?;
    Ok(())
}

pub(super) async fn by_username(reader: &AnyPool, username: &str) -> StoreResult<Option<Merchant>> {
    optional(reader, sqlx::query("SELECT * FROM merchants WHERE username = $1").bind(username), merchant).await
}

pub(super) async fn by_id(reader: &AnyPool, id: &str) -> StoreResult<Option<Merchant>> {
    optional(reader, sqlx::query("SELECT * FROM merchants WHERE id = $1").bind(id), merchant).await
}

pub(super) async fn count(reader: &AnyPool) -> StoreResult<u64> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM merchants").fetch_one(reader).await?;
    Ok(count as u64)
}

pub(super) async fn list(reader: &AnyPool) -> StoreResult<Vec<Merchant>> {
    all(reader, sqlx::query("SELECT * FROM merchants ORDER BY created_at, id"), merchant).await
}

pub(super) async fn set_webhooks(
    writer: &AnyPool,
    username: &str,
    secrets: &[String],
    retry_policy: RetryPolicy,
) -> StoreResult<bool> {
    let updated = sqlx::query("UPDATE merchants SET webhook_secrets = $1, retry_policy = $2 WHERE username = $3")
        .bind(secrets.join(" "))
        .bind(retry_policy.as_str())
        .bind(username)
        .write(writer)
        .await?;
    Ok(updated.rows_affected() == 1)
}

fn merchant(row: &AnyRow) -> StoreResult<Merchant> {
    Ok(Merchant {
        id: get(row, "id")?,
        name: get(row, "name")?,
        username: get(row, "username")?,
        secret_salt: get(row, "secret_salt")?,
        secret_hash: get(row, "secret_hash")?,
        created_at: at(row, "created_at")?,
        webhook_secrets: words(row, "webhook_secrets")?,
        retry_policy: name(row, "retry_policy", RetryPolicy::parse, "retry policy")?,
    })
}

pub(super) async fn replace_secrets(
    writer: &AnyPool,
    id: &str,
    expected: &[String],
    secrets: &[String],
) -> StoreResult<bool> {
    let updated = sqlx::query("UPDATE merchants SET webhook_secrets = $1 WHERE id = $2 AND webhook_secrets = $3")
        .bind(secrets.join(" "))
        .bind(id)
        .bind(expected.join(" "))
        .write(writer)
        .await?;
    Ok(updated.rows_affected() == 1)
}
