//! Server-Sent Events read from a response as a browser's `EventSource` reads them: events split
//! at blank lines, comments (keep-alives) skipped, what arrived past an event kept for the next.

use crate::PATIENCE;
use serde_json::Value;

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    /// The `data` lines, joined with newlines.
    pub data: String,
}

impl SseEvent {
    /// The data as JSON (panics when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("event data is not JSON ({e}): {}", self.data))
    }

    /// The id, which the stream must have sent.
    pub fn id(&self) -> &str {
        self.id.as_deref().expect("an event id")
    }
}

pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self { response, buffer: String::new() }
    }

    /// The next event; panics when none arrives within [`PATIENCE`] or the stream ends.
    pub async fn next(&mut self) -> SseEvent {
        loop {
            if let Some(event) = self.parse_one() {
                return event;
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("an event in time")
                .expect("the stream to stay readable")
                .expect("the stream not to end");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
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

    /// The first whole event in the buffer, comment-only blocks dropped on the way.
    fn parse_one(&mut self) -> Option<SseEvent> {
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, None, Vec::new());
            for line in block.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => id = Some(value.to_owned()),
                    "event" => event = Some(value.to_owned()),
                    "data" => data.push(value.to_owned()),
                    _ => {}
                }
            }
            if !data.is_empty() {
                return Some(SseEvent { id, event, data: data.join("\n") });
            }
        }
        None
    }
}
