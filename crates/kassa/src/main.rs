//! The `kassa` command: run the server, manage merchants, migrate the database.

mod bench;
mod cli;
mod database;
mod serve;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing();
    let result = match cli.command {
        cli::Command::Serve(args) => serve::run(args).await,
        cli::Command::Merchant { command: cli::MerchantCommand::Add(args) } => add_merchant(args).await,
        cli::Command::Bench(args) => bench::run(args).await,
        cli::Command::Migrate(args) => {
            database::open(&args).await.map(|_| println!("migrations applied to {}", args.database))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kassa: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn add_merchant(args: cli::MerchantAdd) -> Result<(), String> {
    let store = database::open(&args.database).await?;
    let now = kassa_server::clock::Clock::now(&kassa_server::clock::SystemClock);
    let created = kassa_server::credentials::create(&args.name, args.username.as_deref(), args.secret.as_deref(), now)?;
    store.insert_merchant(&created.merchant).await.map_err(|e| format!("could not add the merchant: {e}"))?;
    println!("merchant {:?} added", created.merchant.name);
    println!("username: {}", created.merchant.username);
    println!("secret:   {}", created.secret);
    println!("(the secret is stored hashed; this is the only time it is shown)");
    Ok(())
}
