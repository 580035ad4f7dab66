//! Status callbacks: the outbox, the worker, signatures, retry policies, ordering, isolation of
//! slow receivers, target safety, the delivery log and redelivery.

use crate::helpers::{Merchant, TestApp, spawn, spawn_in};
use crate::receiver::{Answer, Receiver};
use crate::schema::{Spec, assert_valid};
use kassa_core::retry::RetryPolicy;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn advance(app: &TestApp, seconds: i64) {
    app.state.sandbox_clock.as_ref().unwrap().advance(seconds * 1000);
}

async fn webhook_secrets(app: &TestApp, who: &Merchant) -> Vec<String> {
    app.state.store.merchant_by_username(&who.username).await.unwrap().unwrap().webhook_secrets
}

/// An HPP session whose callbacks go to `receiver` (with the merchant's own query parameters).
async fn watched_session(app: &TestApp, receiver: &Receiver) -> String {
    let urls =
        json!({"status_update": format!("{}/kassa-callback?sid={{{{session_id}}}}&token=one-time-7d1c", receiver.url)});
    app.hpp_session(json!({}), urls).await.0
}

/// Waits until the first delivery of `session` has `count` attempts recorded.
async fn attempts_recorded(app: &TestApp, session: &str, count: usize) {
    for _ in 0..200 {
        let log = delivery_log(app, session).await;
        if log.first().is_some_and(|d| d["attempts"].as_array().unwrap().len() >= count) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("attempt {count} of {session} was never recorded");
}

async fn delivery_log(app: &TestApp, session: &str) -> Vec<Value> {
    let reply = app.get(&format!("/kassa/v1/sessions/{session}/deliveries")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["deliveries"].as_array().unwrap().clone()
}

/// Waits until every delivery of `session` is no longer pending.
async fn settled(app: &TestApp, session: &str) -> Vec<Value> {
    for _ in 0..200 {
        let log = delivery_log(app, session).await;
        if log.iter().all(|d| d["status"] != "pending") {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deliveries of {session} still pending: {:#}", json!(delivery_log(app, session).await));
}

#[tokio::test]
async fn every_status_change_is_called_back_signed_in_order_with_the_read_body() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let hpp = watched_session(&app, &receiver).await;
    for action in ["open", "decline", "open", "approve"] {
        app.act(&hpp, action).await;
    }
    let got = receiver.wait_for(4, WAIT).await;
    assert_eq!(got.iter().map(|r| r.sequence()).collect::<Vec<_>>(), [2, 3, 4, 5]);
    let statuses: Vec<String> =
        got.iter().map(|r| r.json()["session"]["status"].as_str().unwrap().to_owned()).collect();
    assert_eq!(statuses, ["IN_PROGRESS", "FAILED", "IN_PROGRESS", "COMPLETED"]);
    let events = app.events(&hpp).await;
    let secrets = webhook_secrets(&app, &app.merchant).await;
    let verifier = standardwebhooks::Webhook::new(&secrets[0]).unwrap();
    for (callback, (seq, _, body)) in got.iter().zip(&events[1..]) {
        assert_eq!(callback.uri.path(), "/kassa-callback");
        assert_eq!(callback.uri.query(), Some(format!("sid={hpp}&token=one-time-7d1c").as_str()));
        assert_eq!(callback.header("content-type"), "application/json");
        assert_eq!(callback.sequence(), *seq);
        let payload = callback.json();
        assert_eq!(payload.as_object().unwrap().len(), 2, "{payload}");
        assert_eq!(&payload["session"], body, "the callback carries the read body of that moment");
        assert_valid(Spec::Hpp, "SessionResponseV1", &payload["session"]);
        assert_eq!(callback.header("webhook-id"), payload["event_id"]);
        let mut headers = http::HeaderMap::new();
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            headers.insert(name, callback.header(name).parse().unwrap());
        }
        verifier.verify(&callback.body, &headers).expect("signature verifies with the standardwebhooks crate");
    }
    // The last callback's session is exactly what the read endpoint answers now.
    assert_eq!(got[3].json()["session"], app.get(&format!("/hpp/v1/sessions/{hpp}")).await.body);
    let log = settled(&app, &hpp).await;
    assert!(log.iter().all(|d| d["status"] == "delivered" && d["attempts"].as_array().unwrap().len() == 1), "{log:#?}");
    assert_eq!(log[0]["attempts"][0]["status_code"], 204);
}

#[tokio::test]
async fn a_session_without_status_update_and_the_creation_call_nobody() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let quiet = app.hpp_session(json!({}), json!({})).await.0;
    app.act(&quiet, "open").await;
    let watched = watched_session(&app, &receiver).await;
    app.delete(&format!("/hpp/v1/sessions/{watched}")).await;
    let got = receiver.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "only the DISABLED change of the watched session");
    assert_eq!(got[0].json()["session"]["status"], "DISABLED");
    assert!(delivery_log(&app, &quiet).await.is_empty());
}

#[tokio::test]
async fn klarna_policy_makes_exactly_four_attempts_then_gives_up() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_always(Answer::Status(500));
    let hpp = watched_session(&app, &receiver).await;
    app.act(&hpp, "open").await;
    for attempt in 1..=4 {
        receiver.wait_for(attempt, WAIT).await;
        // Once the attempt is recorded (its retry time computed), move past any 2/4/8 s delay.
        attempts_recorded(&app, &hpp, attempt).await;
        advance(&app, 10);
    }
    let log = settled(&app, &hpp).await;
    assert_eq!(log[0]["status"], "failed");
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4);
    assert!(attempts.iter().all(|a| a["status_code"] == 500 && a["error"] == "HTTP 500"));
    advance(&app, 3600);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 4, "given up: no fifth attempt");
    let event_ids: Vec<String> = receiver.received().iter().map(|r| r.header("webhook-id").to_owned()).collect();
    assert!(event_ids.windows(2).all(|w| w[0] == w[1]), "the same event_id on every retry");
}

