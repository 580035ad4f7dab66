//! Status callbacks: the outbox, the worker, signatures, retry policies, ordering, isolation of
//! slow receivers, target safety, the delivery log and redelivery.
//!
//! That no more callbacks arrive is shown exactly: once every delivery of a session is settled
//! (delivered or given up, in the delivery log), nothing more is ever sent for it, so the
//! receiver's count then is final.

use crate::schema::{Spec, assert_valid};
use kassa_core::retry::RetryPolicy;
use kassa_testkit::{Answer, Client, Merchant, PATIENCE, Receiver, TestApp, eventually, spawn, spawn_in};
use reqwest::Method;
use serde_json::{Value, json};

async fn webhook_secrets(app: &TestApp, who: &Merchant) -> Vec<String> {
    app.state.store.merchant_by_username(&who.username).await.unwrap().unwrap().webhook_secrets
}

/// An HPP session whose callbacks go to `receiver` (with the merchant's own query parameters).
pub(crate) async fn watched_session(app: &TestApp, receiver: &Receiver) -> String {
    let urls =
        json!({"status_update": format!("{}/kassa-callback?sid={{{{session_id}}}}&token=one-time-7d1c", receiver.url)});
    app.hpp_session(json!({}), urls).await.0
}

/// Waits until the first delivery of `session` has `count` attempts recorded; returns it.
async fn attempts_recorded(api: &Client, session: &str, count: usize) -> Value {
    eventually(format!("attempt {count} of {session} recorded"), PATIENCE, || async {
        let log = api.deliveries(session).await;
        match log.first() {
            Some(d) if d["attempts"].as_array().unwrap().len() >= count => Ok(d.clone()),
            _ => Err(Value::from(log)),
        }
    })
    .await
}

#[tokio::test]
async fn every_status_change_is_called_back_signed_in_order_with_the_read_body() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let hpp = watched_session(&app, &receiver).await;
    for action in ["open", "decline", "open", "approve"] {
        app.act(&hpp, action).await;
    }
    let got = receiver.wait_for(4, PATIENCE).await;
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
    let log = app.settled(&hpp).await;
    assert!(log.iter().all(|d| d["status"] == "delivered" && d["attempts"].as_array().unwrap().len() == 1), "{log:#?}");
    assert_eq!(log[0]["attempts"][0]["status_code"], 204);
    assert_eq!((log.len(), receiver.count()), (4, 4), "each change once, nothing more");
}

#[tokio::test]
async fn a_session_without_status_update_and_the_creation_call_nobody() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let quiet = app.hpp_session(json!({}), json!({})).await.0;
    app.act(&quiet, "open").await;
    let watched = watched_session(&app, &receiver).await;
    app.delete(&format!("/hpp/v1/sessions/{watched}")).await;
    let got = receiver.wait_for(1, PATIENCE).await;
    assert_eq!(got[0].json()["session"]["status"], "DISABLED");
    // The quiet session has no delivery at all, the watched one only its DISABLED change; once
    // that is settled nothing more can come.
    assert!(app.deliveries(&quiet).await.is_empty());
    let log = app.settled(&watched).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(receiver.count(), 1, "only the DISABLED change of the watched session");
}

#[tokio::test]
async fn klarna_policy_makes_exactly_four_attempts_then_gives_up() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_always(Answer::status(500));
    let hpp = watched_session(&app, &receiver).await;
    app.act(&hpp, "open").await;
    for attempt in 1..=4 {
        receiver.wait_for(attempt, PATIENCE).await;
        // Once the attempt is recorded (its retry time computed), move past any 2/4/8 s delay.
        attempts_recorded(&app.api, &hpp, attempt).await;
        app.advance(10);
    }
    let log = app.settled(&hpp).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0]["status"], "failed");
    assert!(log[0].get("next_attempt_at").is_none(), "given up: no next attempt {:#}", log[0]);
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4);
    assert!(attempts.iter().all(|a| a["status_code"] == 500 && a["error"] == "HTTP 500"));
    // Given up and settled: an hour later there is still no fifth attempt, in the log or at the
    // receiver.
    app.advance(3600);
    assert_eq!(app.settled(&hpp).await, log);
    assert_eq!(receiver.count(), 4, "given up: no fifth attempt");
    let event_ids: Vec<String> = receiver.received().iter().map(|r| r.event_id().to_owned()).collect();
    assert!(event_ids.windows(2).all(|w| w[0] == w[1]), "the same event_id on every retry");
}

