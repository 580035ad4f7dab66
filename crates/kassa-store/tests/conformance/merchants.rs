//! Merchants: unique by username, found by username and id, counted, listed; webhook secrets and
//! the retry policy replaced in place, and the secrets replaced only while they are as expected
//! (re-encryption). And the liveness check.

use crate::support::{Backend, SECRET, T0, merchant, merchant_row};
use kassa_core::retry::RetryPolicy;
use kassa_store::StoreError;

backend_tests!(
    merchants_are_unique_by_username,
    webhooks_and_the_retry_policy_are_replaced,
    every_merchant_is_listed_and_secrets_are_replaced_only_as_expected,
    a_live_database_answers
);

async fn merchants_are_unique_by_username(b: &Backend) {
    let store = b.store();
    assert_eq!(store.merchant_count().await.unwrap(), 0, "{b}");
    merchant(store, "m1").await;
    assert_eq!(store.merchant_count().await.unwrap(), 1, "{b}");
    let found = store.merchant_by_username("user-m1").await.unwrap();
    assert_eq!(found, Some(merchant_row("m1")), "{b}: every field as written");
    assert_eq!(store.merchant("m1").await.unwrap(), Some(merchant_row("m1")), "{b}");
    assert!(store.merchant("m2").await.unwrap().is_none(), "{b}");
    assert!(store.merchant_by_username("nobody").await.unwrap().is_none(), "{b}");
    let again = kassa_store::Merchant { id: "m2".into(), ..merchant_row("m1") };
    let taken = store.insert_merchant(&again).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{b}: {taken:?}");
    assert_eq!(store.merchant_count().await.unwrap(), 1, "{b}");
}

async fn webhooks_and_the_retry_policy_are_replaced(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    merchant(store, "m2").await;
    let rotated = vec!["whsec_new".to_owned(), SECRET.to_owned()];
    assert!(store.set_merchant_webhooks("user-m1", &rotated, RetryPolicy::Extended).await.unwrap(), "{b}");
    let changed = store.merchant("m1").await.unwrap().unwrap();
    assert_eq!((changed.webhook_secrets, changed.retry_policy), (rotated, RetryPolicy::Extended), "{b}");
    assert_eq!(store.merchant("m2").await.unwrap(), Some(merchant_row("m2")), "{b}: the other merchant untouched");
    assert!(!store.set_merchant_webhooks("nobody", &[], RetryPolicy::Klarna).await.unwrap(), "{b}: no such username");
    // No secret at all is kept as none (not as one empty secret).
    assert!(store.set_merchant_webhooks("user-m1", &[], RetryPolicy::Klarna).await.unwrap(), "{b}");
    let cleared = store.merchant_by_username("user-m1").await.unwrap().unwrap();
    assert_eq!((cleared.webhook_secrets, cleared.retry_policy), (vec![], RetryPolicy::Klarna), "{b}");
}

async fn every_merchant_is_listed_and_secrets_are_replaced_only_as_expected(b: &Backend) {
    let store = b.store();
    assert!(store.merchants().await.unwrap().is_empty(), "{b}");
    let later = kassa_store::Merchant { created_at: T0.plus_millis(1), ..merchant_row("m0") };
    store.insert_merchant(&later).await.unwrap();
    merchant(store, "m2").await;
    merchant(store, "m1").await;
    let listed = store.merchants().await.unwrap();
    assert_eq!(listed, [merchant_row("m1"), merchant_row("m2"), later], "{b}: oldest first, then by id");

    let sealed = vec!["kassa-enc:v1:k:AAAA".to_owned(), "kassa-enc:v1:k:BBBB".to_owned()];
    let clear = vec![SECRET.to_owned()];
    assert!(store.replace_webhook_secrets("m1", &clear, &sealed).await.unwrap(), "{b}");
    let changed = store.merchant("m1").await.unwrap().unwrap();
    assert_eq!(changed, kassa_store::Merchant { webhook_secrets: sealed.clone(), ..merchant_row("m1") }, "{b}");
    // Not as expected any more (rotated meanwhile): nothing changes.
    assert!(!store.replace_webhook_secrets("m1", &clear, &["x".to_owned()]).await.unwrap(), "{b}");
    assert_eq!(store.merchant("m1").await.unwrap().unwrap().webhook_secrets, sealed, "{b}");
    assert!(!store.replace_webhook_secrets("nobody", &clear, &sealed).await.unwrap(), "{b}: no such merchant");
    assert_eq!(store.merchant("m2").await.unwrap(), Some(merchant_row("m2")), "{b}: the other merchant untouched");
}

/// Ready means a durable write commits: each ping writes (SQLite: the probe's row; PostgreSQL: a
/// committed transaction id, no row every node would lock).
async fn a_live_database_answers(b: &Backend) {
    let raw = b.raw().await;
    let next_xid = || async {
        let text: String =
            sqlx::query_scalar("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetch_one(&raw).await.unwrap();
        text.parse::<i64>().unwrap()
    };
    let before = if b.is_postgres() { next_xid().await } else { 0 };
    b.store().ping().await.unwrap_or_else(|e| panic!("{b}: {e}"));
    b.store().ping().await.unwrap_or_else(|e| panic!("{b}: {e}"));
    if b.is_postgres() {
        assert!(next_xid().await >= before + 2, "{b}: each ping committed a transaction id");
    } else {
        let probes: i64 = sqlx::query_scalar("SELECT probes FROM readiness").fetch_one(&raw).await.unwrap();
        assert_eq!(probes, 2, "{b}: each ping wrote");
    }
}