#[tokio::test]
async fn event_n_plus_one_waits_for_event_n_while_the_receiver_fails() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    receiver.script([Answer::Status(503), Answer::Status(503)]);
    let hpp = watched_session(&app, &receiver).await;
    for action in ["open", "back", "open", "cancel"] {
        app.act(&hpp, action).await;
    }
    receiver.wait_for(1, WAIT).await;
    advance(&app, 10);
    receiver.wait_for(2, WAIT).await;
    advance(&app, 10);
    let got = receiver.wait_for(6, WAIT).await;
    let sequences: Vec<u64> = got.iter().map(|r| r.sequence()).collect();
    assert_eq!(sequences, [2, 2, 2, 3, 4, 5], "retries of event 2 come before event 3");
    assert!(settled(&app, &hpp).await.iter().all(|d| d["status"] == "delivered"));
}

#[tokio::test]
async fn a_hung_receiver_does_not_delay_another() {
    let app = spawn().await;
    // Two hosts (each has its own concurrency limit): 127.0.0.2 hangs, 127.0.0.1 answers.
    let hung = Receiver::start_at("127.0.0.2").await;
    hung.answer_always(Answer::Hang);
    let fast = Receiver::start().await;
    let stuck = watched_session(&app, &hung).await;
    let quick = watched_session(&app, &fast).await;
    app.act(&stuck, "open").await;
    hung.wait_for(1, WAIT).await;
    let started = std::time::Instant::now();
    app.act(&quick, "open").await;
    fast.wait_for(1, WAIT).await;
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    // The hung attempt times out after Klarna's 3 s and is recorded as such.
    let log = {
        let mut log = delivery_log(&app, &stuck).await;
        for _ in 0..100 {
            if !log[0]["attempts"].as_array().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            log = delivery_log(&app, &stuck).await;
        }
        log
    };
    let attempt = &log[0]["attempts"][0];
    assert!(attempt["error"].as_str().unwrap().contains("no response within 3000 ms"), "{attempt}");
    assert!(attempt["duration_ms"].as_u64().unwrap() >= 3000);
}

#[tokio::test]
async fn extended_policy_follows_its_schedule_honours_retry_after_and_stops_at_410() {
    let app = spawn().await;
    // A merchant on the extended policy.
    let mut created = kassa_server::model::credentials::create("Patient shop", None, None, app.state.now()).unwrap();
    created.merchant.retry_policy = RetryPolicy::Extended;
    app.state.store.insert_merchant(&created.merchant).await.unwrap();
    let patient = Merchant { username: created.merchant.username.clone(), secret: created.secret.clone() };
    let receiver = Receiver::start().await;
    receiver.script([Answer::Status(500), Answer::TooMany(600), Answer::Status(410)]);
    let payment = app.call_as(&patient, Method::POST, "/payments/v1/sessions", Some(crate::helpers::cart())).await;
    let payment = payment.body["session_id"].as_str().unwrap().to_owned();
    let body = json!({
        "payment_session_url": format!("{}/payments/v1/sessions/{payment}", app.url),
        "merchant_urls": {"status_update": format!("{}/cb", receiver.url)},
    });
    let hpp = app.call_as(&patient, Method::POST, "/hpp/v1/sessions", Some(body)).await.body["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call_as(&patient, Method::POST, &format!("/sandbox/v1/hpp/sessions/{hpp}/open"), None).await;
    receiver.wait_for(1, WAIT).await;
    // After the first failure: 5 s ± 20 %.
    attempts_recorded_as(&app, &patient, &hpp, 1).await;
    let delivery = first_delivery(&app, &patient, &hpp).await;
    assert_eq!(delivery["policy"], "extended");
    let first = delivery["attempts"][0]["started_at"].as_str().unwrap().to_owned();
    let next = delivery["next_attempt_at"].as_str().unwrap().to_owned();
    let gap = millis_between(&first, &next);
    assert!((4_000..=6_100).contains(&gap), "first retry {gap} ms after the first attempt");
    advance(&app, 7);
    receiver.wait_for(2, WAIT).await;
    attempts_recorded_as(&app, &patient, &hpp, 2).await;
    // 429 with Retry-After 600 s: honoured, clamped to [d, 2d] for the 5 min step d (± 20 %).
    let delivery = first_delivery(&app, &patient, &hpp).await;
    let second = delivery["attempts"][1]["started_at"].as_str().unwrap().to_owned();
    let gap = millis_between(&second, delivery["next_attempt_at"].as_str().unwrap());
    assert!((479_000..=601_000).contains(&gap), "retry after 429: {gap} ms");
    advance(&app, 721);
    receiver.wait_for(3, WAIT).await;
    attempts_recorded_as(&app, &patient, &hpp, 3).await;
    let delivery = first_delivery(&app, &patient, &hpp).await;
    assert_eq!(delivery["status"], "failed", "410 Gone stops the retries: {delivery:#}");
    advance(&app, 3 * 24 * 3600);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 3);
}

