//! Several kassa nodes on one PostgreSQL database: changes on one node wake waiters on another,
//! callbacks go out once per successful delivery and in order, and a dead node's claimed
//! callbacks are sent by another once its leases end.

use kassa_store::testing::TestDatabase;
use kassa_testkit::{Answer, PATIENCE, Receiver, WOKEN_WITHIN, eventually};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

mod support;

use support::Server as Node;

const AUTH: (&str, &str) = ("nodes", "nodes-secret-0123456789");

fn node(database: &str) -> Node {
    let credentials = format!("{}:{}", AUTH.0, AUTH.1);
    support::serve(database, &["--rate-limits", "off", "--sandbox-credentials", &credentials])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_sessions_wake_ups_and_callbacks() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let (node_a, node_b) = (node(&database.url), node(&database.url));
    let (a, b) = (node_a.client(AUTH), node_b.client(AUTH));
    let receiver = Receiver::start().await;
    let hpp = a.hpp_session(json!({}), receiver.merchant_urls()).await.0;
    // A long-poll on node A…
    let sent = Instant::now();
    let poll = tokio::spawn({
        let request = a.request(Method::GET, &format!("/hpp/v1/sessions/{hpp}?wait=10"));
        async move { request.header("if-none-match", "\"v1\"").send().await.unwrap().json::<Value>().await.unwrap() }
    });
    // Time for the poll to reach node A and wait there: another process's waiters cannot be
    // seen from here. (Were it late, it would find the change at once and the assertions below
    // still hold; only the wake-up would go untested.)
    tokio::time::sleep(Duration::from_millis(200)).await;
    // …wakes when node B commits the change: it answers with the change before its own first
    // re-read could have found it.
    b.act(&hpp, "open").await.assert_success();
    let body = poll.await.unwrap();
    let answered = sent.elapsed();
    assert_eq!(body["status"], "IN_PROGRESS");
    assert!(answered < WOKEN_WITHIN, "node A's long-poll answered {answered:?} after it was sent: not woken by node B");
    for action in ["decline", "open", "approve"] {
        b.act(&hpp, action).await.assert_success();
    }
    receiver.wait_for(4, PATIENCE).await;
    // Once every delivery is settled nothing more is sent: what arrived is all there is.
    let log = a.settled(&hpp).await;
    assert!(log.iter().all(|d| d["status"] == "delivered"), "{log:#?}");
    let seen: Vec<u64> = receiver.received().iter().map(|r| r.sequence()).collect();
    assert_eq!(seen, [2, 3, 4, 5], "each event once, in order, whichever node sent it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_claimed_callbacks_are_sent_by_another() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let mut node_a = node(&database.url);
    let a = node_a.client(AUTH);
    // Slow answers: node A's attempts are in flight (claimed) when it dies.
    let receiver = Receiver::start().await;
    receiver.answer_always(Answer::ok().after(Duration::from_millis(1500)));
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(a.hpp_session(json!({}), receiver.merchant_urls()).await.0);
    }
    for hpp in &sessions {
        a.act(hpp, "open").await.assert_success();
    }
    receiver.wait_for(1, PATIENCE).await;
    node_a.child.kill().unwrap();
    node_a.child.wait().unwrap();
    let killed = Instant::now();
    let in_flight = receiver.count();
    let node_b = node(&database.url);
    let b = node_b.client(AUTH);
    // Node B takes over once node A's leases (10 s by default, renewed while attempts run) end:
    // the ledger ends with nothing undelivered.
    eventually("node B to deliver what node A had claimed", Duration::from_secs(40), || async {
        let feed = b.get("/kassa/v1/events?undelivered=true").await.assert_success().body;
        if feed["events"].as_array().unwrap().is_empty() { Ok(()) } else { Err(feed) }
    })
    .await;
    let resumed = killed.elapsed();
    eprintln!("figure: a killed node's claimed callbacks all delivered by another node {resumed:?} after the kill");
    assert!(resumed < Duration::from_secs(15), "a killed node's callbacks resumed {resumed:?} after the kill");
    let log = receiver.received();
    for hpp in &sessions {
        assert!(log.iter().any(|r| r.session_id() == hpp && r.sequence() == 2), "{hpp} never called back");
    }
    // What node A had in flight was sent again by node B (at-least-once), not lost.
    assert!(log.len() >= in_flight + sessions.len(), "{} callbacks, {in_flight} were in flight on node A", log.len());
}
