//! The one way tests wait: poll a condition until it holds, and fail naming what was waited for
//! (and the last state seen) when it does not hold in time.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long a test waits for something that should happen promptly (a callback, a status, a
/// page) before it fails. Generous: a loaded two-core machine is slow, not broken.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// Well within a long-poll's wait and far above a wake-up: an answer sooner than this, with the
/// change, was woken by the change (a waiting read reads only when woken or at its deadline).
pub const WOKEN_WITHIN: Duration = Duration::from_secs(1);

/// The first pause between two probes; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(5);
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// What a probe answers: whether the condition holds (and with what value), or not yet.
pub trait Check {
    type Value;
    /// `Ok(value)` when the condition holds; `Err(state)` when it does not yet, with a
    /// description of what was seen instead (for the failure message), if the probe gave one.
    fn check(self) -> Result<Self::Value, Option<String>>;
}

impl Check for bool {
    type Value = ();
    fn check(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Check for Option<T> {
    type Value = T;
    fn check(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

/// `Err(state)`: not yet, and this is what was seen.
impl<T, E: Display> Check for Result<T, E> {
    type Value = T;
    fn check(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(seen.to_string()))
    }
}

/// Probes until the condition holds and returns its value; panics after `within` with
/// "waited … for `what`" and the last state the probe reported.
///
/// ```text
/// let log = eventually("every delivery of the session settled", PATIENCE, || async {
///     let log = client.deliveries(&session).await;
///     if log.iter().all(|d| d["status"] != "pending") { Ok(log) } else { Err(format!("{log:?}")) }
/// })
/// .await;
/// ```
pub async fn eventually<C, Fut>(what: impl Display, within: Duration, probe: impl FnMut() -> Fut) -> C::Value
where
    C: Check,
    Fut: Future<Output = C>,
{
    match until(within, probe).await {
        Ok(value) => value,
        Err(Some(seen)) => panic!("waited {within:?} for {what}; last seen: {seen}"),
        Err(None) => panic!("waited {within:?} for {what}"),
    }
}

/// [`eventually`] without the panic, for callers that add their own context to the failure:
/// the value, or the last state seen when `within` ran out. The probe runs at least once, and
/// once more at the deadline.
pub async fn until<C, Fut>(within: Duration, mut probe: impl FnMut() -> Fut) -> Result<C::Value, Option<String>>
where
    C: Check,
    Fut: Future<Output = C>,
{
    let deadline = Instant::now() + within;
    let mut pause = FIRST_PAUSE;
    loop {
        let seen = match probe().await.check() {
            Ok(value) => return Ok(value),
            Err(seen) => seen,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(seen);
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_the_value_once_the_condition_holds() {
        let probes = AtomicU32::new(0);
        let value = eventually("the third probe", PATIENCE, || async {
            let n = probes.fetch_add(1, Ordering::SeqCst) + 1;
            (n == 3).then_some(n)
        })
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn fails_naming_what_it_waited_for_and_what_it_saw() {
        let failed = tokio::spawn(async {
            eventually("a miracle", Duration::from_millis(30), || async { Err::<(), _>("nothing yet") }).await
        })
        .await
        .unwrap_err();
        let message = failed.into_panic();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(message.contains("for a miracle") && message.contains("last seen: nothing yet"), "{message}");
        assert!(until(Duration::ZERO, || async { false }).await.is_err(), "probes once even with no time");
    }
}
