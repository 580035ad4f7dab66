//! Claims under a lease: how delivery and job claims say what they take.

use kassa_core::Timestamp;

/// What a claim takes: up to `limit` rows due at `due_at` (the service clock, which the sandbox
/// can move) that no live lease holds, leased until `lease_until`. Leases are wall-clock times:
/// one that ends at or after `wall_now` is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimWindow {
    pub due_at: Timestamp,
    pub wall_now: Timestamp,
    pub lease_until: Timestamp,
    pub limit: u32,
}
