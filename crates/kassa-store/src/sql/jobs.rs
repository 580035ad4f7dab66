//! Durable timers: scheduling (inside a change), claiming due jobs, postponing failed ones.

use super::lease::Claim;
use super::rows::{Write, at, get, name};
use crate::{ClaimedJob, Job, JobKind, SessionKind, StoreError, StoreResult};
use kassa_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

/// Inside a change's transaction.
pub(super) async fn schedule(tx: &mut AnyConnection, job: &Job) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (id, session_kind, session_id, action, due_at, attempts, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&job.id)
    .bind(job.session_kind.as_str())
    .bind(&job.session_id)
    .bind(job.action.as_str())
    .bind(job.due_at.millis())
    .bind(i64::from(job.attempts))
    .bind(job.created_at.millis())
    .write(&mut *tx)
    .await?;
    Ok(())
}

/// Inside a change's transaction: the job's work is done, so its row goes; if the row is already
/// gone another run did the work, and the whole change fails with [`StoreError::JobDone`].
pub(super) async fn done(tx: &mut AnyConnection, job_id: &str) -> StoreResult<()> {
    let deleted = sqlx::query("DELETE FROM jobs WHERE id = $1").bind(job_id).execute(&mut *tx).await?;
    if deleted.rows_affected() != 1 {
        return Err(StoreError::JobDone(job_id.to_owned()));
    }
    Ok(())
}

/// Due jobs: their time has come on the service clock, and no live lease (wall clock) holds them.
pub(super) const CLAIM: Claim<ClaimedJob> = Claim {
    table: "jobs",
    due: "SELECT id FROM jobs
          WHERE due_at <= $3 AND (lease_until IS NULL OR lease_until < $4)
          ORDER BY due_at, id
          LIMIT $5",
    read: "SELECT * FROM jobs WHERE lease_token = $1 ORDER BY due_at, id",
    decode: |row| Ok(ClaimedJob { job: job(row)?, lease_token: get(row, "lease_token")? }),
};

pub(super) async fn postpone(writer: &AnyPool, job_id: &str, token: &str, due_at: Timestamp) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET attempts = attempts + 1, due_at = $1, lease_until = NULL, lease_token = NULL
         WHERE id = $2 AND lease_token = $3",
    )
    .bind(due_at.millis())
    .bind(job_id)
    .bind(token)
    .execute(writer)
    .await?;
    Ok(())
}

fn job(row: &AnyRow) -> StoreResult<Job> {
    let attempts: i64 = get(row, "attempts")?;
    Ok(Job {
        id: get(row, "id")?,
        session_kind: name(row, "session_kind", SessionKind::parse, "session kind")?,
        session_id: get(row, "session_id")?,
        action: name(row, "action", JobKind::parse, "job kind")?,
        due_at: at(row, "due_at")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        created_at: at(row, "created_at")?,
    })
}
