//! The change bus: who is told, in this process, that something committed. After a commit
//! ([`AppState::commit`](crate::app::AppState::commit)) it wakes the delivery worker (new
//! deliveries), the message worker (new messages), the scheduler (new jobs) and whoever follows a
//! session that changed; on
//! PostgreSQL, [`Bus::bridge`] does the same for other nodes' commits. Followers (long-polls,
//! event streams, live pages) wait with [`Follower::next_change`], each woken by its own
//! session's changes only ([`followers`]): a change costs the same however many others wait, and
//! a waiter costs nothing until its session changes.
//!
//! Nothing is re-read on a timer: a wake-up that may have been missed (the PostgreSQL listener
//! lost its connection) wakes every follower once, and the worker and the scheduler poll.

mod followers;

use crate::app::metrics::WaiterKind;
use crate::app::session_cache::SessionCache;
use followers::{Registry, Subscription};
use kassa_store::notify::Notification;
use kassa_store::{Change, JobWrite};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    followers: Arc<Registry>,
    /// Followers by kind (index: the kind's place in [`WaiterKind::ALL`]).
    waiting: [AtomicUsize; WAITER_KINDS],
    deliveries_due: Notify,
    messages_due: Notify,
    jobs_due: Notify,
    shutdown: CancellationToken,
}

/// What a change wakes once it is committed (taken before the store consumes the change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wakes {
    deliveries: bool,
    messages: bool,
    jobs: bool,
    sessions: Vec<String>,
}

impl Wakes {
    pub fn of(change: &Change) -> Self {
        Self {
            deliveries: !change.deliveries.is_empty(),
            messages: !change.messages.is_empty(),
            jobs: change.jobs.iter().any(|j| matches!(j, JobWrite::Schedule(_))),
            // Every session written: status changes (events), and updates that change a read
            // body without one (a payment session's cart).
            sessions: change.sessions.iter().map(|w| w.id.clone()).collect(),
        }
    }
}

impl Bus {
    /// A bus whose waits end when `shutdown` is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        let inner = Inner {
            followers: Registry::new(),
            waiting: Default::default(),
            deliveries_due: Notify::new(),
            messages_due: Notify::new(),
            jobs_due: Notify::new(),
            shutdown,
        };
        Self { inner: Arc::new(inner) }
    }

    /// Tells everyone a change woke: the workers, the scheduler, the followers of its sessions.
    pub fn committed(&self, wakes: Wakes) {
        if wakes.deliveries {
            self.deliveries_due();
        }
        if wakes.messages {
            self.messages_due();
        }
        if wakes.jobs {
            self.jobs_due();
        }
        for session_id in &wakes.sessions {
            self.changed(session_id);
        }
    }

    /// Deliveries may be due: wakes the delivery worker (or its next wait, if it is busy).
    pub fn deliveries_due(&self) {
        self.inner.deliveries_due.notify_one();
    }

    /// Messages may be due: wakes the message worker (or its next wait, if it is busy).
    pub fn messages_due(&self) {
        self.inner.messages_due.notify_one();
    }

    /// Jobs may be due: wakes the scheduler (or its next wait).
    pub fn jobs_due(&self) {
        self.inner.jobs_due.notify_one();
    }

    /// Session `session_id` changed: wakes its followers.
    pub fn changed(&self, session_id: &str) {
        self.inner.followers.changed(session_id);
    }

    /// Changes may have been missed (the PostgreSQL listener reconnected): wakes every follower
    /// once, so each looks again, and the delivery worker.
    pub fn missed(&self) {
        self.inner.followers.wake_all();
        self.deliveries_due();
    }

    /// Resolves at the next [`Bus::deliveries_due`] (at once if one came since the last wait).
    pub async fn deliveries_notified(&self) {
        self.inner.deliveries_due.notified().await;
    }

    /// Resolves at the next [`Bus::messages_due`] (at once if one came since the last wait).
    pub async fn messages_notified(&self) {
        self.inner.messages_due.notified().await;
    }

    /// Resolves at the next [`Bus::jobs_due`] (at once if one came since the last wait).
    pub async fn jobs_notified(&self) {
        self.inner.jobs_due.notified().await;
    }

    /// How many followers wait on this node now (long-polls, streams, live pages).
    pub fn followers(&self) -> usize {
        self.inner.followers.count()
    }

    /// How many sessions have followers on this node now.
    pub fn followed_sessions(&self) -> usize {
        self.inner.followers.sessions()
    }

    /// How many followers of each kind wait on this node now.
    pub fn waiting(&self) -> Vec<(WaiterKind, usize)> {
        WaiterKind::ALL
            .iter()
            .map(|&kind| (kind, self.inner.waiting[waiter_index(kind)].load(Ordering::Relaxed)))
            .collect()
    }

    /// Starts following session `only` (every session with `None`) for a waiter of `kind`.
    /// Follow *before* reading what is followed: a change between the read and the wait then
    /// still wakes the wait.
    pub fn follow(&self, only: Option<&str>, kind: WaiterKind) -> Follower {
        self.inner.waiting[waiter_index(kind)].fetch_add(1, Ordering::Relaxed);
        Follower {
            changes: self.inner.followers.follow(only),
            shutdown: self.inner.shutdown.clone(),
            _counted: Counted { inner: self.inner.clone(), kind },
        }
    }

    /// Passes other nodes' commits (PostgreSQL notifications) on to this node's read cache, then
    /// its worker and followers (who then read the change, not a cached copy), until shutdown or
    /// the end of the notifications.
    pub async fn bridge(&self, mut notifications: mpsc::Receiver<Notification>, cache: &SessionCache) {
        loop {
            let notification = tokio::select! {
                biased;
                () = self.inner.shutdown.cancelled() => return,
                notification = notifications.recv() => notification,
            };
            let Some(notification) = notification else { return };
            cache.notified(&notification);
            if notification.is_missed() {
                self.missed();
                continue;
            }
            if notification.deliveries {
                self.deliveries_due();
            }
            self.changed(&notification.session_id);
        }
    }
}

