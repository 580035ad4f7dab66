//! Callbacks survive SIGKILL: every committed event is delivered once the process is back.

use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;

use support::Server;

const AUTH: (&str, &str) = ("crash", "crash-secret-0123456789");

fn serve(database: &str) -> Server {
    support::serve(database, &["--rate-limits", "off", "--sandbox-credentials", &format!("{}:{}", AUTH.0, AUTH.1)])
}

/// Records each callback as it arrives (before answering), and counts the answers.
async fn slow_receiver(delay: Duration) -> (String, Arc<Mutex<Vec<(String, u64)>>>) {
    let (url, seen, _) = counting_receiver(delay).await;
    (url, seen)
}

type Seen = Arc<Mutex<Vec<(String, u64)>>>;

async fn counting_receiver(delay: Duration) -> (String, Seen, Arc<std::sync::atomic::AtomicUsize>) {
    let seen: Seen = Arc::default();
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (record, count) = (seen.clone(), answered.clone());
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let (record, count) = (record.clone(), count.clone());
        async move {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            record.lock().unwrap().push((header("webhook-id"), header("kassa-event-sequence").parse().unwrap_or(0)));
            tokio::time::sleep(delay).await;
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            axum::http::StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen, answered)
}

async fn call(client: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let mut request = client.request(method, url).basic_auth(AUTH.0, Some(AUTH.1));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_event_is_delivered_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("kassa.db").display());
    let (target, seen, answered) = counting_receiver(Duration::from_millis(200)).await;
    let mut first = serve(&database);
    let url = first.url.clone();
    let client = reqwest::Client::new();
    let cart = json!({"purchase_country": "SE", "purchase_currency": "SEK", "order_amount": 100,
                      "order_lines": [{"name": "x", "quantity": 1, "unit_price": 100, "total_amount": 100}]});
    let mut sessions = Vec::new();
    for _ in 0..20 {
        let payment =
            call(&client, reqwest::Method::POST, format!("{url}/payments/v1/sessions"), Some(cart.clone())).await;
        let body = json!({
            "payment_session_url": format!("{url}/payments/v1/sessions/{}", payment["session_id"].as_str().unwrap()),
            "merchant_urls": {"status_update": format!("{target}/cb")},
        });
        let hpp = call(&client, reqwest::Method::POST, format!("{url}/hpp/v1/sessions"), Some(body)).await;
        sessions.push(hpp["session_id"].as_str().unwrap().to_owned());
    }
    for action in ["open", "back", "open"] {
        for hpp in &sessions {
            call(&client, reqwest::Method::POST, format!("{url}/sandbox/v1/hpp/sessions/{hpp}/{action}"), None).await;
        }
    }
    // 60 status changes are committed; callbacks are in flight (arrived, not yet answered) and
    // pending. Kill.
    tokio::time::sleep(Duration::from_millis(50)).await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let (arrived, done) = (seen.lock().unwrap().len(), answered.load(std::sync::atomic::Ordering::SeqCst));
    assert!(arrived > done, "attempts were in flight at the kill ({arrived} arrived, {done} answered)");
    assert!(done < 60, "the crash must interrupt deliveries ({done} already answered)");

    let second = serve(&database);
    let url = second.url.clone();
    let feed = call(&client, reqwest::Method::GET, format!("{url}/kassa/v1/events?limit=1000"), None).await;
    let committed: BTreeSet<String> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["session_kind"] == "hpp" && e["sequence"].as_u64().unwrap() > 1)
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(committed.len(), 60);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let arrived: BTreeSet<String> = seen.lock().unwrap().iter().map(|(id, _)| id.clone()).collect();
        if committed.is_subset(&arrived) {
            break;
        }
        assert!(Instant::now() < deadline, "{} of 60 events never arrived", committed.difference(&arrived).count());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The ledger agrees: nothing left undelivered.
    let mut undelivered = Value::Null;
    for _ in 0..50 {
        undelivered =
            call(&client, reqwest::Method::GET, format!("{url}/kassa/v1/events?undelivered=true"), None).await;
        if undelivered["events"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(undelivered["events"].as_array().unwrap().is_empty(), "{undelivered:#}");
    // At-least-once, and per session in order: each event's first arrival follows its predecessor's.
    let log = seen.lock().unwrap().clone();
    let mut order: HashMap<String, u64> = HashMap::new();
    let event_session: HashMap<String, String> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event_id"].as_str().unwrap().to_owned(), e["session_id"].as_str().unwrap().to_owned()))
        .collect();
    for (event_id, seq) in &log {
        let session = &event_session[event_id];
        let last = order.entry(session.clone()).or_insert(0);
        assert!(*seq >= *last, "session {session}: event {seq} arrived after {last}");
        *last = (*last).max(*seq);
    }
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_attempt_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("kassa.db").display());
    let (target, seen) = slow_receiver(Duration::from_millis(1500)).await;
    let mut server = serve(&database);
    let url = server.url.clone();
    let client = reqwest::Client::new();
    let cart = json!({"purchase_country": "SE", "purchase_currency": "SEK", "order_amount": 100,
                      "order_lines": [{"name": "x", "quantity": 1, "unit_price": 100, "total_amount": 100}]});
    let payment = call(&client, reqwest::Method::POST, format!("{url}/payments/v1/sessions"), Some(cart)).await;
    let body = json!({
        "payment_session_url": format!("{url}/payments/v1/sessions/{}", payment["session_id"].as_str().unwrap()),
        "merchant_urls": {"status_update": format!("{target}/cb")},
    });
    let hpp = call(&client, reqwest::Method::POST, format!("{url}/hpp/v1/sessions"), Some(body)).await;
    let hpp = hpp["session_id"].as_str().unwrap().to_owned();
    call(&client, reqwest::Method::POST, format!("{url}/sandbox/v1/hpp/sessions/{hpp}/open"), None).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the attempt is now in flight
    Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    let stopping = Instant::now();
    let status = tokio::task::spawn_blocking(move || server.child.wait().unwrap()).await.unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        stopping.elapsed() >= Duration::from_millis(900),
        "kassa waited for the attempt ({:?})",
        stopping.elapsed()
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
    // The attempt was recorded before the exit: after a restart it is not sent again.
    let again = serve(&database);
    let url = again.url.clone();
    let log = call(&client, reqwest::Method::GET, format!("{url}/kassa/v1/sessions/{hpp}/deliveries"), None).await;
    assert_eq!(log["deliveries"][0]["status"], "delivered", "{log:#}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    drop(again);
}
