//! In-store payments (seed 000), black-box: initiation, distribution as work after the create
//! call, the result endpoint, short codes, retry, cancel (partner, consumer, 3-hour auto-cancel),
//! automatic orders and the callbacks that follow every status change.

use crate::public::decode_png;
use futures::future::join_all;
use kassa_server::Mode;
use kassa_server::app::clock::{Clock, SystemClock};
use kassa_server::app::config::RateLimits;
use kassa_server::service::instore::jobs;
use kassa_store::{ClaimWindow, SessionKind};
use kassa_testkit::{PATIENCE, Receiver, Reply, TestApp, eventually, in_store, read, spawn, spawn_with};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const THREE_HOURS: i64 = 3 * 3600;

/// Creates an in-store session; returns its id after checking the response's `result_url`.
pub(crate) async fn create(app: &TestApp, distribution: Value) -> String {
    let reply = app.post("/payments/v1/sessions", in_store(distribution)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.body["session_id"].as_str().unwrap().to_owned();
    assert_eq!(reply.body["distribution"], json!({"result_url": format!("{}/iss/v1/distributions/{id}", app.url)}));
    id
}

pub(crate) async fn result(app: &TestApp, id: &str) -> Value {
    let reply = app.get(&format!("/iss/v1/distributions/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// The result once the service has moved it on from WAITING (a long-poll on the result
/// endpoint while it is WAITING).
pub(crate) async fn distributed(app: &TestApp, id: &str) -> Value {
    let path = format!("/iss/v1/distributions/{id}");
    eventually(format!("{id} to move on from WAITING"), Duration::from_secs(50), || async {
        let reply = app.get(&path).await;
        if reply.body["status"] != "WAITING" {
            return Ok(reply.body);
        }
        let etag = reply.headers["etag"].clone();
        let request = app.api.request(Method::GET, &format!("{path}?wait=5")).header("if-none-match", etag);
        let answer = read(request.send().await.unwrap()).await;
        if answer.status == 200 && answer.body["status"] != "WAITING" { Ok(answer.body) } else { Err(answer.status) }
    })
    .await
}

async fn act(app: &TestApp, id: &str, action: &str) -> Reply {
    app.post(&format!("/sandbox/v1/distributions/{id}/{action}"), json!({})).await
}

pub(crate) async fn act_ok(app: &TestApp, id: &str, action: &str) -> Value {
    let reply = act(app, id, action).await;
    assert_eq!(reply.status, 200, "{action}: {}", reply.body);
    reply.body
}

async fn consumer_session(app: &TestApp, request: Value) -> Value {
    let reply = app.post("/sandbox/v1/consumer-sessions", request).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

async fn advance(app: &TestApp, seconds: i64) {
    let reply = app.post("/sandbox/v1/clock/advance", json!({"seconds": seconds})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// The statuses of the distribution's events, in order.
async fn distribution_statuses(app: &TestApp, id: &str) -> Vec<String> {
    let events = app.state.store.session_events_after(SessionKind::Distribution, id, 0).await.unwrap();
    events.into_iter().map(|e| e.event.status.to_owned()).collect()
}

fn keys(body: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// The callback URL with the merchant's own correlation id and one-time token.
fn callback_url(receiver: &Receiver) -> String {
    format!("{}/statsCallbackEndpoint?klarnaId=pos-77&secretToken=9f8e-one-time", receiver.url)
}

/// Waits for `expected.len()` callbacks and checks they carry exactly `expected`, in order, to
/// the URL as given, and nothing more: once every delivery of `session` is settled nothing more
/// is sent for it.
async fn assert_callbacks(app: &TestApp, receiver: &Receiver, session: &str, expected: &[Value]) {
    receiver.wait_for(expected.len(), PATIENCE).await;
    app.settled(session).await;
    let got = receiver.received();
    assert_eq!(got.len(), expected.len(), "callbacks: {:?}", got.iter().map(|r| r.json()).collect::<Vec<_>>());
    for (received, body) in got.iter().zip(expected) {
        assert_eq!(&received.json(), body);
        assert_eq!(received.uri.path(), "/statsCallbackEndpoint");
        assert_eq!(received.uri.query(), Some("klarnaId=pos-77&secretToken=9f8e-one-time"));
    }
}

#[tokio::test]
async fn the_qr_flow_from_waiting_to_completed_with_an_automatic_order() {
    // Distribution takes a minute of service time here, so WAITING can be seen for sure.
    let app = spawn_with(Mode::Sandbox, |c| {
        c.rate_limits = RateLimits::off();
        c.distribution_delay = Duration::from_secs(60);
    })
    .await;
    let receiver = Receiver::start().await;
    let id =
        create(&app, json!({"method": "one_qr", "callback_urls": {"status_update": callback_url(&receiver)}})).await;
    assert_eq!(result(&app, &id).await, json!({"status": "WAITING"}));
    advance(&app, 60).await;

    let mut expected = Vec::new();
    let shown = distributed(&app, &id).await;
    assert_eq!(shown["status"], "DISTRIBUTED");
    assert_eq!(keys(&shown), ["payment_link", "qr", "status"]);
    let link = shown["payment_link"].as_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("{}/hpp/payments/", app.url)), "{link}");
    assert!(shown["qr"].as_str().unwrap().starts_with(&format!("{}/iss/v1/distributions/{id}/qr/", app.url)));
    expected.push(shown.clone());

    // The consumer scans the QR: the first open of the link is ACCESSED, later ones change nothing.
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("data-status=\"ACCESSED\""));
    let accessed = result(&app, &id).await;
    assert_eq!(accessed, json!({"status": "ACCESSED", "qr": shown["qr"], "payment_link": link}));
    expected.push(accessed);
    assert_eq!(app.client.get(&link).send().await.unwrap().status(), 200);
    assert_eq!(act_ok(&app, &id, "open").await["status"], "ACCESSED");

    let completed = act_ok(&app, &id, "pay").await;
    assert_eq!(keys(&completed), ["klarna_reference", "order_id", "status"]);
    assert_eq!(completed["status"], "COMPLETED");
    assert_eq!(result(&app, &id).await, completed);
    expected.push(completed.clone());

    // The order was placed and captured; the payment session is complete.
    let order_id = completed["order_id"].as_str().unwrap();
    let order = app.get(&format!("/ordermanagement/v1/orders/{order_id}")).await;
    assert_eq!(order.status, 200, "{}", order.body);
    assert_eq!(order.body["status"], "CAPTURED");
    assert_eq!(order.body["klarna_reference"], completed["klarna_reference"]);
    assert_eq!(order.body["order_amount"], 18000);
    assert_eq!(order.body["captured_amount"], 18000);
    assert_eq!(order.body["purchase_currency"], "SEK");
    let payment = app.get(&format!("/payments/v1/sessions/{id}")).await;
    assert_eq!(payment.body["status"], "complete");
    assert_eq!(payment.body["acquiring_channel"], "IN_STORE");

    assert_callbacks(&app, &receiver, &id, &expected).await;
    assert_eq!(distribution_statuses(&app, &id).await, ["WAITING", "DISTRIBUTED", "ACCESSED", "COMPLETED"]);
    // Final: nothing moves it any more.
    for action in ["open", "pay", "cancel"] {
        act(&app, &id, action).await.assert_error(409, "INVALID_OPERATION");
    }
    app.delete(&format!("/payments/v1/sessions/{id}")).await.assert_error(403, "INVALID_OPERATION");
}

#[tokio::test]
async fn the_qr_image_encodes_the_payment_link() {
    let app = spawn().await;
    let id = create(&app, json!({"method": "one_qr"})).await;
    let shown = distributed(&app, &id).await;
    let qr = shown["qr"].as_str().unwrap();
    let png = app.client.get(format!("{qr}?format=png")).send().await.unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(decode_png(&png.bytes().await.unwrap()), shown["payment_link"].as_str().unwrap());
    let svg = app.client.get(qr).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains("<svg"));
    // Only the right token, and only while the link is shown.
    let wrong = app.client.get(format!("{}/iss/v1/distributions/{id}/qr/0000", app.url)).send().await.unwrap();
    assert_eq!(wrong.status(), 404);
    app.delete(&format!("/payments/v1/sessions/{id}")).await;
    assert_eq!(app.client.get(qr).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_short_code_pushes_the_payment_to_the_consumer_session() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let phone = consumer_session(&app, json!({"short_code": "2005"})).await;
    assert_eq!(keys(&phone), ["consumer_session_id", "expires_at", "short_code"]);
    assert_eq!(phone["short_code"], "2005");
    let distribution =
        json!({"method": "one_qr", "short_code": "2005", "callback_urls": {"status_update": callback_url(&receiver)}});
    let id = create(&app, distribution).await;
    let shown = distributed(&app, &id).await;
    assert_eq!(shown["status"], "DISTRIBUTED");
    assert_callbacks(&app, &receiver, &id, &[shown]).await;

    // The code is used up: a second payment with it cannot find a free consumer session.
    let second = create(&app, json!({"method": "one_qr", "short_code": "2005"})).await;
    let failed = distributed(&app, &second).await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["error"], json!({"code": "CONSUMER_SESSION_NOT_FOUND", "retryable": true}));

    // kassa picks a six-digit code when none is asked for; a live code cannot be given twice.
    let picked = consumer_session(&app, json!({})).await;
    let code = picked["short_code"].as_str().unwrap();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let taken = app.post("/sandbox/v1/consumer-sessions", json!({"short_code": code})).await;
    taken.assert_error(409, "INVALID_OPERATION");
    app.post("/sandbox/v1/consumer-sessions", json!({"short_code": "1"})).await.assert_error(400, "BAD_VALUE");
}

#[tokio::test]
async fn an_unknown_code_fails_retryably_and_a_retry_with_the_right_code_completes() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let callback = callback_url(&receiver);
    let id =
        create(&app, json!({"method": "one_qr", "short_code": "4211", "callback_urls": {"status_update": callback}}))
            .await;
    let failed = distributed(&app, &id).await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["error"], json!({"code": "CONSUMER_SESSION_NOT_FOUND", "retryable": true}));
    assert_eq!(failed["retry_url"], format!("{}/iss/v1/distributions/{id}/retry", app.url));
    // The QR and payment link stay the fallback.
    assert_eq!(keys(&failed), ["error", "payment_link", "qr", "retry_url", "status"]);
    let mut expected = vec![failed.clone()];

    consumer_session(&app, json!({"short_code": "4212"})).await;
    let retry = json!({"distribution": {"method": "one_qr", "short_code": "4212",
                                         "callback_urls": {"status_update": callback_url(&receiver)}}});
    let reply = app.post(&format!("/iss/v1/distributions/{id}/retry"), retry).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "WAITING");
    let shown = distributed(&app, &id).await;
    assert_eq!(shown["status"], "DISTRIBUTED");
    assert_eq!(shown["payment_link"], failed["payment_link"], "the link stays the same");
    expected.push(shown);
    expected.push(act_ok(&app, &id, "open").await);
    let completed = act_ok(&app, &id, "pay").await;
    assert_eq!(completed["status"], "COMPLETED");
    expected.push(completed);
    // WAITING (creation, and after the retry) is never called back.
    assert_callbacks(&app, &receiver, &id, &expected).await;
    let statuses = distribution_statuses(&app, &id).await;
    assert_eq!(statuses, ["WAITING", "FAILED", "WAITING", "DISTRIBUTED", "ACCESSED", "COMPLETED"]);
}

#[tokio::test]
async fn the_payment_link_is_the_fallback_of_a_short_code_that_failed() {
    let app = spawn().await;
    let phone = consumer_session(&app, json!({"short_code": "777", "ttl_seconds": 60})).await;
    assert_eq!(phone["short_code"], "777");
    advance(&app, 61).await; // the code expires
    let id = create(&app, json!({"method": "one_qr", "short_code": "777"})).await;
    let failed = distributed(&app, &id).await;
    assert_eq!(failed["error"]["code"], "CONSUMER_SESSION_NOT_FOUND");
    let link = failed["payment_link"].as_str().unwrap();
    assert_eq!(app.client.get(link).send().await.unwrap().status(), 200);
    assert_eq!(result(&app, &id).await["status"], "ACCESSED");
    assert_eq!(act_ok(&app, &id, "pay").await["status"], "COMPLETED");
}

#[tokio::test]
async fn an_unknown_failure_is_not_retryable_and_a_refused_retry_changes_nothing() {
    let app = spawn().await;
    let id = create(&app, json!({"method": "one_qr"})).await;
    distributed(&app, &id).await;
    let retry = json!({"distribution": {"method": "one_qr", "short_code": "1234"}});

    // Not FAILED: refused, nothing changes.
    let before = app.snapshot().await;
    let refused = app.post(&format!("/iss/v1/distributions/{id}/retry"), retry.clone()).await;
    refused.assert_error(400, "BAD_REQUEST");
    assert!(refused.message().contains("DISTRIBUTED"), "{}", refused.message());
    assert_eq!(app.snapshot().await, before);

    let failed = app.post(&format!("/sandbox/v1/distributions/{id}/fail"), json!({"code": "UNKNOWN"})).await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(failed.body["error"], json!({"code": "UNKNOWN", "retryable": false}));
    assert_eq!(keys(&failed.body), ["error", "retry_url", "status"], "no link to fall back on");
    assert_eq!(result(&app, &id).await, failed.body);

    let before = app.snapshot().await;
    let refused = app.post(&format!("/iss/v1/distributions/{id}/retry"), retry).await;
    refused.assert_error(400, "BAD_REQUEST");
    assert!(refused.message().contains("not retryable"), "{}", refused.message());
    act(&app, &id, "open").await.assert_error(409, "INVALID_OPERATION");
    assert_eq!(app.snapshot().await, before);

    // A failed session can still be canceled.
    assert_eq!(app.delete(&format!("/payments/v1/sessions/{id}")).await.status, 204);
    assert_eq!(result(&app, &id).await, json!({"status": "CANCELED"}));
}

#[tokio::test]
async fn the_partner_cancels_with_delete_and_the_consumer_from_the_page() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let distribution = json!({"method": "one_qr", "callback_urls": {"status_update": callback_url(&receiver)}});

    let by_partner = create(&app, distribution.clone()).await;
    let shown = distributed(&app, &by_partner).await;
    assert_eq!(app.delete(&format!("/payments/v1/sessions/{by_partner}")).await.status, 204);
    let canceled = result(&app, &by_partner).await;
    assert_eq!(canceled, json!({"status": "CANCELED"}));
    app.get(&format!("/payments/v1/sessions/{by_partner}")).await.assert_error(404, "NOT_FOUND");
    assert_callbacks(&app, &receiver, &by_partner, &[shown, canceled.clone()]).await;

    let by_consumer = create(&app, distribution).await;
    distributed(&app, &by_consumer).await;
    act_ok(&app, &by_consumer, "open").await;
    // Declined: the page stays open for another try; no status change, no callback.
    assert_eq!(act_ok(&app, &by_consumer, "decline").await["status"], "ACCESSED");
    assert_eq!(act_ok(&app, &by_consumer, "cancel").await, canceled);
    app.get(&format!("/payments/v1/sessions/{by_consumer}")).await.assert_error(404, "NOT_FOUND");
    receiver.wait_for(5, PATIENCE).await;
    app.settled(&by_consumer).await;
    let statuses: Vec<Value> = receiver.received().iter().map(|r| r.json()["status"].clone()).collect();
    assert_eq!(statuses, ["DISTRIBUTED", "CANCELED", "DISTRIBUTED", "ACCESSED", "CANCELED"]);
    act(&app, &by_consumer, "decline").await.assert_error(409, "INVALID_OPERATION");
}

