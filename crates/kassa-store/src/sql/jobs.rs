//! Durable timers: scheduling (inside a change), claiming due jobs, failed runs (tried again later
//! or set aside), and the operator's view: a merchant's jobs, and retrying one set aside.

use super::lease::Claim;
use super::outbox::due_on_merchant_clock;
use super::rows::{Write, all, at, get, name, optional};
use crate::{
    ClaimedJob, Job, JobFailure, JobFilter, JobKind, JobRecord, JobRetry, JobStatus, SessionKind, StoreError,
    StoreResult,
};
use kassa_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

/// Inside a change's transaction.
pub(super) async fn schedule(tx: &mut AnyConnection, job: &Job) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (id, session_kind, session_id, action, due_at, attempts, created_at, caused_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&job.id)
    .bind(job.session_kind.as_str())
    .bind(&job.session_id)
    .bind(job.action.as_str())
    .bind(job.due_at.millis())
    .bind(i64::from(job.attempts))
    .bind(job.created_at.millis())
    .bind(&job.caused_by)
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

/// Due jobs: scheduled (a set-aside job is never claimed), their time has come on their
/// merchant's clock (its merchant is its session's), and no live lease (wall clock) holds them.
pub(super) const CLAIM: Claim<ClaimedJob> = Claim {
    table: "jobs",
    due: concat!(
        "SELECT id FROM jobs WHERE status = 'scheduled' AND ",
        due_on_merchant_clock!(
            "due_at",
            "SELECT c.offset_millis FROM sandbox_clocks c JOIN sessions s ON s.merchant_id = c.merchant_id
              WHERE s.kind = jobs.session_kind AND s.id = jobs.session_id"
        ),
        " AND (lease_until IS NULL OR lease_until < $4) ORDER BY due_at, id LIMIT $5"
    ),
    read:
        "SELECT j.*, s.merchant_id AS clock_merchant_id, COALESCE(k.offset_millis, 0) AS clock_ahead_millis FROM jobs j
           LEFT JOIN sessions s ON s.kind = j.session_kind AND s.id = j.session_id
           LEFT JOIN sandbox_clocks k ON k.merchant_id = s.merchant_id
           WHERE j.lease_token = $1 ORDER BY j.due_at, j.id",
    decode: |row| {
        Ok(ClaimedJob {
            job: job(row)?,
            lease_token: get(row, "lease_token")?,
            merchant_id: get(row, "clock_merchant_id")?,
            clock_ahead_millis: get(row, "clock_ahead_millis")?,
        })
    },
};

/// The most of an error a job keeps.
const MAX_ERROR_CHARS: usize = 2000;

/// Counts the failure and keeps its error, under the claim that ran it: the job is due again
/// later, or set aside.
pub(super) async fn fail(writer: &AnyPool, failure: &JobFailure) -> StoreResult<bool> {
    let error: String = failure.error.chars().take(MAX_ERROR_CHARS).collect();
    let (status, due_at) = match failure.next {
        JobRetry::At(due_at) => (JobStatus::Scheduled, Some(due_at.millis())),
        JobRetry::SetAside => (JobStatus::SetAside, None),
    };
    let failed = sqlx::query(
        "UPDATE jobs SET attempts = attempts + 1, last_error = $1, failed_at = $2, status = $3,
                         due_at = COALESCE(CAST($4 AS BIGINT), due_at), lease_until = NULL, lease_token = NULL
         WHERE id = $5 AND lease_token = $6 AND status = 'scheduled'",
    )
    .bind(error)
    .bind(failure.failed_at.millis())
    .bind(status.as_str())
    .bind(due_at)
    .bind(&failure.job_id)
    .bind(&failure.lease_token)
    .execute(writer)
    .await?;
    Ok(failed.rows_affected() == 1)
}

/// A job with its session's merchant.
const OF_MERCHANT: &str = "SELECT j.* FROM jobs j
    JOIN sessions s ON s.kind = j.session_kind AND s.id = j.session_id
    WHERE s.merchant_id = $1";

pub(super) async fn of_merchant(
    reader: &AnyPool,
    merchant_id: &str,
    filter: &JobFilter,
) -> StoreResult<Vec<JobRecord>> {
    let sql = format!(
        "{OF_MERCHANT}
           AND (CAST($2 AS TEXT) IS NULL OR j.session_id = $3)
           AND (CAST($4 AS TEXT) IS NULL OR j.status = $5)
         ORDER BY j.created_at, j.id
         LIMIT $6"
    );
    let status = filter.status.map(JobStatus::as_str);
    let query = sqlx::query(&sql)
        .bind(merchant_id)
        .bind(&filter.session_id)
        .bind(&filter.session_id)
        .bind(status)
        .bind(status)
        .bind(i64::from(filter.limit));
    all(reader, query, record).await
}

pub(super) async fn by_id(reader: &AnyPool, merchant_id: &str, job_id: &str) -> StoreResult<Option<JobRecord>> {
    let sql = format!("{OF_MERCHANT} AND j.id = $2");
    optional(reader, sqlx::query(&sql).bind(merchant_id).bind(job_id), record).await
}

/// A set-aside job of the merchant is scheduled again, with no failure counted; answers it as
/// the retry left it.
pub(super) async fn retry(
    writer: &AnyPool,
    merchant_id: &str,
    job_id: &str,
    due_at: Timestamp,
) -> StoreResult<Option<JobRecord>> {
    let retried = sqlx::query(
        "UPDATE jobs SET status = 'scheduled', attempts = 0, due_at = $1, lease_until = NULL, lease_token = NULL
         WHERE id = $2 AND status = 'set_aside'
           AND EXISTS (SELECT 1 FROM sessions s
                       WHERE s.kind = jobs.session_kind AND s.id = jobs.session_id AND s.merchant_id = $3)
         RETURNING *",
    )
    .bind(due_at.millis())
    .bind(job_id)
    .bind(merchant_id);
    optional(writer, retried, record).await
}

fn record(row: &AnyRow) -> StoreResult<JobRecord> {
    let failed_at: Option<i64> = get(row, "failed_at")?;
    Ok(JobRecord {
        job: job(row)?,
        status: name(row, "status", JobStatus::parse, "job status")?,
        last_error: get(row, "last_error")?,
        failed_at: failed_at.map(Timestamp::from_millis),
    })
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
        caused_by: get(row, "caused_by")?,
    })
}
