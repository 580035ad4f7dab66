//! The watcher against a real kassa: callbacks refused at random by the application's endpoint
//! (a third of them) and the watcher restarted once, yet the application sees every event of
//! the feed exactly once, in per-session order; with callbacks gone, it follows the stream.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kassa_client::Client;
use kassa_client::events::EventQuery;
use kassa_client::sandbox::CallbackSettings;
use kassa_client::watcher::{Rejected, Source, WatchedEvent, Watcher, WatcherConfig};
use kassa_client::webhooks::Webhook;
use kassa_testkit::{TestApp, eventually, spawn};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::RwLock;

/// What the application saw, in the order it saw it.
type Seen = Arc<Mutex<Vec<WatchedEvent>>>;

/// The application's callback endpoint: refuses every third request (503), answers 503 while
/// no watcher runs (a restart), else hands the callback to the watcher.
#[derive(Clone)]
struct Endpoint {
    watcher: Arc<RwLock<Option<Watcher>>>,
    requests: Arc<AtomicUsize>,
    /// The `webhook-id` of every request, in arrival order.
    ids: Arc<Mutex<Vec<String>>>,
    refuse_every: usize,
}

async fn callback(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = endpoint.requests.fetch_add(1, Ordering::SeqCst);
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    endpoint.ids.lock().unwrap().push(id.to_owned());
    if endpoint.refuse_every > 0 && n % endpoint.refuse_every == 0 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match endpoint.watcher.read().await.as_ref() {
        None => StatusCode::SERVICE_UNAVAILABLE,
        Some(watcher) => match watcher.accept(&headers, &body).await {
            Ok(()) => StatusCode::NO_CONTENT,
            Err(Rejected::Unverified(_)) => StatusCode::UNAUTHORIZED,
            Err(Rejected::Failed(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        },
    }
}

async fn start_endpoint(refuse_every: usize) -> (Endpoint, String) {
    let endpoint = Endpoint {
        watcher: Arc::new(RwLock::new(None)),
        requests: Arc::new(AtomicUsize::new(0)),
        ids: Arc::default(),
        refuse_every,
    };
    let app = axum::Router::new().route("/cb", axum::routing::post(callback)).with_state(endpoint.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (endpoint, url)
}

fn client(app: &TestApp) -> Client {
    Client::new(&app.url, &app.merchant.username, &app.merchant.secret).unwrap()
}

async fn start_watcher(client: &Client, config: &WatcherConfig, seen: &Seen) -> Watcher {
    let secrets = client.events().signing_secrets().await.unwrap();
    let webhook = Webhook::with_secrets(secrets.iter().map(String::as_str)).unwrap();
    let seen = seen.clone();
    Watcher::start(client.clone(), webhook, config.clone(), move |event| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(event);
            Ok::<(), String>(())
        }
    })
    .await
    .unwrap()
}

/// HPP sessions that call back to `url`, each declined once and then approved: WAITING,
/// IN_PROGRESS, FAILED, IN_PROGRESS, COMPLETED.
async fn sessions(app: &TestApp, url: &str, count: usize) {
    for _ in 0..count {
        let (id, _, _) = app.api.hpp_session(json!({"place_order_mode": "NONE"}), json!({"status_update": url})).await;
        for action in ["open", "decline", "open", "approve"] {
            assert_eq!(app.api.act(&id, action).await.status, 200);
        }
    }
}

/// Waits until the application has seen every event of the feed, then checks that it saw each
/// once, and each session's events in order (1, 2, 3 …).
async fn saw_the_feed_once_in_order(client: &Client, seen: &Seen) -> Vec<WatchedEvent> {
    let feed = client.events().all(&EventQuery::default()).await.unwrap();
    let wanted: HashSet<String> = feed.iter().map(|e| e.event_id.clone()).collect();
    let seen = eventually("the application saw the whole feed", Duration::from_secs(60), || async {
        let seen = seen.lock().unwrap().clone();
        let ids: HashSet<String> = seen.iter().map(|e| e.event_id.clone()).collect();
        if wanted.is_subset(&ids) { Ok(seen) } else { Err(format!("{} of {} seen", ids.len(), wanted.len())) }
    })
    .await;
    let ids: HashSet<&str> = seen.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), seen.len(), "no event seen twice");
    assert_eq!(seen.len(), feed.len(), "only the feed's events");
    let mut per_session: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for event in &seen {
        per_session.entry(event.session_id.as_str()).or_default().push(event.sequence);
    }
    for (session, sequences) in per_session {
        let expected: Vec<u64> = (1..=sequences.len() as u64).collect();
        assert_eq!(sequences, expected, "session {session}");
    }
    for event in &feed {
        let copy = seen.iter().find(|e| e.event_id == event.event_id).unwrap();
        assert_eq!((copy.status.as_str(), &copy.body), (event.status.as_str(), &event.body), "{}", event.event_id);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_callbacks_and_a_restart_lose_and_repeat_nothing() {
    let app = spawn().await;
    let client = client(&app);
    let (endpoint, url) = start_endpoint(3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = WatcherConfig {
        reconcile_every: Duration::from_secs(2),
        fallback_after: Duration::from_secs(3600),
        ..WatcherConfig::new(dir.path().join("watcher.json"))
    };
    let seen: Seen = Arc::default();
    *endpoint.watcher.write().await = Some(start_watcher(&client, &config, &seen).await);

    sessions(&app, &url, 15).await;
    // The restart: callbacks that arrive meanwhile are refused (kassa sends them again).
    let running = endpoint.watcher.write().await.take().unwrap();
    running.shutdown().await;
    sessions(&app, &url, 5).await;
    *endpoint.watcher.write().await = Some(start_watcher(&client, &config, &seen).await);
    sessions(&app, &url, 15).await;

    let seen = saw_the_feed_once_in_order(&client, &seen).await;
    let by_callback = seen.iter().filter(|e| e.source == Source::Callback).count();
    let by_feed = seen.iter().filter(|e| e.source == Source::Feed).count();
    assert!(by_callback > 0 && by_feed > 0, "{by_callback} by callback, {by_feed} from the feed");
    assert!(endpoint.requests.load(Ordering::SeqCst) > by_callback, "some callbacks were refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_sent_twice_and_dropped_by_the_sandbox_are_seen_once() {
    let app = spawn().await;
    let client = client(&app);
    let misbehaving = CallbackSettings { duplicate: Some(true), drop_every: Some(3), ..CallbackSettings::default() };
    let now = client.sandbox().set_callback_settings(&misbehaving).await.unwrap();
    assert_eq!((now.duplicate, now.drop_every), (Some(true), Some(3)));
    let (endpoint, url) = start_endpoint(0).await;
    let dir = tempfile::tempdir().unwrap();
    let config = WatcherConfig {
        reconcile_every: Duration::from_secs(1),
        fallback_after: Duration::from_secs(3600),
        ..WatcherConfig::new(dir.path().join("watcher.json"))
    };
    let seen: Seen = Arc::default();
    *endpoint.watcher.write().await = Some(start_watcher(&client, &config, &seen).await);
    sessions(&app, &url, 12).await;
    let seen = saw_the_feed_once_in_order(&client, &seen).await;
    let dropped = client.events().page(&EventQuery { undelivered: true, ..EventQuery::default() }).await.unwrap();
    assert!(!dropped.events.is_empty(), "the sandbox dropped callbacks");
    for event in &dropped.events {
        let copy = seen.iter().find(|e| e.event_id == event.event_id).expect("a dropped callback's event seen");
        assert_eq!(copy.source, Source::Feed, "only reconciliation could find {}", event.event_id);
    }
    let ids = endpoint.ids.lock().unwrap().clone();
    let twice = ids.iter().filter(|id| ids.iter().filter(|other| other == id).count() >= 2).count();
    assert!(twice > 0, "the sandbox sent callbacks twice: {ids:?}");
    assert_eq!(
        client.sandbox().reset_callback_settings().await.unwrap(),
        CallbackSettings {
            duplicate: Some(false),
            delay_seconds: Some(0),
            fail_first: Some(0),
            failure: Some("http_500".into()),
            drop_every: Some(0),
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_callbacks_it_follows_the_stream() {
    let app = spawn().await;
    let client = client(&app);
    let dir = tempfile::tempdir().unwrap();
    let config = WatcherConfig {
        kind: Some("hpp".into()),
        reconcile_every: Duration::from_secs(3600),
        fallback_after: Duration::from_millis(300),
        ..WatcherConfig::new(dir.path().join("watcher.json"))
    };
    let seen: Seen = Arc::default();
    let watcher = start_watcher(&client, &config, &seen).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    // No callback target at all: only the stream brings the events.
    for _ in 0..5 {
        let (id, _, _) = app.api.hpp_session(json!({"place_order_mode": "NONE"}), json!({})).await;
        for action in ["open", "approve"] {
            assert_eq!(app.api.act(&id, action).await.status, 200);
        }
    }
    let feed = client.events().all(&EventQuery { kind: Some("hpp".into()), ..EventQuery::default() }).await.unwrap();
    let seen = eventually("the stream brought every event", Duration::from_secs(30), || async {
        let seen = seen.lock().unwrap().clone();
        if seen.len() >= feed.len() { Ok(seen) } else { Err(format!("{} of {}", seen.len(), feed.len())) }
    })
    .await;
    assert_eq!(seen.len(), feed.len());
    assert!(seen.iter().all(|e| e.source == Source::Stream && e.session_kind == "hpp"), "{seen:?}");
    assert_eq!(watcher.cursor().await.as_deref(), Some(feed.last().unwrap().cursor.as_str()));
    watcher.shutdown().await;
}

#[tokio::test]
async fn a_callback_that_is_not_kassas_is_rejected_and_handed_on_to_nobody() {
    let app = spawn().await;
    let client = client(&app);
    let dir = tempfile::tempdir().unwrap();
    let config =
        WatcherConfig { fallback_after: Duration::from_secs(3600), ..WatcherConfig::new(dir.path().join("w.json")) };
    let seen: Seen = Arc::default();
    let watcher = start_watcher(&client, &config, &seen).await;
    let forged = Webhook::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    let body = br#"{"event_id":"e1","session":{"session_id":"s1","status":"COMPLETED"}}"#;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", "e1".parse().unwrap());
    headers.insert("webhook-timestamp", now.to_string().parse().unwrap());
    headers.insert("webhook-signature", forged.sign("e1", now, body).parse().unwrap());
    headers.insert("kassa-session-id", "s1".parse().unwrap());
    headers.insert("kassa-event-sequence", "1".parse().unwrap());
    assert!(matches!(watcher.accept(&headers, body).await, Err(Rejected::Unverified(_))));

    // Signed with the merchant's secret, but kassa's own (unsigned) session header changed.
    let secret = client.events().signing_secrets().await.unwrap().remove(0);
    let signature = Webhook::new(&secret).unwrap().sign("e1", now, body);
    headers.insert("webhook-signature", signature.parse().unwrap());
    headers.insert("kassa-session-id", "s2".parse().unwrap());
    assert!(matches!(watcher.accept(&headers, body).await, Err(Rejected::Unverified(_))));
    assert!(seen.lock().unwrap().iter().all(|e| e.event_id != "e1"));
    watcher.shutdown().await;
}

/// A kassa stand-in that counts the feed reads it gets and answers every one with `status`
/// (200: an empty page).
async fn counting_feed(status: u16) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            let body = match status {
                200 => r#"{"events":[],"next_cursor":"","has_more":false}"#,
                _ => r#"{"error_code":"UNAUTHORIZED","error_messages":["no"]}"#,
            };
            (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

async fn watch(url: &str, config: WatcherConfig) -> Watcher {
    let client = Client::new(url, "u", "s").unwrap();
    let webhook = Webhook::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    Watcher::start(client, webhook, config, |_| async { Ok::<(), String>(()) }).await.unwrap()
}

#[tokio::test]
async fn a_dropped_watcher_stops_and_a_failing_one_backs_off() {
    let dir = tempfile::tempdir().unwrap();
    let (url, hits) = counting_feed(200).await;
    let idle = WatcherConfig {
        reconcile_every: Duration::from_secs(3600),
        fallback_after: Duration::from_secs(3600),
        ..WatcherConfig::new(dir.path().join("a.json"))
    };
    let watcher = watch(&url, idle).await;
    eventually("the first reconciliation", Duration::from_secs(5), || async {
        if hits.load(Ordering::SeqCst) >= 1 { Ok(()) } else { Err("no read yet") }
    })
    .await;
    drop(watcher);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "dropped, it reads no more");

    // Refused credentials with callbacks quiet: the stream and the feed fail at once, and the
    // watcher waits 1 s, 2 s … between tries instead of hammering kassa.
    let (url, hits) = counting_feed(401).await;
    let quiet = WatcherConfig {
        reconcile_every: Duration::from_millis(10),
        fallback_after: Duration::ZERO,
        ..WatcherConfig::new(dir.path().join("b.json"))
    };
    let watcher = watch(&url, quiet).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let tries = hits.load(Ordering::SeqCst);
    assert!((1..=4).contains(&tries), "{tries} requests in 2.5 s");
    assert!(watcher.last_error().is_some_and(|e| e.contains("401")), "{:?}", watcher.last_error());
    watcher.shutdown().await;
}
