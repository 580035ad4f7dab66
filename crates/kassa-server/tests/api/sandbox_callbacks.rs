//! The sandbox's per-merchant callback misbehaviour (`/sandbox/v1/callbacks`): duplicates,
//! delays, the first attempts failing (HTTP 500 or a timeout), dropped callbacks that only
//! reconciliation finds; validation, isolation between merchants, none of it in production.

use kassa_server::Mode;
use kassa_testkit::{Merchant, PATIENCE, Receiver, TestApp, eventually, spawn, spawn_in};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn set(app: &TestApp, who: &Merchant, settings: Value) -> Value {
    let reply = app.call_as(who, Method::PUT, "/sandbox/v1/callbacks", Some(settings)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

async fn settings(app: &TestApp, who: &Merchant) -> Value {
    let reply = app.call_as(who, Method::GET, "/sandbox/v1/callbacks", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn well_behaved() -> Value {
    json!({"duplicate": false, "delay_seconds": 0, "fail_first": 0, "failure": "http_500", "drop_every": 0})
}

/// An HPP session of the default merchant whose callbacks go to `receiver`.
async fn watched(app: &TestApp, receiver: &Receiver) -> String {
    app.hpp_session(json!({}), receiver.merchant_urls()).await.0
}

/// Waits until the first delivery of `session` has `count` attempts recorded.
async fn attempts_recorded(app: &TestApp, session: &str, count: usize) -> Value {
    eventually(format!("attempt {count} of {session} recorded"), PATIENCE, || async {
        let log = app.deliveries(session).await;
        match log.first() {
            Some(d) if d["attempts"].as_array().unwrap().len() >= count => Ok(d.clone()),
            _ => Err(Value::from(log)),
        }
    })
    .await
}

#[tokio::test]
async fn settings_are_read_replaced_reset_and_validated_per_merchant() {
    let app = spawn().await;
    assert_eq!(settings(&app, &app.merchant).await, well_behaved());
    let chosen = json!({"duplicate": true, "delay_seconds": 5, "fail_first": 2, "failure": "timeout", "drop_every": 3});
    assert_eq!(set(&app, &app.merchant, chosen.clone()).await, chosen);
    assert_eq!(settings(&app, &app.merchant).await, chosen);
    assert_eq!(settings(&app, &app.other).await, well_behaved(), "the other merchant's callbacks behave");
    for (bad, field) in [
        (json!({"delay_seconds": 3601}), "delay_seconds"),
        (json!({"delay_seconds": -1}), "delay_seconds"),
        (json!({"fail_first": 11}), "fail_first"),
        (json!({"drop_every": -2}), "drop_every"),
        (json!({"failure": "http_503"}), "failure"),
    ] {
        let reply = app.call(Method::PUT, "/sandbox/v1/callbacks", Some(bad.clone())).await;
        reply.assert_error(400, "BAD_VALUE");
        assert!(reply.message().contains(field), "{bad}: {}", reply.body);
    }
    for malformed in [json!({"duplicate": "yes"}), json!({"drop": 3}), json!([1])] {
        let reply = app.call(Method::PUT, "/sandbox/v1/callbacks", Some(malformed.clone())).await;
        assert_eq!(reply.status, 400, "{malformed}: {}", reply.body);
    }
    assert_eq!(settings(&app, &app.merchant).await, chosen, "a refused body changes nothing");
    // A field left out is its well-behaved value: a PUT replaces, it does not merge.
    let only = set(&app, &app.merchant, json!({"fail_first": 1})).await;
    assert_eq!(
        only,
        json!({"duplicate": false, "delay_seconds": 0, "fail_first": 1, "failure": "http_500", "drop_every": 0})
    );
    let reset = app.call(Method::DELETE, "/sandbox/v1/callbacks", None).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(reset.body, well_behaved());
    assert_eq!(settings(&app, &app.merchant).await, well_behaved());
}

#[tokio::test]
async fn production_has_no_callback_misbehaviour_routes() {
    let app = spawn_in(Mode::Production).await;
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let body = (method == Method::PUT).then(|| json!({"duplicate": true}));
        let reply = app.call(method.clone(), "/sandbox/v1/callbacks", body).await;
        assert_eq!(reply.status, 404, "{method}: {}", reply.body);
    }
}

#[tokio::test]
async fn duplicate_sends_the_identical_signed_request_twice() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    set(&app, &app.merchant, json!({"duplicate": true})).await;
    let hpp = watched(&app, &receiver).await;
    app.act(&hpp, "open").await;
    let log = app.settled(&hpp).await;
    let got = receiver.wait_for(2, PATIENCE).await;
    assert_eq!(got.len(), 2);
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature", "kassa-event-sequence"] {
        assert!(!got[0].header(name).is_empty(), "{name}");
        assert_eq!(got[0].header(name), got[1].header(name), "{name}: the same on both");
    }
    assert_eq!(got[0].body, got[1].body);
    let secrets = app.state.store.merchant_by_username(&app.merchant.username).await.unwrap().unwrap().webhook_secrets;
    let verifier = standardwebhooks::Webhook::new(&secrets[0]).unwrap();
    for callback in &got {
        let mut headers = http::HeaderMap::new();
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            headers.insert(name, callback.header(name).parse().unwrap());
        }
        verifier.verify(&callback.body, &headers).expect("each copy's signature verifies");
    }
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"].as_array().unwrap().len(), 1, "one attempt, sent twice: {log:#?}");
    assert_eq!(receiver.count(), 2, "settled: nothing more comes");
}

#[tokio::test]
async fn a_delay_holds_the_callback_back_that_long() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    set(&app, &app.merchant, json!({"delay_seconds": 2})).await;
    let hpp = watched(&app, &receiver).await;
    let before = Instant::now();
    app.act(&hpp, "open").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let waiting = app.deliveries(&hpp).await;
    assert_eq!(receiver.count(), 0, "not yet");
    assert_eq!(waiting[0]["status"], "pending", "{waiting:#?}");
    assert!(waiting[0]["attempts"].as_array().unwrap().is_empty(), "a delay is no attempt: {waiting:#?}");
    assert!(waiting[0]["next_attempt_at"].is_string(), "{waiting:#?}");
    let got = receiver.wait_for(1, PATIENCE).await;
    assert!(before.elapsed() >= Duration::from_secs(2), "arrived after {:?}", before.elapsed());
    assert_eq!(got[0].json()["session"]["status"], "IN_PROGRESS");
    let log = app.settled(&hpp).await;
    assert_eq!((log[0]["status"].as_str(), log[0]["attempts"].as_array().unwrap().len()), (Some("delivered"), 1));
}

