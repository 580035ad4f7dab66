//! The dashboard's jobs (merchant login): the jobs set aside after failing too often, each with
//! its error and a retry button; the same list on a session's page (`dashboard.rs`).

use super::login::{Back, MerchantLogin};
use super::{Chrome, PageError, PageForm, render};
use crate::app::state::AppState;
use crate::service::jobs::operator::{self, JobQuery};
use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kassa_store::{JobRecord, JobStatus, Merchant};

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard/jobs", get(set_aside)).route("/dashboard/jobs/{job_id}/retry", post(retry))
}

/// A set-aside job as the pages show it.
pub struct JobRow {
    pub id: String,
    pub action: String,
    pub session_kind: String,
    pub session_id: String,
    pub session_link: String,
    pub attempts: u32,
    pub failed_at: Option<String>,
    pub last_error: Option<String>,
}

impl From<JobRecord> for JobRow {
    fn from(record: JobRecord) -> Self {
        let job = record.job;
        Self {
            session_link: format!("/dashboard/sessions/{}/{}", job.session_kind.as_str(), job.session_id),
            id: job.id,
            action: job.action.as_str().to_owned(),
            session_kind: job.session_kind.as_str().to_owned(),
            session_id: job.session_id,
            attempts: job.attempts,
            failed_at: record.failed_at.map(|t| t.to_string()),
            last_error: record.last_error,
        }
    }
}

/// The merchant's set-aside jobs, of one session or of all.
pub async fn set_aside_rows(
    state: &AppState,
    merchant: &Merchant,
    session_id: Option<&str>,
) -> Result<Vec<JobRow>, PageError> {
    let query = JobQuery {
        status: Some(JobStatus::SetAside.as_str().to_owned()),
        session_id: session_id.map(str::to_owned),
        limit: Some(operator::MAX_PAGE),
    };
    Ok(operator::list(state, merchant, query).await?.into_iter().map(JobRow::from).collect())
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    chrome: Chrome,
    jobs: Vec<JobRow>,
    attempts: u32,
    here: &'static str,
}

async fn set_aside(MerchantLogin { state, merchant }: MerchantLogin) -> Result<Response, PageError> {
    let jobs = set_aside_rows(&state, &merchant, None).await?;
    let page = JobsPage {
        chrome: Chrome::merchant("Set-aside jobs", &merchant),
        jobs,
        attempts: state.config.job_attempts,
        here: "/dashboard/jobs",
    };
    Ok(render(&page)?.into_response())
}

async fn retry(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path(job_id): Path<String>,
    PageForm(form): PageForm<Back>,
) -> Result<Response, PageError> {
    operator::retry(&state, &merchant, &job_id).await?;
    form.go()
}
