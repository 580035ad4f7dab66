//! Customer tokens over HTTP: from an authorization of a tokenizing session to recurring
//! orders, cancellation, suspension, and each refusal with Klarna's code. Responses are checked
//! against Klarna's Payments and Customer Token schemas.

use crate::schema::{Spec, assert_valid};
use kassa_testkit::{TestApp, cart, spawn};
use reqwest::Method;
use serde_json::{Value, json};

/// An approved HPP session over a payment session with `intent`: (payment session, its
/// authorization token).
async fn authorized(app: &TestApp, intent: &str) -> (String, String) {
    let mut body = cart();
    body["intent"] = json!(intent);
    let payment = app.post("/payments/v1/sessions", body).await.assert_success().body["session_id"].clone();
    let payment = payment.as_str().unwrap().to_owned();
    let url = format!("{}/payments/v1/sessions/{payment}", app.url);
    let hpp = app.post("/hpp/v1/sessions", json!({"payment_session_url": url})).await.assert_success();
    let hpp = hpp.body["session_id"].as_str().unwrap().to_owned();
    app.act(&hpp, "open").await;
    let approved = app.act(&hpp, "approve").await.assert_success();
    (payment, approved.body["session"]["authorization_token"].as_str().unwrap().to_owned())
}

fn creation() -> Value {
    json!({"description": "Bike subscription", "intended_use": "subscription", "locale": "en-SE",
           "purchase_country": "SE", "purchase_currency": "SEK",
           "merchant_urls": {"confirmation": "https://shop.example/welcome"}})
}

async fn token(app: &TestApp, authorization: &str) -> String {
    let created = app.post(&format!("/payments/v1/authorizations/{authorization}/customer-token"), creation()).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_valid(Spec::Payments, "customer_token_creation_response", &created.body);
    created.body["token_id"].as_str().unwrap().to_owned()
}

fn monthly(confirmation: &str) -> Value {
    let mut order = cart();
    for key in ["purchase_country", "locale"] {
        order.as_object_mut().unwrap().remove(key);
    }
    order["merchant_urls"] = json!({"confirmation": confirmation});
    order
}

#[tokio::test]
async fn a_token_places_recurring_orders_until_cancelled() {
    let app = spawn().await;
    let (payment, authorization) = authorized(&app, "tokenize").await;
    let token_id = token(&app, &authorization).await;
    // `tokenize`: the authorization became the token; the session is complete.
    assert_eq!(app.get(&format!("/payments/v1/sessions/{payment}")).await.body["status"], "complete");
    app.post(&format!("/payments/v1/authorizations/{authorization}/order"), cart())
        .await
        .assert_error(404, "NOT_FOUND");
    let again = app.post(&format!("/payments/v1/authorizations/{authorization}/customer-token"), creation()).await;
    again.assert_error(404, "NOT_FOUND");

    let read = app.get(&format!("/customer-token/v1/tokens/{token_id}")).await.assert_success();
    assert_valid(Spec::CustomerToken, "customer_token", &read.body);
    assert_eq!(read.body, json!({"status": "ACTIVE", "payment_method_type": "INVOICE"}));

    // Two months: two orders, each a real order; a repeated key places nothing more.
    let orders_url = format!("/customer-token/v1/tokens/{token_id}/order");
    let place = |key: &'static str| {
        let body = monthly("https://shop.example/thanks?o={order.id}");
        app.api.request(Method::POST, &orders_url).header("Klarna-Idempotency-Key", key).json(&body).send()
    };
    let first = kassa_testkit::read(place("month-1").await.unwrap()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_valid(Spec::CustomerToken, "order", &first.body);
    let order_id = first.body["order_id"].as_str().unwrap().to_owned();
    assert_eq!(first.body["redirect_url"], format!("https://shop.example/thanks?o={order_id}"));
    let repeat = kassa_testkit::read(place("month-1").await.unwrap()).await;
    assert_eq!(repeat.body["order_id"], order_id.as_str(), "the repeat answers the first order");
    let second = kassa_testkit::read(place("month-2").await.unwrap()).await;
    assert_ne!(second.body["order_id"], order_id.as_str());
    let order = app.get(&format!("/ordermanagement/v1/orders/{order_id}")).await.assert_success();
    assert_valid(Spec::OrderManagement, "MerchantOrderDto", &order.body);
    assert_eq!(
        (order.body["status"].as_str(), order.body["order_amount"].as_i64()),
        (Some("AUTHORIZED"), Some(18_000))
    );
    let mut captured = monthly("https://shop.example/thanks");
    captured["auto_capture"] = json!(true);
    let third = app.post(&orders_url, captured).await.assert_success();
    let third = app.get(&format!("/ordermanagement/v1/orders/{}", third.body["order_id"].as_str().unwrap())).await;
    assert_eq!(third.body["status"], "CAPTURED");

    // Cancelled: final, repeatable, and no more orders.
    let status = format!("/customer-token/v1/tokens/{token_id}/status");
    for _ in 0..2 {
        let reply = app.call(Method::PATCH, &status, Some(json!({"status": "CANCELLED"}))).await;
        assert_eq!(reply.status, 202, "{}", reply.body);
    }
    assert_eq!(app.get(&format!("/customer-token/v1/tokens/{token_id}")).await.body["status"], "CANCELLED");
    app.post(&orders_url, monthly("https://shop.example/x")).await.assert_error(403, "TOKEN_CANCELED");
    app.call(Method::PATCH, &status, Some(json!({"status": "ACTIVE"}))).await.assert_error(400, "BAD_VALUE");
}

