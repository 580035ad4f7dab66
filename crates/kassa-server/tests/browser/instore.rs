//! In store: the store page's short code, the POS, the consumer's page moving on by itself, the
//! payment, and the clerk screen following along without a reload; then the dashboard.

use crate::merchant_site::MerchantSite;
use crate::webdriver::{Browser, DESKTOP, Driver, PHONE};
use kassa_testkit::{TestApp, in_store, spawn};
use serde_json::{Value, json};

async fn log_in(app: &TestApp, clerk: &Browser, page: &str) {
    clerk.goto(&format!("{}{page}", app.url)).await;
    clerk.wait_for_element("#log-in").await;
    clerk.screenshots("login", DESKTOP).await;
    clerk.type_into("#username", &app.merchant.username).await;
    clerk.type_into("#secret", "not the secret").await;
    clerk.click("#log-in").await;
    clerk.wait_for_element("#login-error").await;
    clerk.type_into("#secret", &app.merchant.secret).await;
    clerk.click("#log-in").await;
    clerk.wait_for_url(&format!("{}{page}", app.url)).await;
}

async fn create(app: &TestApp, distribution: Value) -> String {
    let reply = app.post("/payments/v1/sessions", in_store(distribution)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["session_id"].as_str().unwrap().to_owned()
}

async fn distribution_status(app: &TestApp, id: &str) -> String {
    app.get(&format!("/iss/v1/distributions/{id}")).await.body["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn store_code_to_payment_with_the_clerk_screen_following_live() {
    let app = spawn().await;
    let site = MerchantSite::start().await;
    let driver = Driver::start().await;
    let clerk = driver.browser(DESKTOP).await;
    let phone = driver.browser(PHONE).await;

    // The merchant prints the store's QR (it encodes the store page).
    log_in(&app, &clerk, "/dashboard/stores").await;
    clerk.type_into("#store", "Example Shop").await;
    clerk.click("#show-store").await;
    let store_url = clerk.wait_for_text("#store-link", "/stores/").await;
    clerk.screenshots("stores", DESKTOP).await;

    // The customer scans it and gets a short code.
    phone.goto(&store_url).await;
    let code = phone.wait_for_text("#short-code", "").await;
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code:?}");
    phone.screenshots("store-code", PHONE).await;

    // The POS sends it; the customer's page moves to the payment page by itself.
    let callbacks = format!("{}/callbacks", site.url);
    let id =
        create(&app, json!({"method": "one_qr", "short_code": code, "callback_urls": {"status_update": callbacks}}))
            .await;
    phone.wait_for_url(&format!("{}/hpp/payments/", app.url)).await;
    phone.wait_for_element("#identify").await;
    assert_eq!(distribution_status(&app, &id).await, "ACCESSED");
    phone.screenshots("instore-checkout", PHONE).await;

    // The clerk's screen, marked to prove it is never reloaded.
    clerk.goto(&format!("{}/dashboard/distributions/{id}", app.url)).await;
    clerk.wait_for_text("#status", "ACCESSED").await;
    clerk.run("window.kassaNotReloaded = true;", json!([])).await;
    clerk.screenshots("clerk-accessed", DESKTOP).await;

    phone.type_into("#email", "customer@email.se").await;
    phone.click("#continue").await;
    phone.type_into("#code", "123456").await;
    phone.click("#buy").await;
    phone.wait_for_text("#title", "Payment complete").await;
    phone.screenshots("instore-paid", PHONE).await;

    clerk.wait_for_text("#status", "COMPLETED").await;
    assert_eq!(
        clerk.run("return window.kassaNotReloaded === true;", json!([])).await,
        true,
        "updated without a reload"
    );
    let order_id = app.get(&format!("/iss/v1/distributions/{id}")).await.body["order_id"].as_str().unwrap().to_owned();
    assert_eq!(clerk.text("#order-id").await.as_deref(), Some(order_id.as_str()));
    clerk.screenshots("clerk-completed", DESKTOP).await;
    assert_eq!(site.callback_statuses(&app, &id, 3, "/status").await, ["DISTRIBUTED", "ACCESSED", "COMPLETED"]);

    // The dashboard: the session's timeline and callbacks, and a redelivery.
    clerk.goto(&format!("{}/dashboard", app.url)).await;
    clerk.wait_for_element("table.sessions").await;
    clerk.screenshots("dashboard", DESKTOP).await;
    clerk.goto(&format!("{}/dashboard/sessions/distribution/{id}", app.url)).await;
    clerk.wait_for_element(".delivery table.attempts").await;
    let deliveries = || async { clerk.run("return document.querySelectorAll('.delivery').length;", json!([])).await };
    let before = deliveries().await.as_u64().unwrap();
    assert_eq!(before, 3);
    clerk.screenshots("session", DESKTOP).await;
    clerk.click(".redeliver").await;
    clerk.wait_until("a fourth delivery", || async { deliveries().await == 4 }).await;
    assert_eq!(site.callback_statuses(&app, &id, 4, "/status").await.len(), 4);
    phone.close().await;
    clerk.close().await;
}

#[tokio::test]
async fn the_clerk_retries_a_failed_code_and_the_dashboard_clock_auto_cancels() {
    let app = spawn().await;
    let driver = Driver::start().await;
    let clerk = driver.browser(DESKTOP).await;

    // A code nobody holds: FAILED (retryable), with the QR and link as the fallback.
    let id = create(&app, json!({"method": "one_qr", "short_code": "4711"})).await;
    log_in(&app, &clerk, &format!("/dashboard/distributions/{id}")).await;
    clerk.wait_for_text("#status", "FAILED").await;
    assert_eq!(clerk.text("#error").await.as_deref(), Some("Error: CONSUMER_SESSION_NOT_FOUND"));
    clerk.wait_for_element("#qr").await;
    clerk.screenshots("clerk-failed", DESKTOP).await;

    // The customer gets a code after all; the clerk retries with it.
    let code =
        app.post("/sandbox/v1/consumer-sessions", json!({})).await.body["short_code"].as_str().unwrap().to_owned();
    clerk.type_into("#short_code", &code).await;
    clerk.click("#retry").await;
    clerk.wait_for_text("#status", "DISTRIBUTED").await;

    // Three hours later, nobody has opened it: the dashboard's sandbox clock makes it happen.
    clerk.goto(&format!("{}/dashboard?kind=distribution", app.url)).await;
    clerk.type_into("#clock-amount", "4").await;
    clerk.click("#advance-clock").await;
    clerk.wait_for_element("table.sessions").await;
    // The page had the table before the click too: wait for what the click brings.
    clerk.wait_for_text("table.sessions", "CANCELED").await;
    assert_eq!(distribution_status(&app, &id).await, "CANCELED");
    assert!(clerk.text("#clock-now").await.is_some());
    clerk.close().await;
}
