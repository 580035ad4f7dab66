//! Claiming due rows under a lease: the one mechanism behind delivery claims and job claims.

use super::dialect::{Dialect, relax_transaction, relaxed, restore};
use crate::{ClaimWindow, StoreResult};
use sqlx::any::AnyRow;
use sqlx::{Acquire, AnyConnection, AnyPool};

/// What to lease and how to read it back.
pub(super) struct Claim<'a> {
    pub table: &'a str,
    /// A `SELECT` of the ids of due rows, with `$3` = `due_at`, `$4` = `wall_now`, `$5` = the limit
    /// (the dialect's `SKIP LOCKED` is appended).
    pub due: &'a str,
    /// A `SELECT` of what the claimed rows need, with `$1` = the lease token.
    pub read: &'a str,
}

/// Leases the due rows to `token` and reads them back, in one relaxed transaction (a claim is
/// bookkeeping: a lost one only means the work is done again). Several PostgreSQL nodes claim at
/// once: rows another claim has locked are skipped.
pub(super) async fn claim(
    writer: &AnyPool,
    dialect: Dialect,
    claim: Claim<'_>,
    window: &ClaimWindow,
    token: &str,
) -> StoreResult<Vec<AnyRow>> {
    let mut connection = relaxed(writer, dialect).await?;
    let found = claim_on(&mut connection, dialect, &claim, window, token).await;
    restore(connection, dialect).await?;
    found
}

async fn claim_on(
    connection: &mut AnyConnection,
    dialect: Dialect,
    claim: &Claim<'_>,
    window: &ClaimWindow,
    token: &str,
) -> StoreResult<Vec<AnyRow>> {
    let mut tx = connection.begin().await?;
    relax_transaction(&mut tx, dialect).await?;
    let lease = format!(
        "UPDATE {} SET lease_until = $1, lease_token = $2 WHERE id IN ({}{})",
        claim.table,
        claim.due,
        dialect.skip_locked()
    );
    sqlx::query(&lease)
        .bind(window.lease_until.millis())
        .bind(token)
        .bind(window.due_at.millis())
        .bind(window.wall_now.millis())
        .bind(i64::from(window.limit))
        .execute(&mut *tx)
        .await?;
    let found = sqlx::query(claim.read).bind(token).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(found)
}
