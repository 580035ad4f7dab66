//! The delivery worker stepped by hand: a server with its HTTP surface only (no worker, no
//! scheduler of its own) whose wall clock is a [`ManualClock`], so no clock ticks: callbacks go
//! out when the test drains, retries fall due when the test moves the sandbox clock, and every
//! time the log shows is exact. Nothing here sleeps.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kassa_core::Timestamp;
use kassa_core::retry::RetryPolicy;
use kassa_server::app::clock::{Clock, ManualClock, SandboxClock};
use kassa_server::app::config::RateLimits;
use kassa_server::model::credentials;
use kassa_server::runtime::delivery;
use kassa_server::{AppState, Config, Mode};
use kassa_store::Store;
use kassa_store::testing::TestDatabase;
use kassa_testkit::{Reply, cart, read};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

/// 2030-01-01T00:00:00Z: any whole second would do.
const START: Timestamp = Timestamp::from_millis(1_893_456_000_000);
const HOUR: i64 = 3_600_000;

/// How the receiver answers one callback.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// 503 without `Retry-After`.
    Busy,
    /// 503 with `Retry-After` an HTTP-date this many seconds after the wall clock.
    BusyFor(u64),
}

#[derive(Default)]
struct Calls {
    script: Mutex<VecDeque<Answer>>,
    /// The `kassa-event-sequence` of every callback, in arrival order.
    sequences: Mutex<Vec<u64>>,
}

struct Stepped {
    url: String,
    client: reqwest::Client,
    auth: (String, String),
    state: AppState,
    receiver: String,
    calls: Arc<Calls>,
    server: tokio::task::JoinHandle<()>,
    _database: TestDatabase,
}

