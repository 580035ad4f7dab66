//! Command-line arguments.

use clap::{Args, Parser, Subcommand};
use kassa_server::Mode;
use kassa_server::app::config::{RateLimits, SecretBox};
use kassa_store::sql::Durability;
use std::net::SocketAddr;

#[derive(Debug, Parser)]
#[command(name = "kassa", version, about = "Klarna-compatible HPP sessions and in-store payment distributions")]
pub struct Cli {
    /// How log lines are written to stderr: `text` for people, `json` (one object per line, with
    /// the fields of every enclosing span: a request's correlation id, route and merchant, a
    /// callback's `caused_by`) for log shippers. `RUST_LOG` sets what is logged.
    #[arg(long, global = true, env = "KASSA_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Check a serve configuration (the same options, `--config` included) against the
    /// database, the listen address and the public URL, one line per check; exits 1 on a problem.
    Doctor(ServeArgs),
    /// Manage merchants (API users).
    Merchant {
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// Apply the database migrations and exit (`serve` also does this on start).
    Migrate(DatabaseArgs),
    /// Measure HPP create, read and status-change throughput over HTTP.
    Bench(BenchArgs),
    /// Measure status callbacks: commit-to-arrival latency at a steady rate, and delivery
    /// throughput from a backlog.
    BenchCallbacks(CallbackBenchArgs),
    /// Follow the merchant's events on any kassa and POST each to a local URL exactly as kassa's
    /// status callbacks are (signed), printing the local answer.
    Listen(crate::remote::listen::ListenArgs),
    /// Create and drive a whole scenario through the API, printing each step.
    Trigger(crate::remote::trigger::TriggerArgs),
    /// The merchant's events.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// The merchant's sessions.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print the merchant's events as they happen (resumes after a disconnect).
    Tail(crate::remote::tail::TailArgs),
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Any session by its id: kind, read body, events, callbacks.
    Get(crate::remote::sessions::SessionGetArgs),
}

#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Add a merchant and print its credentials.
    Add(MerchantAdd),
    /// Show or change a merchant's status-callback settings: retry policy and signing secrets.
    Webhooks(MerchantWebhooks),
    /// Encrypt every merchant's webhook signing secrets under the first `--secret-key` (after a
    /// key rotation, or to encrypt secrets stored in clear); `serve` also does this on start.
    Reencrypt(MerchantReencrypt),
}

