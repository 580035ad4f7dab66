//! `kassa serve`: open the database, make sure there is a merchant to use, serve until a signal.

use crate::cli::{ClientLimitArgs, ServeArgs};
use crate::database;
use crate::files::{connections_that_fit, file_limit};
use crate::validate;
use kassa_server::app::config::{AuthThrottleSettings, Rate, RateLimits, ScanLimits, ServerLimits};
use kassa_server::model::credentials;
use kassa_server::service::secrets;
use kassa_server::{AppState, Config, Mode};
use kassa_store::Store;
use std::sync::Arc;
use tokio::net::TcpListener;

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let files = file_limit()?;
    let problems = validate::problems(&args, files);
    if !problems.is_empty() {
        return Err(validate::refusal(&problems));
    }
    for warning in validate::warnings(&args) {
        tracing::warn!("{warning}");
    }
    let mode = args.mode;
    // Checked with the other problems above.
    let messaging = args.senders.settings().map_err(|problems| validate::refusal(&problems))?;
    let store = database::open_for_serving(&args.database).await?;
    let listener =
        TcpListener::bind(args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics = match args.metrics_listen {
        Some(at) => Some(TcpListener::bind(at).await.map_err(|e| format!("cannot listen for metrics on {at}: {e}"))?),
        None => None,
    };
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
    let mut config = Config::new(&public_url, mode);
    config.rate_limits = args.rate_limits;
    config.callback_targets.allowed_hosts = args.callback_allow_hosts.clone();
    config.delivery.lease = std::time::Duration::from_secs(args.callback_lease);
    config.delivery.probe_interval = std::time::Duration::from_secs(args.callback_probe_interval);
    config.distribution_delay = std::time::Duration::from_secs(args.distribution_delay);
    let tracked = usize::try_from(args.limits_tracked).unwrap_or(usize::MAX);
    config.auth_throttle = (args.auth_failures > 0).then(|| AuthThrottleSettings {
        failures: Rate { burst: args.auth_failures, every: std::time::Duration::from_secs(args.auth_failure_refill) },
        max_tracked: tracked,
    });
    config.scan_limits = ScanLimits {
        per_address: Rate::per_minute(args.scans_per_address),
        per_merchant: Rate::per_minute(args.scans_per_merchant),
        max_tracked: tracked,
    };
    config.server = client_limits(&args.clients, files);
    config.secrets = args.keys.keys();
    // Before serving: every stored signing secret must open, and is brought under the first key.
    let sealed = secrets::seal_at_rest(store.as_ref(), &config.secrets).await.map_err(|e| e.to_string())?;
    if let Some(key) = config.secrets.key_ids().first() {
        tracing::info!(key, resealed = sealed.resealed, "webhook signing secrets encrypted at rest");
    }
    config.messaging = messaging;
    config.job_attempts = args.job_attempts;
    config.ready_within = std::time::Duration::from_secs(args.ready_timeout);
    match mode {
        Mode::Sandbox => {
            tracing::warn!("sandbox mode: status callbacks may target any http(s) address, private ones included")
        }
        Mode::Production if !args.callback_allow_hosts.is_empty() => {
            tracing::warn!(hosts = ?args.callback_allow_hosts, "callbacks to these hosts may use http and private addresses");
        }
        Mode::Production => tracing::info!("status callbacks: https to public addresses only"),
    }
    let state = AppState::new(store.clone(), config);
    let metrics_at = match metrics {
        Some(listener) => Some(serve_metrics(listener, &state)?),
        None => None,
    };
    let sandbox = match mode {
        Mode::Sandbox => ensure_sandbox_merchant(&store, &state, args.sandbox_credentials.as_deref()).await?,
        Mode::Production => None,
    };
    Banner {
        url: &public_url,
        database: &database::redacted(&args.database.database),
        mode,
        rate_limits: args.rate_limits,
        sandbox: sandbox.as_ref(),
        merchants: store.merchant_count().await.unwrap_or(0),
        sealing_key: state.config.secrets.key_ids().first().copied(),
        metrics: metrics_at,
        messages: &state.config.messaging.describe(),
    }
    .print();
    tracing::info!(
        %address, %mode, rate_limits = %args.rate_limits, max_client_connections = state.config.server.max_connections,
        "kassa listening"
    );
    kassa_server::serve(listener, state, shutdown_signal()).await.map_err(|e| format!("server failed: {e}"))?;
    tracing::info!("kassa stopped");
    Ok(())
}

