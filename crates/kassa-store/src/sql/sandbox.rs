//! Sandbox settings per merchant: callback misbehaviour and the merchant's clock offset. A
//! claimed delivery reads its merchant's settings in the claim's own read ([`super::outbox`]), so
//! the worker of any node acts on what was last written, with no cache to go stale.

use super::rows::{Write, get, name};
use crate::{CallbackMisbehaviour, SimulatedFailure, StoreError, StoreResult};
use kassa_core::Timestamp;
use sqlx::AnyPool;
use sqlx::any::AnyRow;

/// The settings read with a claimed delivery, if its merchant has any.
pub(super) fn claimed(row: &AnyRow) -> StoreResult<Option<CallbackMisbehaviour>> {
    let Some(duplicate) = get::<Option<i64>>(row, "sandbox_duplicate")? else { return Ok(None) };
    decode(row, duplicate, "sandbox_")
}

fn decode(row: &AnyRow, duplicate: i64, prefix: &str) -> StoreResult<Option<CallbackMisbehaviour>> {
    let count = |column: &str| -> StoreResult<u32> {
        let value: i64 = get(row, &format!("{prefix}{column}"))?;
        u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("sandbox {column} {value}")))
    };
    Ok(Some(CallbackMisbehaviour {
        duplicate: duplicate == 1,
        delay_seconds: count("delay_seconds")?,
        fail_first: count("fail_first")?,
        failure: name(row, &format!("{prefix}failure"), SimulatedFailure::parse, "simulated failure")?,
        drop_every: count("drop_every")?,
    }))
}

pub(super) async fn callbacks(reader: &AnyPool, merchant_id: &str) -> StoreResult<Option<CallbackMisbehaviour>> {
    let row = sqlx::query("SELECT * FROM sandbox_callbacks WHERE merchant_id = $1")
        .bind(merchant_id)
        .fetch_optional(reader)
        .await?;
    match row {
        Some(row) => decode(&row, get(&row, "duplicate")?, ""),
        None => Ok(None),
    }
}

pub(super) async fn set_callbacks(
    writer: &AnyPool,
    merchant_id: &str,
    settings: Option<&CallbackMisbehaviour>,
    now: Timestamp,
) -> StoreResult<()> {
    let Some(s) = settings else {
        sqlx::query("DELETE FROM sandbox_callbacks WHERE merchant_id = $1").bind(merchant_id).write(writer).await?;
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO sandbox_callbacks
             (merchant_id, duplicate, delay_seconds, fail_first, failure, drop_every, counted, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7)
         ON CONFLICT (merchant_id) DO UPDATE SET
             duplicate = excluded.duplicate, delay_seconds = excluded.delay_seconds,
             fail_first = excluded.fail_first, failure = excluded.failure, drop_every = excluded.drop_every,
             counted = 0, updated_at = excluded.updated_at",
    )
    .bind(merchant_id)
    .bind(i64::from(s.duplicate))
    .bind(i64::from(s.delay_seconds))
    .bind(i64::from(s.fail_first))
    .bind(s.failure.as_str())
    .bind(i64::from(s.drop_every))
    .bind(now.millis())
    .write(writer)
    .await?;
    Ok(())
}

pub(super) async fn count_callback(writer: &AnyPool, merchant_id: &str) -> StoreResult<u64> {
    let counted: Option<i64> = sqlx::query_scalar(
        "UPDATE sandbox_callbacks SET counted = counted + 1 WHERE merchant_id = $1 RETURNING counted",
    )
    .bind(merchant_id)
    .fetch_optional(writer)
    .await?;
    Ok(counted.unwrap_or(0).max(0) as u64)
}

pub(super) async fn clock(reader: &AnyPool, merchant_id: &str) -> StoreResult<i64> {
    let offset: Option<i64> = sqlx::query_scalar("SELECT offset_millis FROM sandbox_clocks WHERE merchant_id = $1")
        .bind(merchant_id)
        .fetch_optional(reader)
        .await?;
    Ok(offset.unwrap_or(0))
}

pub(super) async fn advance_clock(
    writer: &AnyPool,
    merchant_id: &str,
    millis: i64,
    now: Timestamp,
) -> StoreResult<i64> {
    let offset: i64 = sqlx::query_scalar(
        "INSERT INTO sandbox_clocks (merchant_id, offset_millis, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (merchant_id) DO UPDATE SET
             offset_millis = sandbox_clocks.offset_millis + excluded.offset_millis, updated_at = excluded.updated_at
         RETURNING offset_millis",
    )
    .bind(merchant_id)
    .bind(millis.max(0))
    .bind(now.millis())
    .fetch_one(writer)
    .await?;
    Ok(offset)
}
