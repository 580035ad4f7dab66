//! After an outage, a receiver on the extended policy gets its backlog as soon as it answers
//! again (a probe finds out), in per-session order, not when each callback's backoff ends.

use kassa_core::retry::RetryPolicy;
use kassa_server::Mode;
use kassa_server::app::config::RateLimits;
use kassa_testkit::{Answer, Merchant, Receiver, eventually, spawn_with};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[tokio::test]
async fn an_extended_target_that_answers_again_gets_its_whole_backlog_at_once_in_order() {
    let app = spawn_with(Mode::Sandbox, |config| {
        config.rate_limits = RateLimits::off();
        config.delivery.probe_interval = Duration::from_secs(10);
    })
    .await;
    let mut created = kassa_server::model::credentials::create("Patient shop", None, None, app.state.now()).unwrap();
    created.merchant.retry_policy = RetryPolicy::Extended;
    app.state.store.insert_merchant(&created.merchant).await.unwrap();
    let patient = app.as_merchant(&Merchant::new(created.merchant.username.clone(), created.secret.clone()));
    let receiver = Receiver::start().await;
    receiver.answer_always(Answer::status(503));
    let urls = json!({"status_update": format!("{}/cb?sid={{{{session_id}}}}", receiver.url)});
    let mut sessions = Vec::new();
    for _ in 0..20 {
        let (hpp, _, _) = patient.hpp_session(json!({}), urls.clone()).await;
        for action in ["open", "back", "open"] {
            patient.act(&hpp, action).await.assert_success();
        }
        sessions.push(hpp);
    }
    // The outage outlasts the first retry (5 s): every session's first callback now waits for
    // its third attempt, about 5 minutes away.
    eventually("every first callback failed twice", Duration::from_secs(30), || async {
        let mut waiting = 0;
        for hpp in &sessions {
            let log = patient.deliveries(hpp).await;
            if log[0]["attempts"].as_array().unwrap().iter().filter(|a| a["probe"] == false).count() >= 2 {
                waiting += 1;
            }
        }
        if waiting == sessions.len() { Ok(()) } else { Err(waiting) }
    })
    .await;
    let before = receiver.count();
    receiver.answer_always(Answer::ok());
    let recovered = Instant::now();
    eventually("the backlog delivered", Duration::from_secs(40), || async {
        let ok = receiver.received()[before..].len();
        if ok >= 3 * sessions.len() { Ok(()) } else { Err(ok) }
    })
    .await;
    let drained = recovered.elapsed();
    eprintln!(
        "figure: {} callbacks waiting on an outage delivered {drained:?} after the receiver recovered",
        3 * sessions.len()
    );
    assert!(drained < Duration::from_secs(30), "the backlog took {drained:?} after the receiver recovered");
    // Each session's callbacks arrived in order: a retry never overtook by a later event.
    let mut last: HashMap<String, u64> = HashMap::new();
    for arrival in &receiver.received()[before..] {
        let seen = last.entry(arrival.session_id().to_owned()).or_default();
        assert!(arrival.sequence() >= *seen, "{} arrived after {seen}", arrival.sequence());
        *seen = arrival.sequence();
    }
    for hpp in &sessions {
        let log = patient.deliveries(hpp).await;
        assert!(log.iter().all(|d| d["status"] == "delivered"), "{log:#?}");
        // A failed probe cost the callback none of its ten attempts.
        let scheduled = log[0]["attempts"].as_array().unwrap().iter().filter(|a| a["probe"] == false).count();
        assert!(scheduled <= 3, "{scheduled} scheduled attempts: {log:#?}");
    }
}
