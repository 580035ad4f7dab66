//! Server-Sent Events read from a response with the client's decoder (as a browser's
//! `EventSource` reads them), failing the test when none comes in time.

use crate::PATIENCE;
use kassa_client::sse::SseDecoder;
pub use kassa_client::sse::SseEvent;
use serde_json::Value;

/// What tests ask of an event.
pub trait SseEventExt {
    /// The data as JSON (panics when it is not).
    fn json(&self) -> Value;
    /// The id, which the stream must have sent.
    fn id(&self) -> &str;
}

impl SseEventExt for SseEvent {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("event data is not JSON ({e}): {}", self.data))
    }

    fn id(&self) -> &str {
        self.id.as_deref().expect("an event id")
    }
}

pub struct SseReader {
    response: reqwest::Response,
    decoder: SseDecoder,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self { response, decoder: SseDecoder::new() }
    }

    /// The next event; panics when none arrives within [`PATIENCE`] or the stream ends.
    pub async fn next(&mut self) -> SseEvent {
        loop {
            if let Some(event) = self.decoder.next_event() {
                return event;
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("an event in time")
                .expect("the stream to stay readable")
                .expect("the stream not to end");
            self.decoder.push(&chunk);
        }
    }

    /// The next `count` events.
    pub async fn take(&mut self, count: usize) -> Vec<SseEvent> {
        let mut events = Vec::with_capacity(count);
        while events.len() < count {
            events.push(self.next().await);
        }
        events
    }

    /// Events until one for which `last` holds (included).
    pub async fn until(&mut self, last: impl Fn(&SseEvent) -> bool) -> Vec<SseEvent> {
        let mut events = Vec::new();
        loop {
            let event = self.next().await;
            let done = last(&event);
            events.push(event);
            if done {
                return events;
            }
        }
    }
}
