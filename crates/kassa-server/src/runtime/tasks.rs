//! The tasks a worker started and has not joined yet: spawned one by one, forgotten once ended,
//! and waited for together (a drain, a shutdown).

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::task::JoinSet;

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
