//! kassa's own routes for jobs (timers on sessions): the merchant's jobs, those set aside after
//! failing too often with their error, and retrying one.

use super::auth::Call;
use super::errors::ErrorResponse;
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::jobs::operator::{self, JobQuery};
use crate::wire::jobs::{JobList, JobV1};
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_jobs)).routes(routes!(retry_job))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `scheduled` or `set_aside` (failed too often, kept with its error); every job when absent.
    status: Option<String>,
    /// Only this session's jobs.
    session_id: Option<String>,
    /// Jobs per answer, 1–1000 (default 100), oldest first.
    limit: Option<u32>,
}

/// The merchant's jobs, oldest first: `?status=set_aside` lists those that failed too often,
/// each with its last error.
#[utoipa::path(get, path = "/kassa/v1/jobs", tag = "kassa", security(("basic" = [])),
    params(ListQuery),
    responses((status = 200, body = JobList)))]
async fn list_jobs(Call { state, merchant }: Call, Query(query): Query<ListQuery>) -> Result<Json<JobList>, ApiError> {
    let query = JobQuery { status: query.status, session_id: query.session_id, limit: query.limit };
    Ok(Json(operator::page(&state, &merchant, query).await?))
}

/// Run a set-aside job again (due now, no failure counted), once what made it fail is gone.
#[utoipa::path(post, path = "/kassa/v1/jobs/{job_id}/retry", tag = "kassa", security(("basic" = [])),
    responses(
        (status = 202, body = JobV1),
        (status = 409, description = "The job is not set aside", body = ErrorResponse),
    ))]
async fn retry_job(
    Call { state, merchant }: Call,
    Path(job_id): Path<String>,
) -> Result<(StatusCode, Json<JobV1>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(operator::retry(&state, &merchant, &job_id).await?)))
}