#[tokio::test]
async fn an_unscanned_session_is_auto_canceled_after_three_hours_but_not_once_accessed() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let distribution = json!({"method": "one_qr", "callback_urls": {"status_update": callback_url(&receiver)}});
    let unscanned = create(&app, distribution.clone()).await;
    let waiting_code = create(&app, json!({"method": "one_qr", "short_code": "999"})).await; // FAILED
    let scanned = create(&app, distribution).await;
    let shown = distributed(&app, &unscanned).await;
    assert_eq!(distributed(&app, &waiting_code).await["status"], "FAILED");
    distributed(&app, &scanned).await;
    act_ok(&app, &scanned, "open").await;

    // The sessions were created a little earlier than now: leave a margin.
    advance(&app, THREE_HOURS - 300).await;
    assert_eq!(result(&app, &unscanned).await["status"], "DISTRIBUTED");
    advance(&app, 300).await;
    // The advance answers once the jobs that fell due have run.
    assert_eq!(result(&app, &unscanned).await, json!({"status": "CANCELED"}));
    assert_eq!(result(&app, &waiting_code).await["status"], "CANCELED");
    assert_eq!(result(&app, &scanned).await["status"], "ACCESSED");
    app.get(&format!("/payments/v1/sessions/{unscanned}")).await.assert_error(404, "NOT_FOUND");
    let payment = app.get(&format!("/payments/v1/sessions/{scanned}")).await;
    assert_eq!(payment.status, 200);
    receiver.wait_for(4, PATIENCE).await;
    for session in [&unscanned, &scanned] {
        app.settled(session).await;
    }
    let received = receiver.received();
    assert_eq!(received.len(), 4, "DISTRIBUTED and CANCELED of one, DISTRIBUTED and ACCESSED of the other");
    let unscanned_calls: Vec<Value> =
        received.iter().filter(|r| r.session_id() == unscanned).map(|r| r.json()).collect();
    assert_eq!(unscanned_calls, [shown, json!({"status": "CANCELED"})]);
}

