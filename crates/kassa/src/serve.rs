//! `kassa serve`: open the database, make sure there is a merchant to use, serve until a signal.

use crate::cli::{ClientLimitArgs, ServeArgs};
use crate::database;
use kassa_server::app::config::{AuthThrottleSettings, Rate, RateLimits, ScanLimits, ServerLimits};
use kassa_server::model::credentials;
use kassa_server::service::secrets;
use kassa_server::{AppState, Config, Mode};
use kassa_store::Store;
use std::sync::Arc;
use tokio::net::TcpListener;

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let mode = args.mode;
    // Refused before the database is touched.
    let messaging = args.senders.settings().map_err(|problems| problems.join("; "))?;
    let store = database::open_for_serving(&args.database).await?;
    let listener =
        TcpListener::bind(args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
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
    if config.auth_throttle.is_none() {
        tracing::warn!("failed credential attempts are not throttled (--auth-failures 0)");
    }
    config.server = client_limits(&args.clients)?;
    config.secrets = args.keys.keys();
    // Before serving: every stored signing secret must open, and is brought under the first key.
    let sealed = secrets::seal_at_rest(store.as_ref(), &config.secrets).await.map_err(|e| e.to_string())?;
    match config.secrets.key_ids().first() {
        Some(key) => tracing::info!(key, resealed = sealed.resealed, "webhook signing secrets encrypted at rest"),
        None if mode == Mode::Production => {
            tracing::warn!("no --secret-key: webhook signing secrets are stored in clear in the database")
        }
        None => {}
    }
    config.messaging = messaging;
    let recorded = config.messaging.recorded();
    if mode == Mode::Production && !recorded.is_empty() {
        tracing::warn!(
            methods = %recorded.join(", "),
            "production mode: distribution messages by these methods are recorded, not sent (choose --email-sender smtp, --sms-sender http)"
        );
    }
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
    let sandbox = match mode {
        Mode::Sandbox => ensure_sandbox_merchant(&store, &state, args.sandbox_credentials.as_deref()).await?,
        Mode::Production => None,
    };
    print_banner(
        &public_url,
        &database::redacted(&args.database.database),
        mode,
        args.rate_limits,
        sandbox.as_ref(),
        store.merchant_count().await.unwrap_or(0),
        &state.config,
    );
    tracing::info!(
        %address, %mode, rate_limits = %args.rate_limits, max_client_connections = state.config.server.max_connections,
        "kassa listening"
    );
    kassa_server::serve(listener, state, shutdown_signal()).await.map_err(|e| format!("server failed: {e}"))?;
    tracing::info!("kassa stopped");
    Ok(())
}

/// Files the process keeps for itself besides client connections: the database, the callbacks'
/// own connections, its files.
const RESERVED_FILES: u64 = 128;

/// The server's client limits from the flags; the connection cap stays under the file limit
/// (raised to the hard limit first), so running out of descriptors cannot stop `/healthz`.
fn client_limits(args: &ClientLimitArgs) -> Result<ServerLimits, String> {
    let files = rlimit::increase_nofile_limit(u64::MAX).map_err(|e| format!("cannot read the file limit: {e}"))?;
    let fit = files.saturating_sub(RESERVED_FILES).max(1);
    let max_connections = match args.max_client_connections {
        Some(asked) if asked > fit => {
            return Err(format!(
                "--max-client-connections {asked} does not fit the file limit of {files} (at most {fit}: \
                 {RESERVED_FILES} are kept for the database and callbacks); raise the limit (ulimit -n) or the cap lower"
            ));
        }
        Some(asked) => asked,
        None => fit,
    };
    let seconds = std::time::Duration::from_secs;
    Ok(ServerLimits {
        header_timeout: seconds(args.header_timeout),
        body_timeout: seconds(args.body_timeout),
        max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
        drain_deadline: seconds(args.drain_deadline),
    })
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

fn print_banner(
    url: &str,
    database: &str,
    mode: Mode,
    rate_limits: RateLimits,
    sandbox: Option<&SandboxMerchant>,
    merchants: u64,
    config: &Config,
) {
    println!("kassa {} is running in {mode} mode", env!("CARGO_PKG_VERSION"));
    println!("  API       {url}");
    println!("  OpenAPI   {url}/openapi.json");
    println!("  Dashboard {url}/dashboard  (log in with the merchant credentials)");
    println!("  Database  {database}");
    match config.secrets.key_ids().first() {
        Some(key) => println!("  Secrets   webhook signing secrets encrypted at rest (key {key})"),
        None => println!("  Secrets   webhook signing secrets stored in clear (no --secret-key)"),
    }
    println!("  Messages  {}", config.messaging.describe());
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
        None => println!("  {merchants} merchant(s) in the database; add one with `kassa merchant add --name <name>`"),
    }
    println!("Stop with Ctrl-C.");
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