#[tokio::test]
async fn event_n_plus_one_waits_for_event_n_while_the_receiver_fails() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    receiver.script([Answer::status(503), Answer::status(503)]);
    let hpp = watched_session(&app, &receiver).await;
    for action in ["open", "back", "open", "cancel"] {
        app.act(&hpp, action).await;
    }
    receiver.wait_for(1, PATIENCE).await;
    attempts_recorded(&app.api, &hpp, 1).await;
    app.advance(10);
    receiver.wait_for(2, PATIENCE).await;
    attempts_recorded(&app.api, &hpp, 2).await;
    app.advance(10);
    receiver.wait_for(6, PATIENCE).await;
    let log = app.settled(&hpp).await;
    assert!(log.iter().all(|d| d["status"] == "delivered"), "{log:#?}");
    let sequences: Vec<u64> = receiver.received().iter().map(|r| r.sequence()).collect();
    assert_eq!(sequences, [2, 2, 2, 3, 4, 5], "retries of event 2 come before event 3");
}

#[tokio::test]
async fn a_hung_receiver_does_not_delay_another() {
    let app = spawn().await;
    // Two hosts (each has its own concurrency limit): 127.0.0.2 hangs, 127.0.0.1 answers.
    let hung = Receiver::start_at("127.0.0.2").await;
    hung.answer_always(Answer::hang());
    let fast = Receiver::start().await;
    let stuck = watched_session(&app, &hung).await;
    let quick = watched_session(&app, &fast).await;
    app.act(&stuck, "open").await;
    hung.wait_for(1, PATIENCE).await;
    app.act(&quick, "open").await;
    fast.wait_for(1, PATIENCE).await;
    // An ordering, not a duration: the fast receiver got its callback while the hung attempt
    // was still in flight (an attempt is recorded when it ends: here after Klarna's 3 s).
    let log = app.deliveries(&stuck).await;
    assert!(log[0]["attempts"].as_array().unwrap().is_empty(), "the hung attempt already ended: {log:#?}");
    assert_eq!(app.settled(&quick).await[0]["status"], "delivered");
    // The hung attempt times out after Klarna's 3 s and is recorded as such.
    let delivery = attempts_recorded(&app.api, &stuck, 1).await;
    let attempt = &delivery["attempts"][0];
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
    let patient = app.as_merchant(&Merchant::new(created.merchant.username.clone(), created.secret.clone()));
    let receiver = Receiver::start().await;
    receiver.script([Answer::status(500), Answer::too_many(600), Answer::status(410)]);
    let (hpp, _, _) = patient.hpp_session(json!({}), receiver.merchant_urls()).await;
    patient.act(&hpp, "open").await;
    receiver.wait_for(1, PATIENCE).await;
    // After the first failure: 5 s ± 20 %.
    let delivery = attempts_recorded(&patient, &hpp, 1).await;
    assert_eq!(delivery["policy"], "extended");
    let first = delivery["attempts"][0]["started_at"].as_str().unwrap().to_owned();
    let next = delivery["next_attempt_at"].as_str().unwrap().to_owned();
    let gap = millis_between(&first, &next);
    assert!((4_000..=6_100).contains(&gap), "first retry {gap} ms after the first attempt");
    app.advance(7);
    receiver.wait_for(2, PATIENCE).await;
    // 429 with Retry-After 600 s: honoured, clamped to [d, 2d] for the 5 min step d (± 20 %).
    let delivery = attempts_recorded(&patient, &hpp, 2).await;
    let second = delivery["attempts"][1]["started_at"].as_str().unwrap().to_owned();
    let gap = millis_between(&second, delivery["next_attempt_at"].as_str().unwrap());
    assert!((479_000..=601_000).contains(&gap), "retry after 429: {gap} ms");
    app.advance(721);
    receiver.wait_for(3, PATIENCE).await;
    let delivery = attempts_recorded(&patient, &hpp, 3).await;
    assert_eq!(delivery["status"], "failed", "410 Gone stops the retries: {delivery:#}");
    assert!(delivery.get("next_attempt_at").is_none(), "no next attempt after 410: {delivery:#}");
    // Given up and settled: three days later still nothing more, in the log or at the receiver.
    app.advance(3 * 24 * 3600);
    let log = patient.settled(&hpp).await;
    assert_eq!(log, [delivery], "one delivery, its three attempts");
    assert_eq!(receiver.count(), 3);
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
    let first = receiver.wait_for(1, PATIENCE).await;
    app.settled(&hpp).await;
    let event_id = first[0].header("webhook-id").to_owned();
    let reply = app.post(&format!("/kassa/v1/events/{event_id}/redeliver"), json!({})).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let again = receiver.wait_for(2, PATIENCE).await;
    assert_eq!(again[1].header("webhook-id"), event_id);
    assert_eq!(again[1].json(), first[0].json());
    assert_eq!(app.settled(&hpp).await.len(), 2);
    assert_eq!(receiver.count(), 2, "sent once more, and only once");
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
        let message = refused_target(&app, &payment, target).await;
        assert!(message.contains("merchant_urls.status_update") && message.contains(reason), "{message}");
    }
}

