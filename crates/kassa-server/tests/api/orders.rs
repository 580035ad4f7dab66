//! Order Management v1 over HTTP: the lifecycle of a placed order (captures, refunds, changes),
//! each refusal with Klarna's code and nothing changed, concurrent captures, and expiry on the
//! sandbox clock. Responses are checked against Klarna's Order Management schemas.

use crate::schema::{Spec, assert_valid};
use kassa_testkit::{PATIENCE, TestApp, eventually, spawn};
use reqwest::Method;
use serde_json::{Value, json};

/// An order of 180.00 SEK placed by an approved HPP session (PLACE_ORDER: nothing captured).
pub(crate) async fn placed_order(app: &TestApp) -> String {
    let (hpp, _, _) = app.hpp_session(json!({"place_order_mode": "PLACE_ORDER"}), json!({})).await;
    app.act(&hpp, "open").await;
    let session = app.act(&hpp, "approve").await.body["session"].clone();
    session["order_id"].as_str().expect("an order id").to_owned()
}

pub(crate) fn order_path(order_id: &str) -> String {
    format!("/ordermanagement/v1/orders/{order_id}")
}

async fn read_order(app: &TestApp, order_id: &str) -> Value {
    let order = app.get(&order_path(order_id)).await.assert_success();
    assert_valid(Spec::OrderManagement, "MerchantOrderDto", &order.body);
    order.body
}