#[tokio::test]
async fn the_auto_cancel_survives_a_restart() {
    let mut app = spawn().await;
    let id = create(&app, json!({"method": "one_qr"})).await;
    distributed(&app, &id).await;
    app.restart().await; // the new process's clock starts at the wall clock again
    advance(&app, THREE_HOURS).await;
    assert_eq!(result(&app, &id).await["status"], "CANCELED");
}

#[tokio::test]
async fn with_two_nodes_each_auto_cancel_happens_once() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let distribution = json!({"method": "one_qr", "callback_urls": {"status_update": callback_url(&receiver)}});
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(create(&app, distribution.clone()).await);
    }
    for id in &ids {
        distributed(&app, id).await;
    }
    let other = app.other_node().await;
    for node in [&app.state, &other] {
        node.sandbox_clock.as_ref().unwrap().advance(THREE_HOURS * 1000);
    }
    // Half the timers go to the nodes' schedulers racing for claims; for the other half both
    // nodes run the very same job at once (as after a lease ran out): each takes effect once.
    let now = app.state.now();
    let wall = SystemClock.now();
    let window = ClaimWindow { due_at: now, wall_now: wall, lease_until: wall.plus_millis(60_000), limit: 10 };
    let claimed = app.state.store.claim_jobs(window).await.unwrap();
    assert_eq!(claimed.len(), 10);
    let run_twice = claimed.iter().map(|c| async {
        let (a, b) = tokio::join!(jobs::run(&app.state, &c.job), jobs::run(&other, &c.job));
        assert!(a.is_ok() && b.is_ok(), "the run that comes second finds the job done: {a:?} {b:?}");
    });
    let race = async {
        tokio::join!(async { while kassa_server::service::jobs::run_due(&app.state).await > 0 {} }, async {
            while kassa_server::service::jobs::run_due(&other).await > 0 {}
        })
    };
    tokio::join!(join_all(run_twice), race);
    receiver.wait_for(40, PATIENCE).await;
    for id in &ids {
        app.settled(id).await;
    }
    assert_eq!(receiver.count(), 40);
    for id in &ids {
        let statuses: Vec<String> = app.events(id).await.into_iter().map(|(_, s, _)| s).collect();
        for status in ["CANCELED", "cancelled"] {
            let count = statuses.iter().filter(|s| *s == status).count();
            assert_eq!(count, 1, "{id}: {statuses:?} (the distribution's and the payment session's)");
        }
        let calls = receiver.received().iter().filter(|r| r.session_id() == id).count();
        assert_eq!(calls, 2, "{id}: DISTRIBUTED and CANCELED, once each");
    }
}

