//! The one place that reads the time. A server has two clocks ([`Clocks`]): the service clock,
//! which every domain decision reads (expiry, due times, retry times, rate-limit windows), and the
//! wall clock, for what must stay real time (leases shared with other nodes, `webhook-timestamp`,
//! a receiver's HTTP-date, login cookies). In production both are the system clock; in sandbox
//! mode the service clock is a [`SandboxClock`] that can be moved forward, so expiry can be seen
//! without waiting. Tests can give a server a [`ManualClock`] as its wall clock: then no clock of
//! it ticks on its own.

use kassa_core::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The two clocks of a server.
#[derive(Clone)]
pub struct Clocks {
    /// The time of the service: the sandbox clock in sandbox mode, else the wall clock.
    pub service: Arc<dyn Clock>,
    /// Real time.
    pub wall: Arc<dyn Clock>,
}

impl Clocks {
    /// A server's clocks over `wall`: in sandbox mode the service clock is a sandbox clock over
    /// it (returned too, to be moved), otherwise `wall` itself.
    pub fn over(wall: Arc<dyn Clock>, sandbox: bool) -> (Self, Option<Arc<SandboxClock>>) {
        if !sandbox {
            return (Self { service: wall.clone(), wall }, None);
        }
        let clock = Arc::new(SandboxClock::over(wall.clone()));
        (Self { service: clock.clone(), wall }, Some(clock))
    }
}

/// The system's wall-clock time.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        Timestamp::from_millis(millis)
    }
}

/// Another clock (the wall clock) plus an offset that only grows.
pub struct SandboxClock {
    base: Arc<dyn Clock>,
    offset_millis: AtomicI64,
}

impl SandboxClock {
    pub fn over(base: Arc<dyn Clock>) -> Self {
        Self { base, offset_millis: AtomicI64::new(0) }
    }

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
        self.base.now().plus_millis(self.offset_millis.load(Ordering::SeqCst))
    }
}

/// A clock that stands still until it is moved: for tests that must not depend on how fast the
/// machine is.
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    pub fn at(start: Timestamp) -> Self {
        Self { millis: AtomicI64::new(start.millis()) }
    }

    /// Moves the clock forward by `millis` (negative values are ignored).
    pub fn advance(&self, millis: i64) {
        self.millis.fetch_add(millis.max(0), Ordering::SeqCst);
    }

    /// Sets the clock to `at` (even backwards: a test may want to see that).
    pub fn set(&self, at: Timestamp) {
        self.millis.store(at.millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sandbox_clock_over_a_manual_clock_moves_only_when_told() {
        let wall = Arc::new(ManualClock::at(Timestamp::from_millis(1_000)));
        let (clocks, sandbox) = Clocks::over(wall.clone(), true);
        let sandbox = sandbox.unwrap();
        assert_eq!((clocks.service.now().millis(), clocks.wall.now().millis()), (1_000, 1_000));
        sandbox.advance(5_000);
        sandbox.advance(-9_000);
        assert_eq!((clocks.service.now().millis(), clocks.wall.now().millis()), (6_000, 1_000));
        wall.advance(10);
        assert_eq!((clocks.service.now().millis(), clocks.wall.now().millis()), (6_010, 1_010));
        wall.set(Timestamp::from_millis(0));
        assert_eq!(clocks.service.now().millis(), 5_000);
        let (production, none) = Clocks::over(wall, false);
        assert!(none.is_none());
        assert_eq!(production.service.now(), production.wall.now());
    }
}
