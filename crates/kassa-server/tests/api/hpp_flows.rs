//! Every HPP status path of seed 001, driven through the sandbox consumer actions.

use crate::schema::{Spec, assert_valid};
use kassa_core::order::KlarnaReference;
use kassa_core::order::Order;
use kassa_store::StoreExt;
use kassa_testkit::{Reply, TestApp, spawn};
use serde_json::{Value, json};

/// Applies `action`, checks the new status everywhere it shows, returns the sandbox reply.
async fn step(app: &TestApp, hpp: &str, action: &str, expected: &str) -> Reply {
    let reply = app.act(hpp, action).await;
    assert_eq!(reply.status, 200, "{action}: {}", reply.body);
    assert_eq!(reply.body["session"]["status"], expected, "{action}");
    assert_valid(Spec::Hpp, "SessionResponseV1", &reply.body["session"]);
    let read = app.get(&format!("/hpp/v1/sessions/{hpp}")).await;
    assert_eq!(read.body, reply.body["session"], "the read endpoint returns what the action reported");
    assert_valid(Spec::Hpp, "SessionResponseV1", &read.body);
    reply
}

/// Every action a consumer or merchant could try on a session that is now final is refused,
/// and nothing changes.
async fn assert_final(app: &TestApp, hpp: &str, status: &str) {
    let before = app.snapshot().await;
    for action in ["open", "approve", "decline", "back", "error", "cancel"] {
        let reply = app.act(hpp, action).await;
        reply.assert_error(409, "INVALID_OPERATION");
        assert!(reply.message().contains(status), "{}", reply.message());
    }
    app.delete(&format!("/hpp/v1/sessions/{hpp}")).await.assert_error(400, "INVALID_OPERATION");
    let distribute = json!({"method": "email", "contact_information": {"email": "customer@email.se"}});
    app.post(&format!("/hpp/v1/sessions/{hpp}/distribution"), distribute).await.assert_error(400, "INVALID_OPERATION");
    assert_eq!(app.snapshot().await, before, "refused actions must change nothing");
    assert_eq!(app.status(hpp).await, status);
}

/// The events of `hpp` are gap-free from 1, with the statuses given, and each body is the read
/// body at that moment.
async fn assert_events(app: &TestApp, hpp: &str, statuses: &[&str]) {
    let events = app.events(hpp).await;
    let seqs: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (1..=statuses.len() as u64).collect::<Vec<_>>());
    let got: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(got, statuses);
    for (_, status, body) in &events {
        assert_eq!(&body["status"], status);
        assert_eq!(body["session_id"], hpp);
        assert_valid(Spec::Hpp, "SessionResponseV1", body);
    }
    assert_eq!(events.last().unwrap().2, app.get(&format!("/hpp/v1/sessions/{hpp}")).await.body);
}

#[tokio::test]
async fn retry_paths_then_completion() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    assert_eq!(app.status(&hpp).await, "WAITING");
    let path = [
        ("open", "IN_PROGRESS"),
        ("decline", "FAILED"),
        ("open", "IN_PROGRESS"),
        ("back", "BACK"),
        ("open", "IN_PROGRESS"),
        ("error", "ERROR"),
        ("open", "IN_PROGRESS"),
        ("approve", "COMPLETED"),
    ];
    for (action, status) in path {
        step(&app, &hpp, action, status).await;
    }
    let mut statuses = vec!["WAITING"];
    statuses.extend(path.iter().map(|(_, s)| *s));
    assert_events(&app, &hpp, &statuses).await;
    assert_final(&app, &hpp, "COMPLETED").await;
}

