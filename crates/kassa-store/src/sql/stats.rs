//! The backlog an operator watches (see [`crate::stats`]), read in three aggregate queries: pending
//! deliveries (their partial index), due or set-aside jobs, and pending messages.

use super::rows::{all, count, maybe_at, name};
use crate::StoreResult;
use crate::stats::{Backlog, PolicyBacklog};
use kassa_core::Timestamp;
use kassa_core::retry::RetryPolicy;
use sqlx::AnyPool;
use sqlx::any::AnyRow;

pub(super) async fn backlog(reader: &AnyPool, now: Timestamp) -> StoreResult<Backlog> {
    let deliveries = sqlx::query(
        "SELECT policy, COUNT(*) AS pending,
                COUNT(*) FILTER (WHERE next_attempt_at <= $1) AS due,
                MIN(next_attempt_at) FILTER (WHERE next_attempt_at <= $1) AS oldest_due_at
           FROM deliveries WHERE status = 'pending' GROUP BY policy ORDER BY policy",
    )
    .bind(now.millis());
    let deliveries = all(reader, deliveries, policy_backlog).await?;
    let jobs = sqlx::query(
        "SELECT COUNT(*) FILTER (WHERE status = 'scheduled' AND due_at <= $1) AS due,
                MIN(due_at) FILTER (WHERE status = 'scheduled' AND due_at <= $1) AS oldest_due_at,
                COUNT(*) FILTER (WHERE status = 'set_aside') AS set_aside
           FROM jobs WHERE due_at <= $1 OR status = 'set_aside'",
    )
    .bind(now.millis());
    let row = sqlx::query::Query::fetch_one(jobs, reader).await?;
    let messages = sqlx::query(
        "SELECT COUNT(*) AS pending, MIN(next_attempt_at) FILTER (WHERE next_attempt_at <= $1) AS oldest_due_at
           FROM messages WHERE status = 'pending'",
    )
    .bind(now.millis());
    let messages = sqlx::query::Query::fetch_one(messages, reader).await?;
    Ok(Backlog {
        deliveries,
        jobs_due: count(&row, "due")?,
        oldest_job_due_at: maybe_at(&row, "oldest_due_at")?,
        jobs_set_aside: count(&row, "set_aside")?,
        messages_pending: count(&messages, "pending")?,
        oldest_message_due_at: maybe_at(&messages, "oldest_due_at")?,
    })
}

fn policy_backlog(row: &AnyRow) -> StoreResult<PolicyBacklog> {
    Ok(PolicyBacklog {
        policy: name(row, "policy", RetryPolicy::parse, "retry policy")?,
        pending: count(row, "pending")?,
        due: count(row, "due")?,
        oldest_due_at: maybe_at(row, "oldest_due_at")?,
    })
}
