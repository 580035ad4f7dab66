//! One HTTP attempt of a callback: the body, the Standard Webhooks headers, the outcome.

use crate::app::clock::Clocks;
use crate::app::config::Config;
use kassa_core::retry::{AttemptOutcome, RetryAfter};
use kassa_core::signature::{WebhookSecret, sign};
use kassa_store::{ClaimedDelivery, SessionKind};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use std::time::Duration;
use tokio::time::Instant;

/// The per-session sequence number of the event, so receivers can drop stale updates.
pub const SEQUENCE_HEADER: &str = "kassa-event-sequence";
/// The session the event belongs to.
pub const SESSION_HEADER: &str = "kassa-session-id";
/// The kind of that session (`hpp`, `distribution`), as the events feed names it.
pub const SESSION_KIND_HEADER: &str = "kassa-session-kind";
/// How much of a response body the attempt log keeps.
const EXCERPT_BYTES: usize = 512;

/// The callback body of event `event_id` of a session of `kind` whose read body was `body`: HPP
/// sends `{event_id, session}` with `session` exactly the read body at the time of the change;
/// an in-store distribution sends its result payload as it is. (`kassa listen` forwards events
/// with it too.)
pub fn callback_body(kind: SessionKind, event_id: &str, body: &serde_json::Value) -> Vec<u8> {
    let body = match kind {
        SessionKind::Hpp => serde_json::json!({ "event_id": event_id, "session": body }),
        _ => body.clone(),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// What the attempt log records, besides the outcome the retry policy judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub outcome: AttemptOutcome,
    pub duration: Duration,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub excerpt: Option<String>,
}

/// Sends one attempt; never longer than `timeout` in all (connect, send, and reading the excerpt).
/// The signature's timestamp is wall time; a `Retry-After` date comes back on the merchant's
/// service clock (the one the retry is decided on: the service clock plus the merchant's sandbox
/// offset), as far ahead of it as the date is of the wall clock.
///
/// `twice` (the sandbox's `duplicate`): once the first request has its answer, the very same
/// request (the same `webhook-id`, timestamp, signature and body) is sent again, within a
/// timeout of its own; the attempt is judged by the first answer.
pub async fn send(
    client: &reqwest::Client,
    config: &Config,
    claimed: &ClaimedDelivery,
    clocks: &Clocks,
    timeout: Duration,
    twice: bool,
) -> Sent {
    let started = Instant::now();
    let body = callback_body(claimed.delivery.session_kind, &claimed.delivery.event_id, &claimed.body);
    let delivery = &claimed.delivery;
    // A secret no configured key opens is never replaced by garbage or left out: nothing is sent,
    // and the attempt says why (start-up refuses such secrets; this is a merchant written since
    // under another key).
    let secrets: Vec<WebhookSecret> = match config.secrets.open_all(&delivery.merchant_id, &claimed.webhook_secrets) {
        Ok(clear) => clear.iter().filter_map(|s| s.parse().ok()).collect(),
        Err(unreadable) => {
            return Sent {
                outcome: AttemptOutcome::NetworkError,
                duration: started.elapsed(),
                status_code: None,
                error: Some(format!("not sent: the merchant's webhook signing secret cannot be read: {unreadable}")),
                excerpt: None,
            };
        }
    };
    let timestamp = clocks.wall.now().millis() / 1000;
    let mut request = client
        .post(&delivery.url)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, concat!("kassa/", env!("CARGO_PKG_VERSION")))
        .header("webhook-id", &delivery.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(SEQUENCE_HEADER, delivery.seq.to_string())
        .header(SESSION_HEADER, &delivery.session_id)
        .header(SESSION_KIND_HEADER, delivery.session_kind.as_str());
    if !secrets.is_empty() {
        request = request.header("webhook-signature", sign(&secrets, &delivery.event_id, timestamp, &body));
    }
    let duplicate = if twice { request.try_clone().map(|copy| copy.body(body.clone())) } else { None };
    // The target check resolves the host: inside the timeout, like everything else.
    let exchange = async {
        if let Err(refused) = config.callback_targets.check_resolved(&delivery.url).await {
            return Err(Failure::Refused(refused));
        }
        let response = request.body(body).send().await.map_err(Failure::Http)?;
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get(RETRY_AFTER).and_then(|v| RetryAfter::parse(v.to_str().ok()?)).map(|wish| {
                wish.rebased(clocks.wall.now(), clocks.service.now().plus_millis(claimed.clock_ahead_millis))
            });
        let bytes = response.bytes().await.unwrap_or_default();
        Ok((status, retry_after, bytes))
    };
    let answered = tokio::time::timeout(timeout, exchange).await;
    // The copy only follows a first request the target answered: one refused by the target
    // check is not sent at all, and one that timed out has used the attempt's time.
    if let (Some(copy), Ok(Ok(_))) = (duplicate, &answered) {
        match tokio::time::timeout(timeout, copy.send()).await {
            Ok(Ok(response)) => {
                tracing::debug!(status = response.status().as_u16(), event = %delivery.event_id, "sandbox: duplicate sent")
            }
            Ok(Err(error)) => tracing::debug!(error = %error_chain(&error), "sandbox: the duplicate was not answered"),
            Err(_) => tracing::debug!("sandbox: the duplicate got no answer in time"),
        }
    }
    match answered {
        Err(_) => Sent {
            outcome: AttemptOutcome::Timeout,
            duration: started.elapsed(),
            status_code: None,
            error: Some(format!("no response within {} ms", timeout.as_millis())),
            excerpt: None,
        },
        Ok(Err(Failure::Refused(refused))) => Sent {
            outcome: AttemptOutcome::NetworkError,
            duration: started.elapsed(),
            status_code: None,
            error: Some(format!("target refused: {refused}")),
            excerpt: None,
        },
        Ok(Err(Failure::Http(error))) => Sent {
            outcome: if error.is_timeout() { AttemptOutcome::Timeout } else { AttemptOutcome::NetworkError },
            duration: started.elapsed(),
            status_code: None,
            error: Some(error_chain(&error)),
            excerpt: None,
        },
        Ok(Ok((status, retry_after, bytes))) => {
            let outcome = if (200..300).contains(&status) {
                AttemptOutcome::Success
            } else {
                AttemptOutcome::HttpStatus { status, retry_after }
            };
            let excerpt = (!bytes.is_empty())
                .then(|| String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT_BYTES)]).into_owned());
            let error = (outcome != AttemptOutcome::Success).then(|| format!("HTTP {status}"));
            Sent { outcome, duration: started.elapsed(), status_code: Some(status), error, excerpt }
        }
    }
}

enum Failure {
    Refused(String),
    Http(reqwest::Error),
}

/// reqwest's top-level message hides the cause ("error sending request"); the log wants it.
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
