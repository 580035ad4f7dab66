//! The change bus: who is told, in this process, that something committed. After a commit
//! ([`AppState::commit`](crate::app::AppState::commit)) it wakes the delivery worker (new
//! deliveries), the scheduler (new jobs) and whoever follows a session that changed; on
//! PostgreSQL, [`Bus::bridge`] does the same for other nodes' commits. Followers (long-polls,
//! event streams, live pages) wait with [`Follower::next_change`].
//!
//! A missed wake-up only delays: every wait also ends after [`RECHECK`], and the worker and the
//! scheduler poll.

use kassa_store::notify::Notification;
use kassa_store::{Change, JobWrite};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a follower waits before it looks again without a wake-up.
pub const RECHECK: Duration = Duration::from_secs(1);

/// A session got a new event, or its read body changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionChanged {
    pub session_id: String,
}

#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    changes: broadcast::Sender<SessionChanged>,
    deliveries_due: Notify,
    jobs_due: Notify,
    shutdown: CancellationToken,
}

/// What a change wakes once it is committed (taken before the store consumes the change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wakes {
    deliveries: bool,
    jobs: bool,
    sessions: Vec<String>,
}

impl Wakes {
    pub fn of(change: &Change) -> Self {
        Self {
            deliveries: !change.deliveries.is_empty(),
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
        let (changes, _) = broadcast::channel(1024);
        let inner = Inner { changes, deliveries_due: Notify::new(), jobs_due: Notify::new(), shutdown };
        Self { inner: Arc::new(inner) }
    }

    /// Tells everyone a change woke: the worker, the scheduler, the followers of its sessions.
    pub fn committed(&self, wakes: Wakes) {
        if wakes.deliveries {
            self.deliveries_due();
        }
        if wakes.jobs {
            self.jobs_due();
        }
        for session_id in wakes.sessions {
            self.changed(session_id);
        }
    }

    /// Deliveries may be due: wakes the delivery worker (or its next wait, if it is busy).
    pub fn deliveries_due(&self) {
        self.inner.deliveries_due.notify_one();
    }

    /// Jobs may be due: wakes the scheduler (or its next wait).
    pub fn jobs_due(&self) {
        self.inner.jobs_due.notify_one();
    }

    /// Session `session_id` changed: wakes its followers.
    pub fn changed(&self, session_id: String) {
        // No receiver is fine: nobody is following.
        let _ = self.inner.changes.send(SessionChanged { session_id });
    }

    /// Resolves at the next [`Bus::deliveries_due`] (at once if one came since the last wait).
    pub async fn deliveries_notified(&self) {
        self.inner.deliveries_due.notified().await;
    }

    /// Resolves at the next [`Bus::jobs_due`] (at once if one came since the last wait).
    pub async fn jobs_notified(&self) {
        self.inner.jobs_due.notified().await;
    }

    /// How many followers wait on this node now (long-polls, streams, live pages).
    pub fn followers(&self) -> usize {
        self.inner.changes.receiver_count()
    }

    /// Starts following session `only` (every session with `None`). Follow *before* reading what
    /// is followed: a change between the read and the wait then still wakes the wait.
    pub fn follow(&self, only: Option<&str>) -> Follower {
        Follower {
            changes: self.inner.changes.subscribe(),
            only: only.map(str::to_owned),
            shutdown: self.inner.shutdown.clone(),
        }
    }

    /// Passes other nodes' commits (PostgreSQL notifications) on to this node's worker and
    /// followers, until shutdown or the end of the notifications.
    pub async fn bridge(&self, mut notifications: mpsc::Receiver<Notification>) {
        loop {
            let notification = tokio::select! {
                biased;
                () = self.inner.shutdown.cancelled() => return,
                notification = notifications.recv() => notification,
            };
            let Some(notification) = notification else { return };
            if notification.deliveries {
                self.deliveries_due();
            }
            self.changed(notification.session_id);
        }
    }
}

/// How a wait of a [`Follower`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woke {
    /// The followed session changed (or changes were missed): look again.
    Changed,
    /// [`RECHECK`] passed, or the deadline came, without a wake-up: look again anyway.
    Timer,
    /// The server is shutting down: stop waiting.
    Shutdown,
}

/// A subscription to the changes of one session (or all), from [`Bus::follow`].
pub struct Follower {
    changes: broadcast::Receiver<SessionChanged>,
    only: Option<String>,
    shutdown: CancellationToken,
}

impl Follower {
    /// Waits for the next change of the followed session since the last wait (or since
    /// following), for at most [`RECHECK`] and never past `deadline`.
    pub async fn next_change(&mut self, deadline: Option<Instant>) -> Woke {
        let recheck = Instant::now() + RECHECK;
        let until = deadline.map_or(recheck, |deadline| deadline.min(recheck));
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Woke::Shutdown,
                received = self.changes.recv() => match received {
                    Ok(change) if self.only.as_ref().is_some_and(|id| *id != change.session_id) => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => return Woke::Changed,
                    // Cannot happen while the bus lives; then only the timer is left.
                    Err(RecvError::Closed) => {
                        tokio::select! {
                            biased;
                            () = self.shutdown.cancelled() => return Woke::Shutdown,
                            () = tokio::time::sleep_until(until) => return Woke::Timer,
                        }
                    }
                },
                () = tokio::time::sleep_until(until) => return Woke::Timer,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `wait`'s answer; a wait that never ends fails the test instead of hanging it.
    async fn within<T>(wait: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(5), wait).await.expect("the wait ended")
    }

    #[tokio::test]
    async fn a_follower_wakes_for_its_session_at_its_deadline_and_at_shutdown() {
        let shutdown = CancellationToken::new();
        let bus = Bus::new(shutdown.clone());
        let mut one = bus.follow(Some("one"));
        let mut all = bus.follow(None);
        // Changed after following, before the wait: still seen.
        bus.changed("two".into());
        bus.changed("one".into());
        assert_eq!(within(all.next_change(None)).await, Woke::Changed);
        assert_eq!(within(one.next_change(None)).await, Woke::Changed);
        // Another session's change does not end the wait.
        bus.changed("two".into());
        let deadline = Instant::now() + Duration::from_millis(50);
        assert_eq!(within(one.next_change(Some(deadline))).await, Woke::Timer);
        assert_eq!(within(one.next_change(Some(Instant::now()))).await, Woke::Timer);
        shutdown.cancel();
        bus.changed("one".into());
        assert_eq!(within(one.next_change(None)).await, Woke::Shutdown, "shutdown wins over a change");
    }

    #[tokio::test]
    async fn commits_wake_the_worker_and_the_scheduler() {
        let bus = Bus::new(CancellationToken::new());
        bus.committed(Wakes { deliveries: true, jobs: true, sessions: vec![] });
        // The permits are kept for the next wait.
        within(bus.deliveries_notified()).await;
        within(bus.jobs_notified()).await;
    }

    #[tokio::test]
    async fn the_bridge_ends_at_shutdown_and_when_the_notifications_end() {
        let shutdown = CancellationToken::new();
        let bus = Bus::new(shutdown.clone());
        let mut follower = bus.follow(Some("s"));
        let (tx, rx) = mpsc::channel(4);
        tx.send(Notification { session_id: "s".into(), seq: 2, deliveries: true }).await.unwrap();
        drop(tx);
        within(bus.bridge(rx)).await;
        assert_eq!(within(follower.next_change(None)).await, Woke::Changed);
        within(bus.deliveries_notified()).await;
        let (_tx, rx) = mpsc::channel(4);
        shutdown.cancel();
        within(bus.bridge(rx)).await;
    }
}
