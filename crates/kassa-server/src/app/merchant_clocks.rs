//! Each merchant's sandbox clock: the service clock plus how far the merchant moved its own
//! clock forward (`POST /sandbox/v1/clock/advance`). The offsets live in the database
//! (`sandbox_clocks`), so every node of a PostgreSQL deployment agrees; this is a node's cache of
//! them, read without waiting.
//!
//! Staleness: an offset is read again when its copy is older than [`FRESH_FOR`], at the start of
//! each authenticated request and of each consumer page of the merchant. A node that advanced a
//! clock knows at once; another node may serve the merchant's requests up to [`FRESH_FOR`] behind.
//! Due jobs and callbacks never read this cache: their claims compare due times with the offset
//! in the database, and bring it back with what they claimed ([`MerchantClocks::observe`]).
//! Offsets only grow, so a stale copy is behind, never ahead.

use super::expiring::Expiring;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a node trusts its copy of a merchant's offset.
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// Merchants whose offsets a node keeps at most.
const MERCHANTS: usize = 10_000;

pub struct MerchantClocks {
    offsets: Mutex<Expiring<String, i64>>,
}

impl Default for MerchantClocks {
    fn default() -> Self {
        Self { offsets: Mutex::new(Expiring::new(FRESH_FOR, MERCHANTS)) }
    }
}

impl MerchantClocks {
    /// How far (milliseconds) the merchant's clock is ahead of the service clock, as last known
    /// (0 for a merchant never seen).
    pub fn ahead_millis(&self, merchant_id: &str) -> i64 {
        self.offsets().any_age(merchant_id).copied().unwrap_or(0)
    }

    /// Whether the copy of the merchant's offset is recent enough to use without reading it.
    pub fn is_fresh(&self, merchant_id: &str) -> bool {
        self.offsets().fresh(merchant_id).is_some()
    }

    /// Records the merchant's offset as read from the database now (never moving it back: a
    /// read that raced an advance cannot undo it).
    pub fn observe(&self, merchant_id: &str, ahead_millis: i64) {
        let mut offsets = self.offsets();
        let known = offsets.any_age(merchant_id).copied().unwrap_or(0);
        offsets.insert(merchant_id.to_owned(), known.max(ahead_millis));
    }

    fn offsets(&self) -> MutexGuard<'_, Expiring<String, i64>> {
        self.offsets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_per_merchant_and_never_move_back() {
        let clocks = MerchantClocks::default();
        assert_eq!((clocks.ahead_millis("a"), clocks.is_fresh("a")), (0, false));
        clocks.observe("a", 5_000);
        clocks.observe("a", 1_000);
        assert_eq!((clocks.ahead_millis("a"), clocks.ahead_millis("b")), (5_000, 0));
        assert!(clocks.is_fresh("a") && !clocks.is_fresh("b"));
    }
}
