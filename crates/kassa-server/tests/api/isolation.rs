//! A merchant never sees another merchant's sessions.

use kassa_testkit::{cart, spawn};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn another_merchant_gets_404_everywhere_and_changes_nothing() {
    let app = spawn().await;
    let (hpp, payment, _) = app.hpp_session(json!({}), json!({})).await;
    let (done, _, _) = app.hpp_session(json!({}), json!({})).await;
    app.act(&done, "open").await;
    let token = app.act(&done, "approve").await.body["session"]["authorization_token"].as_str().unwrap().to_owned();
    let before = app.snapshot().await;
    let distribution = json!({"method": "email", "contact_information": {"email": "customer@email.se"}});
    let requests = [
        (Method::GET, format!("/hpp/v1/sessions/{hpp}"), None),
        (Method::DELETE, format!("/hpp/v1/sessions/{hpp}"), None),
        (Method::POST, format!("/hpp/v1/sessions/{hpp}/distribution"), Some(distribution)),
        (Method::POST, format!("/hpp/v1/sessions/{hpp}/distribution-module/token"), None),
        (Method::GET, format!("/hpp/v1/sessions/{hpp}/manual-id-check"), None),
        (Method::GET, format!("/kassa/v1/hpp/sessions/{hpp}/messages"), None),
        (Method::POST, format!("/sandbox/v1/hpp/sessions/{hpp}/open"), None),
        (Method::GET, format!("/payments/v1/sessions/{payment}"), None),
        (Method::POST, format!("/payments/v1/sessions/{payment}"), Some(json!({"locale": "sv-SE"}))),
        (Method::DELETE, format!("/payments/v1/sessions/{payment}"), None),
        (Method::POST, format!("/payments/v1/authorizations/{token}/order"), Some(cart())),
        (Method::DELETE, format!("/payments/v1/authorizations/{token}"), None),
    ];
    for (method, path, body) in requests {
        let reply = app.call_as(&app.other, method.clone(), &path, body).await;
        reply.assert_error(404, "NOT_FOUND");
    }
    // Hosting another merchant's payment session is refused without saying whether it exists.
    let body = json!({"payment_session_url": format!("{}/payments/v1/sessions/{payment}", app.url)});
    app.call_as(&app.other, Method::POST, "/hpp/v1/sessions", Some(body)).await.assert_error(400, "BAD_VALUE");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.status(&hpp).await, "WAITING");
}
