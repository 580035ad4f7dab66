//! Work traced back to the request that caused it: every event, message and job a request's
//! change writes carries the request's correlation id (`caused_by`), and so does what a job then
//! commits, so a callback or a message sent later, on any node, names the request it came from.

use kassa_store::SessionKind;
use kassa_testkit::{PATIENCE, eventually, in_store, spawn};
use serde_json::json;

#[tokio::test]
async fn events_and_what_a_job_commits_name_the_request_that_caused_them() {
    let app = spawn().await;
    let created = app.post("/payments/v1/sessions", in_store(json!({"method": "one_qr"}))).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let cause = created.headers["klarna-correlation-id"].to_str().unwrap().to_owned();
    let id = created.body["session_id"].as_str().unwrap().to_owned();
    // The distribution is WAITING in the request's change; the scheduler's job distributes it.
    let events = eventually("the distribution distributed", PATIENCE, || async {
        let events = app.state.store.session_events(&id).await.unwrap();
        let distribution: Vec<_> =
            events.into_iter().filter(|e| e.event.session_kind == SessionKind::Distribution).collect();
        if distribution.len() == 2 { Ok(distribution) } else { Err(distribution.len()) }
    })
    .await;
    assert_eq!(events[0].event.status, "WAITING");
    assert_eq!(events[1].event.status, "DISTRIBUTED");
    for event in &events {
        assert_eq!(event.event.caused_by.as_deref(), Some(cause.as_str()), "{}", event.event.status);
    }

    // A status change's event names the request that made it, not the one that created the session.
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let opened = app.act(&hpp, "open").await;
    let opening = opened.headers["klarna-correlation-id"].to_str().unwrap();
    let events = app.state.store.session_events(&hpp).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.event.status, "IN_PROGRESS");
    assert_eq!(last.event.caused_by.as_deref(), Some(opening));
    assert_ne!(events[0].event.caused_by, last.event.caused_by);

    // A distribution message names the request that sent it.
    let sms = json!({"method": "sms", "contact_information": {"phone": "+46701740615", "phone_country": "se"}});
    let sent = app.post(&format!("/hpp/v1/sessions/{hpp}/distribution"), sms).await;
    assert_eq!(sent.status, 204);
    let sending = sent.headers["klarna-correlation-id"].to_str().unwrap();
    let messages = app.state.store.session_messages(&hpp).await.unwrap();
    assert_eq!(messages[0].message.caused_by.as_deref(), Some(sending));
}
