//! Attempt records in batches: the attempts that finish while one batch is written go into the
//! next, in one transaction (relaxed sync, see `dialect::Purpose::Relaxed`), written set-based: one
//! `INSERT` of every attempt and one compare-and-set `UPDATE` of every delivery whose claim it
//! ends (a failed probe, which only ends its claim, is written on its own).

use super::batch::Batcher;
use super::bulk::{execute, placeholders};
use super::dialect::{Dialect, Purpose, begin, restore};
use super::outbox::{outcome, release_probe_on};
use super::rows::get;
use crate::{DeliveryNext, FinishedAttempt, StoreError, StoreResult};
use sqlx::{AnyConnection, AnyPool};
use std::collections::HashSet;

const MAX_BATCH: usize = 256;

pub(super) type Finisher = Batcher<FinishedAttempt, bool>;

pub(super) fn start(writer: AnyPool, dialect: Dialect) -> Finisher {
    // One batch at a time: a batch behind the one being written takes every attempt that
    // finished meanwhile.
    Batcher::start("recording attempts", MAX_BATCH, 1, move |finishes| {
        let writer = writer.clone();
        async move {
            // Nothing of a batch that PostgreSQL gave up (two writers waiting for each other's
            // rows) was written: write it again rather than leave its claims to lapse and their
            // callbacks to be sent twice.
            let mut tries = 0;
            loop {
                match write(&writer, dialect, &finishes).await {
                    Err(error) if tries < 3 && error.was_given_up() => tries += 1,
                    written => return written,
                }
            }
        }
    })
}

async fn write(
    writer: &AnyPool,
    dialect: Dialect,
    finishes: &[FinishedAttempt],
) -> StoreResult<Vec<StoreResult<bool>>> {
    let mut connection = writer.acquire().await?;
    let written = async {
        let mut tx = begin(&mut connection, dialect, Purpose::Relaxed).await?;
        let results = finish_all_on(&mut tx, finishes).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(results.into_iter().map(Ok).collect())
    }
    .await;
    restore(connection, dialect).await?;
    written
}

/// Records every attempt of `finishes` in the open transaction; answers, for each, whether its
/// claim still held (an attempt is recorded either way).
async fn finish_all_on(tx: &mut AnyConnection, finishes: &[FinishedAttempt]) -> StoreResult<Vec<bool>> {
    if finishes.is_empty() {
        return Ok(Vec::new());
    }
    insert_attempts(tx, finishes).await?;
    let (probes, ends): (Vec<_>, Vec<_>) = finishes.iter().partition(|f| f.next == DeliveryNext::Unchanged);
    let ended = end_claims(tx, &ends).await?;
    let mut released = HashSet::new();
    for probe in probes {
        if release_probe_on(tx, probe).await? {
            released.insert(probe.delivery_id.as_str());
        }
    }
    Ok(finishes
        .iter()
        .map(|f| ended.contains(f.delivery_id.as_str()) || released.contains(f.delivery_id.as_str()))
        .collect())
}

const ATTEMPT_VALUES: usize = 8;

async fn insert_attempts(tx: &mut AnyConnection, finishes: &[FinishedAttempt]) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO delivery_attempts
             (delivery_id, attempt, started_at, duration_ms, status_code, error, response_excerpt, probe)
         VALUES {}",
        placeholders(finishes.len(), ATTEMPT_VALUES)
    );
    let mut query = sqlx::query(&sql);
    for FinishedAttempt { delivery_id, attempt, .. } in finishes {
        query = query
            .bind(delivery_id)
            .bind(i64::from(attempt.attempt))
            .bind(attempt.started_at.millis())
            .bind(attempt.duration_ms as i64)
            .bind(attempt.status_code.map(i64::from))
            .bind(&attempt.error)
            .bind(&attempt.response_excerpt)
            .bind(i64::from(attempt.probe));
    }
    execute(tx, query).await
}

/// One compare-and-set update of every delivery in `ends`; answers the ids whose claim held.
async fn end_claims(tx: &mut AnyConnection, ends: &[&FinishedAttempt]) -> StoreResult<HashSet<String>> {
    if ends.is_empty() {
        return Ok(HashSet::new());
    }
    // VALUES columns are column1 … column6 on both databases.
    let sql = format!(
        "UPDATE deliveries SET status = v.column3, attempts = attempts + 1, next_attempt_at = v.column4,
                last_error = v.column5, lease_until = NULL, lease_token = NULL, updated_at = v.column6
         FROM (VALUES {}) AS v
         WHERE deliveries.id = v.column1 AND deliveries.lease_token = v.column2 AND deliveries.status = 'pending'
         RETURNING deliveries.id",
        placeholders(ends.len(), 6)
    );
    let mut query = sqlx::query(&sql);
    for f in ends {
        let (status, next_at) = outcome(f.next, f.now);
        query = query
            .bind(&f.delivery_id)
            .bind(&f.lease_token)
            .bind(status.as_str())
            .bind(next_at.millis())
            .bind(&f.attempt.error)
            .bind(f.now.millis());
    }
    let rows = query.fetch_all(&mut *tx).await?;
    rows.iter().map(|row| get::<String>(row, "id")).collect()
}
