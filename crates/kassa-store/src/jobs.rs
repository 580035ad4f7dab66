//! Durable timers: work on a session that falls due at a time of the service clock (distribute
//! a payment now, auto-cancel it after three hours). A job row commits with the change that
//! schedules it, so it survives restarts; a node claims due jobs under a wall-clock lease; the
//! job's effect commits together with the deletion of its row ([`JobWrite::Done`]), so however
//! many nodes try, it takes effect once.

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
