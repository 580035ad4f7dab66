//! Who follows what: one watch channel per followed session, created by its first follower and
//! removed with its last, and one for the followers of every session. A change wakes only its
//! own session's followers (and those of every session), so it costs the same however many
//! others wait; a follower sees every change made after it subscribed, once, even one made
//! before it started to wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::watch;

pub struct Registry {
    sessions: Mutex<HashMap<String, watch::Sender<()>>>,
    every_session: watch::Sender<()>,
}

impl Registry {
    pub fn new() -> Arc<Self> {
        let (every_session, _) = watch::channel(());
        Arc::new(Self { sessions: Mutex::default(), every_session })
    }

    /// Subscribes to the changes of session `only` (of every session with `None`).
    pub fn follow(self: &Arc<Self>, only: Option<&str>) -> Subscription {
        let changes = match only {
            None => self.every_session.subscribe(),
            // Under the lock: a subscription never races the removal of its session's entry.
            Some(id) => self.lock().entry(id.to_owned()).or_insert_with(|| watch::channel(()).0).subscribe(),
        };
        Subscription { changes, session: only.map(str::to_owned), registry: self.clone() }
    }

    /// Session `session_id` changed: wakes its followers and those of every session.
    pub fn changed(&self, session_id: &str) {
        // Woken outside the lock, so a follow or a leave never waits for the wake-ups.
        let followers = self.lock().get(session_id).cloned();
        if let Some(followers) = followers {
            followers.send_replace(());
        }
        self.every_session.send_replace(());
    }

    /// Wakes every follower once (changes may have been missed).
    pub fn wake_all(&self) {
        for followers in self.lock().values() {
            followers.send_replace(());
        }
        self.every_session.send_replace(());
    }

    /// How many subscriptions there are: each channel counts its own.
    pub fn count(&self) -> usize {
        let per_session: usize = self.lock().values().map(watch::Sender::receiver_count).sum();
        per_session + self.every_session.receiver_count()
    }

    /// How many sessions have followers.
    pub fn sessions(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, watch::Sender<()>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One follower's subscription; dropping it leaves (and removes its session's entry if it was
/// the last follower there).
pub struct Subscription {
    changes: watch::Receiver<()>,
    session: Option<String>,
    registry: Arc<Registry>,
}

impl Subscription {
    /// Resolves at the first change since the last one seen (at once if one came meanwhile).
    pub async fn changed(&mut self) {
        // The sender lives as long as any subscription to it, so it cannot be gone; if it were,
        // nothing would ever wake this wait, which is what pending says.
        if self.changes.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Whether a change came that [`Subscription::changed`] has not yet returned for.
    #[cfg(test)]
    pub fn has_changed(&self) -> bool {
        self.changes.has_changed().unwrap_or(false)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(id) = &self.session else { return };
        let mut sessions = self.registry.lock();
        // This subscription still counts until it is dropped: 1 means it is the last one.
        if sessions.get(id).is_some_and(|followers| followers.receiver_count() <= 1) {
            sessions.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_wakes_only_its_own_sessions_followers_and_those_of_every_session() {
        let registry = Registry::new();
        let a = registry.follow(Some("a"));
        let b = registry.follow(Some("b"));
        let every = registry.follow(None);
        registry.changed("b");
        assert!(!a.has_changed(), "b's change does not wake a's follower");
        assert!(b.has_changed() && every.has_changed());
        registry.changed("nobody follows this one");
        assert_eq!(registry.sessions(), 2, "a change of an unfollowed session adds no entry");
    }

    #[tokio::test]
    async fn a_change_between_subscribing_and_waiting_is_seen_once() {
        let registry = Registry::new();
        let mut a = registry.follow(Some("a"));
        registry.changed("a");
        registry.changed("a");
        assert!(a.has_changed());
        a.changed().await;
        assert!(!a.has_changed(), "two changes before the wait end one wait");
    }

    #[test]
    fn entries_go_with_their_last_follower() {
        let registry = Registry::new();
        let first = registry.follow(Some("a"));
        let second = registry.follow(Some("a"));
        let every = registry.follow(None);
        assert_eq!((registry.count(), registry.sessions()), (3, 1));
        drop(first);
        assert_eq!((registry.count(), registry.sessions()), (2, 1), "a follower of a is left");
        registry.changed("a");
        assert!(second.has_changed(), "the entry still wakes the one left");
        drop(second);
        drop(every);
        assert_eq!((registry.count(), registry.sessions()), (0, 0));
        // A new follower after the entry went sees only what comes after it.
        let again = registry.follow(Some("a"));
        assert!(!again.has_changed());
    }

    #[test]
    fn waking_all_wakes_every_follower_once() {
        let registry = Registry::new();
        let followers: Vec<_> =
            ["a", "b", "c"].into_iter().map(Some).chain([None]).map(|only| registry.follow(only)).collect();
        registry.wake_all();
        assert_eq!(followers.iter().filter(|f| f.has_changed()).count(), 4);
    }
}
