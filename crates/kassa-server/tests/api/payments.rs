//! Klarna Payments: sessions, updates, cancellation, authorizations and orders.

use crate::schema::{Spec, assert_valid};
use kassa_core::order::Order;
use kassa_store::StoreExt;
use kassa_testkit::{cart, spawn};
use serde_json::json;

#[tokio::test]
async fn create_read_update_cancel() {
    let app = spawn().await;
    let mut body = cart();
    body["acquiring_channel"] = json!("ecommerce");
    body["intent"] = json!("BUY");
    body["merchant_reference1"] = json!("ON4711");
    body["billing_address"] =
        json!({"given_name": "Alice", "family_name": "Test", "email": "customer@email.se", "country": "SE"});
    body["merchant_urls"] = json!({"confirmation": "https://shop.example/confirm"});
    let created = app.post("/payments/v1/sessions", body).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.headers["content-type"], "application/json");
    assert_valid(Spec::Payments, "merchant_session", &created.body);
    let id = created.body["session_id"].as_str().unwrap();

    let read = app.get(&format!("/payments/v1/sessions/{id}")).await;
    assert_eq!(read.status, 200);
    assert_valid(Spec::Payments, "session_read", &read.body);
    assert_eq!(read.body["status"], "incomplete");
    assert_eq!(read.body["acquiring_channel"], "ECOMMERCE");
    assert_eq!(read.body["intent"], "buy");
    assert_eq!(read.body["order_lines"], cart()["order_lines"]);
    assert_eq!(read.body["billing_address"]["given_name"], "Alice");
    assert_eq!(read.body["client_token"], created.body["client_token"]);

    // An update replaces the given keys, re-validating the whole cart.
    let update = json!({"order_amount": 36000, "order_tax_amount": 6000, "order_lines": [{
        "name": "Cool Bike", "quantity": 2, "unit_price": 20000, "tax_rate": 2000,
        "total_amount": 36000, "total_discount_amount": 4000, "total_tax_amount": 6000
    }]});
    let reply = app.post(&format!("/payments/v1/sessions/{id}"), update).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let read = app.get(&format!("/payments/v1/sessions/{id}")).await;
    assert_eq!(read.body["order_amount"], 36000);
    assert_eq!(read.body["merchant_reference1"], "ON4711");
    let before = app.snapshot().await;
    app.post(&format!("/payments/v1/sessions/{id}"), json!({"order_amount": 1})).await.assert_error(400, "BAD_VALUE");
    assert_eq!(app.snapshot().await, before);

    let reply = app.delete(&format!("/payments/v1/sessions/{id}")).await;
    assert_eq!(reply.status, 204);
    app.get(&format!("/payments/v1/sessions/{id}")).await.assert_error(404, "NOT_FOUND");
    app.delete(&format!("/payments/v1/sessions/{id}")).await.assert_error(404, "NOT_FOUND");
    let statuses: Vec<String> = app.events(id).await.into_iter().map(|e| e.1).collect();
    assert_eq!(statuses, ["incomplete", "cancelled"]);
}

/// Addresses, `customer`, `options` and an order line's identifiers and subscription are read as
/// Klarna's schemas have them: what the schema does not have is dropped, and the read keeps to
/// Klarna's read schema.
#[tokio::test]
async fn session_objects_keep_to_klarnas_schemas() {
    let app = spawn().await;
    let mut body = cart();
    body["billing_address"] = json!({"given_name": "Klara", "street_address": "Sveavägen 46", "country": "SE",
                                     "street_number": "46", "favourite_colour": "blue"});
    body["customer"] = json!({"date_of_birth": "1978-12-31", "type": "person", "shoe_size": 42});
    body["options"] = json!({"color_text": "#FF9900"});
    body["order_lines"][0]["product_identifiers"] = json!({"brand": "Bikes AB", "color": "red", "weight": 9});
    body["order_lines"][0]["subscription"] = json!({"name": "Bike lease", "interval": "MONTH", "interval_count": 1});
    let created = app.post("/payments/v1/sessions", body).await.assert_success();
    let id = created.body["session_id"].as_str().unwrap();
    let read = app.get(&format!("/payments/v1/sessions/{id}")).await.assert_success();
    assert_valid(Spec::Payments, "session_read", &read.body);
    assert_eq!(
        read.body["billing_address"],
        json!({"given_name": "Klara", "street_address": "Sveavägen 46", "country": "SE"})
    );
    assert_eq!(read.body["customer"], json!({"date_of_birth": "1978-12-31", "type": "person"}));
    assert_eq!(read.body["order_lines"][0]["product_identifiers"], json!({"brand": "Bikes AB", "color": "red"}));
    assert_eq!(read.body["order_lines"][0]["subscription"]["interval"], "MONTH");
}

