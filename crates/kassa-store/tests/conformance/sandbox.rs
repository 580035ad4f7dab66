//! The sandbox's per-merchant state: how a merchant's callbacks misbehave (replaced whole,
//! removed, with a drop count that starts again on every write and counts per merchant), and
//! each merchant's own sandbox clock (offsets only grow, one merchant's leave the other's).

use crate::support::{Backend, T0, merchant};
use kassa_store::{CallbackMisbehaviour, SimulatedFailure};

backend_tests!(
    callback_misbehaviour_is_replaced_removed_and_counted_per_merchant,
    each_merchant_has_its_own_sandbox_clock
);

async fn callback_misbehaviour_is_replaced_removed_and_counted_per_merchant(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    merchant(store, "m2").await;
    assert_eq!(store.callback_misbehaviour("m1").await.unwrap(), None, "{b}: behaves by default");
    assert_eq!(store.count_sandbox_callback("m1").await.unwrap(), 0, "{b}: no settings, no count");

    let settings = CallbackMisbehaviour {
        duplicate: true,
        delay_seconds: 5,
        fail_first: 2,
        failure: SimulatedFailure::Timeout,
        drop_every: 3,
    };
    store.set_callback_misbehaviour("m1", Some(&settings), T0).await.unwrap();
    assert_eq!(store.callback_misbehaviour("m1").await.unwrap(), Some(settings), "{b}: every field");
    assert_eq!(store.callback_misbehaviour("m2").await.unwrap(), None, "{b}: the other merchant's untouched");
    let counts: Vec<u64> = counts_of(b, "m1", 4).await;
    assert_eq!(counts, [1, 2, 3, 4], "{b}: one more per callback");
    assert_eq!(store.count_sandbox_callback("m2").await.unwrap(), 0, "{b}");

    let replaced = CallbackMisbehaviour { drop_every: 2, ..CallbackMisbehaviour::default() };
    store.set_callback_misbehaviour("m1", Some(&replaced), T0.plus_millis(1)).await.unwrap();
    assert_eq!(store.callback_misbehaviour("m1").await.unwrap(), Some(replaced), "{b}: replaced whole");
    assert_eq!(store.count_sandbox_callback("m1").await.unwrap(), 1, "{b}: the count starts again");

    store.set_callback_misbehaviour("m1", None, T0.plus_millis(2)).await.unwrap();
    assert_eq!(store.callback_misbehaviour("m1").await.unwrap(), None, "{b}: removed");
    assert_eq!(store.count_sandbox_callback("m1").await.unwrap(), 0, "{b}");
}

async fn counts_of(b: &Backend, merchant_id: &str, n: usize) -> Vec<u64> {
    let mut counts = Vec::with_capacity(n);
    for _ in 0..n {
        counts.push(b.store().count_sandbox_callback(merchant_id).await.unwrap());
    }
    counts
}

async fn each_merchant_has_its_own_sandbox_clock(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    merchant(store, "m2").await;
    assert_eq!(store.sandbox_clock("m1").await.unwrap(), 0, "{b}: no clock is the wall clock");
    assert_eq!(store.advance_sandbox_clock("m1", 60_000, T0).await.unwrap(), 60_000, "{b}");
    assert_eq!(store.advance_sandbox_clock("m1", 1_000, T0).await.unwrap(), 61_000, "{b}: steps add up");
    assert_eq!(store.sandbox_clock("m1").await.unwrap(), 61_000, "{b}");
    assert_eq!(store.sandbox_clock("m2").await.unwrap(), 0, "{b}: the other merchant's clock stays");
    assert_eq!(store.advance_sandbox_clock("m2", 5, T0).await.unwrap(), 5, "{b}");
    assert_eq!(store.sandbox_clock("m1").await.unwrap(), 61_000, "{b}");
}