#[tokio::test]
async fn initiation_names_what_is_missing_or_malformed_and_changes_nothing() {
    let app = spawn().await;
    let before = app.snapshot().await;
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = in_store(json!({"method": "one_qr", "short_code": "2005"}));
        edit(&mut body);
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(&|b| b.as_object_mut().unwrap().remove("distribution").map(drop).unwrap()), "distribution"),
        (with(&|b| b["acquiring_channel"] = json!("ecommerce")), "distribution"),
        (with(&|b| b["distribution"]["method"] = json!("sms")), "distribution.method"),
        (
            with(&|b| b["distribution"].as_object_mut().unwrap().remove("method").map(drop).unwrap()),
            "distribution.method",
        ),
        (with(&|b| b["distribution"]["short_code"] = json!("12a4")), "distribution.short_code"),
        (with(&|b| b["distribution"]["short_code"] = json!("1")), "distribution.short_code"),
        (with(&|b| b["distribution"]["short_code"] = json!("123456789012345678901")), "distribution.short_code"),
        (with(&|b| b["distribution"]["short_code"] = json!(2005)), "distribution.short_code"),
        (
            with(&|b| b["distribution"]["callback_urls"] = json!({"status_update": "not a url"})),
            "distribution.callback_urls.status_update",
        ),
        (with(&|b| b.as_object_mut().unwrap().remove("attachment").map(drop).unwrap()), "attachment"),
        (with(&|b| b["attachment"]["content_type"] = json!("application/json")), "attachment.content_type"),
        (with(&|b| b["attachment"]["body"] = json!("{not json")), "attachment.body"),
        (with(&|b| b["attachment"]["body"] = json!("{}")), "attachment.body.in_store_payment"),
        (
            with(&|b| {
                b["attachment"]["body"] =
                    json!(json!({"in_store_payment": [{"store_info": {"store_terminal_id": "POS1"}}]}).to_string())
            }),
            "attachment.body.in_store_payment[0].store_info.merchant_store_id",
        ),
        (
            with(&|b| {
                let info = json!({"merchant_store_id": "S", "store_terminal_id": "T",
                                  "store_address": {"street_address": "a", "postal_code": "1", "city": "c", "country": "Sweden"}});
                b["attachment"]["body"] = json!(json!({"in_store_payment": [{"store_info": info}]}).to_string())
            }),
            "attachment.body.in_store_payment[0].store_info.store_address.country",
        ),
    ];
    for (body, field) in cases {
        let reply = app.post("/payments/v1/sessions", body).await;
        reply.assert_error(400, "BAD_REQUEST");
        assert!(reply.message().starts_with(&format!("{field}:")), "{field}: {}", reply.message());
    }
    assert_eq!(app.snapshot().await, before);

    // A null short code is no short code.
    let id = create(&app, json!({"method": "one_qr", "short_code": null})).await;
    assert_eq!(distributed(&app, &id).await["status"], "DISTRIBUTED");
    // The channel and distribution are fixed once created.
    let update = app
        .post(&format!("/payments/v1/sessions/{id}"), json!({"distribution": {"method": "one_qr", "short_code": "12"}}))
        .await;
    update.assert_error(400, "BAD_REQUEST");
    assert!(
        update.message().starts_with("distribution: acquiring_channel and distribution are fixed"),
        "{}",
        update.message()
    );
}

#[tokio::test]
async fn the_result_belongs_to_its_merchant_and_exists_for_in_store_sessions_only() {
    let app = spawn().await;
    let id = create(&app, json!({"method": "one_qr"})).await;
    let path = format!("/iss/v1/distributions/{id}");
    app.call_as(&app.other, Method::GET, &path, None).await.assert_error(404, "NOT_FOUND");
    let online = app.payment_session().await;
    app.get(&format!("/iss/v1/distributions/{online}")).await.assert_error(404, "NOT_FOUND");
    let retry = json!({"distribution": {"method": "one_qr"}});
    let reply = app.call_as(&app.other, Method::POST, &format!("{path}/retry"), Some(retry)).await;
    reply.assert_error(404, "NOT_FOUND");
    act(&app, &id, "dance").await.assert_error(404, "NOT_FOUND");
    let missing = app.post(&format!("/sandbox/v1/distributions/{id}/fail"), json!({})).await;
    missing.assert_error(400, "BAD_VALUE");
    let unknown = app.client.get(format!("{}/hpp/payments/no-such-link", app.url)).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}
