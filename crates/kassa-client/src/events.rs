//! kassa's events: the feed (the reconciliation batch, cursor-paged in commit order), the live
//! stream of it, and the status callbacks each event caused.

use crate::client::{Client, Request, doubling, segment};
use crate::error::Error;
use crate::sse::SseDecoder;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// One status change of a session, as committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    /// `hpp`, `payment`, `distribution`, `order` or `customer_token`.
    pub session_kind: String,
    pub session_id: String,
    /// The event's number within its session, gap-free from 1 (creation).
    pub sequence: u64,
    pub status: String,
    pub created_at: String,
    /// The session's read body at the change (what its callback carries).
    pub body: Value,
    /// Pass it as `after` to continue after this event.
    pub cursor: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventPage {
    pub events: Vec<Event>,
    pub next_cursor: String,
    pub has_more: bool,
}

/// Which events, from where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// After this cursor; from the start when absent.
    pub after: Option<String>,
    pub session_id: Option<String>,
    /// `hpp`, `payment`, `distribution`, `order` or `customer_token`.
    pub kind: Option<String>,
    /// Only events that reached this status.
    pub status: Option<String>,
    /// Feed pages: 1–1000 events (default 100).
    pub limit: Option<u32>,
    /// Feed pages: only events with a callback target no delivery has reached.
    pub undelivered: bool,
}

impl EventQuery {
    fn apply(&self, mut request: Request, paged: bool) -> Request {
        request = request
            .query("after", self.after.as_deref())
            .query("session_id", self.session_id.as_deref())
            .query("kind", self.kind.as_deref())
            .query("type", self.status.as_deref());
        if paged {
            request = request.query("limit", self.limit).query("undelivered", self.undelivered.then_some(true));
        }
        request
    }
}

/// A status callback of one event to one target, with its attempts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Delivery {
    pub delivery_id: String,
    pub event_id: String,
    pub sequence: u64,
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    #[serde(default)]
    pub next_attempt_at: Option<String>,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Attempt {
    pub attempt: u32,
    pub started_at: String,
    pub duration_ms: u64,
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct DeliveryLog {
    deliveries: Vec<Delivery>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Redelivery {
    delivery_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Secrets {
    secrets: Vec<String>,
}

/// `client.events()`.
pub struct Events<'a>(pub(crate) &'a Client);

impl Events<'_> {
    /// One page of the feed.
    pub async fn page(&self, query: &EventQuery) -> Result<EventPage, Error> {
        self.0.send(query.apply(Request::get("/kassa/v1/events"), true)).await?.json()
    }

    /// Every event after `query.after` there is now, page after page.
    pub async fn all(&self, query: &EventQuery) -> Result<Vec<Event>, Error> {
        let mut query = EventQuery { limit: query.limit.or(Some(1000)), ..query.clone() };
        let mut events = Vec::new();
        loop {
            let page = self.page(&query).await?;
            events.extend(page.events);
            if !page.has_more {
                return Ok(events);
            }
            query.after = Some(page.next_cursor);
        }
    }

    /// The stream of the feed from `query.after`, then live, as one connection: it ends when
    /// the connection does. [`Events::follow`] reconnects.
    pub async fn stream(&self, query: &EventQuery) -> Result<EventStream, Error> {
        let request = query.apply(Request::get("/kassa/v1/events/stream"), false);
        let response = self.0.open(&request).await?;
        Ok(EventStream { response, decoder: SseDecoder::new() })
    }

    /// The stream that reconnects: after a broken connection it resumes after the last event
    /// it returned, so it loses and repeats nothing.
    pub fn follow(&self, query: EventQuery) -> Follower {
        Follower { client: self.0.clone(), query, stream: None, failures: 0 }
    }

    /// A session's callbacks with their attempts.
    pub async fn deliveries(&self, session_id: &str) -> Result<Vec<Delivery>, Error> {
        let path = format!("/kassa/v1/sessions/{}/deliveries", segment(session_id));
        Ok(self.0.send(Request::get(path)).await?.json::<DeliveryLog>()?.deliveries)
    }

    /// Sends the event's callbacks again; returns the new deliveries' ids.
    pub async fn redeliver(&self, event_id: &str) -> Result<Vec<String>, Error> {
        let path = format!("/kassa/v1/events/{}/redeliver", segment(event_id));
        Ok(self.0.send(Request::write(Method::POST, path)).await?.json::<Redelivery>()?.delivery_ids)
    }

    /// The merchant's webhook signing secrets (`whsec_…`), newest first: what callbacks are
    /// signed with.
    pub async fn signing_secrets(&self) -> Result<Vec<String>, Error> {
        Ok(self.0.send(Request::get("/kassa/v1/webhooks/secrets")).await?.json::<Secrets>()?.secrets)
    }
}

/// Server-Sent Events of the feed over one connection.
pub struct EventStream {
    response: reqwest::Response,
    decoder: SseDecoder,
}

/// How long a stream may be silent (kassa sends a keep-alive every 15 s) before it counts as
/// broken.
const SILENCE: Duration = Duration::from_secs(45);

impl EventStream {
    /// The next event; `None` when the connection ended (or fell silent).
    pub async fn next(&mut self) -> Option<Result<Event, Error>> {
        loop {
            if let Some(sse) = self.decoder.next_event() {
                return Some(serde_json::from_str(&sse.data).map_err(|source| Error::Decode {
                    route: "GET /kassa/v1/events/stream".into(),
                    status: 200,
                    source,
                }));
            }
            match tokio::time::timeout(SILENCE, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.decoder.push(&chunk),
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return None,
            }
        }
    }
}

/// The events of a query, live, across reconnections.
pub struct Follower {
    client: Client,
    query: EventQuery,
    stream: Option<EventStream>,
    failures: u32,
}

impl Follower {
    /// The next event. Connection failures are retried (1 s, 2 s … at most 30 s apart); an
    /// error is returned only when retrying cannot help (bad credentials, a bad filter).
    pub async fn next(&mut self) -> Result<Event, Error> {
        loop {
            let stream = match &mut self.stream {
                Some(stream) => stream,
                None => match self.client.events().stream(&self.query).await {
                    Ok(stream) => self.stream.insert(stream),
                    Err(error) if gives_up(&error) => return Err(error),
                    Err(_) => {
                        self.pause().await;
                        continue;
                    }
                },
            };
            match stream.next().await {
                Some(Ok(event)) => {
                    self.failures = 0;
                    self.query.after = Some(event.cursor.clone());
                    return Ok(event);
                }
                Some(Err(error)) => return Err(error),
                None => {
                    self.stream = None;
                    self.pause().await;
                }
            }
        }
    }

    /// The cursor of the last event returned: where a new follower would resume.
    pub fn cursor(&self) -> Option<&str> {
        self.query.after.as_deref()
    }

    /// How many reconnections in a row have failed (0 while connected).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    async fn pause(&mut self) {
        let pause = doubling(self.failures, Duration::from_secs(1), Duration::from_secs(30));
        self.failures += 1;
        tokio::time::sleep(pause).await;
    }
}

/// 4xx but 408 and 429: the request itself is wrong, asking again will not help.
fn gives_up(error: &Error) -> bool {
    matches!(error.status(), Some(status) if (400..500).contains(&status) && status != 408 && status != 429)
}
