//! Webhook signing secrets at rest under the operator's keys (`--secret-key`): nothing clear in
//! the database, callbacks still signed with the merchant's secret, key rotation, and a start
//! refused when a stored secret has no key.

use crate::callbacks::watched_session;
use kassa_core::retry::RetryPolicy;
use kassa_server::Mode;
use kassa_server::app::config::{RateLimits, SecretBox};
use kassa_server::service::secrets;
use kassa_testkit::{PATIENCE, Receiver, TestApp, eventually, spawn_with};

const OLD: &str = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const NEW: &str = "new:HxwdHhscGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";
const STRANGER: &str = "stranger:7Xy9DqkR0r3mA8sZbK2vWcL4nJ6pQeT1uY5iO0aHgFs=";

fn keys(spec: &str) -> SecretBox {
    spec.parse().unwrap()
}

async fn with_keys(spec: &str) -> TestApp {
    spawn_with(Mode::Sandbox, |config| {
        config.rate_limits = RateLimits::off();
        config.secrets = keys(spec);
    })
    .await
}

/// Gives the app's first merchant the signing secrets `clear`, written under `by`.
async fn give_secrets(app: &TestApp, by: &SecretBox, clear: &[String]) {
    let merchant = app.state.store.merchant_by_username(&app.merchant.username).await.unwrap().unwrap();
    assert!(secrets::set_webhooks(app.state.store.as_ref(), by, &merchant, clear, RetryPolicy::Klarna).await.unwrap());
}

/// The `webhook_secrets` column of every merchant, read with the test's own SQL.
async fn stored_columns(app: &TestApp) -> Vec<String> {
    app.raw_strings("SELECT webhook_secrets FROM merchants ORDER BY id").await
}

/// A callback of a fresh session, checked with the `standardwebhooks` crate against `secret`.
async fn callback_verifies_with(app: &TestApp, secret: &str) {
    let receiver = Receiver::start().await;
    let hpp = watched_session(app, &receiver).await;
    app.act(&hpp, "open").await;
    let got = receiver.wait_for(1, PATIENCE).await;
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, got[0].header(name).parse().unwrap());
    }
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&got[0].body, &headers)
        .expect("the merchant's secret verifies");
}

#[tokio::test]
async fn with_a_secret_key_no_signing_secret_is_stored_in_clear_and_callbacks_verify() {
    let app = with_keys(NEW).await;
    let known = kassa_server::model::credentials::new_webhook_secret();
    give_secrets(&app, &app.state.config.secrets, std::slice::from_ref(&known)).await;
    let columns = stored_columns(&app).await;
    assert_eq!(columns.len(), 2);
    for column in &columns {
        assert!(column.starts_with("kassa-enc:v1:new:") && !column.contains("whsec_"), "{column}");
    }
    assert!(!app.snapshot().await.iter().any(|row| row.contains("whsec_") || row.contains(&known[6..])));
    callback_verifies_with(&app, &known).await;
    // Merchants created by the kit went through the same path: sealed, and they open.
    let other = app.state.store.merchant_by_username(&app.other.username).await.unwrap().unwrap();
    let opened = secrets::webhook_secrets(&app.state.config.secrets, &other).unwrap();
    assert!(opened[0].starts_with("whsec_"), "{opened:?}");
}

#[tokio::test]
async fn a_rotated_key_still_opens_and_after_re_encryption_only_the_new_key_is_needed() {
    let mut app = with_keys(OLD).await;
    let known = kassa_server::model::credentials::new_webhook_secret();
    give_secrets(&app, &keys(OLD), std::slice::from_ref(&known)).await;
    assert!(stored_columns(&app).await.iter().all(|c| c.starts_with("kassa-enc:v1:old:")));
    // Step 1: the new key first, the old one second; the start re-encrypts under the new key.
    app.restart_with(|config| config.secrets = keys(&format!("{NEW},{OLD}"))).await.unwrap();
    assert!(stored_columns(&app).await.iter().all(|c| c.starts_with("kassa-enc:v1:new:")));
    callback_verifies_with(&app, &known).await;
    // A secret written under the old key meanwhile (a node not yet restarted) still opens.
    let later = kassa_server::model::credentials::new_webhook_secret();
    give_secrets(&app, &keys(OLD), std::slice::from_ref(&later)).await;
    callback_verifies_with(&app, &later).await;
    // Step 2: re-encrypted at the next start; then the old key can go.
    app.restart_with(|_| {}).await.unwrap();
    app.restart_with(|config| config.secrets = keys(NEW)).await.unwrap();
    assert!(stored_columns(&app).await.iter().all(|c| c.starts_with("kassa-enc:v1:new:")));
    callback_verifies_with(&app, &later).await;
}

#[tokio::test]
async fn a_stored_secret_without_its_key_refuses_the_start_and_is_never_used_to_sign() {
    let mut app = with_keys(OLD).await;
    for missing in [SecretBox::default(), keys(STRANGER)] {
        let refused = app.restart_with(|config| config.secrets = missing).await.unwrap_err();
        assert!(
            refused.contains("cannot be read")
                && refused.contains("encrypted under key old, which is not among the configured secret keys")
                && refused.contains("--secret-key (KASSA_SECRET_KEY)"),
            "{refused}"
        );
    }
    // Running with the old key, a secret sealed under a key it lacks (written by another node):
    // the callback is not sent, unsigned or otherwise, and its attempt says why.
    app.restart_with(|config| config.secrets = keys(OLD)).await.unwrap();
    give_secrets(&app, &keys(STRANGER), &[kassa_server::model::credentials::new_webhook_secret()]).await;
    let receiver = Receiver::start().await;
    let hpp = watched_session(&app, &receiver).await;
    app.act(&hpp, "open").await;
    eventually("an attempt refused for want of the key", PATIENCE, || async {
        let log = app.deliveries(&hpp).await;
        let error = log.first().and_then(|d| d["attempts"][0]["error"].as_str().map(str::to_owned));
        match error {
            Some(error) if error.contains("not sent") && error.contains("key stranger") => Ok(()),
            _ => Err(serde_json::Value::from(log)),
        }
    })
    .await;
    assert_eq!(receiver.count(), 0);
}

#[tokio::test]
async fn a_merchant_reads_its_own_signing_secrets_newest_first_and_only_its_own() {
    let app = with_keys(NEW).await;
    let (old, new) = (
        kassa_server::model::credentials::new_webhook_secret(),
        kassa_server::model::credentials::new_webhook_secret(),
    );
    give_secrets(&app, &app.state.config.secrets, &[new.clone(), old.clone()]).await;
    let mine = app.get("/kassa/v1/webhooks/secrets").await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body, serde_json::json!({"secrets": [new, old]}));
    callback_verifies_with(&app, &new).await;
    let theirs = app.api.as_merchant(&app.other).get("/kassa/v1/webhooks/secrets").await;
    let theirs = theirs.body["secrets"].as_array().unwrap();
    assert_eq!(theirs.len(), 1);
    assert!(theirs[0] != new && theirs[0] != old);
}
