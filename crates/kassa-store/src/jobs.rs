//! Durable timers: work on a session that falls due at a time of the service clock (distribute
//! a payment now, auto-cancel it after three hours). A job row commits with the change that
//! schedules it, so it survives restarts; a node claims due jobs under a wall-clock lease; the
//! job's effect commits together with the deletion of its row ([`JobWrite::Done`]), so however
//! many nodes try, it takes effect once.

use crate::SessionKind;
use kassa_core::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub session_kind: SessionKind,
    pub session_id: String,
    /// What to do, in the scheduling service's own words.
    pub action: String,
    /// Service-clock time (the sandbox clock can move it closer).
    pub due_at: Timestamp,
    /// Failed runs so far.
    pub attempts: u32,
    pub created_at: Timestamp,
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
}