impl Drop for Stepped {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A sandbox server on a fresh database over a manual wall clock at [`START`], one merchant on
/// the retry policy `policy`, and a receiver that answers by `script` (then 204).
async fn stepped(policy: RetryPolicy, script: impl IntoIterator<Item = Answer>) -> Stepped {
    let database = match std::env::var("KASSA_TEST_BACKEND").as_deref() {
        Ok("postgres") => TestDatabase::postgres().await.expect("KASSA_TEST_BACKEND=postgres needs PostgreSQL"),
        _ => TestDatabase::sqlite(),
    };
    let store: Arc<dyn Store> = Arc::new(database.open().await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = Config { rate_limits: RateLimits::off(), ..Config::new(&url, Mode::Sandbox) };
    let wall = Arc::new(ManualClock::at(START));
    let state = AppState::with_wall_clock(store.clone(), config, wall.clone());
    let mut created = credentials::create("Stepped shop", None, None, state.now()).unwrap();
    created.merchant.retry_policy = policy;
    store.insert_merchant(&created.merchant).await.unwrap();
    let app = kassa_server::app(state.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let calls = Arc::new(Calls::default());
    calls.script.lock().unwrap().extend(script);
    let receiver = receive(calls.clone(), wall).await;
    let auth = (created.merchant.username, created.secret);
    Stepped { url, client: reqwest::Client::new(), auth, state, receiver, calls, server, _database: database }
}

/// A callback receiver; answers with HTTP-dates on `wall`, the clock the server sees as real.
async fn receive(calls: Arc<Calls>, wall: Arc<ManualClock>) -> String {
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let (calls, wall) = (calls.clone(), wall.clone());
        async move {
            let sequence = headers.get("kassa-event-sequence").and_then(|v| v.to_str().ok()?.parse().ok());
            calls.sequences.lock().unwrap().push(sequence.unwrap_or_default());
            let answer = calls.script.lock().unwrap().pop_front();
            match answer {
                None => StatusCode::NO_CONTENT.into_response(),
                Some(Answer::Busy) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                Some(Answer::BusyFor(seconds)) => {
                    let at = UNIX_EPOCH + Duration::from_millis(wall.now().millis() as u64 + seconds * 1000);
                    let date = HeaderValue::from_str(&httpdate::fmt_http_date(at)).unwrap();
                    let mut response: Response = StatusCode::SERVICE_UNAVAILABLE.into_response();
                    response.headers_mut().insert("retry-after", date);
                    response
                }
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

impl Stepped {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request =
            self.client.request(method, format!("{}{path}", self.url)).basic_auth(&self.auth.0, Some(&self.auth.1));
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    /// An HPP session whose status changes are called back to the receiver.
    async fn watched_session(&self) -> String {
        let payment = self.call(Method::POST, "/payments/v1/sessions", Some(cart())).await;
        let payment = payment.body["session_id"].as_str().expect("a payment session").to_owned();
        let body = json!({
            "payment_session_url": format!("{}/payments/v1/sessions/{payment}", self.url),
            "merchant_urls": {"status_update": self.receiver},
        });
        let reply = self.call(Method::POST, "/hpp/v1/sessions", Some(body)).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["session_id"].as_str().unwrap().to_owned()
    }

    async fn act(&self, hpp: &str, action: &str) {
        let reply = self.call(Method::POST, &format!("/sandbox/v1/hpp/sessions/{hpp}/{action}"), None).await;
        assert_eq!(reply.status, 200, "{action}: {}", reply.body);
    }

    async fn deliveries(&self, hpp: &str) -> Vec<Value> {
        let reply = self.call(Method::GET, &format!("/kassa/v1/sessions/{hpp}/deliveries"), None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["deliveries"].as_array().unwrap().clone()
    }

    fn sandbox(&self) -> &SandboxClock {
        self.state.sandbox_clock.as_deref().expect("sandbox mode")
    }

    async fn drain(&self) -> usize {
        delivery::drain(&self.state).await.unwrap()
    }

    fn sequences(&self) -> Vec<u64> {
        self.calls.sequences.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn drained_callbacks_arrive_in_order_and_a_retry_waits_for_the_clock() {
    let app = stepped(RetryPolicy::Klarna, [Answer::Busy]).await;
    let hpp = app.watched_session().await;
    for action in ["open", "decline", "open", "approve"] {
        app.act(&hpp, action).await;
    }
    // The first callback fails; the three after it wait for it (per-session order).
    assert_eq!(app.drain().await, 1);
    assert_eq!(app.sequences(), [2]);
    let log = app.deliveries(&hpp).await;
    let retry_at = app.state.now().plus_millis(2_000).to_string();
    assert_eq!(log[0]["next_attempt_at"], retry_at.as_str(), "Klarna's 2 s on the service clock: {log:#?}");
    assert_eq!(app.drain().await, 0, "not due before the clock moves");
    app.sandbox().advance(1_999);
    assert_eq!(app.drain().await, 0, "not due a millisecond early");
    app.sandbox().advance(1);
    assert_eq!(app.drain().await, 4, "the retry, then each next event once the one before is delivered");
    assert_eq!(app.sequences(), [2, 2, 3, 4, 5]);
    let log = app.deliveries(&hpp).await;
    assert!(log.iter().all(|d| d["status"] == "delivered"), "{log:#?}");
    let attempts: Vec<usize> = log.iter().map(|d| d["attempts"].as_array().unwrap().len()).collect();
    assert_eq!(attempts, [2, 1, 1, 1]);
    assert_eq!(app.drain().await, 0);
}

/// An HTTP-date `Retry-After` is real time: the delay it asks for is the date minus the wall
/// clock, and the retry falls that long after the service clock's now. (It used to be measured
/// against the service clock, so with the sandbox clock hours ahead the date lay in the past and
/// the plain schedule was used.)
#[tokio::test]
async fn a_retry_after_date_is_honoured_when_the_sandbox_clock_is_hours_ahead() {
    // Extended policy: after attempt 2 the plain delay is 5 min ± 20 %, and a Retry-After is
    // honoured within [that, twice that], so a 7 min wish is kept exactly.
    let app = stepped(RetryPolicy::Extended, [Answer::Busy, Answer::BusyFor(420)]).await;
    app.sandbox().advance(5 * HOUR);
    let hpp = app.watched_session().await;
    app.act(&hpp, "open").await;
    assert_eq!(app.drain().await, 1);
    app.sandbox().advance(10_000); // past the first retry (5 s ± 20 %)
    assert_eq!(app.drain().await, 1);
    assert_eq!(app.sequences(), [2, 2]);
    let delivery = &app.deliveries(&hpp).await[0];
    assert_eq!(delivery["attempts"][1]["status_code"], 503);
    let asked = app.state.now().plus_millis(420_000).to_string();
    assert_eq!(delivery["next_attempt_at"], asked.as_str(), "{delivery:#}");
    app.sandbox().advance(419_999);
    assert_eq!(app.drain().await, 0);
    app.sandbox().advance(1);
    assert_eq!(app.drain().await, 1);
    assert_eq!(app.deliveries(&hpp).await[0]["status"], "delivered");
}
