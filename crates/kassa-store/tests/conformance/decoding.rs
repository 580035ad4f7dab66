//! Strict decoding: a stored value outside its closed set is an error
//! ([`StoreError::Corrupt`]), never a silent default. Rows the store would never write are put
//! in with plain SQL.

use crate::support::{Backend, T0, W0, hpp, insert, merchant, window};
use kassa_store::{EventFilter, StoreError, StoreResult};

backend_tests!(unknown_job_kinds_and_event_statuses_do_not_decode, the_schema_refuses_unknown_retry_policies);

fn corrupt<T: std::fmt::Debug>(b: &Backend, result: StoreResult<T>, value: &str) {
    match result {
        Err(StoreError::Corrupt(message)) => assert!(message.contains(value), "{b}: {message}"),
        other => panic!("{b}: {value:?} decoded as {other:?}"),
    }
}

async fn unknown_job_kinds_and_event_statuses_do_not_decode(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    insert(store, &hpp("h1")).await;
    let raw = b.raw().await;
    sqlx::query(
        "INSERT INTO jobs (id, session_kind, session_id, action, due_at, attempts, created_at)
         VALUES ('j', 'hpp', 'h1', 'teleport', 0, 0, 0)",
    )
    .execute(&raw)
    .await
    .unwrap();
    corrupt(b, store.claim_jobs(window(T0, W0, W0.plus_millis(100), 10)).await, "teleport");

    // A status no HPP session has (DISTRIBUTED is a distribution's).
    for (id, seq, status) in [("bogus", 2, "BOGUS"), ("foreign", 3, "DISTRIBUTED")] {
        let sql = format!(
            "INSERT INTO events (event_id, merchant_id, session_kind, session_id, seq, status, body, created_at)
             VALUES ('{id}', 'm1', 'hpp', 'h1', {seq}, '{status}', '{{}}', 0)"
        );
        sqlx::query(&sql).execute(&raw).await.unwrap();
        corrupt(b, store.event(id).await, status);
    }
    corrupt(b, store.session_events("h1").await, "BOGUS");
    corrupt(b, store.merchant_events("m1", &EventFilter { limit: 10, ..EventFilter::default() }).await, "BOGUS");
    // The first, well-formed event still reads.
    assert_eq!(store.event("h1-1").await.unwrap().unwrap().event.status, "WAITING", "{b}");
}

/// Retry policies cannot even be stored wrong: both schemas check them.
async fn the_schema_refuses_unknown_retry_policies(b: &Backend) {
    merchant(b.store(), "m1").await;
    let raw = b.raw().await;
    let refused = sqlx::query("UPDATE merchants SET retry_policy = 'sometimes' WHERE id = 'm1'").execute(&raw).await;
    assert!(refused.is_err(), "{b}: {refused:?}");
    assert_eq!(b.store().merchant("m1").await.unwrap().unwrap().retry_policy.as_str(), "klarna", "{b}");
}
