//! The scheduler: runs [`jobs::run_due`] whenever jobs may be due. Woken by commits that
//! schedule jobs and by the sandbox clock; otherwise it looks every second, which is also how it
//! sees jobs scheduled by other nodes. Ends at shutdown.

use crate::app::state::AppState;
use crate::service::jobs;
use std::time::Duration;

const POLL: Duration = Duration::from_secs(1);

pub async fn run(state: AppState) {
    while !state.shutdown.is_cancelled() {
        if jobs::run_due(&state).await == jobs::BATCH {
            // A full batch: more may be due at once.
            continue;
        }
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            () = state.bus.jobs_notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
