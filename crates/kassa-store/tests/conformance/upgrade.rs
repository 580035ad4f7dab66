//! Upgrades: a database written by an earlier kassa opens in this one with nothing lost.

use kassa_core::Timestamp;
use kassa_core::order::{Order, OrderStatus};
use kassa_store::testing::{Backend, TestDatabase};
use kassa_store::{ClaimWindow, JobKind, MessageStatus, Store, StoreExt};
use sqlx::Connection;
use sqlx::migrate::Migrator;

#[tokio::test]
async fn sqlite_orders_placed_before_order_management_become_orders() {
    orders_become_order_sessions(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn postgres_orders_placed_before_order_management_become_orders() {
    let Some(database) = TestDatabase::postgres().await else { return };
    orders_become_order_sessions(database).await;
}

#[tokio::test]
async fn sqlite_messages_recorded_before_delivery_count_as_sent() {
    recorded_messages_count_as_sent(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn postgres_messages_recorded_before_delivery_count_as_sent() {
    let Some(database) = TestDatabase::postgres().await else { return };
    recorded_messages_count_as_sent(database).await;
}

/// The database as kassa left it before the migration named `name` (and every later one).
async fn migrated_before(database: &TestDatabase, name: &str) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let mut migrator: Migrator = match database.backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    let first = migrator.migrations.iter().position(|m| m.description.contains(name));
    let first = first.unwrap_or_else(|| panic!("the migration {name:?} is found by its name"));
    migrator.migrations = migrator.migrations[..first].to_vec().into();
    let url = match database.backend {
        Backend::Sqlite => format!("{}?mode=rwc", database.url),
        Backend::Postgres => database.url.clone(),
    };
    let mut connection = sqlx::AnyConnection::connect(&url).await.expect("a connection");
    migrator.run(&mut connection).await.expect("the earlier migrations");
    connection
}

async fn orders_become_order_sessions(database: TestDatabase) {
    let mut db = migrated_before(&database, "order management").await;
    let rows = [
        "INSERT INTO merchants (id, name, username, secret_salt, secret_hash, created_at)
         VALUES ('m1', 'Shop', 'shop', 's', 'h', 0)",
        "INSERT INTO sessions (kind, id, merchant_id, status, version, revision, created_at, updated_at, state)
         VALUES ('payment', 'p1', 'm1', 'complete', 2, 2, 0, 0, '{\"request\":{\"purchase_country\":\"se\"}}')",
        "INSERT INTO authorizations (token, merchant_id, payment_session_id, status, created_at, expires_at)
         VALUES ('a1', 'm1', 'p1', 'ordered', 0, 3600000)",
        "INSERT INTO orders (order_id, klarna_reference, merchant_id, payment_session_id, authorization_token, status,
                             purchase_currency, order_amount, captured_amount, created_at)
         VALUES ('o1', 'ABCD1234', 'm1', 'p1', 'a1', 'CAPTURED', 'SEK', 18000, 18000, 1657273696680)",
        "INSERT INTO sessions (kind, id, merchant_id, status, version, revision, created_at, updated_at, state)
         VALUES ('payment', 'p2', 'm1', 'complete', 2, 2, 0, 0, '{\"request\":{\"purchase_country\":\"SE\"}}')",
        "INSERT INTO authorizations (token, merchant_id, payment_session_id, status, created_at, expires_at)
         VALUES ('a2', 'm1', 'p2', 'ordered', 0, 3600000)",
        "INSERT INTO orders (order_id, klarna_reference, merchant_id, payment_session_id, authorization_token, status,
                             purchase_currency, order_amount, captured_amount, created_at)
         VALUES ('o2', 'WXYZ9876', 'm1', 'p2', 'a2', 'AUTHORIZED', 'SEK', 5000, 0, 1657273696680)",
    ];
    for row in rows {
        sqlx::query(row).execute(&mut db).await.expect(row);
    }
    db.close().await.unwrap();

    let store = database.open().await;
    let order = store.load::<Order>("o1").await.unwrap().expect("the order, as an order session").record;
    let backend = database.backend;
    assert_eq!(
        (order.status(), order.order_amount, order.captured_amount()),
        (OrderStatus::Captured, 18_000, 18_000),
        "{backend:?}"
    );
    assert_eq!(order.captures.len(), 1, "{backend:?}: its one capture");
    assert_eq!(order.captures[0].klarna_reference, "ABCD1234-1", "{backend:?}");
    assert_eq!(order.purchase_country, "SE", "{backend:?}");
    assert_eq!(order.expires_at.to_string(), "2022-08-05T00:00:00.000Z", "{backend:?}: 28 days, to midnight");
    assert_eq!(order.lifecycle.version, 2, "{backend:?}");

    // The uncaptured one is open, and expires on its timer.
    let open = store.load::<Order>("o2").await.unwrap().expect("the second order").record;
    assert_eq!(
        (open.status(), open.remaining_authorized_amount(), open.captures.len()),
        (OrderStatus::Authorized, 5000, 0),
        "{backend:?}"
    );
    let window = ClaimWindow {
        due_at: open.expires_at,
        wall_now: open.expires_at,
        lease_until: open.expires_at.plus_millis(60_000),
        limit: 10,
    };
    let due = store.claim_jobs(window).await.unwrap();
    let jobs: Vec<_> = due.iter().map(|j| (j.job.session_id.as_str(), j.job.action)).collect();
    assert_eq!(jobs, [("o2", JobKind::ExpireOrder)], "{backend:?}: its expiry timer, due at expires_at");
}

async fn recorded_messages_count_as_sent(database: TestDatabase) {
    let mut db = migrated_before(&database, "message delivery").await;
    let rows = [
        "INSERT INTO merchants (id, name, username, secret_salt, secret_hash, created_at)
         VALUES ('m1', 'Shop', 'shop', 's', 'h', 0)",
        "INSERT INTO messages (id, merchant_id, session_id, method, recipient, subject, body, created_at)
         VALUES ('msg1', 'm1', 'h1', 'sms', '+46701740615 (SE)', NULL, 'Pay: https://kassa/hpp/payments/h1', 1000)",
    ];
    for row in rows {
        sqlx::query(row).execute(&mut db).await.expect(row);
    }
    db.close().await.unwrap();

    let store = database.open().await;
    let backend = database.backend;
    let [record] = store.session_messages("h1").await.unwrap().try_into().expect("the one message");
    assert_eq!(record.message.recipient, "+46701740615 (SE)", "{backend:?}: as it was recorded");
    assert_eq!(
        (record.status, record.attempts, record.sent_at, record.next_attempt_at),
        (MessageStatus::Sent, 0, Some(Timestamp::from_millis(1000)), None),
        "{backend:?}: sent when it was recorded"
    );
    let everything = ClaimWindow {
        due_at: Timestamp::from_millis(i64::MAX / 4),
        wall_now: Timestamp::from_millis(0),
        lease_until: Timestamp::from_millis(60_000),
        limit: 10,
    };
    assert!(store.claim_messages(everything).await.unwrap().is_empty(), "{backend:?}: never sent again");
}
