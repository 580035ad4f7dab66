//! A node-local cache of the session records that plain reads serve (`GET` of an HPP session),
//! so a repeated read skips the database round trip and the decoding of the stored state.
//!
//! Consistency rules (see docs/ARCHITECTURE.md, "Read cache"):
//! - Only a read fills the cache ([`SessionCache::read`]); a write's own load (the guard of its
//!   compare-and-set) always goes to the database.
//! - Every commit of this node drops the sessions it wrote *after* the database answered and
//!   before the commit is acknowledged ([`AppState::commit`](crate::app::AppState::commit)),
//!   whatever the answer (an unknown outcome drops them too). On PostgreSQL other nodes' commits
//!   drop them as their notifications arrive, before followers are woken.
//! - A read that went to the database keeps what it found only if no session was dropped since it
//!   started (the cache's epoch did not move): a load that raced a commit cannot put back the state
//!   the commit replaced.
//! - An entry lives at most [`TTL`]: the bound for a change this node was not told about (another
//!   node's lost notification).
//! - The record is cached, not the answer: whether it belongs to the caller and whether it has
//!   expired (service clock) are decided at every read.

use kassa_store::notify::Notification;
use kassa_store::{SessionRecord, Store, StoreExt, StoreResult, Stored};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{self, Receiver};

/// How long an entry may serve reads at most.
pub const TTL: Duration = Duration::from_secs(2);

/// How many sessions are kept at most.
pub const CAPACITY: usize = 10_000;

type Record = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub struct SessionCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Moves at every drop: a load that started at an older epoch is not kept.
    epoch: u64,
    entries: HashMap<String, Entry>,
}

struct Entry {
    record: Record,
    cached_at: Instant,
}

impl SessionCache {
    /// Session `id` of type `T`: from the cache when it holds a fresh copy, else from `store`
    /// (then kept, unless a commit dropped anything meanwhile).
    pub async fn read<T: SessionRecord>(&self, store: &dyn Store, id: &str) -> StoreResult<Option<Arc<Stored<T>>>> {
        let epoch = {
            let inner = self.lock();
            if let Some(hit) = inner.fresh::<T>(id) {
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

    fn keep(&self, id: &str, epoch: u64, record: Record) {
        let mut inner = self.lock();
        if inner.epoch != epoch {
            return;
        }
        if inner.entries.len() >= CAPACITY && !inner.entries.contains_key(id) {
            let now = Instant::now();
            inner.entries.retain(|_, e| now.duration_since(e.cached_at) < TTL);
            if inner.entries.len() >= CAPACITY {
                inner.entries.clear();
            }
        }
        inner.entries.insert(id.to_owned(), Entry { record, cached_at: Instant::now() });
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map stays whole whatever panicked while it was held (no step leaves it half-done).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn fresh<T: SessionRecord>(&self, id: &str) -> Option<Arc<Stored<T>>> {
        let entry = self.entries.get(id)?;
        if entry.cached_at.elapsed() >= TTL {
            return None;
        }
        entry.record.clone().downcast::<Stored<T>>().ok()
    }
}

/// Other nodes' commits as `notifications` announce them, passed on once the cache has dropped
/// their sessions (so whoever the passed-on notification wakes reads the change). A task of its
/// own forwards them; it ends with `notifications` or once nobody receives what it passes on.
pub fn dropping_notified(
    cache: Arc<SessionCache>,
    mut notifications: Receiver<Notification>,
) -> Receiver<Notification> {
    let (forward, passed_on) = mpsc::channel(notifications.max_capacity());
    tokio::spawn(async move {
        loop {
            let notification = tokio::select! {
                () = forward.closed() => return,
                notification = notifications.recv() => notification,
            };
            let Some(notification) = notification else { return };
            if notification.is_missed() {
                // What changed meanwhile is not known: nothing cached may be trusted.
                cache.drop_all();
            } else {
                cache.drop_sessions([notification.session_id.as_str()]);
            }
            if forward.send(notification).await.is_err() {
                return;
            }
        }
    });
    passed_on
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

    #[tokio::test]
    async fn a_missed_notification_drops_everything_before_it_is_passed_on() {
        let cache = Arc::new(SessionCache::default());
        for id in ["a", "b"] {
            let epoch = cache.lock().epoch;
            cache.keep(id, epoch, Arc::new(1_u64));
        }
        let (sender, receiver) = mpsc::channel(4);
        let mut passed_on = dropping_notified(cache.clone(), receiver);
        sender.send(Notification { session_id: "a".into(), seq: 2, deliveries: false }).await.unwrap();
        assert_eq!(passed_on.recv().await.unwrap().session_id, "a");
        assert_eq!(cache.lock().entries.len(), 1, "only the notified session is dropped");
        sender.send(Notification::missed()).await.unwrap();
        assert!(passed_on.recv().await.unwrap().is_missed());
        assert!(cache.lock().entries.is_empty(), "a gap drops everything");
    }
}