/// Serves the metrics on `listener` beside the server; answers where.
fn serve_metrics(listener: TcpListener, state: &AppState) -> Result<std::net::SocketAddr, String> {
    let at = listener.local_addr().map_err(|e| e.to_string())?;
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = kassa_server::serve_metrics(listener, state).await {
            tracing::error!(%error, "the metrics listener failed");
        }
    });
    Ok(at)
}

/// The server's client limits from the flags (checked by `validate`); the connection cap stays
/// under the file limit, so running out of descriptors cannot stop `/healthz`.
fn client_limits(args: &ClientLimitArgs, file_limit: u64) -> ServerLimits {
    let fit = connections_that_fit(file_limit).unwrap_or(1);
    let max_connections = args.max_client_connections.unwrap_or(fit);
    let seconds = std::time::Duration::from_secs;
    ServerLimits {
        header_timeout: seconds(args.header_timeout),
        body_timeout: seconds(args.body_timeout),
        max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
        drain_deadline: seconds(args.drain_deadline),
    }
}

/// The sandbox merchant just created on an empty database.
struct SandboxMerchant {
    username: String,
    secret: String,
    webhook_secret: String,
}

async fn ensure_sandbox_merchant(
    store: &Arc<dyn Store>,
    state: &AppState,
    given: Option<&str>,
) -> Result<Option<SandboxMerchant>, String> {
    if store.merchant_count().await.map_err(|e| e.to_string())? > 0 {
        return Ok(None);
    }
    let (username, secret) = match given {
        Some(pair) => {
            let (u, s) = pair.split_once(':').ok_or("--sandbox-credentials must be username:secret")?;
            (Some(u), Some(s))
        }
        None => (None, None),
    };
    let created = credentials::create("Sandbox merchant", username, secret, state.now())?;
    secrets::add_merchant(store.as_ref(), &state.config.secrets, &created.merchant).await.map_err(|e| e.to_string())?;
    let webhook_secret = created.merchant.webhook_secrets.first().cloned().unwrap_or_default();
    Ok(Some(SandboxMerchant { username: created.merchant.username, secret: created.secret, webhook_secret }))
}

/// What the start banner shows.
struct Banner<'a> {
    url: &'a str,
    database: &'a str,
    mode: Mode,
    rate_limits: RateLimits,
    sandbox: Option<&'a SandboxMerchant>,
    merchants: u64,
    sealing_key: Option<&'a str>,
    metrics: Option<std::net::SocketAddr>,
    messages: &'a str,
}

impl Banner<'_> {
    fn print(&self) {
        let Self { url, database, mode, rate_limits, sandbox, merchants, sealing_key, metrics, messages } = *self;
        println!("kassa {} is running in {mode} mode", env!("CARGO_PKG_VERSION"));
        println!("  API       {url}");
        println!("  OpenAPI   {url}/openapi.json");
        println!("  Dashboard {url}/dashboard  (log in with the merchant credentials)");
        println!("  Database  {database}");
        match sealing_key {
            Some(key) => println!("  Secrets   webhook signing secrets encrypted at rest (key {key})"),
            None => println!("  Secrets   webhook signing secrets stored in clear (no --secret-key)"),
        }
        println!("  Messages  {messages}");
        match metrics {
            Some(at) => println!("  Metrics   http://{at}/metrics"),
            None => println!("  Metrics   off (--metrics-listen 127.0.0.1:9090 serves them)"),
        }
        if rate_limits.is_off() {
            println!("  Limits    off");
        } else {
            let show = |limit: Option<u32>| limit.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
            println!(
                "  Limits    {rate_limits}: {} session creates, {} HPP session creates, {} other requests per second per merchant",
                show(rate_limits.create_session),
                show(rate_limits.create_hpp_session),
                show(rate_limits.other),
            );
        }
        match sandbox {
            Some(SandboxMerchant { username, secret, webhook_secret }) => {
                println!("  Sandbox merchant (new database; the secret is stored hashed and shown only now):");
                println!("    username  {username}");
                println!("    secret    {secret}");
                println!("    webhooks  {webhook_secret}  (verifies the webhook-signature of status callbacks)");
                println!("  Walk through a payment: README.md, \"Walkthrough\"");
            }
            None => {
                println!("  {merchants} merchant(s) in the database; add one with `kassa merchant add --name <name>`")
            }
        }
        println!("Stop with Ctrl-C.");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
