//! The scheduler: runs [`jobs::run_due`] whenever jobs may be due. Woken by commits that
//! schedule jobs and by the sandbox clock; otherwise it looks every second, which is also how it
//! sees jobs scheduled by other nodes. Once a minute (of real time, or of the service clock when
//! the sandbox clock moves faster) it deletes what has run out: idempotency records whose 24
//! hours are over, expired browser sessions (logins) and expired consumer sessions (short codes).
//! Ends at shutdown.

use crate::app::state::AppState;
use crate::service::{idempotency, instore, jobs, logins};
use kassa_core::Timestamp;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_secs(1);
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub async fn run(state: AppState) {
    let mut pruned: Option<(Instant, Timestamp)> = None;
    while !state.shutdown.is_cancelled() {
        let due = pruned.is_none_or(|(at, service_at)| {
            at.elapsed() >= PRUNE_EVERY || state.now().millis() - service_at.millis() >= PRUNE_EVERY.as_millis() as i64
        });
        if due {
            idempotency::prune(&state).await;
            logins::prune(&state).await;
            instore::prune_consumer_sessions(&state).await;
            pruned = Some((Instant::now(), state.now()));
        }
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
