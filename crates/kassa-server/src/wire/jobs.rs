//! Bodies of the jobs routes (kassa's own): a session's timers, and those set aside.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A job: work on a session due at a time (distributing an in-store payment, its auto-cancel,
/// an order's expiry), and how its runs went.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobV1 {
    pub job_id: String,
    /// `distribution`, `order`, …: the kind of the session it acts on.
    pub session_kind: String,
    pub session_id: String,
    /// `distribute`, `auto_cancel` or `expire_order`.
    pub action: String,
    /// `scheduled` (it runs when due, again after a failed run) or `set_aside` (it failed too
    /// often and runs only when retried).
    pub status: String,
    /// When it runs (or, set aside, when it was last due), on the service clock.
    pub due_at: String,
    /// Failed runs since it was scheduled or last retried.
    pub attempts: u32,
    /// Why its last run failed; null before any failure.
    pub last_error: Option<String>,
    /// When its last run failed; null before any failure.
    pub failed_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    /// Oldest first.
    pub jobs: Vec<JobV1>,
}
