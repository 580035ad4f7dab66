//! Following a session without hammering the API: ETag / 304, long-poll, Server-Sent Events, and
//! the events feed.

use kassa_core::hpp::{HppAction, HppSession};
use kassa_store::{Change, NewEvent, SessionRecord, SessionWrite, StoreExt, Stored};
use kassa_testkit::{
    Answer, PATIENCE, Receiver, SseEventExt, SseReader, TestApp, WOKEN_WITHIN, eventually, read, spawn,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn get(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.api.request(Method::GET, path)
}

/// Waits until `count` long-polls (or streams) of this process wait for changes: each
/// subscribes to the change feed before its first read.
#[tokio::test]
async fn reads_carry_an_etag_and_answer_304_while_unchanged() {
    let app = spawn().await;
    let (hpp, payment, _) = app.hpp_session(json!({}), json!({})).await;
    let path = format!("/hpp/v1/sessions/{hpp}");
    let first = read(get(&app, &path).send().await.unwrap()).await;
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"v1\"");
    let same = read(get(&app, &path).header("if-none-match", &etag).send().await.unwrap()).await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    assert!(same.bytes.is_empty());
    assert_eq!(same.headers["etag"], etag.as_str());
    app.act(&hpp, "open").await;
    let changed = read(get(&app, &path).header("if-none-match", &etag).send().await.unwrap()).await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.headers["etag"], "\"v2\"");
    assert_eq!(changed.body["status"], "IN_PROGRESS");
    // The payment session's tag follows every write, updates included.
    let kp = format!("/payments/v1/sessions/{payment}");
    let before = read(get(&app, &kp).send().await.unwrap()).await.headers["etag"].clone();
    app.post(&kp, json!({"merchant_reference1": "ON-1"})).await;
    let after = read(get(&app, &kp).header("if-none-match", before.clone()).send().await.unwrap()).await;
    assert_eq!(after.status, 200);
    assert_ne!(after.headers["etag"], before);
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_the_status_changes() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let path = format!("/hpp/v1/sessions/{hpp}?wait=30");
    let sent = Instant::now();
    let poll = tokio::spawn(get(&app, &path).header("if-none-match", "\"v1\"").send());
    app.waiters(1).await;
    assert!(!poll.is_finished(), "the long-poll waits while nothing changes");
    app.act(&hpp, "open").await;
    let reply = read(poll.await.unwrap().unwrap()).await;
    let answered = sent.elapsed();
    // It answers with the change (so it was still waiting when the change came)...
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["status"], "IN_PROGRESS");
    // ...and soon: the change woke it (a waiting read does not re-read on a timer).
    assert!(answered < WOKEN_WITHIN, "answered {answered:?} after it was sent: not woken by the change");
    // Without If-None-Match, the wait is for the next change after the request arrived.
    let poll = tokio::spawn(get(&app, &path).send());
    app.waiters(1).await;
    app.act(&hpp, "back").await;
    assert_eq!(read(poll.await.unwrap().unwrap()).await.body["status"], "BACK");
}

#[tokio::test]
async fn a_long_poll_is_woken_by_its_own_sessions_change_only_and_leaves_nothing_behind() {
    let app = spawn().await;
    let (one, _, _) = app.hpp_session(json!({}), json!({})).await;
    let (two, _, _) = app.hpp_session(json!({}), json!({})).await;
    let poll = |hpp: &str| tokio::spawn(get(&app, &format!("/hpp/v1/sessions/{hpp}?wait=30")).send());
    let (first, second) = (poll(&one), poll(&two));
    app.waiters(2).await;
    assert_eq!(app.state.bus.followed_sessions(), 2);
    app.act(&two, "open").await;
    assert_eq!(read(second.await.unwrap().unwrap()).await.body["status"], "IN_PROGRESS");
    // The other session's long-poll still waits: it was not woken (it would have answered 200
    // only with a change of its own, and it reads nothing until woken).
    app.waiters(1).await;
    assert!(!first.is_finished());
    app.act(&one, "open").await;
    assert_eq!(read(first.await.unwrap().unwrap()).await.body["status"], "IN_PROGRESS");
    app.waiters(0).await;
    assert_eq!(app.state.bus.followed_sessions(), 0, "no entry is kept for a session nobody follows");
}

#[tokio::test]
async fn a_long_poll_ends_with_304_when_nothing_changes_and_caps_the_wait() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let started = Instant::now();
    let reply = read(
        get(&app, &format!("/hpp/v1/sessions/{hpp}?wait=1")).header("if-none-match", "\"v1\"").send().await.unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert!(started.elapsed() >= Duration::from_secs(1));
    // Without a tag, the current state at the end of the wait.
    let reply = read(get(&app, &format!("/hpp/v1/sessions/{hpp}?wait=1")).send().await.unwrap()).await;
    assert_eq!((reply.status.as_u16(), reply.body["status"].as_str()), (200, Some("WAITING")));
    read(get(&app, &format!("/hpp/v1/sessions/{hpp}?wait=61")).send().await.unwrap())
        .await
        .assert_error(400, "BAD_VALUE");
}

/// The next `count` events of a session's stream: (sequence number, data).
async fn sse_events(stream: &mut SseReader, count: usize) -> Vec<(u64, Value)> {
    stream.take(count).await.iter().map(|e| (e.id().parse().unwrap(), e.json())).collect()
}

