//! Merchants: unique by username, found by username and id, counted; webhook secrets and the
//! retry policy replaced in place. And the liveness check.

use crate::support::{Backend, SECRET, merchant, merchant_row};
use kassa_core::retry::RetryPolicy;
use kassa_store::StoreError;

backend_tests!(merchants_are_unique_by_username, webhooks_and_the_retry_policy_are_replaced, a_live_database_answers);

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

/// Ready means a durable write commits: each ping writes the probe's row.
async fn a_live_database_answers(b: &Backend) {
    b.store().ping().await.unwrap_or_else(|e| panic!("{b}: {e}"));
    b.store().ping().await.unwrap_or_else(|e| panic!("{b}: {e}"));
    let probes: i64 = sqlx::query_scalar("SELECT probes FROM readiness").fetch_one(&b.raw().await).await.unwrap();
    assert_eq!(probes, 2, "{b}: each ping wrote");
}
