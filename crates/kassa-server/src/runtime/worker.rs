//! What the delivery worker and the message worker share: the outcome of one step, the slots a
//! step may fill, the tasks it started (spawned one by one, forgotten once ended, waited for
//! together at a drain or a shutdown), and draining by steps.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// What one step of a worker (its `run_once`) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Claimed this many due rows and started the work of each, in its own task.
    Started(usize),
    /// Nothing is due (or claiming failed; it is logged and tried again at the next step).
    Idle,
    /// Every slot is taken by work in flight, so nothing was claimed.
    Full,
}

/// The slots free in `in_flight` now, at most `most`, taken together (split one per claimed
/// row); `None` when none is free.
pub fn free_slots(in_flight: &Arc<Semaphore>, most: usize) -> Option<(usize, OwnedSemaphorePermit)> {
    let free = in_flight.available_permits().min(most);
    let taken = in_flight.clone().try_acquire_many_owned(u32::try_from(free).ok().filter(|n| *n > 0)?).ok()?;
    Some((free, taken))
}

/// Runs `step` until nothing is due and none of `tasks` is in flight (what is in flight may make
/// more due); answers how many rows the steps started.
pub async fn drain<F, Fut>(tasks: &Tasks, mut step: F) -> usize
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Step>,
{
    let mut made = 0;
    loop {
        match step().await {
            Step::Started(count) => made += count,
            Step::Idle | Step::Full => {
                if !tasks.settle().await {
                    return made;
                }
            }
        }
    }
}

#[derive(Default)]
pub struct Tasks {
    running: Mutex<JoinSet<()>>,
}

impl Tasks {
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.lock().spawn(task);
    }

    /// Forgets the tasks that have ended.
    pub fn reap(&self) {
        let mut running = self.lock();
        while running.try_join_next().is_some() {}
    }

    /// Waits for every task, those they start meanwhile included; answers whether there were any.
    pub async fn settle(&self) -> bool {
        let mut any = false;
        loop {
            let mut running = std::mem::take(&mut *self.lock());
            if running.is_empty() {
                return any;
            }
            any = true;
            while running.join_next().await.is_some() {}
        }
    }

    fn lock(&self) -> MutexGuard<'_, JoinSet<()>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
