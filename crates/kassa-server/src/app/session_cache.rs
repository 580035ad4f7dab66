//! A node-local cache of the session records that plain reads serve (`GET` of an HPP session),
//! so a repeated read skips the database round trip and the decoding of the stored state.
//!
//! Consistency rules (see docs/ARCHITECTURE.md, "Read cache"):
//! - Only a read fills the cache ([`SessionCache::read`]); a write's own load (the guard of its
//!   compare-and-set) always goes to the database.
//! - Every commit of this node drops the sessions it wrote *after* the database answered and
//!   before the commit is acknowledged ([`AppState::commit`](crate::app::AppState::commit)),
//!   whatever the answer (an unknown outcome drops them too). On PostgreSQL other nodes' commits
//!   drop them as their notifications arrive, before followers are woken ([`SessionCache::notified`]).
//! - A read that went to the database keeps what it found only if no session was dropped since it
//!   started (the cache's epoch did not move): a load that raced a commit cannot put back the state
//!   the commit replaced.
//! - An entry lives at most [`TTL`]: the bound for a change this node was not told about (another
//!   node's lost notification).
//! - The record is cached, not the answer: whether it belongs to the caller and whether it has
//!   expired (service clock) are decided at every read.

use crate::app::expiring::Expiring;
use kassa_store::notify::Notification;
use kassa_store::{SessionRecord, Store, StoreExt, StoreResult, Stored};
use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long an entry may serve reads at most.
pub const TTL: Duration = Duration::from_secs(2);

/// How many sessions are kept at most.
pub const CAPACITY: usize = 10_000;

type Record = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub struct SessionCache {
    inner: Mutex<Inner>,
}

struct Inner {
    /// Moves at every drop: a load that started at an older epoch is not kept.
    epoch: u64,
    entries: Expiring<String, Record>,
}

impl Default for Inner {
    fn default() -> Self {
        Self { epoch: 0, entries: Expiring::new(TTL, CAPACITY) }
    }
}

impl SessionCache {
    /// Session `id` of type `T`: from the cache when it holds a fresh copy, else from `store`
    /// (then kept, unless a commit dropped anything meanwhile).
    pub async fn read<T: SessionRecord>(&self, store: &dyn Store, id: &str) -> StoreResult<Option<Arc<Stored<T>>>> {
        let epoch = {
            let inner = self.lock();
            if let Some(hit) = inner.entries.fresh(id).and_then(|record| record.clone().downcast::<Stored<T>>().ok()) {
                return Ok(Some(hit));
            }
            inner.epoch
        };
        let Some(loaded) = store.load::<T>(id).await? else { return Ok(None) };
        let loaded = Arc::new(loaded);
        self.keep(id, epoch, loaded.clone());
        Ok(Some(loaded))
    }

    /// Forgets `ids` (they were written, or may have been).
    pub fn drop_sessions<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.lock();
        inner.epoch += 1;
        for id in ids {
            inner.entries.remove(id);
        }
    }

    /// Forgets everything (changes may have been missed).
    pub fn drop_all(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.entries.clear();
    }

    /// Another node committed what `notification` announces: forgets its session, or everything
    /// when notifications may have been missed. Called before anyone the notification wakes
    /// reads ([`Bus::bridge`](crate::app::bus::Bus::bridge)).
    pub fn notified(&self, notification: &Notification) {
        if notification.is_missed() {
            self.drop_all();
        } else {
            self.drop_sessions([notification.session_id.as_str()]);
        }
    }

    fn keep(&self, id: &str, epoch: u64, record: Record) {
        let mut inner = self.lock();
        if inner.epoch == epoch {
            inner.entries.insert(id.to_owned(), record);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map stays whole whatever panicked while it was held (no step leaves it half-done).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_refuses_a_load_that_started_before_it() {
        let cache = SessionCache::default();
        let record: Record = Arc::new(7_u64);
        let epoch = cache.lock().epoch;
        cache.drop_sessions(["other"]);
        cache.keep("s", epoch, record.clone());
        assert!(cache.lock().entries.is_empty(), "a load that raced a commit is not kept");
        let epoch = cache.lock().epoch;
        cache.keep("s", epoch, record);
        assert_eq!(cache.lock().entries.len(), 1);
        cache.drop_sessions(["s"]);
        assert!(cache.lock().entries.is_empty());
    }

    #[test]
    fn a_notification_drops_its_session_and_a_missed_one_everything() {
        let cache = SessionCache::default();
        for id in ["a", "b"] {
            let epoch = cache.lock().epoch;
            cache.keep(id, epoch, Arc::new(1_u64));
        }
        cache.notified(&Notification { session_id: "a".into(), seq: 2, deliveries: false });
        assert_eq!(cache.lock().entries.len(), 1, "only the notified session is dropped");
        cache.notified(&Notification::missed());
        assert!(cache.lock().entries.is_empty(), "a gap drops everything");
    }
}
