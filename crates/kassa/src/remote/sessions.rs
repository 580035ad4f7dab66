//! `kassa sessions get <id>`: any session (payment, HPP, in-store, order, customer token) by
//! its id: its kind, what its read endpoint answers now, its events and its callbacks.

use super::RemoteArgs;
use clap::Args;
use kassa_client::Client;
use kassa_client::events::EventQuery;
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub struct SessionGetArgs {
    /// The session's id (an order id or a customer token id too).
    pub id: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub async fn run(args: SessionGetArgs) -> Result<(), String> {
    let client = args.remote.client()?;
    let report = describe(&client, &args.id).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
        return Ok(());
    }
    println!("{} {} ({})", report["kind"].as_str().unwrap_or("?"), args.id, report["read_path"].as_str().unwrap_or(""));
    println!("{}", serde_json::to_string_pretty(&report["read"]).unwrap_or_default());
    println!("events:");
    for event in report["events"].as_array().into_iter().flatten() {
        println!(
            "  #{} {} {} [{}]",
            event["sequence"],
            event["status"].as_str().unwrap_or(""),
            event["created_at"].as_str().unwrap_or(""),
            event["event_id"].as_str().unwrap_or("")
        );
    }
    let deliveries = report["deliveries"].as_array().cloned().unwrap_or_default();
    if !deliveries.is_empty() {
        println!("callbacks:");
        for delivery in deliveries {
            let attempts = delivery["attempts"].as_array().map_or(0, Vec::len);
            println!(
                "  #{} {} {} ({attempts} attempts)",
                delivery["sequence"],
                delivery["status"].as_str().unwrap_or(""),
                delivery["url"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// The session's kind (from its first event), read body, events and deliveries.
pub async fn describe(client: &Client, id: &str) -> Result<Value, String> {
    let query = EventQuery { session_id: Some(id.to_owned()), ..EventQuery::default() };
    let events = client.events().all(&query).await.map_err(|e| e.to_string())?;
    let kind =
        events.first().map(|e| e.session_kind.clone()).ok_or_else(|| format!("no session {id} of this merchant"))?;
    let read_path = read_path(&kind, id);
    let read = match client.get_value(&read_path).await {
        Ok(body) => body,
        Err(e) if e.is_not_found() => json!({"gone": e.to_string()}),
        Err(e) => return Err(e.to_string()),
    };
    let deliveries = client.events().deliveries(id).await.map_err(|e| e.to_string())?;
    Ok(json!({
        "kind": kind,
        "read_path": read_path,
        "read": read,
        "events": events.iter().map(|e| json!({
            "sequence": e.sequence, "status": e.status, "created_at": e.created_at, "event_id": e.event_id,
        })).collect::<Vec<_>>(),
        "deliveries": deliveries.iter().map(|d| json!({
            "sequence": d.sequence, "status": d.status, "url": d.url, "attempts": d.attempts.iter().map(|a| json!({
                "attempt": a.attempt, "status_code": a.status_code, "error": a.error,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    }))
}

fn read_path(kind: &str, id: &str) -> String {
    match kind {
        "hpp" => format!("/hpp/v1/sessions/{id}"),
        "distribution" => format!("/iss/v1/distributions/{id}"),
        "order" => format!("/ordermanagement/v1/orders/{id}"),
        "customer_token" => format!("/customer-token/v1/tokens/{id}"),
        _ => format!("/payments/v1/sessions/{id}"),
    }
}
