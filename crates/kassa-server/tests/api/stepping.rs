//! The delivery worker stepped by hand: a server with its HTTP surface only (no worker, no
//! scheduler of its own) whose wall clock is a [`ManualClock`], so no clock ticks: callbacks go
//! out when the test drains, retries fall due when the test moves the sandbox clock, and every
//! time the log shows is exact. Nothing here sleeps.

use kassa_core::Timestamp;
use kassa_core::retry::RetryPolicy;
use kassa_server::app::clock::{ManualClock, SandboxClock};
use kassa_server::app::config::RateLimits;
use kassa_server::model::credentials;
use kassa_server::runtime::delivery;
use kassa_server::{AppState, Config, Mode};
use kassa_store::Store;
use kassa_store::testing::TestDatabase;
use kassa_testkit::app::test_database;
use kassa_testkit::{Answer, Client, Merchant, Receiver};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// 2030-01-01T00:00:00Z: any whole second would do.
const START: Timestamp = Timestamp::from_millis(1_893_456_000_000);
const HOUR: i64 = 3_600_000;

/// 503 without `Retry-After`.
fn busy() -> Answer {
    Answer::status(503)
}

/// 503 with `Retry-After` the HTTP-date `seconds` after [`START`] (the wall clock, which stands
/// still).
fn busy_for(seconds: u64) -> Answer {
    let at = UNIX_EPOCH + Duration::from_millis(START.millis() as u64 + seconds * 1000);
    busy().retry_after(httpdate::fmt_http_date(at))
}

struct Stepped {
    api: Client,
    state: AppState,
    receiver: Receiver,
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
    let database = test_database().await;
    let store: Arc<dyn Store> = Arc::new(database.open().await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = Config { rate_limits: RateLimits::off(), ..Config::new(&url, Mode::Sandbox) };
    let state = AppState::with_wall_clock(store.clone(), config, Arc::new(ManualClock::at(START)));
    let mut created = credentials::create("Stepped shop", None, None, state.now()).unwrap();
    created.merchant.retry_policy = policy;
    store.insert_merchant(&created.merchant).await.unwrap();
    // The HTTP surface only: no worker or scheduler of its own.
    let app = kassa_server::app(state.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let receiver = Receiver::start().await;
    receiver.script(script);
    let api = Client::new(url, Merchant::new(created.merchant.username, created.secret));
    Stepped { api, state, receiver, server, _database: database }
}

impl Stepped {
    /// An HPP session whose status changes are called back to the receiver.
    async fn watched_session(&self) -> String {
        self.api.hpp_session(json!({}), json!({"status_update": self.receiver.url})).await.0
    }

    async fn act(&self, hpp: &str, action: &str) {
        self.api.act(hpp, action).await.assert_success();
    }

    fn sandbox(&self) -> &SandboxClock {
        self.state.sandbox_clock.as_deref().expect("sandbox mode")
    }

    async fn drain(&self) -> usize {
        delivery::drain(&self.state).await.unwrap()
    }

    /// The `kassa-event-sequence` of every callback, in arrival order.
    fn sequences(&self) -> Vec<u64> {
        self.receiver.received().iter().map(|r| r.sequence()).collect()
    }
}

#[tokio::test]
async fn drained_callbacks_arrive_in_order_and_a_retry_waits_for_the_clock() {
    let app = stepped(RetryPolicy::Klarna, [busy()]).await;
    let hpp = app.watched_session().await;
    for action in ["open", "decline", "open", "approve"] {
        app.act(&hpp, action).await;
    }
    // The first callback fails; the three after it wait for it (per-session order).
    assert_eq!(app.drain().await, 1);
    assert_eq!(app.sequences(), [2]);
    let log = app.api.deliveries(&hpp).await;
    let retry_at = app.state.now().plus_millis(2_000).to_string();
    assert_eq!(log[0]["next_attempt_at"], retry_at.as_str(), "Klarna's 2 s on the service clock: {log:#?}");
    assert_eq!(app.drain().await, 0, "not due before the clock moves");
    app.sandbox().advance(1_999);
    assert_eq!(app.drain().await, 0, "not due a millisecond early");
    app.sandbox().advance(1);
    assert_eq!(app.drain().await, 4, "the retry, then each next event once the one before is delivered");
    assert_eq!(app.sequences(), [2, 2, 3, 4, 5]);
    let log = app.api.deliveries(&hpp).await;
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
    let app = stepped(RetryPolicy::Extended, [busy(), busy_for(420)]).await;
    app.sandbox().advance(5 * HOUR);
    let hpp = app.watched_session().await;
    app.act(&hpp, "open").await;
    assert_eq!(app.drain().await, 1);
    app.sandbox().advance(10_000); // past the first retry (5 s ± 20 %)
    assert_eq!(app.drain().await, 1);
    assert_eq!(app.sequences(), [2, 2]);
    let delivery = &app.api.deliveries(&hpp).await[0];
    assert_eq!(delivery["attempts"][1]["status_code"], 503);
    let asked = app.state.now().plus_millis(420_000).to_string();
    assert_eq!(delivery["next_attempt_at"], asked.as_str(), "{delivery:#}");
    app.sandbox().advance(419_999);
    assert_eq!(app.drain().await, 0);
    app.sandbox().advance(1);
    assert_eq!(app.drain().await, 1);
    assert_eq!(app.api.deliveries(&hpp).await[0]["status"], "delivered");
}
