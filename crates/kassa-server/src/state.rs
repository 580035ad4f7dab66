//! What every handler can reach.

use crate::clock::{Clock, SandboxClock, SystemClock};
use crate::config::{Config, Mode};
use crate::sender::{MessageSender, RecordingSender};
use kassa_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Present in sandbox mode: the clock that sandbox controls move forward.
    pub sandbox_clock: Option<Arc<SandboxClock>>,
    pub sender: Arc<dyn MessageSender>,
    pub config: Arc<Config>,
}

impl AppState {
    /// The standard wiring: a movable clock in sandbox mode, the system clock in production,
    /// distribution messages recorded in the database.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        let sandbox_clock = (config.mode == Mode::Sandbox).then(|| Arc::new(SandboxClock::default()));
        let clock: Arc<dyn Clock> = match &sandbox_clock {
            Some(clock) => clock.clone(),
            None => Arc::new(SystemClock),
        };
        let sender = Arc::new(RecordingSender::new(store.clone()));
        Self { store, clock, sandbox_clock, sender, config: Arc::new(config) }
    }

    pub fn now(&self) -> kassa_core::Timestamp {
        self.clock.now()
    }
}
