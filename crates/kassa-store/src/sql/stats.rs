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

/// The merchant's time of a row, in SQL: the service clock `$1` plus the sandbox offset of its
/// merchant's `sandbox_clocks` row `c`, `LEFT JOIN`ed (production has none).
macro_rules! merchant_now {
    () => {
        "($1 + COALESCE(c.offset_millis, 0))"
    };
}

/// How long the longest-waiting row whose `$due` is past on its merchant's clock (`$filter`
/// holding too) has waited.
macro_rules! longest_wait {
    ($due:literal, $filter:literal) => {
        concat!("MAX(", merchant_now!(), " - ", $due, ") FILTER (WHERE ", $filter, " AND ", due!($due), ")")
    };
}

/// Whether `$due` is past on the merchant's clock.
macro_rules! due {
    ($due:literal) => {
        concat!($due, " <= ", merchant_now!())
    };
}

pub(super) async fn backlog(reader: &AnyPool, now: Timestamp) -> StoreResult<Backlog> {
    let deliveries = sqlx::query(concat!(
        "SELECT d.policy, COUNT(*) AS pending, COUNT(*) FILTER (WHERE ",
        due!("d.next_attempt_at"),
        ") AS due, ",
        longest_wait!("d.next_attempt_at", "TRUE"),
        " AS longest_wait
           FROM deliveries d LEFT JOIN sandbox_clocks c ON c.merchant_id = d.merchant_id
          WHERE d.status = 'pending' GROUP BY d.policy ORDER BY d.policy"
    ))
    .bind(now.millis());
    let deliveries = all(reader, deliveries, policy_backlog).await?;
    // Jobs due by the service clock, or by the furthest merchant clock (an index range), or set aside.
    let jobs = sqlx::query(concat!(
        "SELECT COUNT(*) FILTER (WHERE j.status = 'scheduled' AND ",
        due!("j.due_at"),
        ") AS due, ",
        longest_wait!("j.due_at", "j.status = 'scheduled'"),
        " AS longest_wait,
                COUNT(*) FILTER (WHERE j.status = 'set_aside') AS set_aside
           FROM jobs j
           LEFT JOIN sessions s ON s.kind = j.session_kind AND s.id = j.session_id
           LEFT JOIN sandbox_clocks c ON c.merchant_id = s.merchant_id
          WHERE j.due_at <= $1 + (SELECT COALESCE(MAX(k.offset_millis), 0) FROM sandbox_clocks k)
             OR j.status = 'set_aside'"
    ))
    .bind(now.millis());
    let row = sqlx::query::Query::fetch_one(jobs, reader).await?;
    let messages = sqlx::query(concat!(
        "SELECT COUNT(*) AS pending, ",
        longest_wait!("m.next_attempt_at", "TRUE"),
        " AS longest_wait
           FROM messages m LEFT JOIN sandbox_clocks c ON c.merchant_id = m.merchant_id
          WHERE m.status = 'pending'"
    ))
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
