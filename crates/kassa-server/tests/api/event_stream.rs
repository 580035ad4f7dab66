//! The merchant's event stream (`GET /kassa/v1/events/stream`): every event of the merchant, live,
//! in the events feed's order, resumable with `Last-Event-ID` without losing or repeating one,
//! filtered by kind and status, and on PostgreSQL fed by every node.

use kassa_testkit::{Client, SseEvent, SseEventExt, SseReader, TestApp, read, spawn};
use reqwest::Method;
use serde_json::{Value, json};

const STREAM: &str = "/kassa/v1/events/stream";

async fn open(api: &Client, path: &str, last_event_id: Option<&str>) -> SseReader {
    let mut request = api.request(Method::GET, path);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    SseReader::new(response)
}

/// The whole events feed of the app's merchant, page by page.
async fn feed(app: &TestApp) -> Vec<Value> {
    let (mut events, mut after) = (Vec::new(), String::new());
    loop {
        let page = app.get(&format!("/kassa/v1/events?limit=3&after={after}")).await.assert_success().body;
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        after = page["next_cursor"].as_str().unwrap().to_owned();
        if !page["has_more"].as_bool().unwrap() {
            return events;
        }
    }
}

fn is(event: &SseEvent, session: &str, status: &str) -> bool {
    let data = event.json();
    data["session_id"] == session && data["status"] == status
}

#[tokio::test]
async fn the_stream_follows_every_session_and_resumes_without_losing_or_repeating_an_event() {
    let app = spawn().await;
    let (a, _, _) = app.hpp_session(json!({}), json!({})).await;
    let (b, _, _) = app.hpp_session(json!({}), json!({})).await;
    // Another merchant's session and change: never in this merchant's stream.
    let other = app.api.as_merchant(&app.other);
    let (theirs, _, _) = other.hpp_session(json!({}), json!({})).await;
    other.act(&theirs, "open").await.assert_success();

    let mut first = open(&app.api, STREAM, None).await;
    app.act(&a, "open").await.assert_success();
    app.act(&b, "open").await.assert_success();
    let mut seen = first.until(|e| is(e, &b, "IN_PROGRESS")).await;
    drop(first);
    // Changes while nobody listens.
    app.act(&a, "decline").await.assert_success();
    app.act(&b, "back").await.assert_success();
    app.act(&a, "open").await.assert_success();
    let last = seen.last().unwrap().id().to_owned();
    let mut resumed = open(&app.api, STREAM, Some(&last)).await;
    app.act(&a, "approve").await.assert_success();
    seen.extend(resumed.until(|e| is(e, &a, "COMPLETED")).await);

    let feed = feed(&app).await;
    let streamed: Vec<Value> = seen.iter().map(SseEvent::json).collect();
    let feed = &feed[..streamed.len().min(feed.len())];
    assert_eq!(streamed, feed, "the stream is the feed: each event once, in its order, with its data");
    for (event, data) in seen.iter().zip(feed) {
        assert_eq!(event.id(), data["cursor"], "the id is the feed's cursor");
        assert_eq!(event.event.as_deref(), Some("status"));
    }
    assert!(feed.iter().all(|e| e["session_id"] != theirs.as_str()), "not another merchant's");
    let statuses: Vec<&str> =
        feed.iter().filter(|e| e["session_id"] == a.as_str()).map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["WAITING", "IN_PROGRESS", "FAILED", "IN_PROGRESS", "COMPLETED"]);
    // The last event's body is the session as read now.
    let completed = &feed.iter().rev().find(|e| e["session_id"] == a.as_str()).unwrap()["body"];
    assert_eq!(*completed, app.get(&format!("/hpp/v1/sessions/{a}")).await.body);
}

#[tokio::test]
async fn the_stream_filters_by_kind_and_type_and_starts_after_a_cursor() {
    let app = spawn().await;
    let (a, _, _) = app.hpp_session(json!({}), json!({})).await;
    let (b, _, _) = app.hpp_session(json!({}), json!({})).await;
    app.act(&a, "open").await.assert_success();
    app.act(&a, "approve").await.assert_success();
    app.act(&b, "open").await.assert_success();
    let mut completed = open(&app.api, &format!("{STREAM}?kind=hpp&type=COMPLETED"), None).await;
    let mut hpp = open(&app.api, &format!("{STREAM}?kind=hpp"), None).await;
    app.act(&b, "approve").await.assert_success();
    let done = completed.take(2).await;
    assert!(is(&done[0], &a, "COMPLETED") && is(&done[1], &b, "COMPLETED"), "{done:?}");
    let hpp_events = hpp.until(|e| is(e, &b, "COMPLETED")).await;
    assert_eq!(hpp_events.len(), 6, "3 events of each HPP session, none of the payment sessions");
    assert!(hpp_events.iter().all(|e| e.json()["session_kind"] == "hpp"));
    // `after` starts the stream where a feed page ended (Last-Event-ID wins when both are given).
    let after = hpp_events[3].id().to_owned();
    let mut rest = open(&app.api, &format!("{STREAM}?kind=hpp&after={after}"), None).await;
    assert_eq!(rest.take(2).await, hpp_events[4..]);
    let mut resumed = open(&app.api, &format!("{STREAM}?kind=hpp&after=0"), Some(&after)).await;
    assert_eq!(resumed.take(2).await, hpp_events[4..]);
}

#[tokio::test]
async fn a_bad_cursor_kind_or_type_is_refused_before_the_stream_starts() {
    let app = spawn().await;
    for (path, last_event_id, names) in [
        (STREAM.to_owned(), Some("two"), "Last-Event-ID"),
        (STREAM.to_owned(), Some("-1"), "Last-Event-ID"),
        (STREAM.to_owned(), Some("1.x"), "Last-Event-ID"),
        (format!("{STREAM}?after=junk"), None, "after"),
        (format!("{STREAM}?kind=invoice"), None, "kind"),
        (format!("{STREAM}?type=SHIPPED"), None, "type"),
        (format!("{STREAM}?kind=payment&type=COMPLETED"), None, "type"),
        ("/kassa/v1/events?type=SHIPPED".to_owned(), None, "type"),
    ] {
        let mut request = app.api.request(Method::GET, &path);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let answer = read(request.send().await.unwrap()).await;
        let body = answer.assert_error(400, "BAD_VALUE");
        let message = body["error_messages"][0].as_str().unwrap();
        assert!(message.contains(names), "{path} {last_event_id:?}: {message}");
    }
    let anonymous = app.client.get(format!("{}{STREAM}", app.url)).send().await.unwrap();
    read(anonymous).await.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn on_postgresql_a_stream_on_one_node_carries_the_changes_made_on_another() {
    let app = spawn().await;
    if !app.is_postgres() {
        return;
    }
    let (second, _stop) = app.another_server().await;
    let there = Client::new(second, app.merchant.clone());
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let mut here = open(&app.api, &format!("{STREAM}?kind=hpp"), None).await;
    assert!(is(&here.next().await, &hpp, "WAITING"));
    there.act(&hpp, "open").await.assert_success();
    let started = std::time::Instant::now();
    let next = here.next().await;
    assert!(is(&next, &hpp, "IN_PROGRESS"), "{next:?}");
    // Well before the stream's one-second re-read: the other node's notification woke it.
    assert!(started.elapsed() < std::time::Duration::from_millis(600), "{:?}", started.elapsed());
}