#[derive(Debug, Args)]
pub struct MerchantReencrypt {
    #[command(flatten)]
    pub keys: SecretKeyArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SecretKeyArgs {
    /// Keys that merchants' webhook signing secrets are encrypted under at rest: comma-separated,
    /// each base64 of 32 bytes (`openssl rand -base64 32`), optionally named `id:key`. The first
    /// encrypts, every one decrypts. Without a key the secrets are stored in clear.
    #[arg(long = "secret-key", env = "KASSA_SECRET_KEY", value_name = "KEYS", hide_env_values = true)]
    pub secret_key: Option<SecretBox>,
}

impl SecretKeyArgs {
    pub fn keys(&self) -> SecretBox {
        self.secret_key.clone().unwrap_or_default()
    }
}

#[derive(Debug, Args)]
pub struct MerchantWebhooks {
    /// The merchant's API username.
    #[arg(long)]
    pub username: String,
    /// `klarna` (4 attempts a few seconds apart) or `extended` (about 3 days, with jitter).
    #[arg(long, value_parser = ["klarna", "extended"])]
    pub retry_policy: Option<String>,
    /// Add a new signing secret; callbacks are signed with it and the previous one until
    /// `--drop-old-secrets`.
    #[arg(long)]
    pub rotate_secret: bool,
    /// Keep only the newest signing secret.
    #[arg(long, conflicts_with = "rotate_secret")]
    pub drop_old_secrets: bool,
    #[command(flatten)]
    pub keys: SecretKeyArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://path` (created if missing) or `postgres://user:password@host:port/database`.
    #[arg(long, env = "KASSA_DATABASE", default_value = "sqlite://kassa.db")]
    pub database: String,
    /// Connections per pool (PostgreSQL).
    #[arg(long, env = "KASSA_MAX_CONNECTIONS", default_value_t = 16)]
    pub max_connections: u32,
    /// `full`: every acknowledged change survives power loss; `normal`: survives a crash of the
    /// process, may lose the last changes on power loss (faster).
    #[arg(long, env = "KASSA_DURABILITY", default_value = "full", value_parser = durability)]
    pub durability: Durability,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML file of these options, keyed by their long names (`listen = "0.0.0.0:8080"`,
    /// `callback-lease = 20`, lists as arrays); a flag or environment variable overrides it.
    #[arg(long, env = "KASSA_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Where each option set explicitly came from (filled by `config_file::parse`).
    #[arg(skip)]
    pub given: crate::given::Given,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "KASSA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address to serve Prometheus metrics on (`GET /metrics`), apart from the API so it need
    /// not be public; none by default. See docs/OPERATIONS.md for the metrics and their alerts.
    #[arg(long, env = "KASSA_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub clients: ClientLimitArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Base URL of every URL kassa returns (default: http://<listen address>).
    #[arg(long, env = "KASSA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// `sandbox` adds consumer-side controls and a sandbox merchant; `production` has neither.
    #[arg(long, env = "KASSA_MODE", default_value = "sandbox", value_parser = mode)]
    pub mode: Mode,
    /// Credentials (`username:secret`) for the sandbox merchant created on an empty database;
    /// random when absent.
    #[arg(long, env = "KASSA_SANDBOX_CREDENTIALS")]
    pub sandbox_credentials: Option<String>,
    /// Requests per second per merchant, as Klarna limits them: `production` (40 session creates,
    /// 40 HPP session creates, 200 other requests), `playground` (5 / 5 / 50), `off`, or
    /// `create=N,hpp=N,other=N` (each N > 0 or `off`; omitted keys keep production's value).
    #[arg(long, env = "KASSA_RATE_LIMITS", default_value = "production", value_name = "LIMITS")]
    pub rate_limits: RateLimits,
    /// Hosts (names or IP literals, comma-separated) whose status-callback targets may use plain
    /// HTTP and private addresses. Production mode otherwise allows only HTTPS to public
    /// addresses; sandbox mode allows any target.
    #[arg(long, env = "KASSA_CALLBACK_ALLOW_HOSTS", value_delimiter = ',')]
    pub callback_allow_hosts: Vec<String>,
    /// How long a node's claim on a callback holds unless renewed, in seconds; the node renews
    /// its claims a third of this apart while their attempts run, so after a node dies others
    /// send its claimed callbacks once this has passed.
    #[arg(long, env = "KASSA_CALLBACK_LEASE", default_value_t = 10, value_parser = clap::value_parser!(u64).range(3..=3600))]
    pub callback_lease: u64,
    /// How often, in seconds, a failing callback target is probed with its first waiting
    /// callback ahead of schedule; when it answers 2xx, every callback waiting for it is due at
    /// once (a failed probe costs the callback none of its attempts).
    #[arg(long, env = "KASSA_CALLBACK_PROBE_INTERVAL", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub callback_probe_interval: u64,
    /// How long an in-store distribution stays WAITING before kassa distributes it, in seconds
    /// (service clock: the sandbox clock can move past it). 0 distributes at once.
    #[arg(long, env = "KASSA_DISTRIBUTION_DELAY", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub distribution_delay: u64,
    /// Failed credential attempts (API Basic auth and /login) allowed at once per client address
    /// and per username; further attempts get 429 unchecked until failures are forgiven (see
    /// --auth-failure-refill). 0 turns the throttling off.
    #[arg(long, env = "KASSA_AUTH_FAILURES", default_value_t = 10)]
    pub auth_failures: u32,
    /// Seconds after which one more failed credential attempt is allowed again.
    #[arg(long, env = "KASSA_AUTH_FAILURE_REFILL", default_value_t = 6, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auth_failure_refill: u64,
    /// Short codes a client address may get from store pages per minute (0: unlimited).
    #[arg(long, env = "KASSA_SCANS_PER_ADDRESS", default_value_t = 5)]
    pub scans_per_address: u32,
    /// Short codes one merchant's store pages hand out per minute, all stores together
    /// (0: unlimited).
    #[arg(long, env = "KASSA_SCANS_PER_MERCHANT", default_value_t = 600)]
    pub scans_per_merchant: u32,
    /// Client addresses, usernames and merchants each of these in-memory limits tracks at most.
    #[arg(long, env = "KASSA_LIMITS_TRACKED", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub limits_tracked: u64,
    /// Failed runs of a job (distributing, an auto-cancel, an order's expiry) before it is set
    /// aside with its error for an operator (`GET /kassa/v1/jobs?status=set_aside`, the
    /// dashboard's Jobs page), who can retry it. Failed runs are retried 1 s, 2 s, 4 s … at most
    /// 60 s apart until then.
    #[arg(long, env = "KASSA_JOB_ATTEMPTS", default_value_t = kassa_server::Config::DEFAULT_JOB_ATTEMPTS, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub job_attempts: u32,
    /// Seconds `/readyz`'s durable write may take before kassa reports itself not ready.
    #[arg(long, env = "KASSA_READY_TIMEOUT", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub ready_timeout: u64,
    #[command(flatten)]
    pub keys: SecretKeyArgs,
    #[command(flatten)]
    pub senders: crate::senders::MessageSenderArgs,
}

/// What the HTTP server allows its clients.
#[derive(Debug, Clone, Args)]
pub struct ClientLimitArgs {
    /// Seconds a client may take to send a request's headers, counted from when its connection
    /// starts waiting for a request (so also how long an idle keep-alive connection is kept).
    #[arg(long, env = "KASSA_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_timeout: u64,
    /// Seconds a request's body may take to arrive after its headers (then 408).
    #[arg(long, env = "KASSA_BODY_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub body_timeout: u64,
    /// Client connections held at once; at the cap the oldest idle one is closed for a new one.
    /// Default: the process's file limit (raised to its hard limit at start) less 128.
    #[arg(long, env = "KASSA_MAX_CLIENT_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_client_connections: Option<u64>,
    /// Seconds shutdown waits for requests in flight before closing their connections.
    #[arg(long, env = "KASSA_DRAIN_DEADLINE", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_deadline: u64,
}

#[derive(Debug, Args)]
pub struct MerchantAdd {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// API username (random when absent).
    #[arg(long)]
    pub username: Option<String>,
    /// API secret, at least 16 characters (random when absent).
    #[arg(long)]
    pub secret: Option<String>,
    /// Retry policy of the merchant's status callbacks.
    #[arg(long, default_value = "klarna", value_parser = ["klarna", "extended"])]
    pub retry_policy: String,
    #[command(flatten)]
    pub keys: SecretKeyArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A running kassa in sandbox mode to drive (default: start one in this process on a fresh
    /// SQLite file).
    #[arg(long, requires = "auth")]
    pub url: Option<String>,
    /// `username:secret` of a merchant of `--url`.
    #[arg(long, requires = "url")]
    pub auth: Option<String>,
    /// Requests per step.
    #[arg(long, default_value_t = 5000)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Also write each step's latency distribution (p0 to p100, log scale) as an SVG chart.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CallbackBenchArgs {
    /// Status changes per second in the latency run.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    /// Status changes (each one callback) in the latency run.
    #[arg(long, default_value_t = 5000)]
    pub changes: u32,
    /// Callbacks queued at once in the throughput run.
    #[arg(long, default_value_t = 10000)]
    pub backlog: u32,
    /// Callbacks in flight at once.
    #[arg(long, default_value_t = 32)]
    pub in_flight: u16,
    /// `full` or `normal` (see `serve --durability`).
    #[arg(long, default_value = "full", value_parser = durability)]
    pub durability: Durability,
    /// Also write the callback latency distributions (p0 to p100, log scale) as an SVG chart.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<std::path::PathBuf>,
}

/// `sandbox` or `production`.
fn mode(text: &str) -> Result<Mode, String> {
    Mode::parse(text).ok_or_else(|| format!("expected one of {}", Mode::expected()))
}

/// `full` or `normal`.
fn durability(text: &str) -> Result<Durability, String> {
    match text {
        "full" => Ok(Durability::Full),
        "normal" => Ok(Durability::Normal),
        _ => Err("expected full or normal".into()),
    }
}
