//! Callback retry policies as data: given how an attempt went, when (if ever) to try again.
//!
//! Pure and deterministic: the caller passes the current time and a random `jitter` in `[0, 1)`.

use crate::Timestamp;
use crate::time::{HOUR, MINUTE, SECOND};
use crate::wire_enum;
use std::time::UNIX_EPOCH;

wire_enum! {
    /// How a failed callback delivery is retried.
    pub enum RetryPolicy {
        /// Klarna's documented HPP callback behaviour: 4 attempts a few seconds apart.
        Klarna = "klarna",
        /// The Standard Webhooks example schedule: 10 attempts over about three days.
        Extended = "extended",
    }
}

wire_enum! {
    /// Why a delivery was abandoned.
    pub enum GiveUpReason {
        /// The policy's last attempt failed.
        AttemptsExhausted = "attempts_exhausted",
        /// The endpoint answered 410 Gone: it asked never to be called again.
        Gone = "gone",
    }
}

/// Delays after attempts 1, 2, 3 (Klarna retries "a few seconds apart").
const KLARNA_DELAYS: &[i64] = &[2 * SECOND, 4 * SECOND, 8 * SECOND];
/// Delays after attempts 1..=9 (the Standard Webhooks example schedule).
const EXTENDED_DELAYS: &[i64] =
    &[5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR, 24 * HOUR];
/// Minimum wait after a timeout or 429, so an overloaded endpoint gets room to recover.
const OVERLOAD_PENALTY: i64 = MINUTE;

/// A server's `Retry-After` header (RFC 9110 §10.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `delta-seconds`, relative to when the response arrived.
    Seconds(u64),
    /// An HTTP-date.
    At(Timestamp),
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The endpoint accepted the callback.
    Success,
    /// The endpoint answered; only 2xx is success (3xx too is a failure: redirects are not followed).
    HttpStatus { status: u16, retry_after: Option<RetryAfter> },
    /// No response within [`RetryPolicy::timeout_millis`].
    Timeout,
    /// Connection refused, DNS failure, TLS error, reset...
    NetworkError,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Delivered,
    RetryAt(Timestamp),
    GiveUp(GiveUpReason),
}

impl RetryPolicy {
    /// How long one attempt may take before it counts as [`AttemptOutcome::Timeout`].
    pub const fn timeout_millis(self) -> i64 {
        match self {
            Self::Klarna => 3 * SECOND,
            Self::Extended => 15 * SECOND,
        }
    }

    /// Total attempts, the first one included: 4 (Klarna) or 10 (Extended).
    pub const fn max_attempts(self) -> u32 {
        self.delays().len() as u32 + 1
    }

    /// The un-jittered delay after attempt number `attempts_made` (1-based), if another follows.
    pub fn scheduled_delay_millis(self, attempts_made: u32) -> Option<i64> {
        let index = usize::try_from(attempts_made.max(1) - 1).ok()?;
        self.delays().get(index).copied()
    }

    /// Decides what follows attempt number `attempts_made` (1-based; 0 is read as 1) that ended
    /// with `outcome` at `now`. `jitter` is a caller-supplied random number in `[0, 1)`; values
    /// outside are clamped, NaN counts as 0.5. Never returns a `RetryAt` at or before `now`.
    pub fn next_attempt(&self, attempts_made: u32, outcome: &AttemptOutcome, now: Timestamp, jitter: f64) -> Decision {
        if outcome.is_success() {
            return Decision::Delivered;
        }
        if *self == Self::Extended && outcome.status() == Some(410) {
            return Decision::GiveUp(GiveUpReason::Gone);
        }
        let Some(scheduled) = self.scheduled_delay_millis(attempts_made) else {
            return Decision::GiveUp(GiveUpReason::AttemptsExhausted);
        };
        let delay = match self {
            Self::Klarna => scheduled,
            Self::Extended => {
                let jitter = if jitter.is_nan() { 0.5 } else { jitter.clamp(0.0, 1.0) };
                let jittered = (scheduled as f64 * (0.8 + 0.4 * jitter)).round() as i64;
                let mut delay = match outcome {
                    // Honour the server's wish, but neither sooner than planned nor wildly later (as Svix).
                    AttemptOutcome::HttpStatus { retry_after: Some(ra), .. } => {
                        ra.delay_millis(now).clamp(jittered, jittered.saturating_mul(2))
                    }
                    _ => jittered,
                };
                if matches!(outcome, AttemptOutcome::Timeout) || outcome.status() == Some(429) {
                    delay = delay.max(OVERLOAD_PENALTY);
                }
                delay
            }
        };
        Decision::RetryAt(now.plus_millis(delay))
    }