#[tokio::test]
async fn cancel_is_final_from_every_status_the_consumer_can_cancel_in() {
    let app = spawn().await;
    for before in [&["open"][..], &["open", "decline"], &["open", "back"], &["open", "error"]] {
        let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
        for action in before {
            app.act(&hpp, action).await;
        }
        step(&app, &hpp, "cancel", "CANCELLED").await;
        assert_final(&app, &hpp, "CANCELLED").await;
    }
    // A consumer who never opened the page cannot cancel it.
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let before = app.snapshot().await;
    app.act(&hpp, "cancel").await.assert_error(409, "INVALID_OPERATION");
    app.act(&hpp, "approve").await.assert_error(409, "INVALID_OPERATION");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn merchant_disables_from_every_non_final_status() {
    let app = spawn().await;
    for before in [&[][..], &["open"], &["open", "decline"], &["open", "back"], &["open", "error"]] {
        let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
        for action in before {
            app.act(&hpp, action).await;
        }
        let reply = app.delete(&format!("/hpp/v1/sessions/{hpp}")).await;
        assert_eq!(reply.status, 204, "{}", reply.body);
        assert!(reply.bytes.is_empty());
        assert_eq!(app.status(&hpp).await, "DISABLED");
        let events = app.events(&hpp).await;
        assert_eq!(events.last().unwrap().1, "DISABLED");
        assert_eq!(events.len(), before.len() + 2);
        assert_final(&app, &hpp, "DISABLED").await;
    }
}

async fn approve(app: &TestApp, mode: &str) -> (String, String, Reply) {
    let urls = json!({
        "success": "https://shop.example/ok?sid={{session_id}}&token={{authorization_token}}&order={{order_id}}&typo={{oder_id}}",
        "failure": "https://shop.example/fail?sid={{session_id}}",
    });
    let (hpp, payment, _) = app.hpp_session(json!({"place_order_mode": mode}), urls).await;
    step(app, &hpp, "open", "IN_PROGRESS").await;
    let reply = step(app, &hpp, "approve", "COMPLETED").await;
    (hpp, payment, reply)
}

#[tokio::test]
async fn approve_with_place_order_mode_none_gives_a_token_the_merchant_orders_with() {
    let app = spawn().await;
    let (hpp, payment, reply) = approve(&app, "NONE").await;
    let session = &reply.body["session"];
    let token = session["authorization_token"].as_str().expect("authorization_token").to_owned();
    assert!(session.get("order_id").is_none() && session.get("klarna_reference").is_none());
    assert_eq!(
        reply.body["redirect_url"],
        format!("https://shop.example/ok?sid={hpp}&token={token}&order={{{{order_id}}}}&typo={{{{oder_id}}}}")
    );
    // The payment session is still incomplete until the merchant places the order.
    let read = app.get(&format!("/payments/v1/sessions/{payment}")).await;
    assert_eq!(read.body["status"], "incomplete");
    let order = app.post(&format!("/payments/v1/authorizations/{token}/order"), kassa_testkit::cart()).await;
    assert_eq!(order.status, 200, "{}", order.body);
    assert_valid(Spec::Payments, "order", &order.body);
    assert_eq!(order.body["fraud_status"], "ACCEPTED");
    let read = app.get(&format!("/payments/v1/sessions/{payment}")).await;
    assert_eq!(read.body["status"], "complete");
    assert_valid(Spec::Payments, "session_read", &read.body);
    let stored = app.state.store.load::<Order>(order.body["order_id"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!((stored.status().as_str(), stored.captured_amount()), ("AUTHORIZED", 0));
    // The token became the session's one order; it cannot be used again.
    app.post(&format!("/payments/v1/authorizations/{token}/order"), kassa_testkit::cart())
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn approve_with_place_order_and_capture_order_places_the_order() {
    let app = spawn().await;
    for (mode, status, captured) in [("PLACE_ORDER", "AUTHORIZED", 0), ("capture_order", "CAPTURED", 18000)] {
        let (hpp, payment, reply) = approve(&app, mode).await;
        let session = &reply.body["session"];
        assert!(session.get("authorization_token").is_none(), "{session}");
        let order_id = session["order_id"].as_str().expect("order_id");
        uuid::Uuid::parse_str(order_id).expect("order_id is a UUID");
        let reference = session["klarna_reference"].as_str().expect("klarna_reference");
        assert!(KlarnaReference::parse(reference).is_some(), "{reference}");
        assert_eq!(
            reply.body["redirect_url"],
            format!(
                "https://shop.example/ok?sid={hpp}&token={{{{authorization_token}}}}&order={order_id}&typo={{{{oder_id}}}}"
            )
        );
        let order = app.state.store.load::<Order>(order_id).await.unwrap().unwrap();
        assert_eq!((order.status().as_str(), order.captured_amount(), order.order_amount), (status, captured, 18000));
        assert_eq!(order.klarna_reference.as_str(), reference);
        assert_eq!(order.payment_session_id, payment);
        let read = app.get(&format!("/payments/v1/sessions/{payment}")).await;
        assert_eq!(read.body["status"], "complete");
        let payment_events: Vec<String> = app.events(&payment).await.into_iter().map(|e| e.1).collect();
        assert_eq!(payment_events, ["incomplete", "complete"]);
    }
}

#[tokio::test]
async fn every_outcome_redirects_to_its_merchant_url() {
    let app = spawn().await;
    let urls = json!({
        "success": "https://shop.example/success/{{session_id}}",
        "cancel": "https://shop.example/cancel/{{session_id}}",
        "back": "https://shop.example/back/{{session_id}}",
        "failure": "https://shop.example/failure/{{session_id}}",
        "error": "https://shop.example/error/{{session_id}}",
    });
    for (action, url) in
        [("decline", "failure"), ("back", "back"), ("error", "error"), ("cancel", "cancel"), ("approve", "success")]
    {
        let (hpp, _, _) = app.hpp_session(json!({}), urls.clone()).await;
        assert_eq!(app.act(&hpp, "open").await.body["redirect_url"], Value::Null);
        let reply = app.act(&hpp, action).await;
        assert_eq!(reply.body["redirect_url"], format!("https://shop.example/{url}/{hpp}"), "{action}");
    }
    // Without merchant URLs there is no redirect (kassa's own result page takes over).
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    app.act(&hpp, "open").await;
    assert_eq!(app.act(&hpp, "decline").await.body["redirect_url"], Value::Null);
}

#[tokio::test]
async fn hpp_expires_one_hour_before_its_payment_session() {
    let app = spawn().await;
    let (hpp, payment, created) = app.hpp_session(json!({}), json!({})).await;
    let read = app.get(&format!("/payments/v1/sessions/{payment}")).await;
    let kp_expiry = read.body["expires_at"].as_str().unwrap().to_owned();
    let hpp_expiry = created["expires_at"].as_str().unwrap();
    assert_eq!(app.get(&format!("/hpp/v1/sessions/{hpp}")).await.body["expires_at"], hpp_expiry);
    // 47 h later the HPP session is gone; the payment session (48 h) still reads.
    app.state.sandbox_clock.as_ref().unwrap().advance(47 * 3600 * 1000);
    app.get(&format!("/hpp/v1/sessions/{hpp}")).await.assert_error(404, "NOT_FOUND");
    app.delete(&format!("/hpp/v1/sessions/{hpp}")).await.assert_error(404, "NOT_FOUND");
    app.act(&hpp, "open").await.assert_error(404, "NOT_FOUND");
    assert_eq!(app.get(&format!("/payments/v1/sessions/{payment}")).await.body["expires_at"], kp_expiry);
    // And no new HPP session can be made on a payment session with less than an hour left.
    let body = json!({"payment_session_url": format!("{}/payments/v1/sessions/{payment}", app.url)});
    app.post("/hpp/v1/sessions", body).await.assert_error(404, "NOT_FOUND");
    app.state.sandbox_clock.as_ref().unwrap().advance(3600 * 1000);
    app.get(&format!("/payments/v1/sessions/{payment}")).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn cancelling_the_payment_session_disables_its_open_hpp_sessions() {
    let app = spawn().await;
    let (hpp, payment, _) = app.hpp_session(json!({}), json!({})).await;
    app.act(&hpp, "open").await;
    let reply = app.delete(&format!("/payments/v1/sessions/{payment}")).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(app.status(&hpp).await, "DISABLED");
    app.get(&format!("/payments/v1/sessions/{payment}")).await.assert_error(404, "NOT_FOUND");
    assert_events(&app, &hpp, &["WAITING", "IN_PROGRESS", "DISABLED"]).await;
}

#[tokio::test]
async fn distribution_messages_are_recorded_and_listed() {
    let app = spawn().await;
    let (hpp, _, created) = app.hpp_session(json!({"page_title": "Pay for your bike"}), json!({})).await;
    let path = format!("/hpp/v1/sessions/{hpp}/distribution");
    for body in [
        json!({"method": "sms", "contact_information": {"phone": "07000212345", "phone_country": "se"}, "template": "INSTORE_PURCHASE"}),
        json!({"method": "email", "contact_information": {"email": "customer@email.se"}}),
        json!({"method": "token", "contact_information": {"access_id": "5a5e8e70-1a96-4651-b3b6-b774012a5bbb"}}),
    ] {
        let reply = app.post(&path, body).await;
        assert_eq!(reply.status, 204, "{}", reply.body);
        assert!(reply.bytes.is_empty());
    }
    let list = app.get(&format!("/kassa/v1/hpp/sessions/{hpp}/messages")).await;
    let messages = list.body["messages"].as_array().unwrap();
    let methods: Vec<&str> = messages.iter().map(|m| m["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["sms", "email", "token"]);
    assert_eq!(messages[0]["recipient"], "07000212345 (SE)");
    assert_eq!(messages[1]["subject"], "Pay for your bike");
    let link = created["redirect_url"].as_str().unwrap();
    assert!(messages.iter().all(|m| m["body"].as_str().unwrap().contains(link)), "{messages:#?}");
    // Distribution does not change the status.
    assert_eq!(app.status(&hpp).await, "WAITING");
}

#[tokio::test]
async fn a_new_distribution_module_token_replaces_the_old_one() {
    let app = spawn().await;
    let (hpp, _, created) = app.hpp_session(json!({}), json!({})).await;
    let generation =
        created["distribution_module"]["generation_url"].as_str().unwrap().strip_prefix(&app.url).unwrap().to_owned();
    let reply = app.call(reqwest::Method::POST, &generation, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.body["token"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    assert_ne!(token, created["distribution_module"]["token"]);
    assert_eq!(app.status(&hpp).await, "WAITING");
}
