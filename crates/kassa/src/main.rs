//! The `kassa` command: run the server, manage merchants, migrate the database; and, as a
//! client of any kassa, listen, trigger scenarios, tail events, read sessions.

mod bench;
mod bench_callbacks;
mod cli;
mod config_file;
mod database;
mod doctor;
mod files;
mod given;
mod local;
mod plot;
mod progress;
mod remote;
mod senders;
mod serve;
mod validate;

use kassa_core::retry::RetryPolicy;
use kassa_server::service::secrets;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = config_file::parse();
    init_tracing(&cli.log_format);
    let result = match cli.command {
        cli::Command::Serve(args) => serve::run(args).await,
        cli::Command::Doctor(args) => doctor::run(args).await,
        cli::Command::Merchant { command: cli::MerchantCommand::Add(args) } => add_merchant(args).await,
        cli::Command::Merchant { command: cli::MerchantCommand::Webhooks(args) } => merchant_webhooks(args).await,
        cli::Command::Merchant { command: cli::MerchantCommand::Reencrypt(args) } => reencrypt(args).await,
        cli::Command::Bench(args) => bench::run(args).await,
        cli::Command::BenchCallbacks(args) => bench_callbacks::run(args).await,
        cli::Command::Listen(args) => remote::listen::run(args).await,
        cli::Command::Trigger(args) => remote::trigger::run(args).await,
        cli::Command::Events { command: cli::EventsCommand::Tail(args) } => remote::tail::run(args).await,
        cli::Command::Sessions { command: cli::SessionsCommand::Get(args) } => remote::sessions::run(args).await,
        cli::Command::Migrate(args) => database::open(&args)
            .await
            .map(|_| println!("migrations applied to {}", database::redacted(&args.database))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kassa: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into());
    // Colours only for a person at a terminal: a log file or a shipper gets plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
    match format {
        "json" => logs.json().with_current_span(true).with_span_list(true).init(),
        _ => logs.init(),
    }
}

async fn add_merchant(args: cli::MerchantAdd) -> Result<(), String> {
    let store = database::open(&args.database).await?;
    let now = kassa_server::app::clock::Clock::now(&kassa_server::app::clock::SystemClock);
    let mut created =
        kassa_server::model::credentials::create(&args.name, args.username.as_deref(), args.secret.as_deref(), now)?;
    created.merchant.retry_policy = retry_policy(&args.retry_policy)?;
    secrets::add_merchant(store.as_ref(), &args.keys.keys(), &created.merchant)
        .await
        .map_err(|e| format!("could not add the merchant: {e}"))?;
    println!("merchant {:?} added", created.merchant.name);
    println!("username: {}", created.merchant.username);
    println!("secret:   {}", created.secret);
    println!("(the secret is stored hashed; this is the only time it is shown)");
    println!("webhook signing secret: {}", created.merchant.webhook_secrets.join(" "));
    println!("callback retry policy:  {}", created.merchant.retry_policy);
    Ok(())
}

fn retry_policy(name: &str) -> Result<RetryPolicy, String> {
    RetryPolicy::parse(name)
        .ok_or_else(|| format!("unknown retry policy {name:?} (expected {})", RetryPolicy::expected()))
}

/// Shows, and on request changes, a merchant's callback retry policy and signing secrets.
async fn merchant_webhooks(args: cli::MerchantWebhooks) -> Result<(), String> {
    let store = database::open(&args.database).await?;
    let merchant = store
        .merchant_by_username(&args.username)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no merchant with username {:?}", args.username))?;
    let keys = args.keys.keys();
    let stored = secrets::webhook_secrets(&keys, &merchant).map_err(|e| e.to_string())?;
    let mut clear = stored.clone();
    if args.rotate_secret {
        // The new secret signs first; the newest previous one keeps verifying during the rotation.
        clear.truncate(1);
        clear.insert(0, kassa_server::model::credentials::new_webhook_secret());
    }
    if args.drop_old_secrets {
        clear.truncate(1);
    }
    let policy = args.retry_policy.as_deref().map(retry_policy).transpose()?.unwrap_or(merchant.retry_policy);
    if clear != stored || policy != merchant.retry_policy {
        secrets::set_webhooks(store.as_ref(), &keys, &merchant, &clear, policy).await.map_err(|e| e.to_string())?;
    }
    if args.rotate_secret || args.drop_old_secrets {
        // A credential change: whoever is logged in to the dashboard logs in again.
        let ended = store.delete_merchant_browser_sessions(&merchant.id).await.map_err(|e| e.to_string())?;
        println!("merchant {}: {ended} dashboard login(s) ended", args.username);
    }
    println!("merchant {}: callback retry policy {policy}", args.username);
    for (i, secret) in clear.iter().enumerate() {
        println!("signing secret {}: {secret}{}", i + 1, if i == 0 { " (newest)" } else { "" });
    }
    Ok(())
}

/// Brings every merchant's webhook signing secrets under the first `--secret-key`.
async fn reencrypt(args: cli::MerchantReencrypt) -> Result<(), String> {
    let store = database::open(&args.database).await?;
    let keys = args.keys.keys();
    let done = secrets::seal_at_rest(store.as_ref(), &keys).await.map_err(|e| e.to_string())?;
    match keys.key_ids().first() {
        Some(key) => println!("{} of {} merchant(s) re-encrypted under key {key}", done.resealed, done.merchants),
        None => println!("no --secret-key: the secrets of {} merchant(s) stay in clear", done.merchants),
    }
    Ok(())
}
