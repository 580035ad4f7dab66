//! Which targets are failing, as this worker saw them, and when each is probed next: while a
//! target fails, its first waiting delivery is sent ahead of schedule every probe interval (a
//! failed probe costs the delivery none of its attempts), and the first 2xx from the target makes
//! everything waiting for it due at once, instead of each delivery waiting out its own backoff.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::time::{Duration, Instant};

/// A merchant's callback target as the merchant gave it.
pub type TargetKey = (String, String);

pub struct Recovery {
    interval: Duration,
    /// Failing target → when it may be probed next.
    failing: Mutex<HashMap<TargetKey, Instant>>,
}

impl Recovery {
    pub fn new(interval: Duration) -> Self {
        Self { interval, failing: Mutex::default() }
    }

    /// An attempt to `target` failed at `now` (a probe or not): probe it one interval later.
    pub fn failed(&self, target: TargetKey, now: Instant) {
        self.lock().insert(target, now + self.interval);
    }

    /// `target` is failing as of a start-up at `now`: probe it at once.
    pub fn suspect(&self, target: TargetKey, now: Instant) {
        self.lock().entry(target).or_insert(now);
    }

    /// Nothing waits for `target` any more: stop probing it.
    pub fn forget(&self, target: &TargetKey) {
        self.lock().remove(target);
    }

    /// `target` answered 2xx: answers whether it was failing (its waiting deliveries are due now).
    pub fn answered(&self, target: &TargetKey) -> bool {
        self.lock().remove(target).is_some()
    }

    /// The failing targets whose probe is due, each then not due again for one interval (a probe
    /// that finds nothing to send, or is still running, is not repeated sooner).
    pub fn due_probes(&self, now: Instant) -> Vec<TargetKey> {
        let mut failing = self.lock();
        let due: Vec<TargetKey> = failing.iter().filter(|(_, at)| **at <= now).map(|(key, _)| key.clone()).collect();
        for key in &due {
            failing.insert(key.clone(), now + self.interval);
        }
        due
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TargetKey, Instant>> {
        self.failing.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(target: &str) -> TargetKey {
        ("m".into(), target.into())
    }

    #[test]
    fn a_failing_target_is_probed_once_per_interval_until_it_answers() {
        let start = Instant::now();
        let at = |seconds| start + Duration::from_secs(seconds);
        let recovery = Recovery::new(Duration::from_secs(10));
        recovery.failed(key("a"), at(0));
        recovery.suspect(key("b"), at(0));
        assert_eq!(recovery.due_probes(at(0)), [key("b")], "a suspect from start-up is probed at once");
        assert!(recovery.due_probes(at(9)).is_empty());
        let mut due = recovery.due_probes(at(10));
        due.sort();
        assert_eq!(due, [key("a"), key("b")]);
        assert!(recovery.answered(&key("a")));
        assert!(!recovery.answered(&key("a")), "answered once");
        assert_eq!(recovery.due_probes(at(20)), [key("b")]);
    }
}