#[tokio::test]
async fn several_authorizations_one_order() {
    let app = spawn().await;
    // Two HPP sessions over one payment session, both approved: two tokens.
    let (first, payment, _) = app.hpp_session(json!({}), json!({})).await;
    let body = json!({"payment_session_url": format!("{}/payments/v1/sessions/{payment}", app.url)});
    let second = app.post("/hpp/v1/sessions", body).await.body["session_id"].as_str().unwrap().to_owned();
    let mut tokens = Vec::new();
    for hpp in [&first, &second] {
        app.act(hpp, "open").await;
        tokens.push(app.act(hpp, "approve").await.body["session"]["authorization_token"].as_str().unwrap().to_owned());
    }
    assert_ne!(tokens[0], tokens[1]);
    // Release one; it cannot be released twice or used.
    assert_eq!(app.delete(&format!("/payments/v1/authorizations/{}", tokens[0])).await.status, 204);
    app.delete(&format!("/payments/v1/authorizations/{}", tokens[0])).await.assert_error(404, "NOT_FOUND");
    app.post(&format!("/payments/v1/authorizations/{}/order", tokens[0]), cart()).await.assert_error(404, "NOT_FOUND");
    // The other becomes the order, captured at once.
    let mut order_request = cart();
    order_request["auto_capture"] = json!(true);
    order_request["merchant_urls"] =
        json!({"confirmation": "https://shop.example/thanks?s={session.id}&o={order.id}&k={checkout.order.id}"});
    let order = app.post(&format!("/payments/v1/authorizations/{}/order", tokens[1]), order_request).await;
    assert_eq!(order.status, 200, "{}", order.body);
    assert_valid(Spec::Payments, "order", &order.body);
    let order_id = order.body["order_id"].as_str().unwrap();
    assert_eq!(
        order.body["redirect_url"],
        format!("https://shop.example/thanks?s={payment}&o={order_id}&k={{checkout.order.id}}"),
        "Klarna's placeholders filled, others kept"
    );
    let stored = app.state.store.load::<Order>(order.body["order_id"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!((stored.status().as_str(), stored.captured_amount()), ("CAPTURED", 18000));
    app.delete(&format!("/payments/v1/authorizations/{}", tokens[1])).await.assert_error(403, "INVALID_OPERATION");
    // The session is complete: no update, no cancel, no further approval.
    app.post(&format!("/payments/v1/sessions/{payment}"), json!({"locale": "sv-SE"}))
        .await
        .assert_error(403, "INVALID_OPERATION");
    app.delete(&format!("/payments/v1/sessions/{payment}")).await.assert_error(403, "INVALID_OPERATION");
    let third = app
        .post("/hpp/v1/sessions", json!({"payment_session_url": format!("{}/payments/v1/sessions/{payment}", app.url)}))
        .await;
    third.assert_error(400, "BAD_VALUE");
}

#[tokio::test]
async fn concurrent_approvals_of_one_payment_session_place_one_order() {
    let app = spawn().await;
    let (first, payment, _) = app.hpp_session(json!({"place_order_mode": "PLACE_ORDER"}), json!({})).await;
    let mut sessions = vec![first];
    for _ in 0..4 {
        let body = json!({"payment_session_url": format!("{}/payments/v1/sessions/{payment}", app.url), "options": {"place_order_mode": "PLACE_ORDER"}});
        sessions.push(app.post("/hpp/v1/sessions", body).await.body["session_id"].as_str().unwrap().to_owned());
    }
    for hpp in &sessions {
        app.act(hpp, "open").await;
    }
    let replies = futures::future::join_all(sessions.iter().map(|hpp| app.act(hpp, "approve"))).await;
    let approved = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(approved, 1, "exactly one approval places the order");
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.assert_error(409, "INVALID_OPERATION");
    }
    let orders = app.snapshot().await.into_iter().filter(|r| r.starts_with("orders")).count();
    assert_eq!(orders, 1);
}

#[tokio::test]
async fn placing_the_order_ends_the_other_hpp_sessions_of_the_payment_session() {
    let app = spawn().await;
    let (first, payment, _) = app.hpp_session(json!({}), json!({})).await;
    let url = format!("{}/payments/v1/sessions/{payment}", app.url);
    let second = app.post("/hpp/v1/sessions", json!({"payment_session_url": url})).await.body["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.act(&second, "open").await;
    app.act(&first, "open").await;
    let token = app.act(&first, "approve").await.body["session"]["authorization_token"].as_str().unwrap().to_owned();
    // The token shows on the payment session; the intent defaults to buy.
    let read = app.get(&format!("/payments/v1/sessions/{payment}")).await;
    assert_eq!(read.body["authorization_token"], token.as_str());
    assert_eq!(read.body["intent"], "buy");
    assert_valid(Spec::Payments, "session_read", &read.body);
    assert_eq!(app.status(&second).await, "IN_PROGRESS", "still open while no order exists");
    let order = app.post(&format!("/payments/v1/authorizations/{token}/order"), cart()).await;
    assert_eq!(order.status, 200, "{}", order.body);
    assert_eq!(app.status(&first).await, "COMPLETED");
    assert_eq!(app.status(&second).await, "DISABLED");
    let statuses: Vec<String> = app.events(&second).await.into_iter().map(|e| e.1).collect();
    assert_eq!(statuses, ["WAITING", "IN_PROGRESS", "DISABLED"]);
}

#[tokio::test]
async fn order_management_reads_the_placed_order() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({"place_order_mode": "CAPTURE_ORDER"}), json!({})).await;
    app.act(&hpp, "open").await;
    let session = app.act(&hpp, "approve").await.body["session"].clone();
    let order_id = session["order_id"].as_str().unwrap();
    let order = app.get(&format!("/ordermanagement/v1/orders/{order_id}")).await;
    assert_eq!(order.status, 200, "{}", order.body);
    assert_eq!(order.body["status"], "CAPTURED");
    assert_eq!(order.body["klarna_reference"], session["klarna_reference"]);
    assert_eq!(
        (order.body["order_amount"].as_i64(), order.body["captured_amount"].as_i64()),
        (Some(18000), Some(18000))
    );
    assert_eq!(order.body["remaining_authorized_amount"], 0);
    assert_eq!(order.body["purchase_currency"], "SEK");
    app.call_as(&app.other, reqwest::Method::GET, &format!("/ordermanagement/v1/orders/{order_id}"), None)
        .await
        .assert_error(404, "NO_SUCH_ORDER");
    app.get("/ordermanagement/v1/orders/unknown").await.assert_error(404, "NO_SUCH_ORDER");
}

#[tokio::test]
async fn the_sandbox_clock_moves_forward_over_http() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let before = app.get("/sandbox/v1/clock").await;
    assert_eq!(before.body["ahead_seconds"], 0);
    let moved = app.post("/sandbox/v1/clock/advance", json!({"seconds": 47 * 3600})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["ahead_seconds"], 47 * 3600);
    // 47 hours on, the HPP session has expired.
    app.get(&format!("/hpp/v1/sessions/{hpp}")).await.assert_error(404, "NOT_FOUND");
    for body in [json!({}), json!({"seconds": 0}), json!({"seconds": -5}), json!({"seconds": "soon"})] {
        app.post("/sandbox/v1/clock/advance", body).await.assert_error(400, "BAD_VALUE");
    }
    let production = kassa_testkit::spawn_in(kassa_server::Mode::Production).await;
    production.post("/sandbox/v1/clock/advance", json!({"seconds": 1})).await.assert_error(404, "NOT_FOUND");
}