#[tokio::test]
async fn a_long_delay_ends_when_the_merchants_sandbox_clock_passes_it() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    set(&app, &app.merchant, json!({"delay_seconds": 3600})).await;
    let hpp = watched(&app, &receiver).await;
    app.act(&hpp, "open").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.count(), 0);
    let moved = app.post("/sandbox/v1/clock/advance", json!({"seconds": 3600})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    receiver.wait_for(1, PATIENCE).await;
    app.settled(&hpp).await;
    assert_eq!(receiver.count(), 1);
}

#[tokio::test]
async fn fail_first_records_simulated_500s_then_the_next_attempt_arrives() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    set(&app, &app.merchant, json!({"fail_first": 2})).await;
    let hpp = watched(&app, &receiver).await;
    app.act(&hpp, "open").await;
    for made in 1..=2 {
        let delivery = attempts_recorded(&app, &hpp, made).await;
        assert_eq!(delivery["status"], "pending", "retried by the policy: {delivery:#}");
        assert_eq!(receiver.count(), 0, "a simulated failure sends nothing");
        app.advance(10);
    }
    receiver.wait_for(1, PATIENCE).await;
    let log = app.settled(&hpp).await;
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{log:#?}");
    for (i, attempt) in attempts[..2].iter().enumerate() {
        assert_eq!(attempt["status_code"], 500, "{attempt:#}");
        assert_eq!(
            attempt["error"],
            format!("sandbox: simulated HTTP 500, not sent (fail_first = 2: attempt {} of 2)", i + 1)
        );
    }
    assert_eq!(attempts[2]["status_code"], 204);
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(receiver.count(), 1, "exactly one request arrived");
}

