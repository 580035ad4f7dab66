//! Leaky buckets by key (GCRA: one "theoretical arrival time" per key), in a map of bounded
//! size. Pure: time is passed in, the caller holds the lock.
//!
//! A bucket allows `burst` events at once and one more every `every`; a key whose bucket is full
//! again is forgotten. When the map holds `max` keys, the forgettable ones are dropped (at most
//! once a second); if every key is still in use, a new key is not tracked (its event is
//! allowed, uncounted) until some bucket fills up again, so memory stays bounded.

use crate::app::limits::Rate;
use kassa_core::Timestamp;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

pub struct Buckets<K> {
    rate: Rate,
    max: usize,
    /// Per key: when its bucket is full again (ms).
    full_at: HashMap<K, i64>,
    next_prune: i64,
}

impl<K: Hash + Eq> Buckets<K> {
    pub fn new(rate: Rate, max: usize) -> Self {
        Self { rate, max, full_at: HashMap::new(), next_prune: i64::MIN }
    }

    fn every_ms(&self) -> i64 {
        i64::try_from(self.rate.every.as_millis()).unwrap_or(i64::MAX / 4).max(1)
    }

    /// Whole seconds (at least 1) until `key` may have another event; `None` when it may now.
    pub fn wait<Q: Hash + Eq + ?Sized>(&self, key: &Q, now: Timestamp) -> Option<u64>
    where
        K: Borrow<Q>,
    {
        let full_at = *self.full_at.get(key)?;
        // The bucket holds `burst` events: the next fits once the one before the oldest left.
        let allowed_at = full_at.saturating_sub(i64::from(self.rate.burst.saturating_sub(1)) * self.every_ms());
        let left = allowed_at.saturating_sub(now.millis());
        (left > 0).then(|| u64::try_from(left).unwrap_or(u64::MAX).div_ceil(1000).max(1))
    }

    /// Counts one event of `key` (whether or not it was allowed); `false` when the map is full of
    /// keys in use and `key` is not tracked.
    pub fn add<Q: Hash + Eq + ToOwned<Owned = K> + ?Sized>(&mut self, key: &Q, now: Timestamp) -> bool
    where
        K: Borrow<Q>,
    {
        let now = now.millis();
        let every = self.every_ms();
        if let Some(full_at) = self.full_at.get_mut(key) {
            *full_at = (*full_at).max(now).saturating_add(every);
            return true;
        }
        if self.full_at.len() >= self.max && now >= self.next_prune {
            self.full_at.retain(|_, full_at| *full_at > now);
            self.next_prune = now.saturating_add(1000);
        }
        if self.full_at.len() >= self.max {
            return false;
        }
        self.full_at.insert(key.to_owned(), now.saturating_add(every));
        true
    }

    /// Counts an event of `key` if it is allowed now; else the wait (see [`Buckets::wait`]).
    pub fn take<Q: Hash + Eq + ToOwned<Owned = K> + ?Sized>(&mut self, key: &Q, now: Timestamp) -> Result<(), u64>
    where
        K: Borrow<Q>,
    {
        match self.wait(key, now) {
            Some(wait) => Err(wait),
            None => {
                self.add(key, now);
                Ok(())
            }
        }
    }

    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.full_at.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_millis(secs * 1000)
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let mut buckets = Buckets::new(Rate { burst: 3, every: Duration::from_secs(6) }, 10);
        for _ in 0..3 {
            assert_eq!(buckets.take(&"a", at(100)), Ok(()));
        }
        assert_eq!(buckets.take(&"a", at(100)), Err(6));
        assert_eq!(buckets.take(&"a", at(105)), Err(1));
        assert_eq!(buckets.take(&"a", at(106)), Ok(()));
        assert_eq!(buckets.take(&"a", at(106)), Err(6));
        assert_eq!(buckets.take(&"b", at(106)), Ok(()), "another key has its own bucket");
        assert_eq!(buckets.wait(&"a", at(130)), None);
    }

    #[test]
    fn memory_is_bounded() {
        let mut buckets = Buckets::new(Rate { burst: 1, every: Duration::from_secs(10) }, 2);
        assert!(buckets.add(&1, at(0)));
        assert!(buckets.add(&2, at(0)));
        assert!(!buckets.add(&3, at(5)), "full of keys in use: not tracked");
        assert_eq!(buckets.wait(&3, at(5)), None);
        assert!(buckets.add(&3, at(10)), "the full buckets are forgotten");
        assert_eq!(buckets.tracked(), 1);
    }
}
