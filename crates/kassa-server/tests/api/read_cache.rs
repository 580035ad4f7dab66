//! The node's read caches never hide an acknowledged change: an HPP session read once (so the
//! node holds it) and then changed by any path reads as changed at once; a cached credential
//! check lets no other secret in; a merchant changed past the server is seen within the cache's
//! bound; on PostgreSQL another node's change is seen as its notification arrives.

use kassa_server::Mode;
use kassa_server::app::config::AuthThrottleSettings;
use kassa_server::app::{credential_cache, session_cache};
use kassa_testkit::{Merchant, TestApp, spawn, spawn_frozen, unlimited};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The read body of `hpp`, as `app`'s merchant (asserting a 200).
async fn read(app: &TestApp, hpp: &str) -> Value {
    let reply = app.get(&format!("/hpp/v1/sessions/{hpp}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[tokio::test]
async fn a_read_after_each_kind_of_change_on_the_node_sees_it() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    // Sandbox (consumer) actions: every status change.
    for (action, status) in [("open", "IN_PROGRESS"), ("decline", "FAILED"), ("open", "IN_PROGRESS"), ("back", "BACK")]
    {
        assert_eq!(read(&app, &hpp).await, read(&app, &hpp).await, "two reads in a row agree");
        app.act(&hpp, action).await.assert_success();
        assert_eq!(read(&app, &hpp).await["status"], status, "after {action}");
    }
    // The merchant disables it.
    assert_eq!(read(&app, &hpp).await["status"], "BACK");
    assert_eq!(app.delete(&format!("/hpp/v1/sessions/{hpp}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(read(&app, &hpp).await["status"], "DISABLED");

    // Cancelling the payment session changes its HPP sessions in the same commit.
    let (hpp, payment, _) = app.hpp_session(json!({}), json!({})).await;
    let cached = read(&app, &hpp).await;
    assert_eq!(app.delete(&format!("/payments/v1/sessions/{payment}")).await.status, StatusCode::NO_CONTENT);
    let after = app.get(&format!("/hpp/v1/sessions/{hpp}")).await;
    assert!(after.status != 200 || after.body != cached, "the payment session's cancel shows: {}", after.body);

    // Expiry is decided at each read (service clock), not when the session was cached.
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    read(&app, &hpp).await;
    app.advance(48 * 3600);
    app.get(&format!("/hpp/v1/sessions/{hpp}")).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_long_poll_woken_by_a_change_reads_the_change() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    read(&app, &hpp).await;
    let poll = tokio::spawn({
        let request = app.api.request(reqwest::Method::GET, &format!("/hpp/v1/sessions/{hpp}?wait=10"));
        async move { request.header("if-none-match", "\"v1\"").send().await.unwrap().json::<Value>().await.unwrap() }
    });
    // Waiting (with the copy read above cached) before the change comes.
    app.waiters(1).await;
    let changed_at = Instant::now();
    app.act(&hpp, "open").await.assert_success();
    assert_eq!(poll.await.unwrap()["status"], "IN_PROGRESS");
    assert!(changed_at.elapsed() < session_cache::TTL / 2, "woken, and read the change, not a cached copy");
}

/// A throttled server as `kassa serve` runs by default, its wall clock still.
async fn throttled() -> TestApp {
    spawn_frozen(Mode::Sandbox, |config| {
        unlimited(config);
        config.auth_throttle = Some(AuthThrottleSettings::default());
    })
    .await
}

/// `GET path` as `who` from `127.0.0.<host>`: the status.
async fn status_from(app: &TestApp, host: u8, who: &Merchant, path: &str) -> u16 {
    let address: std::net::IpAddr = format!("127.0.0.{host}").parse().unwrap();
    let client = reqwest::Client::builder().local_address(address).build().unwrap();
    let response = client.get(format!("{}{path}", app.url)).basic_auth(&who.username, Some(&who.secret)).send();
    response.await.unwrap().status().as_u16()
}

#[tokio::test]
async fn after_a_cached_success_a_wrong_secret_is_refused_and_counted() {
    let app = throttled().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let path = format!("/hpp/v1/sessions/{hpp}");
    let wrong = Merchant::new(app.merchant.username.clone(), "a-wrong-secret-of-some-length");
    assert_eq!(status_from(&app, 1, &app.merchant, &path).await, 200, "checked, then cached");
    assert_eq!(status_from(&app, 1, &wrong, &path).await, 401, "the same address, another secret");
    for attempt in 0..9 {
        assert_eq!(status_from(&app, 2, &wrong, &path).await, 401, "attempt {attempt}");
    }
    // Ten failures of the username were counted: from an address that never authenticated,
    // even the cached credentials are refused unchecked.
    assert_eq!(status_from(&app, 3, &app.merchant, &path).await, 429);
    assert_eq!(status_from(&app, 2, &wrong, &path).await, 429, "the attacker's address is used up too");
    // The merchant's own address goes on working.
    assert_eq!(status_from(&app, 1, &app.merchant, &path).await, 200);
}

#[tokio::test]
async fn a_merchant_changed_past_the_server_is_seen_within_the_bound() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    read(&app, &hpp).await;
    // As another process would: the secret the client holds stops being the merchant's.
    let changed = app
        .execute(&format!("UPDATE merchants SET secret_hash = 'x' WHERE username = '{}'", app.merchant.username))
        .await;
    assert_eq!(changed, 1);
    let changed_at = Instant::now();
    let path = format!("/hpp/v1/sessions/{hpp}");
    loop {
        let status = app.get(&path).await.status;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(changed_at.elapsed() < credential_cache::TTL + Duration::from_millis(500), "still admitted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn on_postgresql_another_nodes_change_is_read_as_its_notification_arrives() {
    let app = spawn().await;
    if !app.is_postgres() {
        return;
    }
    let (second, _stop) = app.another_server().await;
    let other = kassa_testkit::Client::new(second.clone(), app.merchant.clone());
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    assert_eq!(read(&app, &hpp).await["status"], "WAITING");
    assert_eq!(other.status(&hpp).await, "WAITING");
    other.act(&hpp, "open").await.assert_success();
    // Read after write on the node that wrote.
    assert_eq!(other.status(&hpp).await, "IN_PROGRESS");
    // The first node drops its copy when the notification arrives: well before the cache's bound.
    let changed_at = Instant::now();
    while read(&app, &hpp).await["status"] != "IN_PROGRESS" {
        assert!(changed_at.elapsed() < session_cache::TTL / 2, "not dropped by the notification");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
