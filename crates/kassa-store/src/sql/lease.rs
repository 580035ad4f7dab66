//! Claiming due rows under a lease: the one mechanism behind delivery claims and job claims.

use super::dialect::{Dialect, Purpose, begin, plan_claim_read, restore};
use super::rows::Decode;
use crate::{ClaimWindow, StoreResult};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

/// What to lease, how to read it back, and what a row read back is.
pub(super) struct Claim<T> {
    pub table: &'static str,
    /// A `SELECT` of the ids of due rows, with `$3` = `due_at`, `$4` = `wall_now`, `$5` = the limit
    /// and `$6`, `$7` … the claim's own values ([`claim_where`]) (the dialect's `SKIP LOCKED` is
    /// appended).
    pub due: &'static str,
    /// A `SELECT` of what the claimed rows need, with `$1` = the lease token.
    pub read: &'static str,
    pub decode: Decode<T>,
}

/// Leases the due rows to `token` and reads them back, in one relaxed transaction (a claim is
/// bookkeeping: a lost one only means the work is done again). Several PostgreSQL nodes claim at
/// once: rows another claim has locked are skipped.
pub(super) async fn claim<T>(
    writer: &AnyPool,
    dialect: Dialect,
    claim: &Claim<T>,
    window: &ClaimWindow,
    token: &str,
) -> StoreResult<Vec<T>> {
    claim_where(writer, dialect, claim, window, token, &[]).await
}

/// [`claim`] with `values` bound to the claim's `$6`, `$7` ….
pub(super) async fn claim_where<T>(
    writer: &AnyPool,
    dialect: Dialect,
    claim: &Claim<T>,
    window: &ClaimWindow,
    token: &str,
    values: &[&str],
) -> StoreResult<Vec<T>> {
    let mut connection = writer.acquire().await?;
    let found = claim_on(&mut connection, dialect, claim, window, token, values).await;
    restore(connection, dialect).await?;
    found?.iter().map(claim.decode).collect()
}

/// Gives back every lease on `table` (a fixed table name). Only where one process serves the
/// database (SQLite), at start-up: no claim can belong to a live worker then.
pub(super) async fn release_all(writer: &AnyPool, table: &str) -> StoreResult<()> {
    let release = format!("UPDATE {table} SET lease_until = NULL, lease_token = NULL WHERE lease_token IS NOT NULL");
    sqlx::query(&release).execute(writer).await?;
    Ok(())
}

async fn claim_on<T>(
    connection: &mut AnyConnection,
    dialect: Dialect,
    claim: &Claim<T>,
    window: &ClaimWindow,
    token: &str,
    values: &[&str],
) -> StoreResult<Vec<AnyRow>> {
    let mut tx = begin(connection, dialect, Purpose::Claim).await?;
    let lease = format!(
        "UPDATE {} SET lease_until = $1, lease_token = $2 WHERE id IN ({}{})",
        claim.table,
        claim.due,
        dialect.skip_locked()
    );
    let mut query = sqlx::query(&lease)
        .bind(window.lease_until.millis())
        .bind(token)
        .bind(window.due_at.millis())
        .bind(window.wall_now.millis())
        .bind(i64::from(window.limit));
    for value in values {
        query = query.bind(*value);
    }
    query.execute(&mut *tx).await?;
    plan_claim_read(&mut tx, dialect).await?;
    let found = sqlx::query(claim.read).bind(token).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(found)
}
