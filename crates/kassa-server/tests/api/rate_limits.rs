//! Rate limits (reference §1.5): counted per merchant and category in one-second windows, quota
//! headers on every authenticated response, 429 `TOO_MANY_REQUESTS` over the limit.
//!
//! The server's wall clock stands still (`spawn_frozen`): a window ends only when a test moves the
//! sandbox clock to the next one, however slow the machine.

use kassa_server::Mode;
use kassa_server::app::config::RateLimits;
use kassa_testkit::{Reply, TestApp, cart, spawn_frozen};
use reqwest::Method;
use serde_json::json;

async fn spawn_limited(limits: RateLimits) -> TestApp {
    spawn_frozen(Mode::Sandbox, |config| config.rate_limits = limits).await
}

/// (`X-Ratelimit-Limit`, `X-Ratelimit-Remaining`, `X-Ratelimit-Reset`).
fn quota(reply: &Reply) -> (&str, u32, &str) {
    let header = |name: &str| {
        reply.headers.get(name).unwrap_or_else(|| panic!("{name} missing; body {}", reply.body)).to_str().unwrap()
    };
    (header("x-ratelimit-limit"), header("x-ratelimit-remaining").parse().unwrap(), header("x-ratelimit-reset"))
}

fn assert_unlimited(reply: &Reply, what: &str) {
    for name in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"] {
        assert!(!reply.headers.contains_key(name), "{what}: unexpected {name}");
    }
}

fn next_window(app: &TestApp) {
    app.state.sandbox_clock.as_ref().expect("sandbox mode").advance(1_000);
}

fn payment_session_url(app: &TestApp, id: &str) -> serde_json::Value {
    json!({"payment_session_url": format!("{}/payments/v1/sessions/{id}", app.url), "merchant_urls": {}})
}

#[tokio::test]
async fn every_authenticated_response_carries_the_quota_headers() {
    // `Config::new`'s default: Klarna's production limits.
    let app = spawn_frozen(Mode::Sandbox, |_| {}).await;
    let created = app.post("/payments/v1/sessions", cart()).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(quota(&created), ("40, 40;w=1", 39, "1"));
    let payment = created.body["session_id"].as_str().unwrap().to_owned();

    let hpp = app.post("/hpp/v1/sessions", payment_session_url(&app, &payment)).await;
    assert_eq!(hpp.status, 201, "{}", hpp.body);
    assert_eq!(quota(&hpp), ("40, 40;w=1", 39, "1"));
    let hpp = hpp.body["session_id"].as_str().unwrap().to_owned();

    let others = [
        app.get(&format!("/payments/v1/sessions/{payment}")).await,
        app.get(&format!("/hpp/v1/sessions/{hpp}")).await,
        app.act(&hpp, "open").await,
        app.get(&format!("/kassa/v1/hpp/sessions/{hpp}/messages")).await,
        app.call(Method::POST, &format!("/payments/v1/sessions/{payment}"), Some(json!({"locale": "sv-SE"}))).await,
        // Errors are counted and carry the headers too.
        app.get("/payments/v1/sessions/no-such-session").await,
        app.post("/payments/v1/authorizations/no-such-token/order", cart()).await,
    ];
    for reply in &others {
        assert!(reply.status.is_success() || reply.status.is_client_error(), "{}", reply.body);
        let (limit, remaining, reset) = quota(reply);
        assert_eq!((limit, reset), ("200, 200;w=1", "1"));
        assert!(remaining < 200);
        assert!(!reply.headers.contains_key("retry-after"));
    }
    let refused = app.post("/payments/v1/sessions", json!({"purchase_country": "SE"})).await;
    refused.assert_error(400, "BAD_VALUE");
    assert_eq!(quota(&refused).0, "40, 40;w=1");
}

