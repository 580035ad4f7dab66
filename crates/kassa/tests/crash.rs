//! Callbacks survive SIGKILL: every committed event is delivered once the process is back.

use kassa_testkit::{Answer, PATIENCE, Receiver, eventually};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::time::{Duration, Instant};

mod support;

use support::{DatabaseFile, Server};

const AUTH: (&str, &str) = ("crash", "crash-secret-0123456789");

fn serve(database: &str) -> Server {
    support::serve(database, &["--rate-limits", "off", "--sandbox-credentials", &format!("{}:{}", AUTH.0, AUTH.1)])
}

/// A receiver that records each callback as it arrives and answers `delay` later.
async fn slow_receiver(delay: Duration) -> Receiver {
    let receiver = Receiver::start().await;
    receiver.answer_always(Answer::ok().after(delay));
    receiver
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_event_is_delivered_after_sigkill() {
    let database = DatabaseFile::new();
    let receiver = slow_receiver(Duration::from_millis(200)).await;
    let mut first = serve(&database.url);
    let api = first.client(AUTH);
    let mut sessions = Vec::new();
    for _ in 0..20 {
        sessions.push(api.hpp_session(json!({}), receiver.merchant_urls()).await.0);
    }
    for action in ["open", "back", "open"] {
        for hpp in &sessions {
            api.act(hpp, action).await.assert_success();
        }
    }
    // 60 status changes are committed; once a callback is in flight (arrived, not yet
    // answered), kill.
    eventually("a callback in flight", PATIENCE, || async { receiver.count() > receiver.answered() }).await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let (arrived, done) = (receiver.count(), receiver.answered());
    assert!(arrived > done, "attempts were in flight at the kill ({arrived} arrived, {done} answered)");
    assert!(done < 60, "the crash must interrupt deliveries ({done} already answered)");

    let second = serve(&database.url);
    let api = second.client(AUTH);
    let feed = api.get("/kassa/v1/events?limit=1000").await.assert_success().body;
    let committed: BTreeSet<String> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["session_kind"] == "hpp" && e["sequence"].as_u64().unwrap() > 1)
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(committed.len(), 60);
    eventually("all 60 committed events at the receiver", Duration::from_secs(30), || async {
        let arrived: BTreeSet<String> = receiver.received().iter().map(|r| r.event_id().to_owned()).collect();
        let missing = committed.difference(&arrived).count();
        if missing == 0 { Ok(()) } else { Err(format!("{missing} of 60 events not arrived")) }
    })
    .await;
    // The ledger agrees: nothing left undelivered.
    eventually("nothing undelivered in the ledger", PATIENCE, || async {
        let undelivered = api.get("/kassa/v1/events?undelivered=true").await.assert_success().body;
        if undelivered["events"].as_array().unwrap().is_empty() { Ok(()) } else { Err(undelivered) }
    })
    .await;
    // At-least-once, and per session in order: each event's first arrival follows its predecessor's.
    let mut order: HashMap<String, u64> = HashMap::new();
    let event_session: HashMap<String, String> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event_id"].as_str().unwrap().to_owned(), e["session_id"].as_str().unwrap().to_owned()))
        .collect();
    for callback in receiver.received() {
        let (event_id, seq) = (callback.event_id(), callback.sequence());
        let session = &event_session[event_id];
        let last = order.entry(session.clone()).or_insert(0);
        assert!(seq >= *last, "session {session}: event {seq} arrived after {last}");
        *last = (*last).max(seq);
    }
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_attempt_in_flight_finish() {
    let database = DatabaseFile::new();
    let receiver = slow_receiver(Duration::from_millis(1500)).await;
    let mut server = serve(&database.url);
    let api = server.client(AUTH);
    let hpp = api.hpp_session(json!({}), receiver.merchant_urls()).await.0;
    api.act(&hpp, "open").await.assert_success();
    receiver.wait_for(1, PATIENCE).await; // the attempt is now in flight
    Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    let status = tokio::task::spawn_blocking(move || server.child.wait().unwrap()).await.unwrap();
    let exited = Instant::now();
    assert!(status.success(), "{status:?}");
    // An ordering, not a duration: kassa exited after the receiver gave its (1.5 s late) answer.
    let answered = receiver.received()[0].answered_at;
    assert!(answered.is_some_and(|at| at < exited), "kassa exited before the attempt in flight was answered");
    assert_eq!(receiver.count(), 1);
    // The attempt was recorded before the exit: after a restart it is settled (delivered), so
    // it is never sent again.
    let again = serve(&database.url);
    let log = again.client(AUTH).deliveries(&hpp).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0]["status"], "delivered", "{log:#?}");
    assert_eq!(receiver.count(), 1);
    drop(again);
}
