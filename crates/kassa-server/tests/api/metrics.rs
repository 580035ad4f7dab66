//! `/metrics`, scraped over HTTP from the server's metrics listener after a scripted run:
//! sessions, status changes, a receiver that always fails, a long poll, an in-store distribution,
//! a rate-limit refusal and refused credentials. Each named metric is parsed out of the
//! exposition format and has the counts the run makes.
//!
//! The wall clock stands still ([`spawn_frozen`]), so the rate-limit window, the credential
//! throttle and the retry schedule move only when the test moves them: the counts are exact.

use kassa_server::app::config::{AuthThrottleSettings, Rate, RateLimits};
use kassa_server::{Config, Mode};
use kassa_testkit::metrics::Exposition;
use kassa_testkit::{Answer, PATIENCE, Receiver, TestApp, eventually, in_store, spawn_frozen, unlimited};
use serde_json::json;
use std::time::Duration;

/// One scrape of `metrics_url`, parsed.
async fn scrape(metrics_url: &str) -> Exposition {
    let reply = reqwest::get(metrics_url).await.expect("the metrics listener answers");
    assert_eq!(reply.status(), 200);
    let content_type = reply.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = reply.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "an OpenMetrics exposition ends with # EOF");
    Exposition::parse(&text).expect("the exposition format parses")
}

/// Serves the app's metrics on a listener of their own; the scrape URL.
async fn metrics_listener(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    tokio::spawn(kassa_server::serve_metrics(listener, app.state.clone()));
    url
}

fn limits(config: &mut Config) {
    unlimited(config);
    // One HPP session a second; two failed credential attempts, forgiven only after a minute.
    config.rate_limits = "create=off,hpp=1,other=off".parse::<RateLimits>().unwrap();
    config.auth_throttle = Some(AuthThrottleSettings {
        failures: Rate { burst: 2, every: Duration::from_secs(60) },
        ..AuthThrottleSettings::default()
    });
}

async fn attempts(app: &TestApp, session: &str) -> usize {
    app.deliveries(session).await.first().map_or(0, |d| d["attempts"].as_array().unwrap().len())
}

