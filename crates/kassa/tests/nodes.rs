//! Several kassa nodes on one PostgreSQL database: changes on one node wake waiters on another,
//! callbacks go out once per successful delivery and in order, and a dead node's claimed
//! callbacks are sent by another once its leases end.

use axum::http::HeaderMap;
use kassa_store::testing::TestDatabase;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;

use support::Server as Node;

const AUTH: (&str, &str) = ("nodes", "nodes-secret-0123456789");

fn node(database: &str) -> Node {
    let credentials = format!("{}:{}", AUTH.0, AUTH.1);
    support::serve(database, &["--rate-limits", "off", "--callback-lease", "10", "--sandbox-credentials", &credentials])
}

type Log = Arc<Mutex<Vec<(String, u64, String)>>>;

/// Records (session, sequence, event id) of every callback as it arrives; answers after `delay`.
async fn receiver(delay: Duration) -> (String, Log) {
    let log: Log = Arc::default();
    let record = log.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let record = record.clone();
        async move {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let seq = header("kassa-event-sequence").parse().unwrap_or(0);
            record.lock().unwrap().push((header("kassa-session-id"), seq, header("webhook-id")));
            tokio::time::sleep(delay).await;
            axum::http::StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, log)
}

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> reqwest::Response {
    let mut request = reqwest::Client::new().request(method, url).basic_auth(AUTH.0, Some(AUTH.1));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success() || response.status() == 304, "{}", response.status());
    response
}

async fn hpp_session(node: &Node, target: &str) -> String {
    let cart = json!({"purchase_country": "SE", "purchase_currency": "SEK", "order_amount": 100,
                      "order_lines": [{"name": "x", "quantity": 1, "unit_price": 100, "total_amount": 100}]});
    let payment: Value = call(reqwest::Method::POST, format!("{}/payments/v1/sessions", node.url), Some(cart))
        .await
        .json()
        .await
        .unwrap();
    let body = json!({
        "payment_session_url": format!("{}/payments/v1/sessions/{}", node.url, payment["session_id"].as_str().unwrap()),
        "merchant_urls": {"status_update": target},
    });
    let hpp: Value =
        call(reqwest::Method::POST, format!("{}/hpp/v1/sessions", node.url), Some(body)).await.json().await.unwrap();
    hpp["session_id"].as_str().unwrap().to_owned()
}

async fn act(node: &Node, hpp: &str, action: &str) {
    call(reqwest::Method::POST, format!("{}/sandbox/v1/hpp/sessions/{hpp}/{action}", node.url), None).await;
}

async fn wait_until(what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_sessions_wake_ups_and_callbacks() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let a = node(&database.url);
    let b = node(&database.url);
    let (target, log) = receiver(Duration::ZERO).await;
    let hpp = hpp_session(&a, &target).await;
    // A long-poll on node A…
    let poll = tokio::spawn({
        let url = format!("{}/hpp/v1/sessions/{hpp}?wait=10", a.url);
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .basic_auth(AUTH.0, Some(AUTH.1))
                .header("if-none-match", "\"v1\"")
                .send()
                .await
                .unwrap();
            (Instant::now(), response.json::<Value>().await.unwrap())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // …wakes when node B commits the change.
    act(&b, &hpp, "open").await;
    let acknowledged = Instant::now();
    let (returned, body) = poll.await.unwrap();
    assert_eq!(body["status"], "IN_PROGRESS");
    let lag = returned.saturating_duration_since(acknowledged);
    assert!(lag < Duration::from_millis(100), "node A's long-poll woke {lag:?} after node B's change");
    for action in ["decline", "open", "approve"] {
        act(&b, &hpp, action).await;
    }
    wait_until("four callbacks", Duration::from_secs(15), || log.lock().unwrap().len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen: Vec<u64> = log.lock().unwrap().iter().map(|(_, seq, _)| *seq).collect();
    assert_eq!(seen, [2, 3, 4, 5], "each event once, in order, whichever node sent it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_claimed_callbacks_are_sent_by_another() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let mut a = node(&database.url);
    // Slow answers: node A's attempts are in flight (claimed) when it dies.
    let (target, log) = receiver(Duration::from_millis(1500)).await;
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(hpp_session(&a, &target).await);
    }
    for hpp in &sessions {
        act(&a, hpp, "open").await;
    }
    wait_until("node A sending", Duration::from_secs(10), || !log.lock().unwrap().is_empty()).await;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let in_flight = log.lock().unwrap().len();
    let b = node(&database.url);
    // Node B takes over once the 10 s leases end: the ledger ends with nothing undelivered.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let feed: Value = call(reqwest::Method::GET, format!("{}/kassa/v1/events?undelivered=true", b.url), None)
            .await
            .json()
            .await
            .unwrap();
        if feed["events"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the ledger still has undelivered events: {feed:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = log.lock().unwrap().clone();
    for hpp in &sessions {
        assert!(log.iter().any(|(session, seq, _)| session == hpp && *seq == 2), "{hpp} never called back");
    }
    // What node A had in flight was sent again by node B (at-least-once), not lost.
    assert!(log.len() >= in_flight + sessions.len(), "{} callbacks, {in_flight} were in flight on node A", log.len());
}
