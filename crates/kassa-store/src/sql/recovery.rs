//! A failing target's way back: probing it with its first waiting delivery ahead of schedule,
//! and making every delivery that waits for it due at once when it answers again.

use super::dialect::{Dialect, relax_transaction, relaxed, restore};
use super::outbox;
use super::rows::get;
use crate::{ClaimWindow, ClaimedDelivery, StoreResult};
use kassa_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Acquire, AnyConnection, AnyPool};

/// Leases the first delivery to `target` of `merchant_id` that its session's order lets go,
/// whatever its schedule (the claim's order rule, without "due").
pub(super) async fn claim_probe(
    writer: &AnyPool,
    dialect: Dialect,
    (merchant_id, target): (&str, &str),
    window: &ClaimWindow,
    token: &str,
) -> StoreResult<Option<ClaimedDelivery>> {
    let mut connection = relaxed(writer, dialect).await?;
    let found = probe_on(&mut connection, dialect, (merchant_id, target), window, token).await;
    restore(connection, dialect).await?;
    found?.first().map(outbox::claimed).transpose()
}

async fn probe_on(
    connection: &mut AnyConnection,
    dialect: Dialect,
    (merchant_id, target): (&str, &str),
    window: &ClaimWindow,
    token: &str,
) -> StoreResult<Vec<AnyRow>> {
    let mut tx = connection.begin().await?;
    relax_transaction(&mut tx, dialect).await?;
    let lease = format!(
        "UPDATE deliveries SET lease_until = $1, lease_token = $2 WHERE id IN (
             SELECT d.id FROM deliveries d
             WHERE d.status = 'pending' AND d.policy = 'extended' AND d.merchant_id = $3 AND d.target = $4
               AND (d.lease_until IS NULL OR d.lease_until < $5)
               AND NOT EXISTS (
                   SELECT 1 FROM deliveries e
                   WHERE e.session_id = d.session_id AND (e.target = d.target OR e.url = d.url) AND e.status = 'pending'
                     AND (e.seq < d.seq OR (e.seq = d.seq AND e.position < d.position)))
             ORDER BY d.next_attempt_at, d.position
             LIMIT 1{})",
        dialect.skip_locked()
    );
    sqlx::query(&lease)
        .bind(window.lease_until.millis())
        .bind(token)
        .bind(merchant_id)
        .bind(target)
        .bind(window.wall_now.millis())
        .execute(&mut *tx)
        .await?;
    let found = sqlx::query(outbox::CLAIM.read).bind(token).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(found)
}

/// Makes every delivery to `target` of `merchant_id` that waits for a later retry due at `now`
/// (the claim keeps each session's order among them).
pub(super) async fn make_due(
    writer: &AnyPool,
    dialect: Dialect,
    (merchant_id, target): (&str, &str),
    now: Timestamp,
) -> StoreResult<u64> {
    let mut connection = relaxed(writer, dialect).await?;
    let made = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $1
         WHERE status = 'pending' AND next_attempt_at > $1 AND merchant_id = $2 AND target = $3",
    )
    .bind(now.millis())
    .bind(merchant_id)
    .bind(target)
    .execute(&mut *connection)
    .await;
    restore(connection, dialect).await?;
    Ok(made?.rows_affected())
}

/// Every (merchant, target) with an extended-policy delivery that failed and waits for a retry.
pub(super) async fn failing(reader: &AnyPool) -> StoreResult<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT merchant_id, target FROM deliveries
         WHERE status = 'pending' AND attempts > 0 AND policy = 'extended'
         ORDER BY merchant_id, target",
    )
    .fetch_all(reader)
    .await?;
    rows.iter().map(|row| Ok((get(row, "merchant_id")?, get(row, "target")?))).collect()
}
