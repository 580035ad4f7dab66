//! `kassa trigger <scenario>`: creates and drives a whole scenario through the API (as the
//! merchant, and as the consumer and Klarna through the sandbox controls), printing each step.
//! With `--json` it prints the steps as one JSON object, for scripts and tests.

mod hpp;
mod instore;
mod order;

use super::RemoteArgs;
use clap::{Args, ValueEnum};
use kassa_client::Client;
use kassa_client::payments::Cart;
use serde::Serialize;
use std::io::Write;

#[derive(Debug, Args)]
pub struct TriggerArgs {
    pub scenario: Scenario,
    /// Where the scenario's sessions send their status callbacks (HPP `status_update`, in-store
    /// `callback_urls.status_update`); none when absent (`kassa listen` shows the events anyway).
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
    /// Print one JSON object (`{"scenario", "steps": [...]}`) instead of a line per step.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// An HPP session approved by the consumer; the order placed with the authorization.
    HppApproved,
    /// Declined on the page, then the consumer comes back and is approved.
    HppDeclinedThenApproved,
    /// The consumer goes back to the shop.
    HppBack,
    /// The consumer cancels on the page.
    HppCancelled,
    /// The merchant disables the session before the consumer pays.
    HppDisabled,
    /// Nobody pays: the sandbox clock moves past the session's expiry, and it is gone.
    HppExpired,
    /// An in-store payment: distributed, opened on the phone, paid; the order placed and captured.
    InstoreCompleted,
    /// Pushed to a short code no phone has: FAILED (retryable); retried with the right code, paid.
    InstoreShortCodeFailedThenRetried,
    /// An in-store payment nobody pays: cancelled after 3 hours (sandbox clock).
    InstoreAutoCancelled,
    /// An order captured in full, then partly refunded.
    OrderCapturedAndRefunded,
}

/// One step: what was done, and the status of the session it was done to after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub action: String,
    /// `payment`, `hpp`, `distribution`, `order`.
    pub kind: &'static str,
    pub id: String,
    pub status: String,
}

/// A scenario as it runs: its client, the steps so far (printed as they happen unless the
/// report is JSON).
pub struct Run {
    pub client: Client,
    pub callback_url: Option<String>,
    steps: Vec<Step>,
    quiet: bool,
}

impl Run {
    /// Records (and prints) a step.
    pub fn step(&mut self, action: impl Into<String>, kind: &'static str, id: &str, status: impl Into<String>) {
        let step = Step { action: action.into(), kind, id: id.to_owned(), status: status.into() };
        if !self.quiet {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{:>2}. {:<52} {:<12} {:<36} {}",
                self.steps.len() + 1,
                step.action,
                step.kind,
                step.id,
                step.status
            );
            let _ = out.flush();
        }
        self.steps.push(step);
    }
}

pub async fn run(args: TriggerArgs) -> Result<(), String> {
    let client = args.remote.client()?;
    let mut run = Run { client, callback_url: args.callback_url.clone(), steps: Vec::new(), quiet: args.json };
    let name = args.scenario.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default();
    if !args.json {
        println!("{name} on {}", run.client.base_url());
    }
    let outcome = play(&mut run, args.scenario).await.map_err(|e| format!("{name}: {e}"));
    if args.json {
        println!("{}", serde_json::json!({ "scenario": name, "steps": run.steps, "error": outcome.as_ref().err() }));
    }
    outcome
}

async fn play(run: &mut Run, scenario: Scenario) -> Result<(), kassa_client::Error> {
    match scenario {
        Scenario::HppApproved => hpp::approved(run).await,
        Scenario::HppDeclinedThenApproved => hpp::declined_then_approved(run).await,
        Scenario::HppBack => hpp::back(run).await,
        Scenario::HppCancelled => hpp::cancelled(run).await,
        Scenario::HppDisabled => hpp::disabled(run).await,
        Scenario::HppExpired => hpp::expired(run).await,
        Scenario::InstoreCompleted => instore::completed(run).await,
        Scenario::InstoreShortCodeFailedThenRetried => instore::short_code_failed_then_retried(run).await,
        Scenario::InstoreAutoCancelled => instore::auto_cancelled(run).await,
        Scenario::OrderCapturedAndRefunded => order::captured_and_refunded(run).await,
    }
}

/// The scenarios' cart: the OpenAPI document's example (a bike in Sweden, 180.00 SEK with 30.00
/// tax after a 20.00 discount), referenced as the trigger's.
pub fn cart() -> Cart {
    let example = serde_json::from_value(kassa_server::wire::examples::cart()).unwrap_or_default();
    Cart { merchant_reference1: Some("kassa-trigger".into()), ..example }
}

/// A status as the wire spells it (`COMPLETED`).
pub fn spelled(status: impl Serialize) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
