//! A failing target's way back: probing it with its first waiting delivery ahead of schedule,
//! and making every delivery that waits for it due at once when it answers again.

use super::dialect::{Dialect, relaxed, restore};
use super::lease::{self, Claim};
use super::outbox;
use super::rows::get;
use crate::{ClaimWindow, ClaimedDelivery, StoreResult};
use kassa_core::Timestamp;
use sqlx::AnyPool;

/// The first waiting extended-policy delivery to one target of one merchant (`$6`, `$7`) that its
/// session's order lets go, whatever its schedule (`$3` is not used); at most `$5`.
const PROBE: Claim<ClaimedDelivery> = Claim {
    table: "deliveries",
    due: concat!(
        "SELECT d.id FROM deliveries d
          WHERE d.status = 'pending' AND d.policy = 'extended' AND d.merchant_id = $6 AND d.target = $7
            AND (d.lease_until IS NULL OR d.lease_until < $4)
            AND ",
        outbox::first_in_session_order!(),
        " ORDER BY d.next_attempt_at, d.position LIMIT $5"
    ),
    read: outbox::READ_CLAIMED,
    decode: outbox::claimed,
};

/// Leases, to probe `target` of `merchant_id`, its first waiting delivery (see [`PROBE`]).
pub(super) async fn claim_probe(
    writer: &AnyPool,
    dialect: Dialect,
    (merchant_id, target): (&str, &str),
    window: &ClaimWindow,
    token: &str,
) -> StoreResult<Option<ClaimedDelivery>> {
    let found = lease::claim_where(writer, dialect, &PROBE, window, token, &[merchant_id, target]).await?;
    Ok(found.into_iter().next())
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