#[tokio::test]
async fn a_scrape_after_a_scripted_run_counts_what_happened() {
    let app = spawn_frozen(Mode::Sandbox, limits).await;
    let metrics = metrics_listener(&app).await;
    let before = scrape(&metrics).await;
    assert_eq!(before.value("kassa_delivery_attempts_total", &[]), 0.0);
    assert!(
        before.samples("kassa_db_pool_max_connections", &[]).next().is_some(),
        "the pools are there from the start"
    );

    // A session whose two status changes are called back to a receiver that answers.
    let answering = Receiver::start().await;
    let urls = json!({"status_update": format!("{}/cb", answering.url)});
    let (delivered, _, _) = app.hpp_session(json!({}), urls).await;
    // The same second's next HPP session is over the merchant's limit.
    let refused = app.post("/hpp/v1/sessions", json!({})).await;
    assert_eq!(refused.status, 429);
    app.act(&delivered, "open").await;
    app.act(&delivered, "approve").await;
    answering.wait_for(2, PATIENCE).await;
    app.settled(&delivered).await;

    // A session whose callback goes to a receiver that always fails: Klarna's policy makes four
    // attempts, then gives up. Its retries come due as the sandbox clock moves.
    app.advance_wall(2);
    let failing = Receiver::start().await;
    failing.answer_always(Answer::status(500));
    let urls = json!({"status_update": format!("{}/cb", failing.url)});
    let (given_up, _, _) = app.hpp_session(json!({}), urls).await;
    app.act(&given_up, "open").await;
    eventually("the first failed attempt recorded", PATIENCE, || async {
        let made = attempts(&app, &given_up).await;
        if made == 1 { Ok(()) } else { Err(made) }
    })
    .await;
    let waiting = scrape(&metrics).await;
    assert_eq!(waiting.value("kassa_outbox_pending", &[("policy", "klarna")]), 1.0, "one callback waits");
    assert_eq!(waiting.value("kassa_outbox_due", &[("policy", "klarna")]), 0.0, "its retry is not due yet");
    assert_eq!(waiting.value("kassa_outbox_oldest_due_age_seconds", &[("policy", "klarna")]), 0.0);
    for made in 2..=4 {
        app.advance(60);
        eventually(format!("attempt {made} recorded"), PATIENCE, || async {
            let now = attempts(&app, &given_up).await;
            if now == made { Ok(()) } else { Err(now) }
        })
        .await;
    }
    let log = app.settled(&given_up).await;
    assert_eq!(log[0]["status"], "failed");

    // A long poll waits for a change of the given-up session.
    let poll = {
        let (api, path) = (app.api.clone(), format!("/hpp/v1/sessions/{given_up}?wait=30"));
        tokio::spawn(async move { api.get(&path).await })
    };
    app.waiters(1).await;
    let polling = scrape(&metrics).await;
    assert_eq!(polling.value("kassa_waiters", &[("kind", "long_poll")]), 1.0);
    assert_eq!(polling.value("kassa_waiters", &[("kind", "stream")]), 0.0);
    app.act(&given_up, "cancel").await;
    poll.await.unwrap();
    eventually("the cancel's first attempt recorded", PATIENCE, || async {
        let log = app.deliveries(&given_up).await;
        let made = log.get(1).map_or(0, |d| d["attempts"].as_array().unwrap().len());
        if made == 1 { Ok(()) } else { Err(made) }
    })
    .await;

    // An in-store distribution: its distribute job runs at once.
    let instore = app.post("/payments/v1/sessions", in_store(json!({"method": "one_qr"}))).await;
    assert_eq!(instore.status, 200, "{}", instore.body);
    eventually("the distribution's job ran", PATIENCE, || async {
        let scraped = scrape(&metrics).await;
        let ran = scraped.value("kassa_job_runs_total", &[("kind", "distribute"), ("result", "done")]);
        if ran == 1.0 { Ok(()) } else { Err(ran) }
    })
    .await;

    // A payment link by SMS: sent by the (recording) sender of sandbox mode.
    app.advance_wall(2);
    let (linked, _, _) = app.hpp_session(json!({}), json!({})).await;
    let sms = json!({"method": "sms", "contact_information": {"phone": "+46701740615", "phone_country": "se"}});
    assert_eq!(app.post(&format!("/hpp/v1/sessions/{linked}/distribution"), sms).await.status, 204);
    eventually("the SMS sent", PATIENCE, || async {
        let sent = scrape(&metrics).await.value("kassa_messages_total", &[("method", "sms"), ("result", "sent")]);
        if sent == 1.0 { Ok(()) } else { Err(sent) }
    })
    .await;

    // Wrong credentials: a login form and the API each fail once, then the address is throttled.
    let login = [("username", app.merchant.username.as_str()), ("secret", "not the secret"), ("next", "/dashboard")];
    reqwest::Client::new().post(format!("{}/login", app.url)).form(&login).send().await.unwrap();
    let wrong = kassa_testkit::Merchant { username: app.merchant.username.clone(), secret: "wrong-secret-1234".into() };
    let as_wrong = app.as_merchant(&wrong);
    assert_eq!(as_wrong.get("/kassa/v1/events").await.status, 401);
    assert_eq!(as_wrong.get("/kassa/v1/events").await.status, 429);

    let after = scrape(&metrics).await;
    let requests = |route: &str, method: &str, status: &str| {
        after.value("kassa_http_requests_total", &[("route", route), ("method", method), ("status", status)])
    };
    assert_eq!(requests("/hpp/v1/sessions", "POST", "201"), 3.0);
    assert_eq!(requests("/hpp/v1/sessions", "POST", "429"), 1.0);
    assert_eq!(
        requests("/sandbox/v1/hpp/sessions/{session_id}/{action}", "POST", "200"),
        4.0,
        "open, approve, open, cancel"
    );
    assert_eq!(requests("/kassa/v1/events", "GET", "401"), 1.0);
    assert_eq!(
        after.value("kassa_http_request_duration_seconds_count", &[("route", "/hpp/v1/sessions"), ("method", "POST")]),
        4.0,
        "one latency per request of the route"
    );
    assert_eq!(after.value("kassa_rate_limited_total", &[("category", "create_hpp_session")]), 1.0);
    assert_eq!(after.value("kassa_credential_refusals_total", &[("surface", "login"), ("reason", "wrong")]), 1.0);
    assert_eq!(after.value("kassa_credential_refusals_total", &[("surface", "api"), ("reason", "wrong")]), 1.0);
    assert_eq!(after.value("kassa_credential_refusals_total", &[("surface", "api"), ("reason", "throttled")]), 1.0);

    // Callbacks: two delivered at the first attempt, one given up after four, and the cancel's
    // first attempt failed.
    assert_eq!(after.value("kassa_delivery_attempts_total", &[("result", "delivered")]), 2.0);
    assert_eq!(after.value("kassa_delivery_attempts_total", &[("result", "http_error")]), 5.0);
    assert_eq!(after.value("kassa_delivery_attempt_duration_seconds_count", &[]), 7.0);
    assert_eq!(after.value("kassa_deliveries_failed_total", &[]), 1.0);
    assert_eq!(after.value("kassa_callback_lag_seconds_count", &[]), 2.0, "a lag per delivered callback");
    // The cancel's callback waits for its retry.
    assert_eq!(after.value("kassa_outbox_pending", &[("policy", "klarna")]), 1.0);

    // Jobs: the distribution ran; its auto-cancel is hours away.
    assert_eq!(after.value("kassa_jobs_due", &[]), 0.0);
    assert_eq!(after.value("kassa_messages_pending", &[]), 0.0, "the SMS left");
    assert_eq!(
        after.value("kassa_job_lag_seconds_count", &[]),
        after.value("kassa_job_runs_total", &[("kind", "distribute")])
    );

    // The group commit: every change above went through it.
    let batches = after.value("kassa_commit_batch_size_count", &[]);
    let changes = after.value("kassa_commit_batch_size_sum", &[]);
    assert!(batches >= 1.0 && changes >= 9.0, "{batches} batches of {changes} changes");
    assert_eq!(after.value("kassa_commit_duration_seconds_count", &[]), batches, "a duration per batch");
    assert_eq!(after.value("kassa_waiters", &[("kind", "long_poll")]), 0.0, "the long poll ended");

    // The pools: in use and idle within the most a pool opens.
    let pools: Vec<&str> =
        after.samples("kassa_db_pool_max_connections", &[]).map(|s| s.labels["pool"].as_str()).collect();
    assert!(!pools.is_empty());
    for pool in pools {
        let open = after.value("kassa_db_pool_connections", &[("pool", pool), ("state", "in_use")])
            + after.value("kassa_db_pool_connections", &[("pool", pool), ("state", "idle")]);
        assert!(open <= after.value("kassa_db_pool_max_connections", &[("pool", pool)]), "{pool}: {open} open");
    }
}

#[tokio::test]
async fn routes_are_counted_by_pattern_not_by_path() {
    let app = spawn_frozen(Mode::Sandbox, unlimited).await;
    let metrics = metrics_listener(&app).await;
    for _ in 0..3 {
        let id = app.payment_session().await;
        assert_eq!(app.get(&format!("/payments/v1/sessions/{id}")).await.status, 200);
    }
    assert_eq!(app.get("/no/such/route/1").await.status, 404);
    assert_eq!(app.get("/no/such/route/2").await.status, 404);
    let scraped = scrape(&metrics).await;
    let reads = [("route", "/payments/v1/sessions/{session_id}"), ("method", "GET"), ("status", "200")];
    assert_eq!(scraped.value("kassa_http_requests_total", &reads), 3.0);
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert_eq!(scraped.value("kassa_http_requests_total", &unmatched), 2.0);
    for sample in scraped.samples("kassa_http_requests_total", &[]) {
        let route = &sample.labels["route"];
        assert!(route == "unmatched" || !route.contains("/no/") && !route.contains('-'), "a path in a label: {route}");
    }
}
