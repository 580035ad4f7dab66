//! A real HTTP receiver for status callbacks, told per request how to answer.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How to answer one request.
#[derive(Debug, Clone)]
pub enum Answer {
    Ok,
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    TooMany(u64),
    /// Never answer (until the test ends).
    Hang,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn sequence(&self) -> u64 {
        self.header("kassa-event-sequence").parse().unwrap()
    }
}

#[derive(Default)]
struct Inner {
    script: Mutex<VecDeque<Answer>>,
    default: Mutex<Option<Answer>>,
    received: Mutex<Vec<Received>>,
    arrived: Notify,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_at("127.0.0.1").await
    }

    /// On another loopback address (a different host for kassa's per-host limits).
    pub async fn start_at(ip: &str) -> Self {
        let inner = Arc::new(Inner::default());
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(receive).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inner }
    }

    /// Answers the next requests in this order, then `Ok` (or the default).
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.script.lock().unwrap().extend(answers);
    }

    /// How to answer once the script is used up.
    pub fn answer_always(&self, answer: Answer) {
        *self.inner.default.lock().unwrap() = Some(answer);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived (panics after `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let notified = self.inner.arrived.notified();
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
                let got = self.received();
                assert!(got.len() >= count, "expected {count} callbacks, got {}", got.len());
                return got;
            }
        }
    }
}

async fn receive(State(inner): State<Arc<Inner>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    inner.received.lock().unwrap().push(Received { uri, headers, body });
    inner.arrived.notify_waiters();
    let answer = inner.script.lock().unwrap().pop_front().or_else(|| inner.default.lock().unwrap().clone());
    match answer.unwrap_or(Answer::Ok) {
        Answer::Ok => (StatusCode::NO_CONTENT, "").into_response(),
        Answer::Status(code) => (StatusCode::from_u16(code).unwrap(), "receiver says no").into_response(),
        Answer::TooMany(secs) => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", secs.to_string())], "slow down").into_response()
        }
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
    }
}
