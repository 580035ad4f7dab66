//! The client against a real kassa (typed errors, idempotent Order Management writes, callbacks
//! verified) and against a flaky HTTP server of the test's own (what is sent again, and what is
//! not).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use kassa_client::events::EventQuery;
use kassa_client::orders::CaptureRequest;
use kassa_client::webhooks::{Callback, VerifyError, Webhook};
use kassa_client::{Client, Error, Retries};
use kassa_testkit::{Receiver, TestApp, spawn};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

fn client(app: &TestApp) -> Client {
    Client::new(&app.url, &app.merchant.username, &app.merchant.secret).unwrap()
}

/// An order of the test kit's cart, authorized through the sandbox.
async fn order(app: &TestApp) -> String {
    let (hpp, payment, _) = app.api.hpp_session(json!({"place_order_mode": "PLACE_ORDER"}), json!({})).await;
    app.api.act(&hpp, "open").await;
    let approved = app.api.act(&hpp, "approve").await;
    assert_eq!(approved.status, 200, "{} ({payment})", approved.body);
    approved.body["session"]["order_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn errors_are_klarnas_body_typed() {
    let app = spawn().await;
    let error = client(&app).hpp().read_session("no-such-session").await.unwrap_err();
    let api = error.api().expect("an API error");
    assert_eq!((api.status, api.error_code.as_str()), (404, "NOT_FOUND"));
    assert!(api.correlation_id.is_some() && !api.error_messages.is_empty(), "{api:?}");
    assert!(error.is_not_found());

    let wrong = Client::new(&app.url, &app.merchant.username, "not-the-secret-at-all").unwrap();
    assert_eq!(wrong.payments().read_session("x").await.unwrap_err().status(), Some(401));
    assert!(matches!(Client::new("ftp://x", "u", "s"), Err(Error::Config(_))));
}

#[tokio::test]
async fn an_order_management_write_sent_twice_with_its_key_happens_once() {
    let app = spawn().await;
    let client = client(&app);
    let order_id = order(&app).await;
    let capture =
        CaptureRequest { captured_amount: 5000, description: Some("part".into()), ..CaptureRequest::default() };
    let first = client.orders().idempotency_key("ship-1").capture(&order_id, &capture).await.unwrap();
    let again = client.orders().idempotency_key("ship-1").capture(&order_id, &capture).await.unwrap();
    assert_eq!(first, again, "the second answer is the first one's");
    let order = client.orders().read(&order_id).await.unwrap();
    assert_eq!((order.captures.len(), order.captured_amount), (1, 5000));
    // Without a key given, each call has its own: two captures.
    client.orders().capture(&order_id, &capture).await.unwrap();
    assert_eq!(client.orders().captures(&order_id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn kassas_callbacks_verify_and_read() {
    let app = spawn().await;
    let client = client(&app);
    let receiver = Receiver::start().await;
    let (hpp, _, _) = app.api.hpp_session(json!({"place_order_mode": "NONE"}), receiver.merchant_urls()).await;
    app.api.act(&hpp, "open").await;
    let callback = receiver.wait_for(1, Duration::from_secs(10)).await.remove(0);
    let secrets = client.events().signing_secrets().await.unwrap();
    let webhook = Webhook::with_secrets(secrets.iter().map(String::as_str)).unwrap();
    let read: Callback = webhook.read(&callback.headers, &callback.body).unwrap();
    assert_eq!(read.session_id, hpp);
    assert_eq!(read.body["status"], "IN_PROGRESS", "the HPP envelope's session");
    assert_eq!(callback.header("kassa-session-kind"), "hpp");
    let feed =
        client.events().all(&EventQuery { session_id: Some(hpp.clone()), ..EventQuery::default() }).await.unwrap();
    let event = feed.iter().find(|e| e.event_id == read.event_id).expect("the callback's event in the feed");
    assert_eq!((event.sequence, &event.body), (read.sequence, &read.body));

    let mut tampered = callback.body.to_vec();
    tampered[0] = b' ';
    assert_eq!(webhook.verify(&callback.headers, &tampered), Err(VerifyError::NoMatch));
    let later = SystemTime::now() + Duration::from_secs(600);
    assert_eq!(webhook.verify_at(&callback.headers, &callback.body, later), Err(VerifyError::OutsideTolerance));
    let other = Webhook::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    assert_eq!(other.verify(&callback.headers, &callback.body), Err(VerifyError::NoMatch));
}

#[test]
fn what_sign_makes_the_standard_library_verifies() {
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let body = br#"{"status":"COMPLETED"}"#;
    let mut headers = http_headers();
    headers.insert("webhook-id", "msg_1".parse().unwrap());
    headers.insert("webhook-timestamp", now.to_string().parse().unwrap());
    headers.insert("webhook-signature", Webhook::new(secret).unwrap().sign("msg_1", now, body).parse().unwrap());
    standardwebhooks::Webhook::new(secret).unwrap().verify(body, &headers).unwrap();
    assert!(matches!(Webhook::new("secret"), Err(VerifyError::BadSecret(_))));
}

fn http_headers() -> axum::http::HeaderMap {
    axum::http::HeaderMap::new()
}

/// A server that answers `failures` times with `status` (and `Retry-After: 0`), then 200 `{}`.
async fn flaky(status: u16, failures: usize) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < failures {
                let status = StatusCode::from_u16(status).unwrap();
                (status, [("retry-after", "0")], r#"{"error_code":"X","error_messages":["busy"]}"#).into_response()
            } else {
                (StatusCode::OK, [("content-type", "application/json")], r#"{"status":"incomplete"}"#).into_response()
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

fn patient(url: &str) -> Client {
    let retries = Retries { max: 3, base_delay: Duration::from_millis(10), max_delay: Duration::from_secs(1) };
    Client::builder(url, "u", "s").retries(retries).build().unwrap()
}

#[tokio::test]
async fn reads_are_sent_again_after_a_passing_failure_and_plain_writes_are_not() {
    let (url, hits) = flaky(503, 2).await;
    let read = patient(&url).get_value("/payments/v1/sessions/x").await.unwrap();
    assert_eq!((read["status"].as_str(), hits.load(Ordering::SeqCst)), (Some("incomplete"), 3));

    // A write without a key may have been done: a 503 is not sent again.
    let (url, hits) = flaky(503, 1).await;
    let error = patient(&url).payments().cancel_session("x").await.unwrap_err();
    assert_eq!((error.status(), hits.load(Ordering::SeqCst)), (Some(503), 1));

    // 429 was refused before anything was done: sent again, also without a key.
    let (url, hits) = flaky(429, 1).await;
    patient(&url).payments().cancel_session("x").await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // Retries end: the last error is returned.
    let (url, hits) = flaky(503, 10).await;
    assert_eq!(patient(&url).get_value("/x").await.unwrap_err().status(), Some(503));
    assert_eq!(hits.load(Ordering::SeqCst), 4, "the first attempt and 3 retries");

    // No server at all: a connection error, after the retries.
    let error = patient("http://127.0.0.1:9").get_value("/x").await.unwrap_err();
    assert!(matches!(error, Error::Http(_)), "{error}");
}

#[tokio::test]
async fn a_customer_token_places_recurring_orders_once_per_key_until_cancelled() {
    use kassa_client::hpp::{HppSessionRequest, HppStatus};
    use kassa_client::payments::Cart;
    use kassa_client::sandbox::ConsumerAction;
    use kassa_client::tokens::{TokenOrderRequest, TokenRequest, TokenStatus};

    let app = spawn().await;
    let client = client(&app);
    let cart =
        Cart { intent: Some("buy_and_tokenize".into()), ..serde_json::from_value(kassa_testkit::cart()).unwrap() };
    let payment = client.payments().create_session(&cart).await.unwrap();
    let hpp = client
        .hpp()
        .create_session(&HppSessionRequest {
            payment_session_url: client.payments().session_url(&payment.session_id),
            ..HppSessionRequest::default()
        })
        .await
        .unwrap();
    client.sandbox().hpp(&hpp.session_id, ConsumerAction::Open).await.unwrap();
    let approved = client.sandbox().hpp(&hpp.session_id, ConsumerAction::Approve).await.unwrap();
    assert_eq!(approved.session.status, HppStatus::Completed);
    let authorization = approved.session.authorization_token.unwrap();

    let request = TokenRequest {
        purchase_country: "SE".into(),
        purchase_currency: "SEK".into(),
        locale: "en-SE".into(),
        description: "Bike subscription".into(),
        intended_use: "SUBSCRIPTION".into(),
        billing_address: None,
    };
    let token = client.tokens().create(&authorization, &request).await.unwrap().token_id;
    assert_eq!(client.tokens().read(&token).await.unwrap().status, TokenStatus::Active);

    let monthly = TokenOrderRequest {
        order_amount: cart.order_amount,
        order_tax_amount: cart.order_tax_amount,
        order_lines: cart.order_lines.clone(),
        purchase_currency: "SEK".into(),
        ..TokenOrderRequest::default()
    };
    let first = client.tokens().place_order(&token, &monthly, Some("month-1")).await.unwrap();
    let again = client.tokens().place_order(&token, &monthly, Some("month-1")).await.unwrap();
    assert_eq!(first.order_id, again.order_id, "one order per key");
    let next = client.tokens().place_order(&token, &monthly, None).await.unwrap();
    assert_ne!(next.order_id, first.order_id);

    client.tokens().cancel(&token).await.unwrap();
    assert_eq!(client.tokens().read(&token).await.unwrap().status, TokenStatus::Cancelled);
    let refused = client.tokens().place_order(&token, &monthly, None).await.unwrap_err();
    assert!(refused.status().is_some_and(|s| (400..500).contains(&s)), "{refused}");
}
