//! The outbox: claiming due deliveries, renewing and giving back claims, recording attempts,
//! and the delivery ledger.

use super::dialect::{Dialect, relaxed, restore};
use super::lease::Claim;
use super::rows::{at, get, json, name, words};
use crate::{
    Attempt, ClaimedDelivery, DeliveryNext, DeliveryRecord, DeliveryStatus, FinishedAttempt, NewDelivery, SessionKind,
    StoreResult,
};
use kassa_core::Timestamp;
use kassa_core::retry::RetryPolicy;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

/// The per-session order of a pending delivery `d` (SQL): no earlier event of its session is still
/// pending for the same target (as the merchant gave it: its placeholders may expand differently
/// per event; or the same URL, for deliveries written before targets were kept, whose target is
/// their URL).
macro_rules! first_in_session_order {
    () => {
        "NOT EXISTS (
            SELECT 1 FROM deliveries e
            WHERE e.session_id = d.session_id AND (e.target = d.target OR e.url = d.url) AND e.status = 'pending'
              AND (e.seq < d.seq OR (e.seq = d.seq AND e.position < d.position)))"
    };
}
pub(super) use first_in_session_order;

/// "Due on its merchant's clock" (SQL) for the due-time column `$due`, with `$offset` a subquery
/// of the row's merchant's sandbox offset: `$due` is at or before the service clock `$3` plus that
/// offset. The largest offset of all bounds the scan (an index range, computed once); without
/// sandbox clocks the bound is `$3` and the per-row offset is never read.
macro_rules! due_on_merchant_clock {
    ($due:literal, $offset:literal) => {
        concat!(
            $due,
            " <= $3 + (SELECT COALESCE(MAX(c.offset_millis), 0) FROM sandbox_clocks c) AND (",
            $due,
            " <= $3 OR ",
            $due,
            " <= $3 + (",
            $offset,
            "))"
        )
    };
}
pub(super) use due_on_merchant_clock;

/// What a claimed delivery needs to be sent, read back under its claim's token.
/// With its merchant's sandbox settings (NULL for a merchant without; production never has any)
/// and how far its merchant's sandbox clock is ahead (0 without one).
pub(super) const READ_CLAIMED: &str = "SELECT d.*, e.body, e.caused_by, m.webhook_secrets,
           s.duplicate AS sandbox_duplicate, s.delay_seconds AS sandbox_delay_seconds,
           s.fail_first AS sandbox_fail_first, s.failure AS sandbox_failure, s.drop_every AS sandbox_drop_every,
           COALESCE(k.offset_millis, 0) AS clock_ahead_millis
           FROM deliveries d
           JOIN events e ON e.event_id = d.event_id
           JOIN merchants m ON m.id = d.merchant_id
           LEFT JOIN sandbox_callbacks s ON s.merchant_id = d.merchant_id
           LEFT JOIN sandbox_clocks k ON k.merchant_id = d.merchant_id
           WHERE d.lease_token = $1 ORDER BY d.position";

/// Due deliveries (on their merchant's own clock), first in their session's order, read back
/// with what sending them needs.
pub(super) const CLAIM: Claim<ClaimedDelivery> = Claim {
    table: "deliveries",
    due: concat!(
        "SELECT d.id FROM deliveries d WHERE d.status = 'pending' AND ",
        due_on_merchant_clock!(
            "d.next_attempt_at",
            "SELECT c.offset_millis FROM sandbox_clocks c WHERE c.merchant_id = d.merchant_id"
        ),
        " AND (d.lease_until IS NULL OR d.lease_until < $4) AND ",
        first_in_session_order!(),
        " ORDER BY d.next_attempt_at, d.position LIMIT $5"
    ),
    read: READ_CLAIMED,
    decode: claimed,
};

/// Extends every claim held under `tokens` whose delivery is still pending.
pub(super) async fn renew_all(
    writer: &AnyPool,
    dialect: Dialect,
    tokens: &[String],
    lease_until: Timestamp,
) -> StoreResult<u64> {
    if tokens.is_empty() {
        return Ok(0);
    }
    let marks: Vec<String> = (0..tokens.len()).map(|i| format!("${}", i + 2)).collect();
    // A claim being recorded right now is locked by the attempt records' batch: skipped, never
    // waited for (its lease ends with that record anyway), so the renewal and the records never
    // wait for each other's rows (PostgreSQL; SQLite has one writer).
    let renew = format!(
        "UPDATE deliveries SET lease_until = $1 WHERE id IN (
             SELECT id FROM deliveries WHERE status = 'pending' AND lease_token IN ({}){})",
        marks.join(", "),
        dialect.skip_locked()
    );
    let mut query = sqlx::query(&renew).bind(lease_until.millis());
    for token in tokens {
        query = query.bind(token);
    }
    let mut connection = relaxed(writer, dialect).await?;
    let renewed = query.execute(&mut *connection).await;
    restore(connection, dialect).await?;
    Ok(renewed?.rows_affected())
}

pub(super) fn claimed(row: &AnyRow) -> StoreResult<ClaimedDelivery> {
    let attempts: i64 = get(row, "attempts")?;
    Ok(ClaimedDelivery {
        delivery: delivery(row)?,
        attempts: attempts as u32,
        body: json(row, "body")?,
        webhook_secrets: words(row, "webhook_secrets")?,
        lease_token: get(row, "lease_token")?,
        sandbox: super::sandbox::claimed(row)?,
        clock_ahead_millis: get(row, "clock_ahead_millis")?,
        caused_by: get(row, "caused_by")?,
    })
}

