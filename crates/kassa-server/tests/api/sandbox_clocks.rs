//! Each merchant's sandbox clock is its own: moving one merchant's clock expires that merchant's
//! sessions and runs its jobs, and leaves the other merchant's time, sessions and jobs as they
//! were. The offsets are in the database: a second node agrees.

use crate::instore::{create, distributed, result};
use kassa_testkit::{PATIENCE, eventually, spawn};
use serde_json::json;

const THREE_HOURS: i64 = 3 * 3600;

#[tokio::test]
async fn one_merchants_clock_moves_only_its_own_expiry() {
    let app = spawn().await;
    let theirs = app.api.as_merchant(&app.other);
    let (mine, _, _) = app.hpp_session(json!({}), json!({})).await;
    let (other, _, _) = theirs.hpp_session(json!({}), json!({})).await;
    let moved = app.post("/sandbox/v1/clock/advance", json!({"seconds": 47 * 3600})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["ahead_seconds"], 47 * 3600);
    assert_eq!(app.get("/sandbox/v1/clock").await.body["ahead_seconds"], 47 * 3600);
    assert_eq!(theirs.get("/sandbox/v1/clock").await.body["ahead_seconds"], 0, "the other merchant's clock stays");
    app.get(&format!("/hpp/v1/sessions/{mine}")).await.assert_error(404, "NOT_FOUND");
    assert_eq!(theirs.status(&other).await, "WAITING", "the other merchant's session is live");
    // A second node reads the offsets from the database.
    let node = app.other_node().await;
    let id = |username: String| {
        let store = node.store.clone();
        async move { store.merchant_by_username(&username).await.unwrap().unwrap().id }
    };
    let (my_id, their_id) = (id(app.merchant.username.clone()).await, id(app.other.username.clone()).await);
    assert_eq!(node.store.sandbox_clock(&their_id).await.unwrap(), 0);
    assert_eq!(node.store.sandbox_clock(&my_id).await.unwrap(), 47 * 3600 * 1000);
    // The other merchant moves its own clock: now its session expires too.
    let moved = theirs.post("/sandbox/v1/clock/advance", json!({"seconds": 47 * 3600})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    theirs.get(&format!("/hpp/v1/sessions/{other}")).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn one_merchants_clock_runs_only_its_own_jobs() {
    let app = spawn().await;
    let theirs = app.api.as_merchant(&app.other);
    let mine = create(&app, json!({"method": "one_qr"})).await;
    distributed(&app, &mine).await;
    let other = theirs.post("/payments/v1/sessions", kassa_testkit::in_store(json!({"method": "one_qr"}))).await;
    assert_eq!(other.status, 200, "{}", other.body);
    let other = other.body["session_id"].as_str().unwrap().to_owned();
    let other_result = format!("/iss/v1/distributions/{other}");
    eventually("the other merchant's distribution to be shown", PATIENCE, || async {
        let status = theirs.get(&other_result).await.body["status"].clone();
        if status == "WAITING" { Err(status) } else { Ok(()) }
    })
    .await;
    let shown = theirs.get(&other_result).await.body["status"].clone();
    let moved = app.post("/sandbox/v1/clock/advance", json!({"seconds": THREE_HOURS})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    // The 3-hour auto-cancel ran before the answer, for this merchant's session only.
    assert_eq!(result(&app, &mine).await["status"], "CANCELED");
    assert_eq!(theirs.get(&other_result).await.body["status"], shown, "the other merchant's job is not due");
    let moved = theirs.post("/sandbox/v1/clock/advance", json!({"seconds": THREE_HOURS})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(theirs.get(&other_result).await.body["status"], "CANCELED");
}