/// Captures `amount`; answers the capture's id, checking the 201 and its headers.
async fn capture(app: &TestApp, order_id: &str, amount: i64) -> String {
    let reply = app.post(&format!("{}/captures", order_path(order_id)), json!({"captured_amount": amount})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(reply.bytes.is_empty(), "a 201 without a body");
    let id = reply.headers["capture-id"].to_str().unwrap().to_owned();
    let location = reply.headers["location"].to_str().unwrap();
    assert!(location.starts_with("http") && location.ends_with(&format!("/captures/{id}")), "{location}");
    id
}

fn amounts(order: &Value) -> [i64; 4] {
    ["order_amount", "captured_amount", "refunded_amount", "remaining_authorized_amount"]
        .map(|key| order[key].as_i64().unwrap_or_else(|| panic!("{key} in {order}")))
}

#[tokio::test]
async fn two_partial_captures_a_refund_and_the_order_read() {
    let app = spawn().await;
    let order_id = placed_order(&app).await;
    let order = read_order(&app, &order_id).await;
    assert_eq!(order["status"], "AUTHORIZED");
    assert_eq!(amounts(&order), [18_000, 0, 0, 18_000]);
    assert_eq!(order["captures"], json!([]));
    assert_eq!(order["refunds"], json!([]));
    assert_eq!(order["order_lines"][0]["name"], "Cool Bike");
    assert_eq!(order["purchase_country"], "SE");

    let first = capture(&app, &order_id, 8_000).await;
    let order = read_order(&app, &order_id).await;
    assert_eq!(order["status"], "PART_CAPTURED");
    assert_eq!(amounts(&order), [18_000, 8_000, 0, 10_000]);
    let second = capture(&app, &order_id, 10_000).await;

    let refund = app.post(&format!("{}/refunds", order_path(&order_id)), json!({"refunded_amount": 9_000})).await;
    assert_eq!(refund.status, 201, "{}", refund.body);
    let refund_id = refund.headers["refund-id"].to_str().unwrap().to_owned();
    let refund_read = app.get(&format!("{}/refunds/{refund_id}", order_path(&order_id))).await.assert_success();
    assert_valid(Spec::OrderManagement, "Refund", &refund_read.body);
    assert_eq!(refund_read.body["refunded_amount"], 9_000);

    let order = read_order(&app, &order_id).await;
    assert_eq!(order["status"], "CAPTURED");
    assert_eq!(amounts(&order), [18_000, 18_000, 9_000, 0]);
    let captures = order["captures"].as_array().unwrap();
    let ids: Vec<&str> = captures.iter().map(|c| c["capture_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    let reference = order["klarna_reference"].as_str().unwrap();
    assert_eq!(captures[1]["klarna_reference"], format!("{reference}-2"));
    // The refund took all of the first capture and 1,000 of the second.
    let refunded: Vec<i64> = captures.iter().map(|c| c["refunded_amount"].as_i64().unwrap()).collect();
    assert_eq!(refunded, [8_000, 1_000]);

    let listed = app.get(&format!("{}/captures", order_path(&order_id))).await.assert_success();
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    let one = app.get(&format!("{}/captures/{second}", order_path(&order_id))).await.assert_success();
    assert_valid(Spec::OrderManagement, "Capture", &one.body);
    assert_eq!(one.body["captured_amount"], 10_000);

    // Every operation is an event of the order, in the merchant's feed.
    let events: Vec<String> = app.events(&order_id).await.into_iter().map(|e| e.2["event_type"].to_string()).collect();
    assert_eq!(events, ["\"place\"", "\"capture_part\"", "\"capture_rest\"", "\"refund\""]);
    // (On PostgreSQL the feed shows an event once every older change of this database committed.)
    let order_events = eventually("the order's 4 events in the merchant's feed", PATIENCE, || async {
        let feed = app.get("/kassa/v1/events?limit=100").await.assert_success();
        let events = feed.body["events"].as_array().unwrap();
        let order: Vec<Value> = events.iter().filter(|e| e["session_kind"] == "order").cloned().collect();
        if order.len() == 4 { Ok(order) } else { Err(format!("{order:#?}")) }
    })
    .await;
    assert_eq!(order_events[3]["status"], "CAPTURED");
    assert_eq!(app.deliveries(&order_id).await, Vec::<Value>::new(), "order events send no callbacks");
}

/// Payment instructions go to the consumer's email: an order with none refuses the send-out
/// (Klarna's `NOT_ALLOWED`) and changes nothing, instead of queueing an email nobody can receive.
#[tokio::test]
async fn a_send_out_needs_the_consumers_email() {
    let app = spawn().await;
    let order_id = placed_order(&app).await;
    let path = order_path(&order_id);
    let capture_id = capture(&app, &order_id, 5_000).await;
    let send_out = format!("{path}/captures/{capture_id}/trigger-send-out");
    let before = read_order(&app, &order_id).await;
    let refused = app.call(Method::POST, &send_out, None).await;
    let body = refused.assert_error(403, "NOT_ALLOWED");
    assert!(body["error_messages"][0].as_str().unwrap().contains("no email"), "{body}");
    assert_eq!(read_order(&app, &order_id).await, before, "nothing changed");
    let messages = format!("/kassa/v1/orders/{order_id}/messages");
    assert_eq!(app.get(&messages).await.assert_success().body["messages"], json!([]));
    let address = json!({"shipping_address": {"email": "late@example.com", "country": "SE"}});
    assert_eq!(app.call(Method::PATCH, &format!("{path}/customer-details"), Some(address)).await.status, 204);
    assert_eq!(app.call(Method::POST, &send_out, None).await.status, 204);
    let sent = app.get(&messages).await.assert_success().body["messages"].clone();
    assert_eq!(sent.as_array().map(Vec::len), Some(1), "{sent}");
    assert_eq!(sent[0]["recipient"], "late@example.com");
}

#[tokio::test]
async fn changes_to_an_open_order() {
    let app = spawn().await;
    let order_id = placed_order(&app).await;
    let path = order_path(&order_id);
    let no_body = |suffix: &str| app.api.request(Method::POST, &format!("{path}/{suffix}")).send();
    // Body-less POSTs take no body and no Content-Type.
    for suffix in ["acknowledge", "extend-authorization-time"] {
        assert_eq!(no_body(suffix).await.unwrap().status(), 204, "{suffix}");
    }
    let references = json!({"merchant_reference1": "ORDER-1", "merchant_reference2": ""});
    assert_eq!(app.call(Method::PATCH, &format!("{path}/merchant-references"), Some(references)).await.status, 204);
    let shipping = json!({"shipping_info": [{"shipping_company": "DHL SE", "tracking_number": "123"}]});
    assert_eq!(app.post(&format!("{path}/shipping-info"), shipping.clone()).await.status, 204);
    let address = json!({"shipping_address": {"street_address": "Sveavägen 46", "country": "SE", "city": "Stockholm",
                                               "email": "buyer@example.com"}});
    assert_eq!(app.call(Method::PATCH, &format!("{path}/customer-details"), Some(address)).await.status, 204);
    let lower = json!({"order_amount": 15_000});
    assert_eq!(app.call(Method::PATCH, &format!("{path}/authorization"), Some(lower)).await.status, 204);

    let order = read_order(&app, &order_id).await;
    assert_eq!(order["merchant_reference1"], "ORDER-1");
    assert_eq!(order["shipping_info"][0]["shipping_company"], "DHL SE");
    assert_eq!(order["shipping_address"]["city"], "Stockholm");
    assert_eq!((order["order_amount"].as_i64(), order["original_order_amount"].as_i64()), (Some(15_000), Some(18_000)));
    assert_eq!(order["order_lines"], json!([]), "lines not given are deleted, as Klarna does");

    // A capture inherits the new shipping address; its own shipping info and send-outs.
    let capture_id = capture(&app, &order_id, 5_000).await;
    let capture_path = format!("{path}/captures/{capture_id}");
    assert_eq!(app.post(&format!("{capture_path}/shipping-info"), shipping).await.status, 204);
    let send_out = format!("{path}/captures/{capture_id}/trigger-send-out");
    for _ in 0..2 {
        let reply = app.api.request(Method::POST, &send_out).header("Klarna-Idempotency-Key", "send-1").send().await;
        assert_eq!(reply.unwrap().status(), 204);
    }
    let sent = app.get(&format!("/kassa/v1/orders/{order_id}/messages")).await.assert_success();
    let sent = sent.body["messages"].as_array().unwrap().clone();
    assert_eq!(sent.len(), 1, "sent once for the key: {sent:?}");
    assert_eq!((sent[0]["method"].as_str(), sent[0]["recipient"].as_str()), (Some("email"), Some("buyer@example.com")));
    assert!(sent[0]["body"].as_str().unwrap().contains(&format!("{}-1", order["klarna_reference"].as_str().unwrap())));
    let options = app.get(&format!("{capture_path}/extend-due-date-options")).await.assert_success();
    assert_valid(Spec::OrderManagement, "ExtendDueDateOptions", &options.body);
    let extend = json!({"number_of_days": 14});
    assert_eq!(app.call(Method::PATCH, &format!("{capture_path}/extend-due-date"), Some(extend)).await.status, 204);
    let capture = app.get(&capture_path).await.assert_success();
    assert_eq!(capture.body["shipping_address"]["city"], "Stockholm");
    assert_eq!(capture.body["shipping_info"][0]["tracking_number"], "123");

    // The rest released: CAPTURED, nothing remains, the authorized amount kept.
    assert_eq!(no_body("release-remaining-authorization").await.unwrap().status(), 204);
    let order = read_order(&app, &order_id).await;
    assert_eq!(order["status"], "CAPTURED");
    assert_eq!(amounts(&order), [15_000, 5_000, 0, 0]);
}

/// Each refusal answers Klarna's status and code and leaves every table as it was.
#[tokio::test]
async fn refusals_change_nothing() {
    let app = spawn().await;
    let order_id = placed_order(&app).await;
    let path = order_path(&order_id);
    let before = app.snapshot().await;
    let refused = [
        (
            Method::POST,
            format!("{path}/captures"),
            Some(json!({"captured_amount": 18_001})),
            403,
            "CAPTURE_NOT_ALLOWED",
        ),
        (Method::POST, format!("{path}/captures"), Some(json!({"captured_amount": 0})), 400, "BAD_VALUE"),
        (Method::POST, format!("{path}/refunds"), Some(json!({"refunded_amount": 1})), 403, "REFUND_NOT_ALLOWED"),
        (Method::POST, format!("{path}/release-remaining-authorization"), None, 403, "NOT_ALLOWED"),
        (Method::GET, format!("{path}/captures/no-such-capture"), None, 404, "NO_SUCH_CAPTURE"),
        (Method::POST, format!("{path}/captures/no-such-capture/trigger-send-out"), None, 404, "NO_SUCH_CAPTURE"),
        (Method::GET, format!("{path}/refunds/no-such-refund"), None, 404, "NOT_FOUND"),
        (Method::GET, order_path("no-such-order"), None, 404, "NO_SUCH_ORDER"),
        (Method::POST, format!("{}/cancel", order_path("no-such-order")), None, 404, "NO_SUCH_ORDER"),
        (
            Method::POST,
            format!("{}/refunds", order_path("no-such-order")),
            Some(json!({"refunded_amount": 1})),
            404,
            "NOT_FOUND",
        ),
        (Method::PATCH, format!("{path}/authorization"), Some(json!({"order_amount": "many"})), 400, "BAD_VALUE"),
        (
            Method::PATCH,
            format!("{path}/customer-details"),
            Some(json!({"billing_address": {"city": "X"}})),
            403,
            "NOT_ALLOWED",
        ),
    ];
    for (method, url, body, status, code) in &refused {
        app.call(method.clone(), url, body.clone()).await.assert_error(*status, code);
    }
    assert_eq!(app.snapshot().await, before, "no refusal changed anything");

    // Another merchant does not see the order at all.
    app.call_as(&app.other, Method::GET, &path, None).await.assert_error(404, "NO_SUCH_ORDER");
    app.call_as(&app.other, Method::POST, &format!("{path}/cancel"), None).await.assert_error(404, "NO_SUCH_ORDER");

    // After a capture: no cancel, no refund above what was captured, no authorization below it.
    capture(&app, &order_id, 6_000).await;
    let before = app.snapshot().await;
    app.call(Method::POST, &format!("{path}/cancel"), None).await.assert_error(403, "CANCEL_NOT_ALLOWED");
    let first = read_order(&app, &order_id).await["captures"][0]["capture_id"].as_str().unwrap().to_owned();
    let legacy = format!("{path}/captures/{first}/customer-details");
    app.call(Method::PATCH, &legacy, Some(json!({"shipping_address": {}}))).await.assert_error(403, "NOT_ALLOWED");
    app.post(&format!("{path}/refunds"), json!({"refunded_amount": 6_001}))
        .await
        .assert_error(403, "REFUND_NOT_ALLOWED");
    let below = json!({"order_amount": 5_999});
    app.call(Method::PATCH, &format!("{path}/authorization"), Some(below)).await.assert_error(403, "NOT_ALLOWED");
    assert_eq!(app.snapshot().await, before, "no refusal changed anything");

    // A cancelled order takes no capture.
    let cancelled = placed_order(&app).await;
    assert_eq!(app.call(Method::POST, &format!("{}/cancel", order_path(&cancelled)), None).await.status, 204);
    let again = app.post(&format!("{}/captures", order_path(&cancelled)), json!({"captured_amount": 1})).await;
    again.assert_error(403, "CAPTURE_NOT_ALLOWED");
    assert_eq!(read_order(&app, &cancelled).await["status"], "CANCELLED");
}

/// 32 captures of one order at once: never more captured than authorized. On one node they take
/// turns, so each is decided: 18 captures, 14 refusals; the revision guard and the ledger's
/// CHECK hold between nodes (kassa-store's conformance tests).
#[tokio::test]
async fn concurrent_captures_never_capture_more_than_authorized() {
    let app = spawn().await;
    let order_id = placed_order(&app).await;
    let url = format!("{}/captures", order_path(&order_id));
    let attempts = (0..32).map(|_| app.post(&url, json!({"captured_amount": 1_000})));
    let replies = futures::future::join_all(attempts).await;
    let captured = replies.iter().filter(|r| r.status == 201).count() as i64;
    for reply in replies.iter().filter(|r| r.status != 201) {
        reply.assert_error(403, "CAPTURE_NOT_ALLOWED");
    }
    assert_eq!(captured, 18, "captures of 1,000 on an order of 18,000");
    let order = read_order(&app, &order_id).await;
    assert_eq!(order["captured_amount"].as_i64(), Some(captured * 1_000));
    assert_eq!(order["captures"].as_array().unwrap().len() as i64, captured);
}

/// The authorization runs out on the service clock: the order is EXPIRED and takes no capture.
#[tokio::test]
async fn an_uncaptured_order_expires_after_28_days() {
    let app = spawn().await;
    let order_id = placed_order(&app).await;
    let expires_at = read_order(&app, &order_id).await["expires_at"].as_str().unwrap().to_owned();
    assert!(expires_at.ends_with("T00:00:00.000Z"), "{expires_at}");
    let advanced = app.post("/sandbox/v1/clock/advance", json!({"seconds": 29 * 86_400})).await;
    assert_eq!(advanced.status, 200, "{}", advanced.body);
    let order = read_order(&app, &order_id).await;
    assert_eq!(order["status"], "EXPIRED");
    assert_eq!(order["remaining_authorized_amount"], 0);
    let late = app.post(&format!("{}/captures", order_path(&order_id)), json!({"captured_amount": 1})).await;
    late.assert_error(403, "CAPTURE_NOT_ALLOWED");
}

/// `Klarna-Idempotency-Key`: a repeat gets the first answer and does nothing again, also after a
/// restart and when the repeats race; a different body under the same key is refused.
#[tokio::test]
async fn a_repeated_idempotency_key_does_nothing_twice() {
    let mut app = spawn().await;
    let order_id = placed_order(&app).await;
    let captures = format!("{}/captures", order_path(&order_id));
    let keyed = |key: &'static str, body: Value| {
        app.api.request(Method::POST, &captures).header("Klarna-Idempotency-Key", key).json(&body).send()
    };
    let first = kassa_testkit::read(keyed("k-1", json!({"captured_amount": 5_000})).await.unwrap()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let before = app.snapshot().await;
    // The same JSON spaced otherwise is the same request.
    let spaced = app
        .api
        .request(Method::POST, &captures)
        .header("Klarna-Idempotency-Key", "k-1")
        .header("Content-Type", "application/json")
        .body("{ \"captured_amount\" :  5000 }");
    let again = kassa_testkit::read(spaced.send().await.unwrap()).await;
    assert_eq!(again.status, 201);
    for header in ["capture-id", "location"] {
        assert_eq!(again.headers[header], first.headers[header], "{header}");
    }
    assert_eq!(app.snapshot().await, before, "the repeat changed nothing");
    let other = kassa_testkit::read(keyed("k-1", json!({"captured_amount": 6_000})).await.unwrap()).await;
    other.assert_error(409, "CONFLICT");
    assert_eq!(app.snapshot().await, before, "a different body under the key changed nothing");

    // A refusal is answered again as it was.
    let over = kassa_testkit::read(keyed("k-2", json!({"captured_amount": 99_000})).await.unwrap()).await;
    let message = over.assert_error(403, "CAPTURE_NOT_ALLOWED")["error_messages"].clone();
    let over_again = kassa_testkit::read(keyed("k-2", json!({"captured_amount": 99_000})).await.unwrap()).await;
    assert_eq!(over_again.assert_error(403, "CAPTURE_NOT_ALLOWED")["error_messages"], message);

    // Racing repeats of one key: one capture, one answer.
    let racing = (0..8).map(|_| keyed("k-3", json!({"captured_amount": 1_000})));
    let replies = futures::future::join_all(racing).await;
    let mut ids = Vec::new();
    for reply in replies {
        let reply = kassa_testkit::read(reply.unwrap()).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        ids.push(reply.headers["capture-id"].to_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every repeat names the one capture");

    // Keys outlive a restart; body-less POSTs take keys too.
    app.restart().await;
    let after_restart = app
        .api
        .request(Method::POST, &captures)
        .header("Klarna-Idempotency-Key", "k-1")
        .json(&json!({"captured_amount": 5_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(after_restart.headers()["capture-id"], first.headers["capture-id"]);
    let order = read_order(&app, &order_id).await;
    assert_eq!((order["captured_amount"].as_i64(), order["captures"].as_array().unwrap().len()), (Some(6_000), 2));
    let release = format!("{}/release-remaining-authorization", order_path(&order_id));
    for _ in 0..2 {
        let reply = app.api.request(Method::POST, &release).header("Klarna-Idempotency-Key", "k-4").send().await;
        assert_eq!(reply.unwrap().status(), 204, "the repeat answers as the first did");
    }
}

/// Sandbox controls play Klarna: a declined risk check refuses raising the authorization; a
/// closed order takes no more money moves.
#[tokio::test]
async fn klarna_declines_an_increase_and_closes_an_order() {
    let app = spawn().await;
    let order_id = placed_order(&app).await;
    let path = order_path(&order_id);
    let control = |action: &str| format!("/sandbox/v1/orders/{order_id}/{action}");
    assert_eq!(app.call(Method::POST, &control("decline-increases"), None).await.status, 204);
    let raise = json!({"order_amount": 20_000});
    app.call(Method::PATCH, &format!("{path}/authorization"), Some(raise)).await.assert_error(403, "NOT_ALLOWED");
    let lower = json!({"order_amount": 17_000});
    assert_eq!(app.call(Method::PATCH, &format!("{path}/authorization"), Some(lower)).await.status, 204);
    capture(&app, &order_id, 7_000).await;
    assert_eq!(app.call(Method::POST, &control("close"), None).await.status, 204);
    let order = read_order(&app, &order_id).await;
    assert_eq!((order["status"].as_str(), order["remaining_authorized_amount"].as_i64()), (Some("CLOSED"), Some(0)));
    app.post(&format!("{path}/captures"), json!({"captured_amount": 1})).await.assert_error(403, "CAPTURE_NOT_ALLOWED");
    app.post(&format!("{path}/refunds"), json!({"refunded_amount": 1})).await.assert_error(403, "REFUND_NOT_ALLOWED");
    app.call(Method::POST, &control("reopen"), None).await.assert_error(404, "NOT_FOUND");
}

/// The create-order request's references and addresses are the order's (checked as Klarna's
/// schemas say); what it leaves out comes from the payment session.
#[tokio::test]
async fn the_create_order_request_names_the_orders_references_and_addresses() {
    let app = spawn().await;
    let mut session = kassa_testkit::cart();
    session["merchant_reference2"] = json!("CART-7");
    session["shipping_address"] = json!({"street_address": "Sveavägen 46", "country": "SE"});
    let payment = app.post("/payments/v1/sessions", session).await.assert_success().body["session_id"].clone();
    let url = format!("{}/payments/v1/sessions/{}", app.url, payment.as_str().unwrap());
    let hpp = app.post("/hpp/v1/sessions", json!({"payment_session_url": url})).await.assert_success();
    let hpp = hpp.body["session_id"].as_str().unwrap().to_owned();
    app.act(&hpp, "open").await;
    let token = app.act(&hpp, "approve").await.body["session"]["authorization_token"].as_str().unwrap().to_owned();
    let order_url = format!("/payments/v1/authorizations/{token}/order");
    let mut request = kassa_testkit::cart();
    request["billing_address"] = json!("x");
    app.post(&order_url, request.clone()).await.assert_error(400, "BAD_VALUE");
    request["billing_address"] = json!({"given_name": "Klara", "email": "klara@example.se", "country": "SE"});
    request["merchant_reference1"] = json!("ORDER-1");
    let placed = app.post(&order_url, request).await.assert_success();
    let order = read_order(&app, placed.body["order_id"].as_str().unwrap()).await;
    assert_eq!(
        (order["merchant_reference1"].as_str(), order["merchant_reference2"].as_str()),
        (Some("ORDER-1"), Some("CART-7"))
    );
    assert_eq!(order["billing_address"]["email"], "klara@example.se");
    assert_eq!(order["shipping_address"]["street_address"], "Sveavägen 46");
}