/// How a wait of a [`Follower`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woke {
    /// The followed session changed (or changes may have been missed): look again.
    Changed,
    /// The deadline came without a change.
    Timer,
    /// The server is shutting down: stop waiting.
    Shutdown,
}

/// A subscription to the changes of one session (or all), from [`Bus::follow`].
pub struct Follower {
    changes: Subscription,
    shutdown: CancellationToken,
    _counted: Counted,
}

const WAITER_KINDS: usize = WaiterKind::ALL.len();

fn waiter_index(kind: WaiterKind) -> usize {
    WaiterKind::ALL.iter().position(|&k| k == kind).unwrap_or(0)
}

/// Counts its follower among those of its kind while it lives.
struct Counted {
    inner: Arc<Inner>,
    kind: WaiterKind,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.inner.waiting[waiter_index(self.kind)].fetch_sub(1, Ordering::Relaxed);
    }
}

impl Follower {
    /// Waits for the next change of the followed session since the last wait (or since
    /// following), never past `deadline` (without one, until a change or shutdown).
    pub async fn next_change(&mut self, deadline: Option<Instant>) -> Woke {
        let until = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = self.shutdown.cancelled() => Woke::Shutdown,
            () = self.changes.changed() => Woke::Changed,
            () = until => Woke::Timer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `wait`'s answer; a wait that never ends fails the test instead of hanging it.
    async fn within<T>(wait: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(5), wait).await.expect("the wait ended")
    }

    #[tokio::test]
    async fn a_follower_wakes_for_its_session_at_its_deadline_and_at_shutdown() {
        let shutdown = CancellationToken::new();
        let bus = Bus::new(shutdown.clone());
        let mut one = bus.follow(Some("one"), WaiterKind::LongPoll);
        let mut all = bus.follow(None, WaiterKind::Stream);
        // Changed after following, before the wait: still seen.
        bus.changed("two");
        bus.changed("one");
        assert_eq!(within(all.next_change(None)).await, Woke::Changed);
        assert_eq!(within(one.next_change(None)).await, Woke::Changed);
        // Another session's change does not end the wait (a wait whose deadline has come ends
        // with a change if one is there, so this does not depend on timing).
        bus.changed("two");
        assert_eq!(within(one.next_change(Some(Instant::now()))).await, Woke::Timer);
        assert_eq!(within(all.next_change(Some(Instant::now()))).await, Woke::Changed);
        let deadline = Instant::now() + Duration::from_millis(50);
        assert_eq!(within(one.next_change(Some(deadline))).await, Woke::Timer);
        assert_eq!(within(one.next_change(Some(Instant::now()))).await, Woke::Timer);
        shutdown.cancel();
        bus.changed("one");
        assert_eq!(within(one.next_change(None)).await, Woke::Shutdown, "shutdown wins over a change");
    }

    #[tokio::test]
    async fn commits_wake_the_workers_and_the_scheduler() {
        let bus = Bus::new(CancellationToken::new());
        bus.committed(Wakes { deliveries: true, messages: true, jobs: true, sessions: vec![] });
        // The permits are kept for the next wait.
        within(bus.deliveries_notified()).await;
        within(bus.messages_notified()).await;
        within(bus.jobs_notified()).await;
    }

    #[tokio::test]
    async fn the_bridge_ends_at_shutdown_and_when_the_notifications_end() {
        let shutdown = CancellationToken::new();
        let bus = Bus::new(shutdown.clone());
        let mut follower = bus.follow(Some("s"), WaiterKind::Page);
        let (tx, rx) = mpsc::channel(4);
        tx.send(Notification { session_id: "s".into(), seq: 2, deliveries: true }).await.unwrap();
        drop(tx);
        within(bus.bridge(rx, &SessionCache::default())).await;
        assert_eq!(within(follower.next_change(None)).await, Woke::Changed);
        within(bus.deliveries_notified()).await;
        assert_eq!(within(follower.next_change(Some(Instant::now()))).await, Woke::Timer);
        let (_tx, rx) = mpsc::channel(4);
        shutdown.cancel();
        within(bus.bridge(rx, &SessionCache::default())).await;
    }

    #[tokio::test]
    async fn a_missed_notification_wakes_every_follower_once_and_the_worker() {
        let bus = Bus::new(CancellationToken::new());
        let mut followers: Vec<Follower> =
            [Some("a"), Some("b"), None].into_iter().map(|only| bus.follow(only, WaiterKind::Page)).collect();
        let (tx, rx) = mpsc::channel(4);
        tx.send(Notification::missed()).await.unwrap();
        drop(tx);
        within(bus.bridge(rx, &SessionCache::default())).await;
        within(bus.deliveries_notified()).await;
        let mut woken = 0;
        for follower in &mut followers {
            if within(follower.next_change(Some(Instant::now()))).await == Woke::Changed {
                woken += 1;
            }
            assert_eq!(within(follower.next_change(Some(Instant::now()))).await, Woke::Timer, "once");
        }
        assert_eq!(woken, 3);
        assert_eq!((bus.followers(), bus.followed_sessions()), (3, 2));
        drop(followers);
        assert_eq!((bus.followers(), bus.followed_sessions()), (0, 0), "nothing is kept for those who left");
    }
}
