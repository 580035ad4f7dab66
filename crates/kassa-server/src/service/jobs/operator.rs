//! What an operator does with jobs: list a merchant's (by status, by session), and retry one
//! that was set aside, once its cause is gone. Retrying makes it due at once with no failure
//! counted; the scheduler is woken to run it.

use crate::app::state::AppState;
use crate::service::error::{Rule, ServiceError, ServiceResult};
use crate::wire::jobs::{JobList, JobV1};
use kassa_store::{JobFilter, JobRecord, JobStatus, Merchant};

pub const MAX_PAGE: u32 = 1000;
pub const DEFAULT_PAGE: u32 = 100;

pub fn view(record: JobRecord) -> JobV1 {
    let job = record.job;
    JobV1 {
        job_id: job.id,
        session_kind: job.session_kind.as_str().to_owned(),
        session_id: job.session_id,
        action: job.action.as_str().to_owned(),
        status: record.status.as_str().to_owned(),
        due_at: job.due_at.to_string(),
        attempts: job.attempts,
        last_error: record.last_error,
        failed_at: record.failed_at.map(|t| t.to_string()),
        created_at: job.created_at.to_string(),
    }
}

/// What to list, as a request words it.
#[derive(Debug, Default, Clone)]
pub struct JobQuery {
    /// `scheduled` or `set_aside`; every status when absent.
    pub status: Option<String>,
    pub session_id: Option<String>,
    pub limit: Option<u32>,
}

impl JobQuery {
    fn filter(self) -> ServiceResult<JobFilter> {
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(JobStatus::parse(text).ok_or_else(|| {
                ServiceError::bad_value("status", format!("must be one of {}", JobStatus::expected()))
            })?),
        };
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ServiceError::bad_value("limit", format!("must be between 1 and {MAX_PAGE}")));
        }
        Ok(JobFilter { session_id: self.session_id.filter(|s| !s.is_empty()), status, limit })
    }
}

/// The merchant's jobs that `query` asks for, oldest first.
pub async fn list(state: &AppState, merchant: &Merchant, query: JobQuery) -> ServiceResult<Vec<JobRecord>> {
    Ok(state.store.merchant_jobs(&merchant.id, &query.filter()?).await?)
}

/// [`list`] as the API answers it.
pub async fn page(state: &AppState, merchant: &Merchant, query: JobQuery) -> ServiceResult<JobList> {
    Ok(JobList { jobs: list(state, merchant, query).await?.into_iter().map(view).collect() })
}

/// Schedules a set-aside job of the merchant again, due now; answers it as it now stands.
pub async fn retry(state: &AppState, merchant: &Merchant, job_id: &str) -> ServiceResult<JobV1> {
    let found = state.store.merchant_job(&merchant.id, job_id).await?;
    let found = found.ok_or_else(|| ServiceError::not_found("Job not found"))?;
    if found.status != JobStatus::SetAside {
        return Err(not_set_aside().into());
    }
    let retried = state.store.retry_job(&merchant.id, job_id, state.now_for(&merchant.id)).await?;
    // None: retried (or gone) since it was read.
    let retried = retried.ok_or_else(not_set_aside)?;
    tracing::info!(job = %job_id, session = %found.job.session_id, "a set-aside job is retried");
    // Answered as the retry left it: the scheduler, woken now, may run (and delete) it at once.
    state.bus.jobs_due();
    Ok(view(retried))
}

fn not_set_aside() -> crate::service::error::Refusal {
    Rule::JobNotSetAside.refuses("Only a set-aside job can be retried; this one is scheduled and runs when it is due")
}