    const fn delays(self) -> &'static [i64] {
        match self {
            Self::Klarna => KLARNA_DELAYS,
            Self::Extended => EXTENDED_DELAYS,
        }
    }
}

impl AttemptOutcome {
    /// `Success`, or any 2xx status.
    pub fn is_success(&self) -> bool {
        match self {
            Self::Success => true,
            Self::HttpStatus { status, .. } => (200..300).contains(status),
            Self::Timeout | Self::NetworkError => false,
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            Self::HttpStatus { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl RetryAfter {
    /// Parses a header value: `delta-seconds` or an HTTP-date (IMF-fixdate, plus the obsolete
    /// RFC 850 and asctime forms RFC 9110 makes recipients accept; an RFC 850 two-digit year is
    /// 1970–2069). Absurdly large delays saturate; anything else malformed is `None`.
    pub fn parse(header_value: &str) -> Option<Self> {
        let value = header_value.trim_matches([' ', '\t']);
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Self::Seconds(value.parse().unwrap_or(u64::MAX)));
        }
        let since_epoch = httpdate::parse_http_date(value).ok()?.duration_since(UNIX_EPOCH).ok()?;
        Some(Self::At(Timestamp::from_millis(i64::try_from(since_epoch.as_millis()).ok()?)))
    }

    /// The same wish on another clock. An HTTP-date is a real instant: read against a clock that
    /// showed `from` when the answer came, it keeps its distance from that moment on a clock that
    /// showed `to` at the same time (so a sandbox clock moved ahead still waits as long as the
    /// server asked). `Seconds` are relative and stay as they are.
    pub fn rebased(self, from: Timestamp, to: Timestamp) -> Self {
        match self {
            Self::Seconds(_) => self,
            Self::At(at) => Self::At(at.plus_millis(to.millis().saturating_sub(from.millis()))),
        }
    }

    /// Milliseconds to wait from `now`; a date in the past means no wait.
    pub fn delay_millis(self, now: Timestamp) -> i64 {
        match self {
            Self::Seconds(secs) => i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(SECOND),
            Self::At(at) => at.millis().saturating_sub(now.millis()).max(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: Timestamp = Timestamp::from_millis(1_445_412_480_000); // 2015-10-21T07:28:00Z

    fn status(status: u16) -> AttemptOutcome {
        AttemptOutcome::HttpStatus { status, retry_after: None }
    }

    fn delay(policy: RetryPolicy, attempts: u32, outcome: AttemptOutcome, jitter: f64) -> i64 {
        match policy.next_attempt(attempts, &outcome, NOW, jitter) {
            Decision::RetryAt(at) => at.millis() - NOW.millis(),
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn wire_names_and_timeouts() {
        assert_eq!(RetryPolicy::parse("KLARNA"), Some(RetryPolicy::Klarna));
        assert_eq!(RetryPolicy::Extended.as_str(), "extended");
        assert_eq!(RetryPolicy::Klarna.timeout_millis(), 3_000);
        assert_eq!(RetryPolicy::Extended.timeout_millis(), 15_000);
    }

    #[test]
    fn only_2xx_is_success() {
        assert!(AttemptOutcome::Success.is_success());
        assert!(status(200).is_success() && status(204).is_success() && status(299).is_success());
        for s in [100, 199, 301, 302, 304, 400, 410, 429, 500, 503] {
            assert!(!status(s).is_success(), "{s}");
        }
        assert_eq!(RetryPolicy::Klarna.next_attempt(4, &status(201), NOW, 0.0), Decision::Delivered);
    }

    #[test]
    fn klarna_retries_2_4_8_seconds_then_gives_up() {
        let k = RetryPolicy::Klarna;
        let busy = AttemptOutcome::HttpStatus { status: 503, retry_after: Some(RetryAfter::Seconds(600)) };
        assert_eq!([1, 2, 3].map(|n| delay(k, n, busy, 0.99)), [2_000, 4_000, 8_000]);
        assert_eq!(delay(k, 1, status(410), 0.5), 2_000);
        let exhausted = Decision::GiveUp(GiveUpReason::AttemptsExhausted);
        assert_eq!(k.next_attempt(4, &AttemptOutcome::Timeout, NOW, 0.0), exhausted);
    }

    #[test]
    fn extended_schedule_jitter_and_end() {
        let e = RetryPolicy::Extended;
        let secs = [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400];
        for (n, s) in (1..).zip(secs) {
            assert_eq!(delay(e, n, status(500), 0.5), s * 1_000);
            assert_eq!(delay(e, n, AttemptOutcome::NetworkError, 0.0), s * 800);
        }
        assert_eq!(delay(e, 2, status(500), 1.0), 360_000);
        assert_eq!(delay(e, 2, status(500), f64::NAN), 300_000);
        let exhausted = Decision::GiveUp(GiveUpReason::AttemptsExhausted);
        assert_eq!(e.next_attempt(10, &status(500), NOW, 0.5), exhausted);
        assert_eq!(e.next_attempt(1, &status(410), NOW, 0.5), Decision::GiveUp(GiveUpReason::Gone));
    }

    #[test]
    fn extended_overload_penalty_and_retry_after_clamp() {
        let e = RetryPolicy::Extended;
        assert_eq!(delay(e, 1, AttemptOutcome::Timeout, 0.5), 60_000);
        assert_eq!(delay(e, 1, status(429), 0.5), 60_000);
        assert_eq!(delay(e, 3, AttemptOutcome::Timeout, 0.5), 1_800_000);
        let with = |status, ra| AttemptOutcome::HttpStatus { status, retry_after: Some(ra) };
        assert_eq!(delay(e, 2, with(503, RetryAfter::Seconds(1)), 0.5), 300_000);
        assert_eq!(delay(e, 2, with(503, RetryAfter::Seconds(420)), 0.5), 420_000);
        assert_eq!(delay(e, 2, with(503, RetryAfter::Seconds(u64::MAX)), 0.5), 600_000);
        assert_eq!(delay(e, 2, with(429, RetryAfter::At(NOW.plus_minutes(8))), 0.5), 480_000);
        assert_eq!(delay(e, 1, with(429, RetryAfter::Seconds(2)), 0.5), 60_000);
    }

    #[test]
    fn parses_retry_after() {
        assert_eq!(RetryAfter::parse(" 120 "), Some(RetryAfter::Seconds(120)));
        assert_eq!(RetryAfter::parse("99999999999999999999999"), Some(RetryAfter::Seconds(u64::MAX)));
        let at = Some(RetryAfter::At(NOW));
        assert_eq!(RetryAfter::parse("Wed, 21 Oct 2015 07:28:00 GMT"), at);
        assert_eq!(RetryAfter::parse("Wednesday, 21-Oct-15 07:28:00 GMT"), at);
        assert_eq!(RetryAfter::parse("Wed Oct 21 07:28:00 2015"), at);
        let rfc850 = RetryAfter::parse("Sunday, 06-Nov-94 08:49:37 GMT");
        assert_eq!(rfc850, Some(RetryAfter::At(Timestamp::from_millis(784_111_777_000))));
        for bad in ["", "-5", "+5", "1.5", "soon", "Wed, 21 Oct 2015 07:28:00 UTC", "Wed, 21 Oct 2015 07:28:00 GMTx"] {
            assert_eq!(RetryAfter::parse(bad), None, "{bad:?}");
        }
        assert_eq!(RetryAfter::At(NOW.plus_millis(-5)).delay_millis(NOW), 0);
    }

    #[test]
    fn an_http_date_keeps_its_distance_on_another_clock() {
        let ahead = NOW.plus_hours(5);
        let date = RetryAfter::At(NOW.plus_minutes(7)).rebased(NOW, ahead);
        assert_eq!(date, RetryAfter::At(ahead.plus_minutes(7)));
        assert_eq!(date.delay_millis(ahead), 420_000);
        assert_eq!(RetryAfter::Seconds(9).rebased(NOW, ahead), RetryAfter::Seconds(9));
        let e = RetryPolicy::Extended;
        let busy = AttemptOutcome::HttpStatus { status: 503, retry_after: Some(date) };
        assert_eq!(e.next_attempt(2, &busy, ahead, 0.5), Decision::RetryAt(ahead.plus_minutes(7)));
    }

    fn failure() -> impl Strategy<Value = AttemptOutcome> {
        let retry_after = prop_oneof![
            Just(None),
            (0u64..200_000).prop_map(|s| Some(RetryAfter::Seconds(s))),
            (-HOUR..100 * HOUR).prop_map(|ms| Some(RetryAfter::At(NOW.plus_millis(ms)))),
        ];
        let status = (100u16..600).prop_filter("failure", |s| !(200..300).contains(s) && *s != 410);
        prop_oneof![
            Just(AttemptOutcome::Timeout),
            Just(AttemptOutcome::NetworkError),
            (status, retry_after).prop_map(|(status, retry_after)| AttemptOutcome::HttpStatus { status, retry_after }),
        ]
    }

    /// Runs failing attempts until the policy gives up; returns the attempt instants.
    fn run(policy: RetryPolicy, outcomes: &[AttemptOutcome], jitter: f64) -> Vec<Timestamp> {
        let mut times = vec![NOW];
        for (n, outcome) in (1..).zip(outcomes.iter().cycle()) {
            let now = *times.last().unwrap();
            match policy.next_attempt(n, outcome, now, jitter) {
                Decision::RetryAt(at) => times.push(at),
                Decision::GiveUp(reason) => {
                    assert_eq!(reason, GiveUpReason::AttemptsExhausted);
                    return times;
                }
                Decision::Delivered => panic!("a failure was delivered"),
            }
        }
        unreachable!()
    }

    proptest! {
        #[test]
        fn attempts_are_exact_and_strictly_later(outcomes in prop::collection::vec(failure(), 1..12), j in 0.0..1.0f64) {
            for (policy, total) in [(RetryPolicy::Klarna, 4), (RetryPolicy::Extended, 10)] {
                let times = run(policy, &outcomes, j);
                prop_assert_eq!(times.len(), total);
                prop_assert!(times.windows(2).all(|w| w[0] < w[1]), "{:?}", times);
            }
        }

        #[test]
        fn extended_delays_are_jittered_within_20_percent_and_monotonic(j in 0.0..1.0f64) {
            let e = RetryPolicy::Extended;
            let delays: Vec<i64> = (1..10).map(|n| delay(e, n, AttemptOutcome::NetworkError, j)).collect();
            for (n, d) in (1..).zip(&delays) {
                let base = e.scheduled_delay_millis(n).unwrap();
                prop_assert!(base * 4 / 5 <= *d && *d <= base * 6 / 5, "attempt {}: {} vs {}", n, d, base);
            }
            prop_assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        }

        #[test]
        fn retry_after_stays_within_once_to_twice_the_jittered_delay(n in 1u32..10, o in failure(), j in 0.0..1.0f64) {
            let e = RetryPolicy::Extended;
            let plain = delay(e, n, AttemptOutcome::NetworkError, j);
            let got = delay(e, n, o, j);
            let overload = matches!(o, AttemptOutcome::Timeout | AttemptOutcome::HttpStatus { status: 429, .. });
            prop_assert!(got >= plain && (got <= plain * 2 || (overload && got == OVERLOAD_PENALTY)));
        }

        #[test]
        fn never_retries_in_the_past(n in 0u32..20, o in failure(), now in -HOUR..i64::MAX / 2, j in any::<f64>()) {
            for policy in RetryPolicy::ALL {
                if let Decision::RetryAt(at) = policy.next_attempt(n, &o, Timestamp::from_millis(now), j) {
                    prop_assert!(at.millis() > now, "{:?} after attempt {}: {} <= {}", policy, n, at.millis(), now);
                }
            }
        }
    }
}
