//! Consumer sessions and their short codes.

use super::dialect::Dialect;
use super::rows::{Write, at, get, optional};
use crate::{ConsumerSession, ConsumerSessionAttach, StoreError, StoreResult};
use kassa_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

/// Inserts unless a live, free session of the merchant already has the code. The check and the
/// insert are one statement; on PostgreSQL (read committed, many nodes) a transaction-scoped
/// lock on the merchant's code makes them atomic too (SQLite has one writer).
pub(super) async fn insert(writer: &AnyPool, dialect: Dialect, s: &ConsumerSession) -> StoreResult<bool> {
    let mut tx = writer.begin().await?;
    if let Some(lock) = dialect.key_lock() {
        sqlx::query(lock)
            .bind(format!("consumer-session/{}/{}", s.merchant_id, s.short_code))
            .execute(&mut *tx)
            .await?;
    }
    let inserted = sqlx::query(
        "INSERT INTO consumer_sessions (id, merchant_id, short_code, created_at, expires_at, payment_session_id)
         SELECT $1, $2, $3, $4, $5, $6
         WHERE NOT EXISTS (
             SELECT 1 FROM consumer_sessions
             WHERE merchant_id = $7 AND short_code = $8 AND expires_at > $9 AND payment_session_id IS NULL)",
    )
    .bind(&s.id)
    .bind(&s.merchant_id)
    .bind(&s.short_code)
    .bind(s.created_at.millis())
    .bind(s.expires_at.millis())
    .bind(&s.payment_session_id)
    .bind(&s.merchant_id)
    .bind(&s.short_code)
    .bind(s.created_at.millis())
    .write(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted.rows_affected() == 1)
}

pub(super) async fn free(
    reader: &AnyPool,
    merchant_id: &str,
    short_code: &str,
    now: Timestamp,
) -> StoreResult<Option<ConsumerSession>> {
    let query = sqlx::query(
        "SELECT * FROM consumer_sessions
         WHERE merchant_id = $1 AND short_code = $2 AND expires_at > $3 AND payment_session_id IS NULL
         ORDER BY created_at DESC LIMIT 1",
    );
    optional(reader, query.bind(merchant_id).bind(short_code).bind(now.millis()), consumer_session).await
}

pub(super) async fn by_id(reader: &AnyPool, id: &str) -> StoreResult<Option<ConsumerSession>> {
    optional(reader, sqlx::query("SELECT * FROM consumer_sessions WHERE id = $1").bind(id), consumer_session).await
}

/// Inside a change's transaction: only a session that is still free takes the payment.
pub(super) async fn attach(tx: &mut AnyConnection, attach: &ConsumerSessionAttach) -> StoreResult<()> {
    let updated = sqlx::query(
        "UPDATE consumer_sessions SET payment_session_id = $1 WHERE id = $2 AND payment_session_id IS NULL",
    )
    .bind(&attach.payment_session_id)
    .bind(&attach.consumer_session_id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "consumer session {} already took another payment",
            attach.consumer_session_id
        )));
    }
    Ok(())
}

fn consumer_session(row: &AnyRow) -> StoreResult<ConsumerSession> {
    Ok(ConsumerSession {
        id: get(row, "id")?,
        merchant_id: get(row, "merchant_id")?,
        short_code: get(row, "short_code")?,
        created_at: at(row, "created_at")?,
        expires_at: at(row, "expires_at")?,
        payment_session_id: get(row, "payment_session_id")?,
    })
}

/// Deletes the consumer sessions that expired at or before `before`; answers how many.
pub(super) async fn prune(writer: &AnyPool, before: Timestamp) -> StoreResult<u64> {
    let deleted =
        sqlx::query("DELETE FROM consumer_sessions WHERE expires_at <= $1").bind(before.millis()).write(writer).await?;
    Ok(deleted.rows_affected())
}
