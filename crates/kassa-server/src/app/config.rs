//! Settings of a running server.

use kassa_core::Timestamp;
use std::time::Duration;

pub use crate::app::limits::{AuthThrottleSettings, Rate, ScanLimits};
pub use crate::app::messaging::MessagingSettings;
pub use crate::app::rate_limits::RateLimits;
pub use crate::app::secrets::SecretBox;
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
    /// Failed credential attempts allowed per client address and per username (`None`: not
    /// throttled); see [`crate::app::auth_throttle`].
    pub auth_throttle: Option<AuthThrottleSettings>,
    /// Consumer sessions the store pages create per client address and per merchant.
    pub scan_limits: ScanLimits,
    /// How long a dashboard login lasts (real time).
    pub login_lifetime: Duration,
    /// What the HTTP server allows its clients: timeouts, the connection cap, the drain bound.
    pub server: ServerLimits,
    /// The operator's keys that merchants' webhook signing secrets are encrypted under at rest
    /// (none by default: stored in clear).
    pub secrets: SecretBox,
    /// Failed runs of a job (a timer: distributing, auto-cancel, an order's expiry) before it is
    /// set aside for an operator; runs are retried 1 s, 2 s, 4 s … at most 60 s apart until then.
    pub job_attempts: u32,
    /// How long `/readyz`'s durable write may take before kassa reports itself not ready (a
    /// database that answers this slowly cannot serve requests in time either).
    pub ready_within: Duration,
    /// Where distribution messages go (recorded by default), and how they are retried.
    pub messaging: MessagingSettings,
}

impl Config {
    pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;
    pub const DEFAULT_LOGIN_LIFETIME: Duration = Duration::from_secs(12 * 3600);
    pub const DEFAULT_JOB_ATTEMPTS: u32 = 10;

    pub fn new(public_url: &str, mode: Mode) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            mode,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            rate_limits: RateLimits::production(),
            delivery: WorkerSettings::default(),
            distribution_delay: Duration::ZERO,
            auth_throttle: Some(AuthThrottleSettings::default()),
            scan_limits: ScanLimits::default(),
            login_lifetime: Self::DEFAULT_LOGIN_LIFETIME,
            server: ServerLimits::default(),
            secrets: SecretBox::default(),
            job_attempts: Self::DEFAULT_JOB_ATTEMPTS,
            ready_within: Duration::from_secs(2),
            messaging: MessagingSettings::default(),
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
    /// How long a claim holds unless renewed; the worker renews its claims a third of a lease
    /// apart while their attempts wait and run, so a crashed node's callbacks are sent by
    /// another within about one lease.
    pub lease: Duration,
    /// How often a failing target is probed with its first waiting delivery ahead of schedule.
    pub probe_interval: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            max_in_flight: 256,
            max_per_host: 32,
            poll_interval: Duration::from_millis(100),
            lease: Duration::from_secs(10),
            probe_interval: Duration::from_secs(10),
        }
    }
}

/// What the HTTP server allows its clients (see [`crate::serving`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a connection may take to send a request's headers, counted from when it starts
    /// waiting for one (so it is also how long an idle keep-alive connection is kept).
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive after its headers.
    pub body_timeout: Duration,
    /// Connections held at once; at the cap the oldest idle one is closed for a new one.
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight before closing their connections.
    pub drain_deadline: Duration,
}

impl ServerLimits {
    /// Below any file limit a server runs with (1,024 is the smallest common one), leaving room
    /// for the database, the callbacks' own connections and the files of the process.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 896;
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            drain_deadline: Duration::from_secs(10),
        }
    }
}

/// The error a request body reports once [`ServerLimits::body_timeout`] passed (answered 408).
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimedOut(pub Duration);