/// Creates an HPP session over `payment` calling back `target`: refused as a bad value, with
/// nothing stored; answers the refusal's message.
async fn refused_target(app: &TestApp, payment: &str, target: &str) -> String {
    let before = app.snapshot().await;
    let body = json!({
        "payment_session_url": format!("{}/payments/v1/sessions/{payment}", app.url),
        "merchant_urls": {"status_update": target},
    });
    let reply = app.post("/hpp/v1/sessions", body).await;
    reply.assert_error(400, "BAD_VALUE");
    assert_eq!(app.snapshot().await, before);
    reply.message()
}

#[tokio::test]
async fn production_mode_refuses_ipv6_forms_that_reach_special_addresses() {
    let app = spawn_in(kassa_server::Mode::Production).await;
    let payment = app.payment_session().await;
    // The server's own loopback port, spelled in IPv6 forms that lead to it or elsewhere unsafe.
    let port = url::Url::parse(&app.url).unwrap().port().unwrap();
    for (target, reason) in [
        (format!("http://[::ffff:0:7f00:1]:{port}/"), "must use https".to_owned()),
        (format!("https://[::ffff:0:7f00:1]:{port}/"), "::ffff:0:7f00:1, which is not a public address".to_owned()),
        (format!("https://[::ffff:127.0.0.1]:{port}/"), "which is not a public address (IPv4-mapped".to_owned()),
        (format!("https://[64:ff9b::7f00:1]:{port}/"), "which is not a public address (IPv4-IPv6".to_owned()),
        (format!("https://[2002:7f00:1::]:{port}/"), "which is not a public address (6to4)".to_owned()),
        (format!("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/"), "not a public address (TEREDO)".to_owned()),
        (format!("https://[100::1]:{port}/"), "not a public address (Discard-Only".to_owned()),
    ] {
        let message = refused_target(&app, &payment, &target).await;
        assert!(message.contains("merchant_urls.status_update") && message.contains(&reason), "{target}: {message}");
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
    let got = receiver.wait_for(1, PATIENCE).await;
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

#[tokio::test]
async fn a_target_whose_placeholders_expand_differently_per_event_keeps_each_sessions_order() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    // The URL changes at COMPLETED (the authorization token appears in it).
    let urls = json!({"status_update": format!(
        "{}/cb?sid={{{{session_id}}}}&token={{{{authorization_token}}}}&order={{{{order_id}}}}",
        receiver.url
    )});
    let mut sessions = Vec::new();
    for _ in 0..10 {
        sessions.push(app.hpp_session(json!({}), urls.clone()).await.0);
    }
    // Every IN_PROGRESS callback fails once.
    receiver.script(std::iter::repeat_n(Answer::status(500), sessions.len()));
    for hpp in &sessions {
        app.act(hpp, "open").await.assert_success();
    }
    receiver.wait_for(sessions.len(), PATIENCE).await;
    for hpp in &sessions {
        app.act(hpp, "approve").await.assert_success();
    }
    // COMPLETED, to another URL, is committed while IN_PROGRESS waits for its retry.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.advance(3);
    for hpp in &sessions {
        let log = app.settled(hpp).await;
        assert!(log.iter().all(|d| d["status"] == "delivered"), "{log:#?}");
        assert_ne!(log[0]["url"], log[1]["url"], "the placeholders expanded differently");
        assert_eq!(log[0]["target"], log[1]["target"]);
        let arrived: Vec<u64> =
            receiver.received().iter().filter(|r| r.session_id() == hpp).map(|r| r.sequence()).collect();
        assert_eq!(arrived, [2, 2, 3], "{hpp}: IN_PROGRESS (retried) before COMPLETED");
    }
}
