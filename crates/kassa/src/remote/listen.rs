//! `kassa listen --forward-to URL`: the merchant's events from any kassa, POSTed to a local URL
//! exactly as kassa's status callbacks are (body, Standard Webhooks headers, signed with the
//! merchant's secret), one line printed per event with the local answer.

use super::{EventFilter, RemoteArgs};
use clap::Args;
use kassa_client::events::Event;
use kassa_client::webhooks::{
    SEQUENCE_HEADER, SESSION_HEADER, SESSION_KIND_HEADER, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, Webhook,
};
use kassa_server::runtime::delivery::callback_body;
use kassa_store::SessionKind;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The local URL each event is POSTed to (`http://localhost:3000/hooks`).
    #[arg(long, value_name = "URL")]
    pub forward_to: String,
    #[command(flatten)]
    pub filter: EventFilter,
    /// Sign with this `whsec_…` secret instead of the merchant's own (read from kassa).
    #[arg(long, env = "KASSA_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Seconds the local URL has to answer.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub async fn run(args: ListenArgs) -> Result<(), String> {
    let client = args.remote.client()?;
    let secrets = match &args.secret {
        Some(secret) => vec![secret.clone()],
        None => client.events().signing_secrets().await.map_err(|e| format!("cannot read the signing secrets: {e}"))?,
    };
    let webhook = Webhook::with_secrets(secrets.iter().map(String::as_str)).map_err(|e| e.to_string())?;
    let query = args.filter.query(&client).await.map_err(|e| e.to_string())?;
    let local = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .user_agent(concat!("kassa-listen/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())?;
    eprintln!(
        "Forwarding the events of {} at {} to {}, from cursor {} (Ctrl-C to stop).",
        client.username(),
        client.base_url(),
        args.forward_to,
        query.after.as_deref().unwrap_or("(the beginning)")
    );
    let mut follower = client.events().follow(query);
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let event = tokio::select! {
            event = follower.next() => event.map_err(|e| e.to_string())?,
            _ = &mut stop => return Ok(()),
        };
        let answer = forward(&local, &args.forward_to, &webhook, &event).await;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", line(&event, &answer));
        let _ = out.flush();
    }
}

/// What the local URL answered.
enum Answer {
    Status(u16, Duration),
    Failed(String),
}

/// POSTs `event` as kassa's callback of it (the body the delivery worker sends).
async fn forward(local: &reqwest::Client, url: &str, webhook: &Webhook, event: &Event) -> Answer {
    let Some(kind) = SessionKind::parse(&event.session_kind) else {
        return Answer::Failed(format!("not forwarded: unknown session kind {:?}", event.session_kind));
    };
    let body = callback_body(kind, &event.event_id, &event.body);
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let started = Instant::now();
    let sent = local
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(WEBHOOK_ID, &event.event_id)
        .header(WEBHOOK_TIMESTAMP, timestamp.to_string())
        .header(WEBHOOK_SIGNATURE, webhook.sign(&event.event_id, timestamp, &body))
        .header(SEQUENCE_HEADER, event.sequence.to_string())
        .header(SESSION_HEADER, &event.session_id)
        .header(SESSION_KIND_HEADER, &event.session_kind)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => Answer::Status(response.status().as_u16(), started.elapsed()),
        Err(error) => Answer::Failed(kassa_client::error::describe(&error)),
    }
}

fn line(event: &Event, answer: &Answer) -> String {
    let answered = match answer {
        Answer::Status(status, took) => format!("<-- {status} ({} ms)", took.as_millis()),
        Answer::Failed(error) => format!("<-- failed: {error}"),
    };
    format!("{}  {answered}", super::tail::summary(event))
}
