//! Dashboard logins are browser sessions kept in the database: logging out ends one on every
//! node, the cookie's token is not in the database (only its SHA-256), and an expired login is
//! refused and deleted. On both backends.

use kassa_server::Mode;
use kassa_testkit::{Merchant, TestApp, eventually, spawn, spawn_frozen, unlimited};
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use sha2::{Digest, Sha256};
use std::time::Duration;

fn browser() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// Logs `who` in; the `kassa_login=<token>` pair of the cookie.
async fn log_in(app: &TestApp, who: &Merchant) -> String {
    let form = [("username", who.username.as_str()), ("secret", who.secret.as_str()), ("next", "/dashboard")];
    let reply = browser().post(format!("{}/login", app.url)).form(&form).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let cookie = reply.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Max-Age=43200"));
    cookie.split(';').next().unwrap().to_owned()
}

/// The status of `/dashboard` on the server at `url` with `cookie`, and where it redirects.
async fn dashboard(url: &str, cookie: &str) -> (StatusCode, Option<String>) {
    let reply = browser().get(format!("{url}/dashboard")).header("cookie", cookie).send().await.unwrap();
    (reply.status(), reply.headers().get("location").map(|l| l.to_str().unwrap().to_owned()))
}

fn open() -> (StatusCode, Option<String>) {
    (StatusCode::OK, None)
}

fn to_login() -> (StatusCode, Option<String>) {
    (StatusCode::SEE_OTHER, Some("/login?next=%2Fdashboard".into()))
}

async fn browser_session_count(app: &TestApp) -> i64 {
    let pool = app.raw().await;
    sqlx::query_scalar("SELECT COUNT(*) FROM browser_sessions").fetch_one(&pool).await.unwrap()
}

#[tokio::test]
async fn after_logout_the_old_cookie_no_longer_opens_the_dashboard_on_any_node() {
    let app = spawn().await;
    let (second, _stop) = app.another_server().await;
    let cookie = log_in(&app, &app.merchant).await;
    let others = log_in(&app, &app.other).await;
    assert_eq!(dashboard(&app.url, &cookie).await, open());
    assert_eq!(dashboard(&second, &cookie).await, open(), "any node accepts the login");

    let out = browser().post(format!("{second}/logout")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    // The browser that kept the cookie (or whoever copied it) is logged out on every node.
    assert_eq!(dashboard(&app.url, &cookie).await, to_login());
    assert_eq!(dashboard(&second, &cookie).await, to_login());
    assert_eq!(dashboard(&app.url, &others).await, open(), "only that login ended");
}

#[tokio::test]
async fn the_cookie_is_not_in_the_database() {
    let app = spawn().await;
    let cookie = log_in(&app, &app.merchant).await;
    let token = cookie.strip_prefix("kassa_login=").unwrap();
    assert!(token.len() >= 43, "256 bits: {token}");
    let rows = app.snapshot().await;
    assert!(rows.iter().all(|row| !row.contains(token)), "the token is stored: {rows:#?}");
    let merchant = app.state.store.merchant_by_username(&app.merchant.username).await.unwrap().unwrap();
    let pool = app.raw().await;
    let hashes: Vec<(String, String)> =
        sqlx::query_as("SELECT token_hash, merchant_id FROM browser_sessions").fetch_all(&pool).await.unwrap();
    assert_eq!(hashes, [(hex::encode(Sha256::digest(token.as_bytes())), merchant.id.clone())]);
    // Cookies made up from what the database holds open nothing: the stored hash, or one signed
    // with the merchant's stored secret hash (as kassa's cookies were before).
    let forged = format!("kassa_login={}", hashes[0].0);
    assert_eq!(dashboard(&app.url, &forged).await, to_login());
    assert_eq!(dashboard(&app.url, &signed_with_the_stored_secret_hash(&merchant)).await, to_login());
}

/// `<username>.<expiry>.<HMAC-SHA256 keyed by the stored secret hash>`: what anyone who can read
/// the merchants table could make.
fn signed_with_the_stored_secret_hash(merchant: &kassa_store::Merchant) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    let expires = 4_000_000_000u64;
    let mut mac = Hmac::<Sha256>::new_from_slice(merchant.secret_hash.as_bytes()).unwrap();
    mac.update(format!("kassa-login\n{}\n{expires}", merchant.username).as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("kassa_login={}.{expires}.{tag}", URL_SAFE_NO_PAD.encode(&merchant.username))
}

#[tokio::test]
async fn an_expired_login_is_refused_and_deleted() {
    let app = spawn_frozen(Mode::Sandbox, unlimited).await;
    let cookie = log_in(&app, &app.merchant).await;
    app.advance_wall(12 * 3600 - 1);
    assert_eq!(dashboard(&app.url, &cookie).await, open());
    assert_eq!(browser_session_count(&app).await, 1);
    app.advance_wall(1);
    assert_eq!(dashboard(&app.url, &cookie).await, to_login());
    // The scheduler deletes it (it prunes once the clock moved a minute since it last did).
    app.advance_wall(60);
    eventually("the expired login deleted", Duration::from_secs(10), || async {
        (browser_session_count(&app).await == 0).then_some(())
    })
    .await;
}
