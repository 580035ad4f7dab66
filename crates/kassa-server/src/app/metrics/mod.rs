//! The metrics an operator alerts on, in Prometheus' exposition format (OpenMetrics text):
//! requests, the group commit, the callback outbox, delivery attempts and callback lag, jobs,
//! waiters, the database pools and refusals. Each server has its own registry (no process-wide
//! state), served on `--metrics-listen` by [`crate::api::metrics`].
//!
//! Counters and histograms move where their event happens; the gauges of what waits (outbox,
//! jobs, waiters, pools) are read when scraped ([`Metrics::render`] after [`Metrics::observe`]).
//! docs/OPERATIONS.md lists every metric with the alerts to set on it.

mod labels;

pub use labels::{AttemptResult, CredentialRefusal, JobResult, MessageResult, Surface, WaiterKind};

use kassa_store::{Backlog, CommitObserver, CommittedBatch, PoolUse};
use labels::{
    AttemptLabels, CategoryLabels, CredentialLabels, HttpLabels, JobLabels, MessageLabels, PolicyLabels, PoolLabels,
    PoolNameLabels, RouteLabels, WaiterLabels,
};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

type Seconds = Family<RouteLabels, Histogram, fn() -> Histogram>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Latencies from 1 ms to about 33 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Lags (commit to 2xx, due to run) from 10 ms to about 3 days: retries on the extended policy
/// come hours apart.
fn lag() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 4.0, 14))
}

