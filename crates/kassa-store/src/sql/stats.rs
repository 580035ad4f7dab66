//! The backlog an operator watches (see [`crate::stats`]), read in three aggregate queries: pending
//! deliveries (their partial index), due or set-aside jobs, and pending messages. What is due, and
//! how long it has waited, is reckoned on each row's merchant's clock (the service clock plus the
//! merchant's sandbox offset), as the claims reckon it.

use super::rows::{all, count, get, name};
use crate::StoreResult;
use crate::stats::{Backlog, PolicyBacklog};
use kassa_core::Timestamp;
use kassa_core::retry::RetryPolicy;
use sqlx::AnyPool;
use sqlx::any::AnyRow;
use std::time::Duration;

pub(super) async fn backlog(reader: &AnyPool, now: Timestamp) -> StoreResult<Backlog> {
    // `waited`: how long ago the row fell due on its merchant's clock (`$1` plus the merchant's
    // sandbox offset; production has none); due when not negative.
    let deliveries = sqlx::query(
        "SELECT policy, COUNT(*) AS pending, COUNT(*) FILTER (WHERE waited >= 0) AS due,
                MAX(waited) FILTER (WHERE waited >= 0) AS longest_wait
           FROM (SELECT d.policy, $1 + COALESCE(c.offset_millis, 0) - d.next_attempt_at AS waited
                   FROM deliveries d LEFT JOIN sandbox_clocks c ON c.merchant_id = d.merchant_id
                  WHERE d.status = 'pending') AS pending
          GROUP BY policy ORDER BY policy",
    )
    .bind(now.millis());
    let deliveries = all(reader, deliveries, policy_backlog).await?;
    // Only jobs due by the furthest merchant clock (an index range) or set aside are read.
    let jobs = sqlx::query(
        "SELECT COUNT(*) FILTER (WHERE status = 'scheduled' AND waited >= 0) AS due,
                MAX(waited) FILTER (WHERE status = 'scheduled' AND waited >= 0) AS longest_wait,
                COUNT(*) FILTER (WHERE status = 'set_aside') AS set_aside
           FROM (SELECT j.status, $1 + COALESCE(c.offset_millis, 0) - j.due_at AS waited
                   FROM jobs j
                   LEFT JOIN sessions s ON s.kind = j.session_kind AND s.id = j.session_id
                   LEFT JOIN sandbox_clocks c ON c.merchant_id = s.merchant_id
                  WHERE j.due_at <= $1 + (SELECT COALESCE(MAX(k.offset_millis), 0) FROM sandbox_clocks k)
                     OR j.status = 'set_aside') AS waiting",
    )
    .bind(now.millis());
    let row = sqlx::query::Query::fetch_one(jobs, reader).await?;
    let messages = sqlx::query(
        "SELECT COUNT(*) AS pending, MAX(waited) FILTER (WHERE waited >= 0) AS longest_wait
           FROM (SELECT $1 + COALESCE(c.offset_millis, 0) - m.next_attempt_at AS waited
                   FROM messages m LEFT JOIN sandbox_clocks c ON c.merchant_id = m.merchant_id
                  WHERE m.status = 'pending') AS pending",
    )
    .bind(now.millis());
    let messages = sqlx::query::Query::fetch_one(messages, reader).await?;
    Ok(Backlog {
        deliveries,
        jobs_due: count(&row, "due")?,
        longest_job_wait: wait(&row)?,
        jobs_set_aside: count(&row, "set_aside")?,
        messages_pending: count(&messages, "pending")?,
        longest_message_wait: wait(&messages)?,
    })
}

/// The `longest_wait` column: `None` when nothing is due.
fn wait(row: &AnyRow) -> StoreResult<Option<Duration>> {
    let millis: Option<i64> = get(row, "longest_wait")?;
    Ok(millis.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
}

fn policy_backlog(row: &AnyRow) -> StoreResult<PolicyBacklog> {
    Ok(PolicyBacklog {
        policy: name(row, "policy", RetryPolicy::parse, "retry policy")?,
        pending: count(row, "pending")?,
        due: count(row, "due")?,
        longest_wait: wait(row)?,
    })
}
