//! The per-merchant request counters: a fixed window of one second per merchant and
//! [`Category`] that starts with the first request counted after the previous window ended (see
//! [`crate::api::rate_limit`] for how requests are counted). Pure: time is passed in.

use crate::app::rate_limits::{Category, RateLimits};
use kassa_core::Timestamp;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Length of a rate-limit window.
pub const WINDOW_MILLIS: i64 = 1_000;

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed (it was counted) or gets 429 (it was not).
    pub allowed: bool,
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Whole seconds until the window ends, rounded up (at least 1).
    pub reset_secs: u64,
    /// Start of the window the request was counted in (ms).
    pub window_start: i64,
}
/// A category's counter of one merchant: requests counted in the window starting at `start`.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    start: i64,
    count: u32,
}

impl Slot {
    fn is_live(&self, now: i64) -> bool {
        self.count > 0 && now >= self.start && now < self.start.saturating_add(WINDOW_MILLIS)
    }
}

#[derive(Debug, Default)]
struct Counters {
    /// Per merchant username, one slot per category.
    slots: HashMap<String, [Slot; 3]>,
    /// When to drop merchants whose windows have all ended.
    next_prune: i64,
}

/// The counters of every merchant; shared by all requests (one per server).
///
/// One mutex, held only to update a small counter (never across an `.await`).
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    counters: Mutex<Counters>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, counters: Mutex::default() }
    }

    /// Counts one request of `merchant` in `category` at `now`, unless the window's quota is used
    /// up. `None` when the category is unlimited (nothing counted, no headers).
    pub fn acquire(&self, merchant: &str, category: Category, now: Timestamp) -> Option<Decision> {
        let limit = self.limits.get(category)?;
        let now = now.millis();
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        if now >= counters.next_prune {
            counters.slots.retain(|_, slots| slots.iter().any(|slot| slot.is_live(now)));
            counters.next_prune = now.saturating_add(WINDOW_MILLIS);
        }
        if !counters.slots.contains_key(merchant) {
            // Allocates the key only for a merchant's first request of a window.
            counters.slots.insert(merchant.to_owned(), [Slot::default(); 3]);
        }
        let Some(slots) = counters.slots.get_mut(merchant) else { unreachable!("inserted above") };
        let slot = &mut slots[category.index()];
        if !slot.is_live(now) {
            *slot = Slot { start: now, count: 0 };
        }
        let allowed = slot.count < limit;
        if allowed {
            slot.count += 1;
        }
        let remaining = limit.saturating_sub(slot.count);
        let left_ms = (slot.start.saturating_add(WINDOW_MILLIS) - now).max(1);
        let reset_secs = u64::try_from(left_ms).unwrap_or(1).div_ceil(1_000).max(1);
        Some(Decision { allowed, limit, remaining, reset_secs, window_start: slot.start })
    }

    /// Gives back a request [`acquire`](Self::acquire) allowed (one that turned out not to be the
    /// merchant's), if its window is still the current one.
    pub fn release(&self, merchant: &str, category: Category, decision: &Decision) {
        if !decision.allowed {
            return;
        }
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slots) = counters.slots.get_mut(merchant) {
            let slot = &mut slots[category.index()];
            if slot.start == decision.window_start {
                slot.count = slot.count.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::clock::{Clock, ManualClock, SandboxClock};

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    fn limiter(create: u32, hpp: u32, other: u32) -> RateLimiter {
        RateLimiter::new(RateLimits { create_session: Some(create), create_hpp_session: Some(hpp), other: Some(other) })
    }

    #[test]
    fn counts_within_a_window_and_refuses_over_the_limit() {
        let limiter = limiter(3, 3, 10);
        for remaining in [2, 1, 0] {
            let decision = limiter.acquire("shop", Category::CreateSession, at(10_000)).unwrap();
            assert!(decision.allowed);
            assert_eq!((decision.limit, decision.remaining, decision.reset_secs), (3, remaining, 1));
        }
        let refused = limiter.acquire("shop", Category::CreateSession, at(10_999)).unwrap();
        assert!(!refused.allowed);
        assert_eq!((refused.remaining, refused.reset_secs), (0, 1));
        // Still refused: refusals are not counted, the window does not move.
        assert!(!limiter.acquire("shop", Category::CreateSession, at(10_999)).unwrap().allowed);
        // Other merchants and other categories have their own counters.
        assert!(limiter.acquire("other shop", Category::CreateSession, at(10_999)).unwrap().allowed);
        assert!(limiter.acquire("shop", Category::CreateHppSession, at(10_999)).unwrap().allowed);
        assert_eq!(limiter.acquire("shop", Category::Other, at(10_999)).unwrap().remaining, 9);
        // The window ends one second after its first request.
        let next = limiter.acquire("shop", Category::CreateSession, at(11_000)).unwrap();
        assert!(next.allowed);
        assert_eq!(next.remaining, 2);
    }

    #[test]
    fn windows_start_with_the_first_request() {
        let limiter = limiter(2, 2, 2);
        assert!(limiter.acquire("shop", Category::Other, at(5_700)).unwrap().allowed);
        assert!(limiter.acquire("shop", Category::Other, at(6_100)).unwrap().allowed);
        assert!(!limiter.acquire("shop", Category::Other, at(6_699)).unwrap().allowed);
        assert!(limiter.acquire("shop", Category::Other, at(6_700)).unwrap().allowed);
    }

    #[test]
    fn rolls_over_with_the_sandbox_clock() {
        // Over a wall clock that stands still: only the sandbox clock moves the window.
        let clock = SandboxClock::over(std::sync::Arc::new(ManualClock::at(at(10_000))));
        let limiter = limiter(5, 5, 50);
        for _ in 0..5 {
            assert!(limiter.acquire("shop", Category::CreateSession, clock.now()).unwrap().allowed);
        }
        let refused = limiter.acquire("shop", Category::CreateSession, clock.now()).unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.reset_secs, 1);
        clock.advance(1_000);
        let decision = limiter.acquire("shop", Category::CreateSession, clock.now()).unwrap();
        assert!(decision.allowed);
        assert_eq!(decision.remaining, 4);
    }

    #[test]
    fn unlimited_categories_are_not_counted() {
        let limiter = RateLimiter::new(RateLimits { other: None, ..RateLimits::playground() });
        assert_eq!(limiter.acquire("shop", Category::Other, at(0)), None);
        assert!(RateLimiter::new(RateLimits::off()).acquire("shop", Category::CreateSession, at(0)).is_none());
    }

    #[test]
    fn a_released_request_is_given_back_within_its_window() {
        let limiter = limiter(1, 1, 1);
        let first = limiter.acquire("shop", Category::Other, at(1_000)).unwrap();
        limiter.release("shop", Category::Other, &first);
        let second = limiter.acquire("shop", Category::Other, at(1_500)).unwrap();
        assert!(second.allowed);
        assert!(!limiter.acquire("shop", Category::Other, at(1_600)).unwrap().allowed);
        // A release from an earlier window does not touch the current one.
        let third = limiter.acquire("shop", Category::Other, at(2_600)).unwrap();
        assert!(third.allowed);
        limiter.release("shop", Category::Other, &second);
        assert!(!limiter.acquire("shop", Category::Other, at(2_700)).unwrap().allowed);
    }

    #[test]
    fn stale_merchants_are_pruned() {
        let limiter = limiter(5, 5, 5);
        for i in 0..100 {
            limiter.acquire(&format!("shop-{i}"), Category::Other, at(0));
        }
        limiter.acquire("late", Category::Other, at(5_000));
        let counters = limiter.counters.lock().unwrap();
        assert_eq!(counters.slots.keys().collect::<Vec<_>>(), ["late"]);
    }
}
