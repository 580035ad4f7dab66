//! The idempotency ledger's rows. A key whose record is older than its 24 hours is free again:
//! writing it replaces the old record; a live record makes the write fail with a conflict.

use super::rows::{Write, at, get, optional};
use crate::{IdempotencyRecord, IdempotentOutcome, StoreError, StoreResult};
use kassa_core::Timestamp;
use kassa_core::time::HOUR;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

pub(super) async fn find(
    reader: &AnyPool,
    merchant_id: &str,
    scope: &str,
    key: &str,
    now: Timestamp,
) -> StoreResult<Option<IdempotencyRecord>> {
    let query = sqlx::query(
        "SELECT * FROM idempotency_keys WHERE merchant_id = $1 AND scope = $2 AND key = $3 AND created_at > $4",
    )
    .bind(merchant_id)
    .bind(scope)
    .bind(key)
    .bind(expired_before(now).millis());
    optional(reader, query, record).await
}

pub(super) async fn insert(tx: &mut AnyConnection, r: &IdempotencyRecord) -> StoreResult<()> {
    let (resource_id, status, body) = match &r.outcome {
        IdempotentOutcome::Done { resource_id } => (resource_id.clone(), None, None),
        IdempotentOutcome::Refused { status, body } => (None, Some(i64::from(*status)), Some(body.clone())),
    };
    let written = sqlx::query(
        "INSERT INTO idempotency_keys (merchant_id, scope, key, request_hash, resource_id, refusal_status,
                                       refusal_body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (merchant_id, scope, key) DO UPDATE SET
             request_hash = excluded.request_hash, resource_id = excluded.resource_id,
             refusal_status = excluded.refusal_status, refusal_body = excluded.refusal_body,
             created_at = excluded.created_at
         WHERE idempotency_keys.created_at <= $9",
    )
    .bind(&r.merchant_id)
    .bind(&r.scope)
    .bind(&r.key)
    .bind(&r.request_hash)
    .bind(resource_id)
    .bind(status)
    .bind(body)
    .bind(r.created_at.millis())
    .bind(expired_before(r.created_at).millis())
    .write(&mut *tx)
    .await?;
    if written.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!("idempotency key {:?} is already recorded", r.key)));
    }
    Ok(())
}

pub(super) async fn prune(writer: &AnyPool, now: Timestamp) -> StoreResult<u64> {
    let deleted = sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
        .bind(expired_before(now).millis())
        .write(writer)
        .await?;
    Ok(deleted.rows_affected())
}

fn expired_before(now: Timestamp) -> Timestamp {
    now.plus_millis(-crate::IDEMPOTENCY_HOURS * HOUR)
}

fn record(row: &AnyRow) -> StoreResult<IdempotencyRecord> {
    let status: Option<i64> = get(row, "refusal_status")?;
    let outcome = match status {
        None => IdempotentOutcome::Done { resource_id: get(row, "resource_id")? },
        Some(status) => IdempotentOutcome::Refused {
            status: u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("refusal status {status}")))?,
            body: get::<Option<String>>(row, "refusal_body")?.unwrap_or_default(),
        },
    };
    Ok(IdempotencyRecord {
        merchant_id: get(row, "merchant_id")?,
        scope: get(row, "scope")?,
        key: get(row, "key")?,
        request_hash: get(row, "request_hash")?,
        outcome,
        created_at: at(row, "created_at")?,
    })
}