async fn attempts_recorded_as(app: &TestApp, who: &Merchant, hpp: &str, count: usize) {
    for _ in 0..200 {
        if first_delivery(app, who, hpp).await["attempts"].as_array().is_some_and(|a| a.len() >= count) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("attempt {count} never recorded");
}

async fn first_delivery(app: &TestApp, who: &Merchant, hpp: &str) -> Value {
    let reply = app.call_as(who, Method::GET, &format!("/kassa/v1/sessions/{hpp}/deliveries"), None).await;
    reply.body["deliveries"][0].clone()
}

fn millis_between(a: &str, b: &str) -> i64 {
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp_nanos()
            / 1_000_000
    };
    (parse(b) - parse(a)) as i64
}

#[tokio::test]
async fn a_delivered_event_can_be_sent_again_with_the_same_event_id() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let hpp = watched_session(&app, &receiver).await;
    app.act(&hpp, "open").await;
    let first = receiver.wait_for(1, WAIT).await;
    settled(&app, &hpp).await;
    let event_id = first[0].header("webhook-id").to_owned();
    let reply = app.post(&format!("/kassa/v1/events/{event_id}/redeliver"), json!({})).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let again = receiver.wait_for(2, WAIT).await;
    assert_eq!(again[1].header("webhook-id"), event_id);
    assert_eq!(again[1].json(), first[0].json());
    assert_eq!(settled(&app, &hpp).await.len(), 2);
    // Another merchant cannot.
    let other =
        app.call_as(&app.other, Method::POST, &format!("/kassa/v1/events/{event_id}/redeliver"), Some(json!({}))).await;
    other.assert_error(404, "NOT_FOUND");
    app.call_as(&app.other, Method::GET, &format!("/kassa/v1/sessions/{hpp}/deliveries"), None)
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn production_mode_refuses_unsafe_callback_targets_at_creation() {
    let app = spawn_in(kassa_server::Mode::Production).await;
    let payment = app.payment_session().await;
    for (target, reason) in [
        ("http://example.com/cb", "must use https"),
        ("https://127.0.0.1/cb", "not a public address"),
        ("https://[::1]/cb", "not a public address"),
        ("https://10.0.0.8/cb", "not a public address"),
        ("https://169.254.169.254/latest/meta-data", "not a public address"),
    ] {
        let before = app.snapshot().await;
        let body = json!({
            "payment_session_url": format!("{}/payments/v1/sessions/{payment}", app.url),
            "merchant_urls": {"status_update": target},
        });
        let reply = app.post("/hpp/v1/sessions", body).await;
        reply.assert_error(400, "BAD_VALUE");
        assert!(
            reply.message().contains("merchant_urls.status_update") && reply.message().contains(reason),
            "{}",
            reply.message()
        );
        assert_eq!(app.snapshot().await, before);
    }
}

#[tokio::test]
async fn during_a_secret_rotation_callbacks_verify_with_either_secret() {
    let app = spawn().await;
    let old = webhook_secrets(&app, &app.merchant).await.remove(0);
    let new = kassa_server::model::credentials::new_webhook_secret();
    let rotated = [new.clone(), old.clone()];
    assert!(
        app.state.store.set_merchant_webhooks(&app.merchant.username, &rotated, RetryPolicy::Klarna).await.unwrap()
    );
    let receiver = Receiver::start().await;
    let hpp = watched_session(&app, &receiver).await;
    app.act(&hpp, "open").await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, got[0].header(name).parse().unwrap());
    }
    for secret in [&new, &old] {
        standardwebhooks::Webhook::new(secret).unwrap().verify(&got[0].body, &headers).unwrap();
    }
    let stranger = kassa_server::model::credentials::new_webhook_secret();
    assert!(standardwebhooks::Webhook::new(&stranger).unwrap().verify(&got[0].body, &headers).is_err());
}
