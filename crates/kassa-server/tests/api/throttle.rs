//! Failed credential attempts are throttled per client address and per username (429 with
//! `Retry-After`, refused unchecked), on the API and on `/login`, without locking the merchant's
//! own addresses out. The server's wall clock stands still (`spawn_frozen`); clients come from
//! different loopback addresses (127.0.0.x).

use kassa_server::Mode;
use kassa_server::app::config::AuthThrottleSettings;
use kassa_testkit::{Merchant, TestApp, spawn_frozen, unlimited};
use reqwest::redirect::Policy;
use serde_json::Value;
use std::net::IpAddr;

/// A server that throttles failed attempts as `kassa serve` does by default (10 at once, one
/// more every 6 s), with no other limits.
async fn throttled() -> TestApp {
    spawn_frozen(Mode::Sandbox, |config| {
        unlimited(config);
        config.auth_throttle = Some(AuthThrottleSettings::default());
    })
    .await
}

/// An HTTP client whose connections come from `127.0.0.<host>`.
fn from(host: u8) -> reqwest::Client {
    let address: IpAddr = format!("127.0.0.{host}").parse().unwrap();
    reqwest::Client::builder().local_address(address).redirect(Policy::none()).build().unwrap()
}

/// `GET /payments/v1/sessions/none` (404 once authenticated) as `username:secret` from `client`.
async fn api(app: &TestApp, client: &reqwest::Client, who: &Merchant) -> (u16, Option<String>, Value) {
    let response = client
        .get(format!("{}/payments/v1/sessions/none", app.url))
        .basic_auth(&who.username, Some(&who.secret))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap_or(Value::Null))
}

fn wrong(who: &Merchant) -> Merchant {
    Merchant::new(who.username.clone(), "a-wrong-secret-of-some-length")
}

#[tokio::test]
async fn a_burst_of_wrong_api_secrets_from_one_address_gets_429_with_retry_after() {
    let app = throttled().await;
    let attacker = from(1);
    for i in 0..10 {
        assert_eq!(api(&app, &attacker, &wrong(&app.merchant)).await.0, 401, "attempt {i}");
    }
    let (status, retry_after, body) = api(&app, &attacker, &wrong(&app.merchant)).await;
    assert_eq!((status, retry_after.as_deref()), (429, Some("6")), "{body}");
    assert_eq!(body["error_code"], "TOO_MANY_REQUESTS", "{body}");
    assert!(body["error_messages"][0].as_str().unwrap().contains("failed authentication attempts"), "{body}");
    assert!(body["correlation_id"].is_string(), "{body}");
    // Refused unchecked, whatever the credentials (the other merchant's are right).
    assert_eq!(api(&app, &attacker, &app.other).await.0, 429);
    // One failure is forgiven after 6 s.
    app.advance_wall(6);
    assert_eq!(api(&app, &attacker, &app.other).await.0, 404, "checked again, and right");
    assert_eq!(api(&app, &attacker, &wrong(&app.other)).await.0, 401);
    assert_eq!(api(&app, &attacker, &app.other).await.0, 429);
}

#[tokio::test]
async fn a_known_good_address_keeps_working_while_its_username_is_attacked() {
    let app = throttled().await;
    let (merchants_server, attacker, elsewhere) = (from(2), from(3), from(4));
    assert_eq!(api(&app, &merchants_server, &app.merchant).await.0, 404, "authenticated");
    for _ in 0..10 {
        assert_eq!(api(&app, &attacker, &wrong(&app.merchant)).await.0, 401);
    }
    // The username is used up: from an address it never authenticated from, refused unchecked.
    let (status, retry_after, body) = api(&app, &elsewhere, &app.merchant).await;
    assert_eq!((status, retry_after.as_deref()), (429, Some("6")), "{body}");
    // The merchant's own server goes on working, and other merchants are not affected.
    for _ in 0..20 {
        assert_eq!(api(&app, &merchants_server, &app.merchant).await.0, 404);
    }
    assert_eq!(api(&app, &elsewhere, &app.other).await.0, 404);
}

/// `POST /login` from `client`: (status, `Retry-After`, page).
async fn log_in(app: &TestApp, client: &reqwest::Client, who: &Merchant) -> (u16, Option<String>, String) {
    let form = [("username", who.username.as_str()), ("secret", who.secret.as_str()), ("next", "/dashboard")];
    let response = client.post(format!("{}/login", app.url)).form(&form).send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.text().await.unwrap())
}

#[tokio::test]
async fn login_is_throttled_the_same_and_a_known_browser_still_logs_in() {
    let app = throttled().await;
    let (browser, attacker, elsewhere) = (from(5), from(6), from(7));
    assert_eq!(log_in(&app, &browser, &app.merchant).await.0, 303);
    for i in 0..10 {
        assert_eq!(log_in(&app, &attacker, &wrong(&app.merchant)).await.0, 401, "attempt {i}");
    }
    let (status, retry_after, page) = log_in(&app, &attacker, &app.merchant).await;
    assert_eq!((status, retry_after.as_deref()), (429, Some("6")));
    assert!(page.contains("Too many failed login attempts. Wait 6 seconds and try again."), "{page}");
    assert_eq!(log_in(&app, &elsewhere, &app.merchant).await.0, 429, "the username is used up");
    assert_eq!(log_in(&app, &browser, &app.merchant).await.0, 303, "known good");
    // The API and the login count together: the username is used up on the API as well.
    assert_eq!(api(&app, &elsewhere, &app.merchant).await.0, 429);
}

#[tokio::test]
async fn without_throttling_every_attempt_is_checked() {
    let app = spawn_frozen(Mode::Sandbox, unlimited).await;
    let attacker = from(8);
    for _ in 0..30 {
        assert_eq!(api(&app, &attacker, &wrong(&app.merchant)).await.0, 401);
        assert_eq!(log_in(&app, &attacker, &wrong(&app.merchant)).await.0, 401);
    }
    assert_eq!(api(&app, &attacker, &app.merchant).await.0, 404);
    assert_eq!(log_in(&app, &attacker, &app.merchant).await.0, 303);
}

#[tokio::test]
async fn every_basic_auth_surface_is_throttled_customer_tokens_and_order_management_included() {
    for path in ["/customer-token/v1/tokens/none", "/ordermanagement/v1/orders/none", "/kassa/v1/events"] {
        let app = throttled().await;
        let attacker = from(7);
        let guess = |client: &reqwest::Client| {
            client
                .get(format!("{}{path}", app.url))
                .basic_auth(&app.merchant.username, Some("a-wrong-secret-of-some-length"))
                .send()
        };
        for i in 0..10 {
            assert_eq!(guess(&attacker).await.unwrap().status(), 401, "{path}: attempt {i}");
        }
        assert_eq!(guess(&attacker).await.unwrap().status(), 429, "{path}: the eleventh guess is refused unchecked");
    }
}
