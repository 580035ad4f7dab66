//! `kassa sessions get <id>`: any session (payment, HPP, in-store, order, customer token) by
//! its id: its kind, what its read endpoint answers now, its events and its callbacks. An
//! in-store payment session and its distribution share their id: both are shown.

use super::RemoteArgs;
use clap::Args;
use kassa_client::events::{Event, EventQuery};
use kassa_client::{Client, path_segment};
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub struct SessionGetArgs {
    /// The session's id (an order id or a customer token id too).
    pub id: String,
    /// Print one JSON object (`{"sessions": [{kind, read_path, read, events}], "deliveries"}`)
    /// instead of text.
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
    for session in report["sessions"].as_array().into_iter().flatten() {
        println!("{} {} ({})", text(&session["kind"]), args.id, text(&session["read_path"]));
        println!("{}", serde_json::to_string_pretty(&session["read"]).unwrap_or_default());
        println!("events:");
        for event in session["events"].as_array().into_iter().flatten() {
            let (status, at, id) = (text(&event["status"]), text(&event["created_at"]), text(&event["event_id"]));
            println!("  #{} {status} {at} [{id}]", event["sequence"]);
        }
    }
    let deliveries = report["deliveries"].as_array().cloned().unwrap_or_default();
    if !deliveries.is_empty() {
        println!("callbacks:");
        for delivery in deliveries {
            let attempts = delivery["attempts"].as_array().map_or(0, Vec::len);
            let (status, url) = (text(&delivery["status"]), text(&delivery["url"]));
            println!("  #{} {status} {url} ({attempts} attempts)", delivery["sequence"]);
        }
    }
    Ok(())
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// Per kind of session with this id (in the order their first events came): its read body and
/// events; and the id's callbacks.
pub async fn describe(client: &Client, id: &str) -> Result<Value, String> {
    let query = EventQuery { session_id: Some(id.to_owned()), ..EventQuery::default() };
    let events = client.events().all(&query).await.map_err(|e| e.to_string())?;
    if events.is_empty() {
        return Err(format!("no session {id} of this merchant"));
    }
    let mut kinds: Vec<&str> = Vec::new();
    for event in &events {
        if !kinds.contains(&event.session_kind.as_str()) {
            kinds.push(&event.session_kind);
        }
    }
    let mut sessions = Vec::new();
    for kind in kinds {
        let read_path = read_path(kind, id);
        let read = match client.get_value(&read_path).await {
            Ok(body) => body,
            Err(e) if e.is_not_found() => json!({"gone": e.to_string()}),
            Err(e) => return Err(e.to_string()),
        };
        let of_kind: Vec<Value> = events.iter().filter(|e| e.session_kind == kind).map(event_summary).collect();
        sessions.push(json!({"kind": kind, "read_path": read_path, "read": read, "events": of_kind}));
    }
    let deliveries = client.events().deliveries(id).await.map_err(|e| e.to_string())?;
    Ok(json!({
        "sessions": sessions,
        "deliveries": deliveries.iter().map(|d| json!({
            "sequence": d.sequence, "status": d.status, "url": d.url, "attempts": d.attempts.iter().map(|a| json!({
                "attempt": a.attempt, "status_code": a.status_code, "error": a.error,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    }))
}

fn event_summary(event: &Event) -> Value {
    json!({"sequence": event.sequence, "status": event.status, "created_at": event.created_at, "event_id": event.event_id})
}

fn read_path(kind: &str, id: &str) -> String {
    let id = path_segment(id);
    match kind {
        "hpp" => format!("/hpp/v1/sessions/{id}"),
        "distribution" => format!("/iss/v1/distributions/{id}"),
        "order" => format!("/ordermanagement/v1/orders/{id}"),
        "customer_token" => format!("/customer-token/v1/tokens/{id}"),
        _ => format!("/payments/v1/sessions/{id}"),
    }
}