#[tokio::test]
async fn fail_first_with_timeouts_records_timeouts() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    set(&app, &app.merchant, json!({"fail_first": 1, "failure": "timeout"})).await;
    let hpp = watched(&app, &receiver).await;
    app.act(&hpp, "open").await;
    attempts_recorded(&app, &hpp, 1).await;
    assert_eq!(receiver.count(), 0);
    app.advance(10);
    receiver.wait_for(1, PATIENCE).await;
    let log = app.settled(&hpp).await;
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{log:#?}");
    assert!(attempts[0].get("status_code").is_none_or(Value::is_null), "{:#}", attempts[0]);
    let error = attempts[0]["error"].as_str().unwrap();
    assert!(error.starts_with("sandbox: simulated timeout (no response within 3000 ms)"), "{error}");
    assert_eq!(attempts[1]["status_code"], 204);
    assert_eq!(receiver.count(), 1);
}

#[tokio::test]
async fn a_dropped_callback_is_logged_never_sent_and_left_to_reconciliation() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    set(&app, &app.merchant, json!({"drop_every": 2})).await;
    let hpp = watched(&app, &receiver).await;
    app.act(&hpp, "open").await;
    app.act(&hpp, "cancel").await;
    let log = app.settled(&hpp).await;
    assert_eq!(log.len(), 2, "{log:#?}");
    assert_eq!(log[0]["status"], "delivered", "the first callback is sent");
    assert_eq!(log[1]["status"], "failed", "the second is dropped: {log:#?}");
    let attempts = log[1]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "dropped once, never retried");
    assert!(attempts[0]["error"].as_str().unwrap().starts_with("dropped by the sandbox setting drop_every = 2"));
    assert!(log[1].get("next_attempt_at").is_none_or(Value::is_null));
    app.advance(3600);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.settled(&hpp).await, log, "an hour later: still not retried");
    let got = receiver.received();
    assert_eq!(got.len(), 1, "only the first callback arrived");
    assert_eq!(got[0].json()["session"]["status"], "IN_PROGRESS");
    let dropped_event = log[1]["event_id"].as_str().unwrap().to_owned();
    eventually("the dropped callback's event in the reconciliation batch", PATIENCE, || async {
        let page = app.get("/kassa/v1/events?undelivered=true").await;
        let events = page.body["events"].as_array().unwrap().clone();
        let ids: Vec<&str> = events.iter().filter_map(|e| e["event_id"].as_str()).collect();
        if ids == [dropped_event.as_str()] { Ok(()) } else { Err(format!("{events:#?}")) }
    })
    .await;
}

#[tokio::test]
async fn one_merchants_settings_leave_the_others_callbacks_alone() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    set(&app, &app.merchant, json!({"drop_every": 1})).await;
    let theirs = app.api.as_merchant(&app.other);
    let (other_hpp, _, _) = theirs.hpp_session(json!({}), receiver.merchant_urls()).await;
    theirs.act(&other_hpp, "open").await;
    let hpp = watched(&app, &receiver).await;
    app.act(&hpp, "open").await;
    let mine = app.settled(&hpp).await;
    assert_eq!(mine[0]["status"], "failed", "{mine:#?}");
    let log = theirs.settled(&other_hpp).await;
    assert_eq!(log[0]["status"], "delivered", "{log:#?}");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].session_id(), other_hpp);
}
