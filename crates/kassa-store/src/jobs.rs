//! Durable timers: work on a session that falls due at a time of the service clock (distribute
//! a payment now, auto-cancel it after three hours). A job row commits with the change that
//! schedules it, so it survives restarts; a node claims due jobs under a wall-clock lease; the
//! job's effect commits together with the deletion of its row ([`JobWrite::Done`]), so however
//! many nodes try, it takes effect once. A run that fails is tried again later
//! ([`JobRetry::At`]); one that failed too often is set aside with its error
//! ([`JobStatus::SetAside`]): kept, never claimed, until an operator retries it.

use crate::SessionKind;
use kassa_core::Timestamp;

kassa_core::wire_enum! {
    /// What a job does, spelled as the `jobs.action` column keeps it. A row with any other
    /// spelling does not decode ([`crate::StoreError::Corrupt`]).
    pub enum JobKind {
        /// Produce a distribution's payment link and QR; with a short code, push the payment to
        /// the consumer session that has it.
        Distribute = "distribute",
        /// Cancel a distribution if nobody has scanned or canceled it.
        AutoCancel = "auto_cancel",
        /// Expire an order whose authorization ran out.
        ExpireOrder = "expire_order",
    }
}

kassa_core::wire_enum! {
    /// Where a job stands, spelled as the `jobs.status` column keeps it.
    pub enum JobStatus {
        /// Waiting for its time, and claimed when it comes (again after a failed run).
        Scheduled = "scheduled",
        /// Failed too often: kept with its last error and never claimed, until retried.
        SetAside = "set_aside",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub session_kind: SessionKind,
    pub session_id: String,
    /// What to do.
    pub action: JobKind,
    /// Service-clock time (the sandbox clock can move it closer).
    pub due_at: Timestamp,
    /// Failed runs so far.
    pub attempts: u32,
    pub created_at: Timestamp,
    /// The correlation id of the request (or the job) whose change scheduled this job.
    pub caused_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobWrite {
    Schedule(Job),
    /// The job's work is in this change: delete its row, failing the change if it is gone
    /// (another node did the work first).
    Done {
        job_id: String,
    },
}

/// A due job this node holds until its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub job: Job,
    pub lease_token: String,
    /// The merchant of the job's session (`None` only for a job whose session is gone).
    pub merchant_id: Option<String>,
    /// How far the sandbox clock of the job's merchant is ahead of the wall clock (0 in
    /// production): the job runs at that merchant's time.
    pub clock_ahead_millis: i64,
}

/// A job as it is listed: what was scheduled, where it stands, and its last failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub job: Job,
    pub status: JobStatus,
    /// Why the last run failed (none before the first failure).
    pub last_error: Option<String>,
    /// When the last run failed, on the service clock.
    pub failed_at: Option<Timestamp>,
}

/// What becomes of a job whose run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobRetry {
    /// Run it again at this service-clock time.
    At(Timestamp),
    /// It failed too often: set it aside (never claimed again until an operator retries it).
    SetAside,
}

/// A failed run of a claimed job: counted, its error kept, the lease let go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub job_id: String,
    pub lease_token: String,
    pub error: String,
    pub failed_at: Timestamp,
    pub next: JobRetry,
}

/// Which of a merchant's jobs to list (the merchant of a job is its session's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFilter {
    pub session_id: Option<String>,
    pub status: Option<JobStatus>,
    pub limit: u32,
}