/// A `deliveries` row as it was inserted.
fn delivery(row: &AnyRow) -> StoreResult<NewDelivery> {
    let seq: i64 = get(row, "seq")?;
    Ok(NewDelivery {
        id: get(row, "id")?,
        event_id: get(row, "event_id")?,
        merchant_id: get(row, "merchant_id")?,
        session_kind: name(row, "session_kind", SessionKind::parse, "session kind")?,
        session_id: get(row, "session_id")?,
        seq: seq as u64,
        target: get(row, "target")?,
        url: get(row, "url")?,
        policy: name(row, "policy", RetryPolicy::parse, "retry policy")?,
        created_at: at(row, "created_at")?,
    })
}

/// A failed probe: only its claim ends (its schedule and attempts stay as they were).
pub(super) async fn release_probe_on(tx: &mut AnyConnection, finished: &FinishedAttempt) -> StoreResult<bool> {
    let released = sqlx::query(
        "UPDATE deliveries SET lease_until = NULL, lease_token = NULL, updated_at = $1
         WHERE id = $2 AND lease_token = $3 AND status = 'pending'",
    )
    .bind(finished.now.millis())
    .bind(&finished.delivery_id)
    .bind(&finished.lease_token)
    .execute(&mut *tx)
    .await?;
    Ok(released.rows_affected() == 1)
}

/// The status and next attempt time a delivery gets from an attempt's outcome.
pub(super) fn outcome(next: DeliveryNext, now: Timestamp) -> (DeliveryStatus, Timestamp) {
    match next {
        DeliveryNext::Delivered | DeliveryNext::Unchanged => (DeliveryStatus::Delivered, now),
        DeliveryNext::RetryAt(at) => (DeliveryStatus::Pending, at),
        DeliveryNext::Failed => (DeliveryStatus::Failed, now),
    }
}

/// A claimed delivery given back without an attempt, due again at `at`.
pub(super) async fn defer(writer: &AnyPool, delivery_id: &str, token: &str, at: Timestamp) -> StoreResult<bool> {
    let deferred = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $1, lease_until = NULL, lease_token = NULL
         WHERE id = $2 AND lease_token = $3 AND status = 'pending'",
    )
    .bind(at.millis())
    .bind(delivery_id)
    .bind(token)
    .execute(writer)
    .await?;
    Ok(deferred.rows_affected() == 1)
}

pub(super) async fn release(writer: &AnyPool, delivery_id: &str, token: &str) -> StoreResult<()> {
    sqlx::query("UPDATE deliveries SET lease_until = NULL, lease_token = NULL WHERE id = $1 AND lease_token = $2")
        .bind(delivery_id)
        .bind(token)
        .execute(writer)
        .await?;
    Ok(())
}

/// The deliveries where `column` (a fixed column name) is `value`, each with its attempts: two
/// queries in all.
/// The deliveries whose `column` is `value`, each with its attempts, as of one moment: a delivery
/// and its attempts are read in one snapshot, so an attempt being recorded meanwhile shows with its
/// delivery's new state or not at all.
pub(super) async fn records(
    reader: &AnyPool,
    dialect: Dialect,
    column: &str,
    value: &str,
) -> StoreResult<Vec<DeliveryRecord>> {
    let mut tx = reader.begin().await?;
    if let Some(snapshot) = dialect.snapshot() {
        sqlx::query(snapshot).execute(&mut *tx).await?;
    }
    let deliveries = format!("SELECT * FROM deliveries WHERE {column} = $1 ORDER BY position");
    let found = sqlx::query(&deliveries).bind(value).fetch_all(&mut *tx).await?;
    let attempts = format!(
        "SELECT a.* FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE d.{column} = $1 ORDER BY a.delivery_id, a.attempt, a.id"
    );
    let mut by_delivery: std::collections::HashMap<String, Vec<Attempt>> = std::collections::HashMap::new();
    let attempt_rows = sqlx::query(&attempts).bind(value).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    for row in attempt_rows {
        by_delivery.entry(get(&row, "delivery_id")?).or_default().push(attempt(&row)?);
    }
    let mut out = Vec::with_capacity(found.len());
    for row in &found {
        let id: String = get(row, "id")?;
        let status = name(row, "status", DeliveryStatus::parse, "delivery status")?;
        let seq: i64 = get(row, "seq")?;
        out.push(DeliveryRecord {
            attempts: by_delivery.remove(&id).unwrap_or_default(),
            id,
            event_id: get(row, "event_id")?,
            seq: seq as u64,
            target: get(row, "target")?,
            url: get(row, "url")?,
            policy: name(row, "policy", RetryPolicy::parse, "retry policy")?,
            status,
            next_attempt_at: (status == DeliveryStatus::Pending)
                .then(|| get::<i64>(row, "next_attempt_at").map(Timestamp::from_millis))
                .transpose()?,
            created_at: at(row, "created_at")?,
        });
    }
    Ok(out)
}

fn attempt(row: &AnyRow) -> StoreResult<Attempt> {
    let number: i64 = get(row, "attempt")?;
    let duration: i64 = get(row, "duration_ms")?;
    let status: Option<i64> = get(row, "status_code")?;
    Ok(Attempt {
        attempt: number as u32,
        started_at: at(row, "started_at")?,
        duration_ms: duration as u64,
        status_code: status.map(|s| s as u16),
        error: get(row, "error")?,
        response_excerpt: get(row, "response_excerpt")?,
        probe: get::<i64>(row, "probe")? == 1,
    })
}
