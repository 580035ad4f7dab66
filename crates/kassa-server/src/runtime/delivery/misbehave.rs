//! The sandbox's callback misbehaviour (per merchant, see [`CallbackMisbehaviour`]): what the
//! worker does with a claimed delivery instead of, or besides, sending it. Only in sandbox mode,
//! and never to a probe; a merchant without settings gets [`Plan::Send`] with no read at all
//! (its settings came with the claim).

use super::attempt::Sent;
use crate::app::config::Mode;
use crate::app::state::AppState;
use kassa_core::Timestamp;
use kassa_core::retry::AttemptOutcome;
use kassa_store::{CallbackMisbehaviour, ClaimedDelivery, SimulatedFailure};
use std::time::Duration;

/// What becomes of one claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Sent as usual (`twice`: the same request once more, right after the first).
    Send { twice: bool },
    /// Not yet: given back, due at this time (a delay).
    Defer(Timestamp),
    /// Recorded as a failed attempt without being sent; the retry policy decides what follows.
    Fail(Sent),
    /// Recorded as given up without being sent: only reconciliation finds its event.
    Drop(Sent),
}

/// What the sandbox does with `claimed`, whose merchant's time is `now`.
pub async fn plan(state: &AppState, claimed: &ClaimedDelivery, now: Timestamp) -> Plan {
    let Some(settings) = claimed.sandbox.filter(|_| state.config.mode == Mode::Sandbox) else {
        return Plan::Send { twice: false };
    };
    let first = claimed.attempts == 0;
    if let Some(at) = delayed_until(&settings, claimed, now).filter(|_| first) {
        return Plan::Defer(at);
    }
    if first && settings.drop_every > 0 {
        match state.store.count_sandbox_callback(&claimed.delivery.merchant_id).await {
            Ok(counted) if counted > 0 && counted % u64::from(settings.drop_every) == 0 => {
                return Plan::Drop(dropped(&settings, counted));
            }
            Ok(_) => {}
            // Not counted: sent as if not dropped (the count is the setting's, not the callback's).
            Err(error) => tracing::warn!(%error, "could not count a callback for the sandbox's drop_every"),
        }
    }
    if claimed.attempts < settings.fail_first {
        return Plan::Fail(failed(&settings, claimed));
    }
    Plan::Send { twice: settings.duplicate }
}

/// The first attempt waits until `delay_seconds` after the event, on the merchant's clock.
fn delayed_until(settings: &CallbackMisbehaviour, claimed: &ClaimedDelivery, now: Timestamp) -> Option<Timestamp> {
    let at = claimed.delivery.created_at.plus_millis(i64::from(settings.delay_seconds) * 1000);
    (settings.delay_seconds > 0 && now < at).then_some(at)
}

fn failed(settings: &CallbackMisbehaviour, claimed: &ClaimedDelivery) -> Sent {
    let (of, made) = (settings.fail_first, claimed.attempts + 1);
    let policy_timeout = claimed.delivery.policy.timeout_millis();
    let (outcome, status_code, what) = match settings.failure {
        SimulatedFailure::Http500 => {
            (AttemptOutcome::HttpStatus { status: 500, retry_after: None }, Some(500), "HTTP 500".to_owned())
        }
        SimulatedFailure::Timeout => {
            (AttemptOutcome::Timeout, None, format!("timeout (no response within {policy_timeout} ms)"))
        }
    };
    Sent {
        outcome,
        duration: Duration::ZERO,
        status_code,
        error: Some(format!("sandbox: simulated {what}, not sent (fail_first = {of}: attempt {made} of {of})")),
        excerpt: None,
    }
}

fn dropped(settings: &CallbackMisbehaviour, counted: u64) -> Sent {
    Sent {
        outcome: AttemptOutcome::NetworkError,
        duration: Duration::ZERO,
        status_code: None,
        error: Some(format!(
            "dropped by the sandbox setting drop_every = {} (callback {counted} since the settings were written): \
             not sent and not retried; GET /kassa/v1/events?undelivered=true lists its event",
            settings.drop_every
        )),
        excerpt: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_core::retry::RetryPolicy;
    use kassa_store::{NewDelivery, SessionKind};

    fn claimed(attempts: u32, created_at: i64) -> ClaimedDelivery {
        ClaimedDelivery {
            delivery: NewDelivery {
                id: "d".into(),
                event_id: "e".into(),
                merchant_id: "m".into(),
                session_kind: SessionKind::Hpp,
                session_id: "s".into(),
                seq: 2,
                target: "http://t".into(),
                url: "http://t".into(),
                policy: RetryPolicy::Klarna,
                created_at: Timestamp::from_millis(created_at),
            },
            attempts,
            body: serde_json::json!({}),
            webhook_secrets: vec![],
            lease_token: "l".into(),
            sandbox: None,
            clock_ahead_millis: 0,
            caused_by: None,
        }
    }

    #[test]
    fn a_delay_holds_the_first_attempt_until_its_time_on_the_merchants_clock() {
        let settings = CallbackMisbehaviour { delay_seconds: 5, ..Default::default() };
        let delivery = claimed(0, 1_000);
        assert_eq!(
            delayed_until(&settings, &delivery, Timestamp::from_millis(1_000)),
            Some(Timestamp::from_millis(6_000))
        );
        assert_eq!(
            delayed_until(&settings, &delivery, Timestamp::from_millis(5_999)),
            Some(Timestamp::from_millis(6_000))
        );
        assert_eq!(delayed_until(&settings, &delivery, Timestamp::from_millis(6_000)), None);
        assert_eq!(delayed_until(&CallbackMisbehaviour::default(), &delivery, Timestamp::from_millis(0)), None);
    }

    #[test]
    fn simulated_failures_say_what_they_are_and_count_the_attempt() {
        let http = failed(&CallbackMisbehaviour { fail_first: 2, ..Default::default() }, &claimed(1, 0));
        assert_eq!(http.status_code, Some(500));
        assert_eq!(http.outcome, AttemptOutcome::HttpStatus { status: 500, retry_after: None });
        assert_eq!(
            http.error.as_deref(),
            Some("sandbox: simulated HTTP 500, not sent (fail_first = 2: attempt 2 of 2)")
        );
        let timeout = CallbackMisbehaviour { fail_first: 1, failure: SimulatedFailure::Timeout, ..Default::default() };
        let timed_out = failed(&timeout, &claimed(0, 0));
        assert_eq!((timed_out.outcome, timed_out.status_code), (AttemptOutcome::Timeout, None));
        assert!(timed_out.error.unwrap().starts_with("sandbox: simulated timeout (no response within 3000 ms)"));
    }
}
