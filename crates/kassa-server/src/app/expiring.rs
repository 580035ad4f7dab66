//! A map whose entries serve for a bounded time and whose size is bounded: what the node's read
//! caches ([`crate::app::session_cache`], [`crate::app::credential_cache`],
//! [`crate::app::merchant_clocks`]) keep.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

pub struct Expiring<K, V> {
    entries: HashMap<K, (V, Instant)>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Hash + Eq, V> Expiring<K, V> {
    /// Entries serve for `ttl` after they were put in; at most `capacity` are kept.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { entries: HashMap::new(), ttl, capacity }
    }

    /// The value of `key`, if it was put in less than the time to live ago.
    pub fn fresh<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let (value, put_at) = self.entries.get(key)?;
        (put_at.elapsed() < self.ttl).then_some(value)
    }

    /// The value of `key` however long ago it was put in (until a full map drops it).
    pub fn any_age<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.entries.get(key).map(|(value, _)| value)
    }

    /// Puts `value` in for `key`. A full map first drops what has expired, and everything if
    /// nothing has: its size stays bounded whatever the traffic.
    pub fn insert(&mut self, key: K, value: V) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let ttl = self.ttl;
            self.entries.retain(|_, (_, put_at)| put_at.elapsed() < ttl);
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        self.entries.insert(key, (value, Instant::now()));
    }

    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.entries.remove(key);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// How many entries are kept (fresh or not).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_size_stays_bounded() {
        let mut map = Expiring::new(Duration::from_millis(30), 2);
        map.insert("a", 1);
        map.insert("b", 2);
        assert_eq!(map.fresh("a"), Some(&1));
        map.insert("c", 3);
        assert_eq!(map.len(), 1, "full of fresh entries: all dropped for the newcomer");
        assert_eq!(map.fresh("c"), Some(&3));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(map.fresh("c"), None, "past its time to live");
        map.insert("d", 4);
        map.insert("e", 5);
        assert_eq!(map.len(), 2, "the expired entry made room");
    }
}
