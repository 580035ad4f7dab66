//! The idempotency ledger: a key's record is written with its work, holds for 24 hours, and a
//! second write of a live key fails the whole change.

use crate::support::{Backend, T0, merchant};
use kassa_core::time::HOUR;
use kassa_store::{Change, IdempotencyRecord, IdempotentOutcome, StoreError};

backend_tests!(a_key_is_recorded_once_for_24_hours);

fn record(key: &str, hash: &str, outcome: IdempotentOutcome, at: kassa_core::Timestamp) -> IdempotencyRecord {
    IdempotencyRecord {
        merchant_id: "m1".into(),
        scope: "POST /ordermanagement/v1/orders/o1/captures".into(),
        key: key.into(),
        request_hash: hash.into(),
        outcome,
        created_at: at,
    }
}

async fn a_key_is_recorded_once_for_24_hours(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    let scope = "POST /ordermanagement/v1/orders/o1/captures";
    let done = IdempotentOutcome::Done { resource_id: Some("c1".into()) };
    store.commit(Change::default().idempotency(record("k1", "h1", done.clone(), T0))).await.unwrap();
    let found = store.idempotency("m1", scope, "k1", T0.plus_millis(HOUR)).await.unwrap();
    assert_eq!(found, Some(record("k1", "h1", done.clone(), T0)), "{b}: every field as written");
    assert!(store.idempotency("m1", "POST /other", "k1", T0).await.unwrap().is_none(), "{b}: per scope");
    assert!(store.idempotency("m2", scope, "k1", T0).await.unwrap().is_none(), "{b}: per merchant");

    // A live key cannot be written again: the change fails whole.
    let refused = IdempotentOutcome::Refused { status: 403, body: "{}".into() };
    let again =
        store.commit(Change::default().idempotency(record("k1", "h2", refused.clone(), T0.plus_millis(1)))).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{b}: {again:?}");
    let still = store.idempotency("m1", scope, "k1", T0.plus_millis(2)).await.unwrap().unwrap();
    assert_eq!(still.request_hash, "h1", "{b}");

    // After 24 hours the key is free: gone from reads, and a new record replaces the old.
    let later = T0.plus_millis(24 * HOUR);
    assert!(store.idempotency("m1", scope, "k1", later).await.unwrap().is_none(), "{b}");
    store.commit(Change::default().idempotency(record("k1", "h3", refused.clone(), later))).await.unwrap();
    let replaced = store.idempotency("m1", scope, "k1", later).await.unwrap();
    assert_eq!(replaced, Some(record("k1", "h3", refused.clone(), later)), "{b}");

    // Pruning deletes exactly the records that ran out.
    store.commit(Change::default().idempotency(record("k2", "h", refused, T0))).await.unwrap();
    assert_eq!(store.prune_idempotency(later).await.unwrap(), 1, "{b}: k2, 24 hours old");
    assert!(store.idempotency("m1", scope, "k1", later).await.unwrap().is_some(), "{b}: k1 is live");
}
