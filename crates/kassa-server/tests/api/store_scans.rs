//! Store-page scans: limited per client address and per merchant (a page that asks to wait, 429
//! with `Retry-After`), expired codes handed out again, expired rows deleted by the scheduler.
//! On both backends; the wall clock stands still (`spawn_frozen`), clients come from different
//! loopback addresses.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kassa_server::Mode;
use kassa_server::app::config::ScanLimits;
use kassa_testkit::{TestApp, eventually, spawn_frozen, unlimited};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use std::net::IpAddr;
use std::time::Duration;

async fn spawn_scans(limits: ScanLimits) -> TestApp {
    spawn_frozen(Mode::Sandbox, |config| {
        unlimited(config);
        config.scan_limits = limits;
    })
    .await
}

fn from(host: u8) -> reqwest::Client {
    let address: IpAddr = format!("127.0.0.{host}").parse().unwrap();
    reqwest::Client::builder().local_address(address).redirect(Policy::none()).build().unwrap()
}

async fn merchant_id(app: &TestApp) -> String {
    app.state.store.merchant_by_username(&app.merchant.username).await.unwrap().unwrap().id
}

/// A scan of the merchant's store `store`: (status, `Retry-After`, `Location`, page).
async fn scan(
    app: &TestApp,
    client: &reqwest::Client,
    store: &str,
) -> (StatusCode, Option<String>, Option<String>, String) {
    let store_id = URL_SAFE_NO_PAD.encode(format!("{}/{store}", merchant_id(app).await));
    let response = client.get(format!("{}/stores/{store_id}", app.url)).send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (retry_after, location) = (header("retry-after"), header("location"));
    (response.status(), retry_after, location, response.text().await.unwrap())
}

async fn consumer_sessions(app: &TestApp) -> i64 {
    let pool = app.raw().await;
    sqlx::query_scalar("SELECT COUNT(*) FROM consumer_sessions").fetch_one(&pool).await.unwrap()
}

#[tokio::test]
async fn a_scan_burst_from_one_address_is_limited_with_a_page_and_another_address_is_served() {
    let app = spawn_scans(ScanLimits::default()).await;
    let phone = from(11);
    for i in 0..5 {
        let (status, _, location, _) = scan(&app, &phone, "Main street").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "scan {i}");
        assert!(location.unwrap().contains("/codes/"));
    }
    let (status, retry_after, _, page) = scan(&app, &phone, "Another store").await;
    assert_eq!((status, retry_after.as_deref()), (StatusCode::TOO_MANY_REQUESTS, Some("12")));
    assert!(page.contains("Please wait 12 seconds and scan the code again"), "{page}");
    assert_eq!(consumer_sessions(&app).await, 5, "no code for a limited scan");
    assert_eq!(scan(&app, &from(12), "Main street").await.0, StatusCode::SEE_OTHER, "another phone");
    app.advance_wall(12);
    assert_eq!(scan(&app, &phone, "Main street").await.0, StatusCode::SEE_OTHER, "after the wait");
}

#[tokio::test]
async fn the_merchants_stores_together_are_limited_whatever_the_store_name() {
    let limits = ScanLimits { per_merchant: kassa_server::app::config::Rate::per_minute(3), ..ScanLimits::default() };
    let app = spawn_scans(limits).await;
    for i in 0..3 {
        assert_eq!(scan(&app, &from(20 + i), &format!("store {i}")).await.0, StatusCode::SEE_OTHER);
    }
    let (status, retry_after, _, page) = scan(&app, &from(30), "forged store").await;
    assert_eq!((status, retry_after.as_deref()), (StatusCode::TOO_MANY_REQUESTS, Some("20")));
    assert!(page.contains("at this shop"), "{page}");
}

#[tokio::test]
async fn an_exhausted_code_space_recovers_once_codes_expire_and_expired_rows_are_deleted() {
    let app = spawn_scans(ScanLimits::off()).await;
    let merchant = merchant_id(&app).await;
    let now = app.state.now().millis();
    // Every six-digit code live for the next ten minutes.
    let pool = app.raw().await;
    let fill = if app.is_postgres() {
        "INSERT INTO consumer_sessions (id, merchant_id, short_code, created_at, expires_at)
         SELECT 'filled-' || n, $1, lpad(n::text, 6, '0'), $2, $3 FROM generate_series(0, 999999) AS n"
    } else {
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
         INSERT INTO consumer_sessions (id, merchant_id, short_code, created_at, expires_at)
         SELECT 'filled-' || i, $1, printf('%06d', i), $2, $3 FROM n"
    };
    sqlx::query(fill).bind(&merchant).bind(now).bind(now + 600_000).execute(&pool).await.unwrap();
    let (status, retry_after, _, page) = scan(&app, &from(40), "Main street").await;
    assert_eq!((status, retry_after.as_deref()), (StatusCode::SERVICE_UNAVAILABLE, Some("60")), "{page}");
    assert!(page.contains("Every code of this shop is in use right now"), "{page}");

    // Ten minutes later they have expired: codes are handed out again.
    app.advance(600);
    let (status, _, location, _) = scan(&app, &from(40), "Main street").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let code_page = from(40).get(format!("{}{}", app.url, location.unwrap())).send().await.unwrap();
    assert_eq!(code_page.status(), StatusCode::OK);
    assert!(code_page.text().await.unwrap().contains("Tell the cashier this code"));

    // An hour after they expired, the scheduler deletes the rows (the new code's stays).
    app.advance(3600);
    eventually("the expired consumer sessions deleted", Duration::from_secs(30), || async {
        let left = consumer_sessions(&app).await;
        if left == 1 { Ok(()) } else { Err(format!("{left} rows")) }
    })
    .await;
}