#[tokio::test]
async fn buy_and_tokenize_orders_today_and_keeps_a_token() {
    let app = spawn().await;
    let (payment, authorization) = authorized(&app, "buy_and_tokenize").await;
    let token_id = token(&app, &authorization).await;
    let order = app.post(&format!("/payments/v1/authorizations/{authorization}/order"), cart()).await;
    assert_eq!(order.status, 200, "{}", order.body);
    assert_eq!(app.get(&format!("/payments/v1/sessions/{payment}")).await.body["status"], "complete");
    // One token per authorization.
    let second = app.post(&format!("/payments/v1/authorizations/{authorization}/customer-token"), creation()).await;
    second.assert_error(403, "INVALID_OPERATION");
    // Charging first and tokenizing after, within the authorization's 60 minutes, works too.
    let (_, charged_first) = authorized(&app, "buy_and_tokenize").await;
    let order = app.post(&format!("/payments/v1/authorizations/{charged_first}/order"), cart()).await;
    assert_eq!(order.status, 200, "{}", order.body);
    token(&app, &charged_first).await;
    // Suspended by Klarna (a sandbox control): orders refused until it resumes.
    let orders_url = format!("/customer-token/v1/tokens/{token_id}/order");
    let control = |action: &str| format!("/sandbox/v1/customer-tokens/{token_id}/{action}");
    assert_eq!(app.call(Method::POST, &control("suspend"), None).await.status, 204);
    assert_eq!(app.get(&format!("/customer-token/v1/tokens/{token_id}")).await.body["status"], "SUSPENDED");
    app.post(&orders_url, monthly("https://shop.example/x")).await.assert_error(403, "TOKEN_SUSPENDED");
    assert_eq!(app.call(Method::POST, &control("resume"), None).await.status, 204);
    assert_eq!(app.post(&orders_url, monthly("https://shop.example/x")).await.status, 200);
}

#[tokio::test]
async fn token_refusals_change_nothing() {
    let app = spawn().await;
    let (_, buy) = authorized(&app, "buy").await;
    let (_, tokenizing) = authorized(&app, "tokenize").await;
    let before = app.snapshot().await;
    let create = |authorization: &str| format!("/payments/v1/authorizations/{authorization}/customer-token");
    app.post(&create(&buy), creation()).await.assert_error(403, "INVALID_OPERATION");
    app.post(&create("no-such-authorization"), creation()).await.assert_error(404, "NOT_FOUND");
    for (key, value) in
        [("purchase_country", json!("DE")), ("purchase_currency", json!("EUR")), ("intended_use", json!("gift"))]
    {
        let mut body = creation();
        body[key] = value;
        app.post(&create(&tokenizing), body).await.assert_error(400, "BAD_VALUE");
    }
    app.get("/customer-token/v1/tokens/no-such-token").await.assert_error(404, "NOT_FOUND");
    app.post("/customer-token/v1/tokens/no-such-token/order", monthly("https://x.example"))
        .await
        .assert_error(404, "TOKEN_NOT_FOUND");
    assert_eq!(app.snapshot().await, before, "no refusal changed anything");

    let token_id = token(&app, &tokenizing).await;
    let orders_url = format!("/customer-token/v1/tokens/{token_id}/order");
    let before = app.snapshot().await;
    let mut euros = monthly("https://x.example");
    euros["purchase_currency"] = json!("EUR");
    app.post(&orders_url, euros).await.assert_error(409, "BAD_VALUE");
    let mut wrong = monthly("https://x.example");
    wrong["order_amount"] = json!(17_000);
    app.post(&orders_url, wrong).await.assert_error(400, "BAD_VALUE");
    app.call_as(&app.other, Method::POST, &orders_url, Some(monthly("https://x.example")))
        .await
        .assert_error(404, "TOKEN_NOT_FOUND");
    assert_eq!(app.snapshot().await, before, "no refusal changed anything");
}
