//! The one place that reads the time. Sandbox mode uses a clock that can be moved forward, so
//! expiry can be seen without waiting.

use kassa_core::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

fn system_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Wall-clock time.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(system_millis())
    }
}

/// Wall-clock time plus an offset that only grows.
#[derive(Debug, Default)]
pub struct SandboxClock {
    offset_millis: AtomicI64,
}

impl SandboxClock {
    /// Moves the clock forward by `millis` (negative values are ignored: time never goes back).
    pub fn advance(&self, millis: i64) {
        self.offset_millis.fetch_add(millis.max(0), Ordering::SeqCst);
    }

    /// How far ahead of the wall clock this clock is.
    pub fn offset_millis(&self) -> i64 {
        self.offset_millis.load(Ordering::SeqCst)
    }
}

impl Clock for SandboxClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(system_millis().saturating_add(self.offset_millis.load(Ordering::SeqCst)))
    }
}
