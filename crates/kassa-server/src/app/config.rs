//! Settings of a running server.

use kassa_core::Timestamp;
use std::time::Duration;

pub use crate::app::rate_limits::RateLimits;
pub use crate::app::target::TargetPolicy;

kassa_core::wire_enum! {
    /// Sandbox mode adds the consumer-side controls (`/sandbox/v1/...`) and a sandbox merchant on
    /// an empty database; production mode has neither.
    pub enum Mode {
        Sandbox = "sandbox",
        Production = "production",
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Base of every URL kassa hands out (`session_url`, `redirect_url`, `qr_code_url` …),
    /// without a trailing slash.
    pub public_url: String,
    pub mode: Mode,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Requests per second each merchant may make per category (Klarna's production limits by
    /// default); see [`crate::api::rate_limit`].
    pub rate_limits: RateLimits,
    /// Which status-callback targets are allowed (HTTPS to public addresses, unless sandbox
    /// mode or an allow-list opens more).
    pub callback_targets: TargetPolicy,
    /// Concurrency and timings of the delivery worker.
    pub delivery: WorkerSettings,
    /// How long an in-store distribution stays WAITING before the service distributes it (none
    /// by default; on the service clock, so the sandbox clock can move it).
    pub distribution_delay: Duration,
    /// Failed runs of a job (a timer: distributing, auto-cancel, an order's expiry) before it is
    /// set aside for an operator; runs are retried 1 s, 2 s, 4 s … at most 60 s apart until then.
    pub job_attempts: u32,
}

impl Config {
    pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;
    pub const DEFAULT_JOB_ATTEMPTS: u32 = 10;

    pub fn new(public_url: &str, mode: Mode) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            mode,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            rate_limits: RateLimits::production(),
            delivery: WorkerSettings::default(),
            distribution_delay: Duration::ZERO,
            job_attempts: Self::DEFAULT_JOB_ATTEMPTS,
            callback_targets: match mode {
                Mode::Sandbox => TargetPolicy::sandbox(),
                Mode::Production => TargetPolicy::default(),
            },
        }
    }

    /// When a distribution asked for at `now` is due.
    pub fn distribution_due(&self, now: Timestamp) -> Timestamp {
        now.plus_millis(i64::try_from(self.distribution_delay.as_millis()).unwrap_or(i64::MAX / 2))
    }

    /// `public_url` joined with an absolute path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

/// Limits and timings of the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Attempts in flight at once, in all.
    pub max_in_flight: usize,
    /// Attempts in flight at once to one host.
    pub max_per_host: usize,
    /// How often due retries are looked for when nothing wakes the worker.
    pub poll_interval: Duration,
    /// How long a claim holds; longer than any attempt's timeout, so a live claim is never
    /// taken over while its attempt can still answer.
    pub lease: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            max_in_flight: 256,
            max_per_host: 32,
            poll_interval: Duration::from_millis(100),
            lease: Duration::from_secs(60),
        }
    }
}