#[tokio::test]
async fn the_41st_session_create_within_a_second_gets_429() {
    let app = spawn_frozen(Mode::Sandbox, |_| {}).await;
    let payment = app.payment_session().await;
    next_window(&app);

    // 42 creates at once: each is counted when it arrives, so exactly 2 are refused. Beside
    // them, the other merchant's create and this merchant's other categories.
    let read_path = format!("/payments/v1/sessions/{payment}");
    let creates = futures::future::join_all((0..42).map(|_| app.post("/payments/v1/sessions", cart())));
    let others = futures::future::join3(
        app.call_as(&app.other, Method::POST, "/payments/v1/sessions", Some(cart())),
        app.post("/hpp/v1/sessions", payment_session_url(&app, &payment)),
        app.get(&read_path),
    );
    let (creates, (other_merchant, hpp, read)) = futures::future::join(creates, others).await;

    let (passed, refused): (Vec<_>, Vec<_>) = creates.iter().partition(|r| r.status == 200);
    assert_eq!((passed.len(), refused.len()), (40, 2), "{:?}", creates.iter().map(|r| r.status).collect::<Vec<_>>());
    let mut remaining: Vec<u32> = passed.iter().map(|r| quota(r).1).collect();
    remaining.sort_unstable();
    assert_eq!(remaining, (0..40).collect::<Vec<_>>());
    for reply in refused {
        let body = reply.assert_error(429, "TOO_MANY_REQUESTS");
        assert!(reply.message().contains("retry in 1 s"), "{body}");
        assert_eq!(quota(reply), ("40, 40;w=1", 0, "1"));
        assert_eq!(reply.headers["retry-after"], "1");
    }

    // Other merchants and other categories are unaffected.
    assert_eq!(other_merchant.status, 200, "{}", other_merchant.body);
    assert_eq!(quota(&other_merchant), ("40, 40;w=1", 39, "1"));
    assert_eq!(hpp.status, 201, "{}", hpp.body);
    assert_eq!(quota(&hpp), ("40, 40;w=1", 39, "1"));
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(quota(&read).0, "200, 200;w=1");

    // A second later the merchant may create again.
    next_window(&app);
    let again = app.post("/payments/v1/sessions", cart()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(quota(&again), ("40, 40;w=1", 39, "1"));
}

#[tokio::test]
async fn limits_are_configurable() {
    let app = spawn_limited(RateLimits::playground()).await;
    let created = app.post("/payments/v1/sessions", cart()).await;
    assert_eq!(quota(&created), ("5, 5;w=1", 4, "1"));
    let id = created.body["session_id"].as_str().unwrap();
    assert_eq!(quota(&app.get(&format!("/payments/v1/sessions/{id}")).await), ("50, 50;w=1", 49, "1"));

    let app = spawn_limited("create=off,hpp=1,other=1".parse().unwrap()).await;
    let created = app.post("/payments/v1/sessions", cart()).await;
    assert_eq!(created.status, 200);
    assert_unlimited(&created, "unlimited category");
    let payment = created.body["session_id"].as_str().unwrap().to_owned();
    let replies =
        futures::future::join_all((0..3).map(|_| app.post("/hpp/v1/sessions", payment_session_url(&app, &payment))))
            .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");

    let app = spawn_limited(RateLimits::off()).await;
    let created = app.post("/payments/v1/sessions", cart()).await;
    assert_eq!(created.status, 200);
    assert_unlimited(&created, "off");
}

#[tokio::test]
async fn public_routes_are_never_limited() {
    let limits = RateLimits { create_session: Some(1), create_hpp_session: Some(1), other: Some(1) };
    let app = spawn_limited(limits).await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    // The merchant's credentials on public routes do not make them count.
    for path in
        ["/healthz", "/readyz", "/openapi.json", "/assets/badges/klarna.svg", &format!("/hpp/payments/{hpp}/qr")]
    {
        for _ in 0..3 {
            let reply = app.get(path).await;
            assert_eq!(reply.status, 200, "{path}");
            assert_unlimited(&reply, path);
        }
        let anonymous = app.client.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert_eq!(anonymous.status(), 200, "{path}");
        assert!(!anonymous.headers().contains_key("x-ratelimit-limit"), "{path}");
    }
    // None of them used the merchant's single request of the "other" category.
    let read = app.get(&format!("/hpp/v1/sessions/{hpp}")).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(quota(&read), ("1, 1;w=1", 0, "1"));
}

#[tokio::test]
async fn requests_without_valid_credentials_are_not_counted() {
    let app = spawn_limited("create=1".parse().unwrap()).await;
    let wrong = kassa_testkit::Merchant { username: app.merchant.username.clone(), secret: "not-the-secret".into() };
    for _ in 0..3 {
        let reply = app.call_as(&wrong, Method::POST, "/payments/v1/sessions", Some(cart())).await;
        reply.assert_error(401, "UNAUTHORIZED");
        assert_unlimited(&reply, "wrong secret");
        let anonymous = app.client.post(format!("{}/payments/v1/sessions", app.url)).json(&cart()).send().await;
        let anonymous = kassa_testkit::read(anonymous.unwrap()).await;
        anonymous.assert_error(401, "UNAUTHORIZED");
        assert_unlimited(&anonymous, "no credentials");
    }
    let created = app.post("/payments/v1/sessions", cart()).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(quota(&created), ("1, 1;w=1", 0, "1"));
}

#[tokio::test]
async fn a_long_poll_counts_as_one_request() {
    let app = spawn_limited("other=2".parse().unwrap()).await;
    let payment = app.payment_session().await;
    let path = format!("{}/payments/v1/sessions/{payment}", app.url);
    let etag = kassa_testkit::read(
        app.client.get(&path).basic_auth(&app.merchant.username, Some(&app.merchant.secret)).send().await.unwrap(),
    )
    .await
    .headers["etag"]
        .clone();
    next_window(&app);
    // A long poll that waits the whole second without a change (re-reading inside kassa)...
    let request = app
        .client
        .get(format!("{path}?wait=1"))
        .header("if-none-match", etag)
        .basic_auth(&app.merchant.username, Some(&app.merchant.secret));
    let poll = tokio::spawn(request.send());
    app.waiters(1).await;
    // ...leaves room for exactly one more request in its window.
    let other = app.get(&format!("/payments/v1/sessions/{payment}")).await;
    assert_eq!(other.status, 200, "{}", other.body);
    assert_eq!(quota(&other).1, 0);
    let polled = kassa_testkit::read(poll.await.unwrap().unwrap()).await;
    assert_eq!(polled.status, reqwest::StatusCode::NOT_MODIFIED);
    assert_eq!(quota(&polled).1, 1, "counted once, when it arrived");
}
