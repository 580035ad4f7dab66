//! A real HTTP receiver for status callbacks: it records every request as it arrives (before it
//! answers) and answers as it is told, per request (a script) or always: any status, a
//! `Retry-After`, after a delay, or never (a hang).
//!
//! With pages ([`Receiver::start_with_pages`]) it is a merchant's web site as well: requests
//! other than POST are answered by the pages and not recorded.

use crate::poll::eventually;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to answer one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The `Retry-After` header, as sent (seconds or an HTTP date).
    pub retry_after: Option<String>,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Answer {
    /// 204 No Content, at once.
    pub fn ok() -> Self {
        Self::status(204)
    }

    /// `code`, at once.
    pub fn status(code: u16) -> Self {
        Self { status: code, retry_after: None, delay: Duration::ZERO }
    }

    /// 429 with `Retry-After: <seconds>`.
    pub fn too_many(seconds: u64) -> Self {
        Self::status(429).retry_after(seconds.to_string())
    }

    /// Never answers (not while a test runs).
    pub fn hang() -> Self {
        Self::ok().after(Duration::from_secs(3600))
    }

    /// The same answer with a `Retry-After` header of `value`.
    pub fn retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// The same answer, given `delay` after the request arrived.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the answer was handed back (`None` while it is still being held, or never given).
    pub answered_at: Option<Instant>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("a JSON body ({e}): {:?}", self.body))
    }

    /// A header's value, or "" when it is missing.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// `kassa-event-sequence`.
    pub fn sequence(&self) -> u64 {
        self.header("kassa-event-sequence").parse().unwrap_or_else(|_| panic!("no event sequence: {self:?}"))
    }

    /// `kassa-session-id`.
    pub fn session_id(&self) -> &str {
        self.header("kassa-session-id")
    }

    /// `webhook-id`: the event id, the same on every attempt and redelivery.
    pub fn event_id(&self) -> &str {
        self.header("webhook-id")
    }
}

type Pages = Arc<dyn Fn(&Uri) -> Response + Send + Sync>;

struct Inner {
    script: Mutex<VecDeque<Answer>>,
    default: Mutex<Answer>,
    received: Mutex<Vec<Received>>,
    pages: Option<Pages>,
}

#[derive(Clone)]
pub struct Receiver {
    /// `http://<ip>:<port>`, without a path: callbacks may go to any path.
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_at("127.0.0.1").await
    }

    /// On another loopback address (a different host for kassa's per-host limits).
    pub async fn start_at(ip: &str) -> Self {
        Self::serve(ip, None).await
    }

    /// A merchant's web site: `pages` answers every request but POST; POSTs are recorded and
    /// answered like any receiver's.
    pub async fn start_with_pages(pages: impl Fn(&Uri) -> Response + Send + Sync + 'static) -> Self {
        Self::serve("127.0.0.1", Some(Arc::new(pages))).await
    }

    async fn serve(ip: &str, pages: Option<Pages>) -> Self {
        let inner = Arc::new(Inner {
            script: Mutex::default(),
            default: Mutex::new(Answer::ok()),
            received: Mutex::default(),
            pages,
        });
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(receive).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inner }
    }

    /// An HPP session's `merchant_urls` that send its status callbacks here (to `/cb`).
    pub fn merchant_urls(&self) -> serde_json::Value {
        serde_json::json!({"status_update": format!("{}/cb", self.url)})
    }

    /// Answers the next requests in this order, then as [`Receiver::answer_always`] says.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.script.lock().unwrap().extend(answers);
    }

    /// How to answer once the script is used up ([`Answer::ok`] unless told otherwise).
    pub fn answer_always(&self, answer: Answer) {
        *self.inner.default.lock().unwrap() = answer;
    }

    /// Every request recorded so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// How many requests arrived so far.
    pub fn count(&self) -> usize {
        self.inner.received.lock().unwrap().len()
    }

    /// How many requests were answered so far.
    pub fn answered(&self) -> usize {
        self.inner.received.lock().unwrap().iter().filter(|r| r.answered_at.is_some()).count()
    }

    /// Waits until at least `count` requests arrived and returns them all; fails after `within`.
    /// At least: that no more arrive is for the caller to show, once the deliveries are settled.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        eventually(format!("{count} callbacks at {}", self.url), within, || async {
            let got = self.received();
            if got.len() >= count { Ok(got) } else { Err(format!("{} arrived", got.len())) }
        })
        .await
    }
}

async fn receive(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST
        && let Some(pages) = &inner.pages
    {
        return pages(&uri);
    }
    let index = {
        let mut received = inner.received.lock().unwrap();
        received.push(Received { method, uri, headers, body, answered_at: None });
        received.len() - 1
    };
    let scripted = inner.script.lock().unwrap().pop_front();
    let answer = scripted.unwrap_or_else(|| inner.default.lock().unwrap().clone());
    tokio::time::sleep(answer.delay).await;
    let status = StatusCode::from_u16(answer.status).expect("a valid status code");
    let body = if status.is_success() { "" } else { "receiver says no" };
    let mut response = (status, body).into_response();
    if let Some(value) = &answer.retry_after {
        response.headers_mut().insert("retry-after", value.parse().expect("a header value"));
    }
    inner.received.lock().unwrap()[index].answered_at = Some(Instant::now());
    response
}
