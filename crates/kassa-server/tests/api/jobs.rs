//! Jobs that keep failing: an order's expiry timer whose every run fails (its row's status
//! column says something its record does not, so every guarded write of it conflicts) is run
//! again 1 s, 2 s, 4 s … at most 60 s after each failure, set aside with its error after
//! `job_attempts` failures and never run again by itself; the API and the dashboard list it, the
//! order stays readable, and once the cause is gone the operator's retry (API or dashboard
//! button) runs it. The wall clock stands still: time moves only with the sandbox clock, whose
//! answer comes after the jobs that fell due have run.

use crate::orders::{order_path, placed_order};
use crate::pages::{browser, fetch, login_cookie, merchant_page};
use kassa_server::Mode;
use kassa_server::app::config::RateLimits;
use kassa_testkit::{PATIENCE, TestApp, eventually, spawn_frozen};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ATTEMPTS: u32 = 8;

fn millis(text: &str) -> i64 {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Moves the sandbox clock; due jobs have run when it answers.
async fn advance(app: &TestApp, seconds: i64) {
    let moved = app.post("/sandbox/v1/clock/advance", json!({"seconds": seconds})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
}

/// The merchant's one job on `session`.
async fn job_of(app: &TestApp, session: &str) -> Value {
    let listed = app.get(&format!("/kassa/v1/jobs?session_id={session}")).await.assert_success();
    let jobs = listed.body["jobs"].as_array().unwrap().clone();
    assert_eq!(jobs.len(), 1, "{session}: {jobs:?}");
    jobs[0].clone()
}

/// Makes every guarded write of the order conflict: its row's status is not its record's.
async fn break_order(app: &TestApp, order_id: &str) {
    let sql = format!("UPDATE sessions SET status = 'CAPTURED' WHERE kind = 'order' AND id = '{order_id}'");
    assert_eq!(app.execute(&sql).await, 1);
}

async fn mend_order(app: &TestApp, order_id: &str) {
    let sql = format!("UPDATE sessions SET status = 'AUTHORIZED' WHERE kind = 'order' AND id = '{order_id}'");
    assert_eq!(app.execute(&sql).await, 1);
}

async fn order_status(app: &TestApp, order_id: &str) -> String {
    let order = app.get(&order_path(order_id)).await.assert_success();
    order.body["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_set_aside_with_its_error_and_retried_by_the_operator() {
    let app = spawn_frozen(Mode::Sandbox, |config| {
        config.rate_limits = RateLimits::off();
        config.job_attempts = ATTEMPTS;
    })
    .await;
    let (by_api, by_page) = (placed_order(&app).await, placed_order(&app).await);
    break_order(&app, &by_api).await;
    break_order(&app, &by_page).await;

    // The authorization runs out: the first run of each timer fails, and is due again in 1 s.
    advance(&app, 29 * 86_400).await;
    let mut expected_delay = 1;
    for failures in 1..ATTEMPTS {
        for order in [&by_api, &by_page] {
            let job = job_of(&app, order).await;
            assert_eq!((job["status"].as_str(), job["attempts"].as_u64()), (Some("scheduled"), Some(failures.into())));
            assert_eq!(job["action"], "expire_order");
            let error = job["last_error"].as_str().unwrap();
            assert!(error.contains("changed since it was read"), "the cause is kept: {error}");
            let delay = millis(job["due_at"].as_str().unwrap()) - millis(job["failed_at"].as_str().unwrap());
            assert_eq!(delay, expected_delay * 1000, "after failure {failures}: {job}");
        }
        if expected_delay > 1 {
            advance(&app, expected_delay - 1).await;
            assert_eq!(job_of(&app, &by_api).await["attempts"], failures, "not due before its time");
        }
        advance(&app, 1).await;
        expected_delay = (expected_delay * 2).min(60);
    }

    // The last failure sets it aside, with its error; it does not run again by itself.
    advance(&app, 3600).await;
    for order in [&by_api, &by_page] {
        let job = job_of(&app, order).await;
        assert_eq!((job["status"].as_str(), job["attempts"].as_u64()), (Some("set_aside"), Some(ATTEMPTS.into())));
        assert!(job["last_error"].as_str().unwrap().contains("changed since it was read"), "{job}");
        // The order stays readable: it is still AUTHORIZED, as its record says.
        assert_eq!(order_status(&app, order).await, "AUTHORIZED");
    }
    let listed = app.get("/kassa/v1/jobs?status=set_aside").await.assert_success();
    let mut ids: Vec<&str> =
        listed.body["jobs"].as_array().unwrap().iter().map(|j| j["session_id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut expected = [by_api.as_str(), by_page.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "both set aside (created at the same instant: in id order)");
    let scheduled = app.get("/kassa/v1/jobs?status=scheduled").await.assert_success();
    assert_eq!(scheduled.body["jobs"], json!([]));
    let theirs = app.call_as(&app.other, reqwest::Method::GET, "/kassa/v1/jobs?status=set_aside", None).await;
    assert_eq!(theirs.assert_success().body["jobs"], json!([]), "another merchant sees none");

    // The dashboard: its list of set-aside jobs, and each order's session page, with the error.
    let cookie = login_cookie(&app, &app.merchant).await;
    let list = merchant_page(&app, &cookie, "/dashboard/jobs").await;
    assert_eq!(list.status, 200, "{}", list.html);
    let page_job = job_of(&app, &by_page).await;
    let page_job_id = page_job["job_id"].as_str().unwrap();
    let api_job_id = job_of(&app, &by_api).await["job_id"].as_str().unwrap().to_owned();
    for id in [&by_api, &by_page] {
        assert!(list.html.contains(id.as_str()), "the list names {id}: {}", list.html);
    }
    assert!(list.html.contains("changed since it was read"), "{}", list.html);
    let session = merchant_page(&app, &cookie, &format!("/dashboard/sessions/order/{by_page}")).await;
    assert_eq!(session.status, 200, "{}", session.html);
    assert!(session.html.contains("Set-aside jobs") && session.html.contains(page_job_id), "{}", session.html);
    assert!(session.html.contains(&format!("/dashboard/jobs/{page_job_id}/retry")), "{}", session.html);
    assert!(!session.html.contains(&api_job_id), "only this session's jobs: {}", session.html);

    // Refusals, in Klarna's error body.
    let path = |id: &str| format!("/kassa/v1/jobs/{id}/retry");
    app.post(&path("no-such-job"), json!({})).await.assert_error(404, "NOT_FOUND");
    let other = app.call_as(&app.other, reqwest::Method::POST, &path(&api_job_id), None).await;
    other.assert_error(404, "NOT_FOUND");
    app.get("/kassa/v1/jobs?status=parked").await.assert_error(400, "BAD_VALUE");
    app.get("/kassa/v1/jobs?limit=0").await.assert_error(400, "BAD_VALUE");

    // The operator retries. A job that is not set aside cannot be retried (409): checked while the
    // cause still stands, so the retried job, run at once and failing again, stays scheduled (its
    // next run is 1 s of the frozen clock away) and cannot have finished meanwhile.
    let retried = app.post(&path(&api_job_id), json!({})).await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    assert_eq!((retried.body["status"].as_str(), retried.body["attempts"].as_u64()), (Some("scheduled"), Some(0)));
    app.post(&path(&api_job_id), json!({})).await.assert_error(409, "INVALID_OPERATION");
    // The cause is gone: the timer does its work at its next run.
    mend_order(&app, &by_api).await;
    mend_order(&app, &by_page).await;
    app.advance(2);
    eventually("the retried timer to expire its order", PATIENCE, || async {
        let status = order_status(&app, &by_api).await;
        if status == "EXPIRED" { Ok(()) } else { Err(status) }
    })
    .await;

    // From the dashboard: a form from another site is refused; the page's own button retries.
    let retry_url = format!("{}/dashboard/jobs/{page_job_id}/retry", app.url);
    let here = format!("/dashboard/sessions/order/{by_page}");
    let forged = browser()
        .post(&retry_url)
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("back", here.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(job_of(&app, &by_page).await["status"], "set_aside", "a forged form changes nothing");
    let pressed = fetch(
        browser()
            .post(&retry_url)
            .header("cookie", &cookie)
            .header("sec-fetch-site", "same-origin")
            .form(&[("back", here.as_str())]),
    )
    .await;
    assert_eq!(
        (pressed.status, pressed.location.as_deref()),
        (StatusCode::SEE_OTHER, Some(here.as_str())),
        "{}",
        pressed.html
    );
    eventually("the timer retried from the dashboard to expire its order", PATIENCE, || async {
        let status = order_status(&app, &by_page).await;
        if status == "EXPIRED" { Ok(()) } else { Err(status) }
    })
    .await;
    let left = app.get("/kassa/v1/jobs").await.assert_success();
    assert_eq!(left.body["jobs"], json!([]), "both timers did their work and are gone");
    let list = merchant_page(&app, &cookie, "/dashboard/jobs").await;
    assert!(list.html.contains("No job is set aside"), "{}", list.html);
}
