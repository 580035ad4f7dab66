//! `kassa events tail`: the merchant's events as they happen (or from a cursor), one line each.

use super::{EventFilter, RemoteArgs};
use clap::Args;
use kassa_client::events::Event;
use std::io::Write;

#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub filter: EventFilter,
    /// Print each event as one line of JSON (the feed's event) instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many events.
    #[arg(long)]
    pub count: Option<u64>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub async fn run(args: TailArgs) -> Result<(), String> {
    let client = args.remote.client()?;
    let query = args.filter.query(&client).await.map_err(|e| e.to_string())?;
    let mut follower = client.events().follow(query);
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    let mut printed = 0;
    while args.count.is_none_or(|count| printed < count) {
        let event = tokio::select! {
            event = follower.next() => event.map_err(|e| e.to_string())?,
            _ = &mut stop => return Ok(()),
        };
        let text = if args.json { serde_json::to_string(&event).unwrap_or_default() } else { summary(&event) };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
        printed += 1;
    }
    Ok(())
}

pub fn summary(event: &Event) -> String {
    format!(
        "{}  {} {} session {} #{} [{}]  cursor {}",
        event.created_at,
        event.session_kind,
        event.status,
        event.session_id,
        event.sequence,
        event.event_id,
        event.cursor
    )
}