#[tokio::test]
async fn the_event_stream_resumes_after_a_reconnect_without_losing_an_event() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let path = format!("/hpp/v1/sessions/{hpp}/events/stream");
    let stream = get(&app, &path).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut stream = SseReader::new(stream);
    app.act(&hpp, "open").await;
    let seen = sse_events(&mut stream, 2).await;
    assert_eq!(seen.iter().map(|e| e.0).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(seen[1].1["status"], "IN_PROGRESS");
    drop(stream);
    // Changes while disconnected.
    app.act(&hpp, "decline").await;
    app.act(&hpp, "open").await;
    let mut resumed = SseReader::new(get(&app, &path).header("last-event-id", "2").send().await.unwrap());
    app.act(&hpp, "approve").await;
    let rest = sse_events(&mut resumed, 3).await;
    let statuses: Vec<(u64, &str)> = rest.iter().map(|(id, body)| (*id, body["status"].as_str().unwrap())).collect();
    assert_eq!(statuses, [(3, "FAILED"), (4, "IN_PROGRESS"), (5, "COMPLETED")]);
    assert_eq!(rest[2].1, app.get(&format!("/hpp/v1/sessions/{hpp}")).await.body);
    let other = app.client.get(format!("{}{path}", app.url)).basic_auth(&app.other.username, Some(&app.other.secret));
    read(other.send().await.unwrap()).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_last_event_id_beyond_the_sequence_range_is_a_bad_value_not_a_replay() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let path = format!("/hpp/v1/sessions/{hpp}/events/stream");
    // 2^63 (would wrap to i64::MIN), 2^64 - 1 (to -1), a number beyond u64, a negative one, junk.
    for id in ["9223372036854775808", "18446744073709551615", "123456789012345678901234567890", "-1", "two"] {
        let response = get(&app, &path).header("last-event-id", id).send().await.unwrap();
        // Checked before reading: a stream that was accepted would never end.
        assert_eq!(response.status(), 400, "{id}: {:?}", response.headers().get("content-type"));
        let answer = read(response).await;
        let body = answer.assert_error(400, "BAD_VALUE");
        let message = body["error_messages"][0].as_str().unwrap();
        assert!(message.contains("Last-Event-ID"), "{id}: {message}");
    }
    // The largest sequence number is still one.
    let stream = get(&app, &path).header("last-event-id", "9223372036854775807").send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
}

#[tokio::test]
async fn the_events_feed_pages_through_ten_thousand_events_without_gap_or_duplicate() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    // 9,999 more events on one session, committed straight through the store (fast).
    let mut current: Stored<HppSession> = app.state.store.load(&hpp).await.unwrap().unwrap();
    let mut change = Change::default();
    let mut now = app.state.now();
    for i in 0..9_999 {
        now = now.plus_millis(1);
        let action = if i % 2 == 0 { HppAction::Open } else { HppAction::Back };
        let (next, event) = current.apply(action, now).unwrap();
        change = change.session(SessionWrite::update(&current, &next).unwrap()).event(NewEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            merchant_id: next.merchant_id.clone(),
            session_kind: HppSession::KIND,
            session_id: hpp.clone(),
            seq: event.seq,
            status: event.to.as_str(),
            body: json!({"status": event.to.as_str()}),
            created_at: now,
            caused_by: None,
        });
        current = Stored { revision: current.revision + 1, record: next };
    }
    app.state.store.commit(change).await.unwrap();
    let (mut cursor, mut seen) = (String::new(), Vec::new());
    loop {
        let page = app.get(&format!("/kassa/v1/events?limit=1000&after={cursor}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let events = page.body["events"].as_array().unwrap().clone();
        seen.extend(events.iter().map(|e| e["sequence"].as_u64().unwrap()));
        cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
        if !page.body["has_more"].as_bool().unwrap() {
            break;
        }
    }
    // The payment session's creation event comes first, then the HPP session's 10,000.
    let hpp_seqs: Vec<u64> = seen[1..].to_vec();
    assert_eq!(hpp_seqs, (1..=10_000).collect::<Vec<_>>());
    // Filters: one session; another merchant sees nothing of it.
    let one = app.get(&format!("/kassa/v1/events?limit=5&session_id={hpp}")).await;
    assert_eq!(one.body["events"].as_array().unwrap().len(), 5);
    let theirs = app.call_as(&app.other, reqwest::Method::GET, "/kassa/v1/events", None).await;
    assert!(theirs.body["events"].as_array().unwrap().is_empty());
    app.get("/kassa/v1/events?after=nonsense").await.assert_error(400, "BAD_VALUE");
    app.get("/kassa/v1/events?limit=1001").await.assert_error(400, "BAD_VALUE");
}

#[tokio::test]
async fn the_undelivered_filter_is_the_reconciliation_batch() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_always(Answer::status(500));
    let (failing, _, _) = app.hpp_session(json!({}), receiver.merchant_urls()).await;
    let (quiet, _, _) = app.hpp_session(json!({}), json!({})).await;
    app.act(&failing, "open").await;
    app.act(&quiet, "open").await;
    // On PostgreSQL the feed shows an event once every older change of this database has
    // committed (several commit side by side): soon, not necessarily at once.
    let events = eventually("the failing session's change in the reconciliation batch", PATIENCE, || async {
        let page = app.get("/kassa/v1/events?undelivered=true").await;
        let events = page.body["events"].as_array().unwrap().clone();
        if events.len() == 1 { Ok(events) } else { Err(format!("{events:#?}")) }
    })
    .await;
    assert_eq!(
        (events[0]["session_id"].as_str(), events[0]["status"].as_str()),
        (Some(failing.as_str()), Some("IN_PROGRESS"))
    );
}
