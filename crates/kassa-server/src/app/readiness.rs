//! The readiness check, shared: `/readyz` makes one durable write, so however many probes (or
//! anonymous callers) ask at once, one check runs at a time and its outcome answers every probe
//! for a second after it.

use std::future::Future;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long one check's outcome answers further probes.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Readiness {
    /// The outcome of a check made less than [`FRESH_FOR`] ago, or of `check` run now (one at a
    /// time: callers meanwhile wait for its outcome instead of starting their own).
    pub async fn check<F: Future<Output = Result<(), String>>>(&self, check: impl FnOnce() -> F) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, outcome)) = last.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return outcome.clone();
        }
        let outcome = check().await;
        *last = Some((Instant::now(), outcome.clone()));
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn many_probes_at_once_share_one_check() {
        let readiness = std::sync::Arc::new(Readiness::default());
        let runs = std::sync::Arc::new(AtomicUsize::new(0));
        let mut probes = Vec::new();
        for _ in 0..20 {
            let (readiness, runs) = (readiness.clone(), runs.clone());
            probes.push(tokio::spawn(async move {
                readiness
                    .check(|| async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err("slow disk".to_owned())
                    })
                    .await
            }));
        }
        for probe in probes {
            assert_eq!(probe.await.unwrap(), Err("slow disk".to_owned()));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "one durable write for twenty probes");
    }
}