/// The registry and every metric in it.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Seconds,
    commit_batch_size: Histogram,
    commit_duration: Histogram,
    commit_failures: Counter,
    outbox_pending: Family<PolicyLabels, Gauge>,
    outbox_due: Family<PolicyLabels, Gauge>,
    outbox_oldest_due_age: Family<PolicyLabels, FloatGauge>,
    delivery_attempts: Family<AttemptLabels, Counter>,
    delivery_duration: Histogram,
    deliveries_failed: Counter,
    callback_lag: Histogram,
    jobs_due: Gauge,
    jobs_set_aside: Gauge,
    jobs_oldest_due_age: FloatGauge,
    job_runs: Family<JobLabels, Counter>,
    job_lag: Histogram,
    waiters: Family<WaiterLabels, Gauge>,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max: Family<PoolNameLabels, Gauge>,
    rate_limited: Family<CategoryLabels, Counter>,
    credential_refusals: Family<CredentialLabels, Counter>,
    messages: Family<MessageLabels, Counter>,
    messages_pending: Gauge,
    messages_oldest_due_age: FloatGauge,
    /// One scrape at a time: the gauges of what waits are cleared and set again for each.
    scraping: std::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("kassa"),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency),
            commit_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 8)),
            commit_duration: latency(),
            commit_failures: Counter::default(),
            outbox_pending: Family::default(),
            outbox_due: Family::default(),
            outbox_oldest_due_age: Family::default(),
            delivery_attempts: Family::default(),
            delivery_duration: latency(),
            deliveries_failed: Counter::default(),
            callback_lag: lag(),
            jobs_due: Gauge::default(),
            jobs_set_aside: Gauge::default(),
            jobs_oldest_due_age: FloatGauge::default(),
            job_runs: Family::default(),
            job_lag: lag(),
            waiters: Family::default(),
            pool_connections: Family::default(),
            pool_max: Family::default(),
            rate_limited: Family::default(),
            credential_refusals: Family::default(),
            messages: Family::default(),
            messages_pending: Gauge::default(),
            messages_oldest_due_age: FloatGauge::default(),
            scraping: std::sync::Mutex::default(),
        };
        metrics.register();
        metrics
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register("http_requests", "HTTP requests answered, by route, method and status", self.http_requests.clone());
        r.register_with_unit(
            "http_request_duration",
            "Time to a response's headers, by route and method",
            Unit::Seconds,
            self.http_duration.clone(),
        );
        r.register("commit_batch_size", "Changes per group-commit transaction", self.commit_batch_size.clone());
        r.register_with_unit(
            "commit_duration",
            "Time of a group-commit transaction, its fsync included",
            Unit::Seconds,
            self.commit_duration.clone(),
        );
        r.register("commit_failures", "Group-commit transactions that failed as a whole", self.commit_failures.clone());
        r.register(
            "outbox_pending",
            "Status callbacks not yet delivered nor given up, by policy",
            self.outbox_pending.clone(),
        );
        r.register("outbox_due", "Status callbacks due now, by policy", self.outbox_due.clone());
        r.register_with_unit(
            "outbox_oldest_due_age",
            "How long the longest-waiting due callback has been due, by policy",
            Unit::Seconds,
            self.outbox_oldest_due_age.clone(),
        );
        r.register(
            "delivery_attempts",
            "Callback attempts by result (delivered, http_error, timeout, network_error, simulated)",
            self.delivery_attempts.clone(),
        );
        r.register_with_unit(
            "delivery_attempt_duration",
            "Time of one callback attempt",
            Unit::Seconds,
            self.delivery_duration.clone(),
        );
        r.register(
            "deliveries_failed",
            "Status callbacks given up (attempts exhausted, or dropped by the sandbox)",
            self.deliveries_failed.clone(),
        );
        r.register_with_unit(
            "callback_lag",
            "From the commit of a status change to its callback's 2xx",
            Unit::Seconds,
            self.callback_lag.clone(),
        );
        r.register("jobs_due", "Scheduled jobs due now", self.jobs_due.clone());
        r.register("jobs_set_aside", "Jobs set aside for an operator after failing", self.jobs_set_aside.clone());
        r.register_with_unit(
            "jobs_oldest_due_age",
            "How long the longest-waiting due job has been due",
            Unit::Seconds,
            self.jobs_oldest_due_age.clone(),
        );
        r.register("job_runs", "Job runs by kind and result", self.job_runs.clone());
        r.register_with_unit("job_lag", "From a job's due time to its run", Unit::Seconds, self.job_lag.clone());
        r.register("waiters", "Long-polls, event streams and live pages waiting for a change", self.waiters.clone());
        r.register(
            "db_pool_connections",
            "Database connections open, by pool and state",
            self.pool_connections.clone(),
        );
        r.register("db_pool_max_connections", "The most connections a pool opens", self.pool_max.clone());
        r.register(
            "rate_limited",
            "Requests refused by a merchant's rate limit, by category",
            self.rate_limited.clone(),
        );
        r.register(
            "credential_refusals",
            "Credential attempts refused, by surface (api, login) and reason (wrong, throttled)",
            self.credential_refusals.clone(),
        );
        r.register(
            "messages",
            "Attempts to send a distribution message, by method and result (sent, retrying, failed)",
            self.messages.clone(),
        );
        r.register("messages_pending", "Distribution messages not yet sent nor failed", self.messages_pending.clone());
        r.register_with_unit(
            "messages_oldest_due_age",
            "How long the longest-waiting due distribution message has been due",
            Unit::Seconds,
            self.messages_oldest_due_age.clone(),
        );
    }

    /// One HTTP response.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let route = route.to_owned();
        let method = method.to_owned();
        self.http_requests.get_or_create(&HttpLabels { route: route.clone(), method: method.clone(), status }).inc();
        self.http_duration.get_or_create(&RouteLabels { route, method }).observe(took.as_secs_f64());
    }

    /// One callback attempt, and when it delivered, the lag from the commit.
    pub fn attempt(&self, result: AttemptResult, took: Duration, delivered_after: Option<Duration>) {
        self.delivery_attempts.get_or_create(&AttemptLabels { result }).inc();
        self.delivery_duration.observe(took.as_secs_f64());
        if let Some(lag) = delivered_after {
            self.callback_lag.observe(lag.as_secs_f64());
        }
    }

    /// A callback was given up.
    pub fn delivery_failed(&self) {
        self.deliveries_failed.inc();
    }

    /// One job run of `kind`, `late` after it was due.
    pub fn job(&self, kind: &'static str, result: JobResult, late: Duration) {
        self.job_runs.get_or_create(&JobLabels { kind, result }).inc();
        self.job_lag.observe(late.as_secs_f64());
    }

    pub fn rate_limited(&self, category: &'static str) {
        self.rate_limited.get_or_create(&CategoryLabels { category }).inc();
    }

    pub fn credential_refused(&self, surface: Surface, reason: CredentialRefusal) {
        self.credential_refusals.get_or_create(&CredentialLabels { surface, reason }).inc();
    }

    pub fn message(&self, method: &str, result: MessageResult) {
        self.messages.get_or_create(&MessageLabels { method: method.to_owned(), result }).inc();
    }

    /// Everything, in the OpenMetrics text format, with the gauges of what waits set from the
    /// store's backlog, the followers by kind and the pools; one scrape at a time, so none sees
    /// another's gauges half set.
    pub fn scrape(&self, backlog: &Backlog, waiters: &[(WaiterKind, usize)], pools: &[PoolUse]) -> String {
        let _one_at_a_time = self.scraping.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.observe(backlog, waiters, pools);
        self.render()
    }

    fn observe(&self, backlog: &Backlog, waiters: &[(WaiterKind, usize)], pools: &[PoolUse]) {
        let age = |wait: Option<std::time::Duration>| wait.map_or(0.0, |wait| wait.as_secs_f64());
        self.outbox_pending.clear();
        self.outbox_due.clear();
        self.outbox_oldest_due_age.clear();
        for policy in &backlog.deliveries {
            let labels = PolicyLabels { policy: policy.policy.as_str() };
            self.outbox_pending.get_or_create(&labels).set(gauge(policy.pending));
            self.outbox_due.get_or_create(&labels).set(gauge(policy.due));
            self.outbox_oldest_due_age.get_or_create(&labels).set(age(policy.longest_wait));
        }
        self.jobs_due.set(gauge(backlog.jobs_due));
        self.jobs_set_aside.set(gauge(backlog.jobs_set_aside));
        self.jobs_oldest_due_age.set(age(backlog.longest_job_wait));
        self.messages_pending.set(gauge(backlog.messages_pending));
        self.messages_oldest_due_age.set(age(backlog.longest_message_wait));
        for &(kind, count) in waiters {
            self.waiters.get_or_create(&WaiterLabels { kind }).set(gauge(count as u64));
        }
        for pool in pools {
            let open = u64::from(pool.open);
            let idle = u64::from(pool.idle).min(open);
            let labels = |state| PoolLabels { pool: pool.pool, state };
            self.pool_connections.get_or_create(&labels("in_use")).set(gauge(open - idle));
            self.pool_connections.get_or_create(&labels("idle")).set(gauge(idle));
            self.pool_max.get_or_create(&PoolNameLabels { pool: pool.pool }).set(gauge(u64::from(pool.max)));
        }
    }

    fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

fn gauge(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

impl CommitObserver for Metrics {
    fn batch(&self, batch: CommittedBatch) {
        self.commit_batch_size.observe(batch.size as f64);
        self.commit_duration.observe(batch.took.as_secs_f64());
        if !batch.committed {
            self.commit_failures.inc();
        }
    }
}
