//! The hosted payment page of HPP sessions: approve, decline and retry, back, error, cancel.

use crate::merchant_site::MerchantSite;
use crate::webdriver::{Browser, DESKTOP, Driver, PHONE};
use kassa_testkit::{TestApp, spawn};
use serde_json::{Value, json};

/// An HPP session with the shop's look; returns its id and `redirect_url`.
async fn session(app: &TestApp, options: Value, merchant_urls: Value) -> (String, String) {
    let (id, _, created) = app.hpp_session(options, merchant_urls).await;
    (id, created["redirect_url"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_operator_sends_the_link_from_the_distribution_module_page() {
    let app = spawn().await;
    let site = MerchantSite::start().await;
    let (hpp, _, created) = app.hpp_session(shop_options(&site, "NONE"), json!({})).await;
    let driver = Driver::start().await;
    let tablet = driver.browser(DESKTOP).await;
    tablet.goto(created["distribution_module"]["standalone_url"].as_str().unwrap()).await;
    tablet.type_into("#send-to", "customer@email.se").await;
    tablet.click("#send-email").await;
    tablet.wait_for_text("#sent", "Sent by email").await;
    tablet.screenshots("distribution-module", PHONE).await;
    let messages = app.get(&format!("/kassa/v1/hpp/sessions/{hpp}/messages")).await.body;
    assert_eq!(messages["messages"][0]["method"], "email");
    tablet.close().await;
}

fn shop_options(site: &MerchantSite, place_order_mode: &str) -> Value {
    json!({
        "place_order_mode": place_order_mode,
        "purchase_type": "BUY",
        "page_title": "Velo bikes",
        "logo_url": format!("{}/logo.svg", site.url),
        "background_images": [{"url": format!("{}/background.svg", site.url), "width": 1200}],
    })
}

/// A shop's HPP session and a phone to pay it on.
struct Scene {
    app: TestApp,
    site: MerchantSite,
    hpp: String,
    redirect_url: String,
    phone: Browser,
    _driver: Driver,
}

/// An HPP session in `place_order_mode` with the merchant URLs `urls` gives for the site.
async fn scene(place_order_mode: &str, urls: impl FnOnce(&MerchantSite) -> Value) -> Scene {
    let app = spawn().await;
    let site = MerchantSite::start().await;
    let (hpp, redirect_url) = session(&app, shop_options(&site, place_order_mode), urls(&site)).await;
    let driver = Driver::start().await;
    let phone = driver.browser(PHONE).await;
    Scene { app, site, hpp, redirect_url, phone, _driver: driver }
}

/// Email, then the one-time code, then the buy button.
async fn pay_as(page: &Browser, email: &str, code: &str) {
    page.type_into("#email", email).await;
    page.click("#continue").await;
    page.type_into("#code", code).await;
    page.click("#buy").await;
}

#[tokio::test]
async fn approving_lands_on_the_success_url_with_the_authorization_token() {
    let Scene { app, site, hpp, redirect_url, phone, _driver } = scene("NONE", MerchantSite::merchant_urls).await;

    phone.goto(&redirect_url).await;
    phone.wait_for_element("#identify").await;
    assert_eq!(app.status(&hpp).await, "IN_PROGRESS", "opening the page");
    assert_eq!(phone.text("#shop-name").await.as_deref(), Some("Velo bikes"));
    assert_eq!(phone.text("#total").await.as_deref(), Some("180,00\u{a0}kr"), "SEK in en-SE");
    phone.screenshots("hpp-checkout", PHONE).await;

    phone.type_into("#email", "customer@email.se").await;
    phone.click("#continue").await;
    phone.wait_for_element("#code").await;
    assert_eq!(phone.text("#buy").await.as_deref(), Some("Buy · 180,00\u{a0}kr"));
    phone.screenshots("hpp-code", PHONE).await;
    phone.type_into("#code", "123456").await;
    phone.click("#buy").await;

    let landed = phone.wait_for_url(&format!("{}/success", site.url)).await;
    let read = app.get(&format!("/hpp/v1/sessions/{hpp}")).await;
    assert_eq!(read.body["status"], "COMPLETED");
    let token = read.body["authorization_token"].as_str().unwrap();
    assert_eq!(landed, format!("{}/success?sid={hpp}&authorization_token={token}", site.url));
    assert_eq!(site.callback_statuses(&app, &hpp, 2, "/session/status").await, ["IN_PROGRESS", "COMPLETED"]);

    // Opening the link again explains that it is done.
    phone.goto(&redirect_url).await;
    assert_eq!(phone.wait_for_text("#title", "Payment approved").await, "Payment approved");
    phone.close().await;
}

#[tokio::test]
async fn a_declined_persona_may_try_again_and_be_approved() {
    // No success URL: kassa's own result page shows the order.
    let failure_only = |site: &MerchantSite| json!({"failure": format!("{}/failure?sid={{{{session_id}}}}", site.url)});
    let Scene { app, site, hpp, redirect_url, phone, _driver } = scene("PLACE_ORDER", failure_only).await;

    phone.goto(&redirect_url).await;
    pay_as(&phone, "customer+denied@email.se", "123456").await;
    phone.wait_for_text("#title", "Purchase declined").await;
    assert!(phone.text("#message").await.unwrap().contains("can not be accepted"));
    assert_eq!(app.status(&hpp).await, "FAILED");
    assert_eq!(
        phone.attribute("#outcome .button:not(.primary)", "href").await.unwrap(),
        format!("{}/failure?sid={hpp}", site.url),
        "the way back to the merchant's failure URL"
    );
    phone.screenshots("hpp-declined", PHONE).await;

    phone.click("#outcome .button.primary").await; // Try again
    phone.wait_for_element("#identify").await;
    assert_eq!(app.status(&hpp).await, "IN_PROGRESS");
    pay_as(&phone, "customer@email.se", "654321").await;
    phone.wait_for_text("#title", "Payment approved").await;
    let read = app.get(&format!("/hpp/v1/sessions/{hpp}")).await;
    assert_eq!(read.body["status"], "COMPLETED");
    let order_id = read.body["order_id"].as_str().expect("PLACE_ORDER: kassa placed the order");
    assert!(phone.text("#outcome").await.unwrap().contains(order_id));
    phone.screenshots("hpp-approved", PHONE).await;
    phone.close().await;
}

#[tokio::test]
async fn back_error_and_a_confirmed_cancel_go_to_their_merchant_urls() {
    let Scene { app, site, hpp, redirect_url, phone, _driver } = scene("NONE", MerchantSite::merchant_urls).await;

    phone.goto(&redirect_url).await;
    phone.click("#back").await;
    assert_eq!(phone.wait_for_url(&format!("{}/back", site.url)).await, format!("{}/back?sid={hpp}", site.url));
    assert_eq!(app.status(&hpp).await, "BACK");

    phone.goto(&redirect_url).await;
    pay_as(&phone, "customer@email.se", "999999").await;
    phone.wait_for_url(&format!("{}/error", site.url)).await;
    assert_eq!(app.status(&hpp).await, "ERROR");

    phone.goto(&redirect_url).await;
    phone.type_into("#email", "customer@email.se").await;
    phone.click("#continue").await;
    phone.type_into("#code", "12").await;
    phone.run("document.querySelector('#code').removeAttribute('pattern')", json!([])).await;
    phone.click("#buy").await;
    phone.wait_for_text("#code-error", "6-digit").await;
    assert_eq!(app.status(&hpp).await, "IN_PROGRESS", "a malformed code changes nothing");

    phone.click("#cancel").await;
    phone.wait_for_text("#title", "Cancel this payment?").await;
    phone.screenshots("hpp-cancel-question", PHONE).await;
    phone.click("#keep-paying").await;
    phone.wait_for_element("#identify").await;
    assert_eq!(app.status(&hpp).await, "IN_PROGRESS", "not cancelled without the confirmation");
    phone.click("#cancel").await;
    phone.click("#confirm-cancel").await;
    assert_eq!(phone.wait_for_url(&format!("{}/cancel", site.url)).await, format!("{}/cancel?sid={hpp}", site.url));
    assert_eq!(app.status(&hpp).await, "CANCELLED");

    phone.goto(&redirect_url).await;
    phone.wait_for_text("#title", "Payment cancelled").await;
    phone.screenshots("hpp-cancelled", PHONE).await;
    let statuses = site.callback_statuses(&app, &hpp, 6, "/session/status").await;
    assert_eq!(statuses, ["IN_PROGRESS", "BACK", "IN_PROGRESS", "ERROR", "IN_PROGRESS", "CANCELLED"]);
    phone.close().await;
}
