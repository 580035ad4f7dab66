//! The SQLite backend: WAL, `synchronous=FULL` unless told otherwise, one writer connection
//! (SQLite has one writer anyway; queuing in-process avoids lock-upgrade failures) and a pool
//! of readers.

mod batch;
mod commit;
mod deliveries;
mod finisher;
mod group;
mod rows;

use crate::{
    Attempt, ClaimedDelivery, DeliveryNext, DeliveryRecord, EventFilter, Merchant, Message, SessionKind, Store,
    StoreError, StoreResult, StoredEvent,
};
use async_trait::async_trait;
use kassa_core::Timestamp;
use kassa_core::order::Order;
use kassa_core::payment::Authorization;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// How hard a commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: an acknowledged commit survives power loss (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a process crash, may lose the last commits on power loss.
    Normal,
}

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Numbers claims, which makes lease tokens unique within the process (SQLite has one).
    claims: std::sync::Arc<std::sync::atomic::AtomicU64>,
    committer: group::GroupCommitter,
    finisher: finisher::Finisher,
    /// The configured `synchronous` level, restored after the relaxed delivery bookkeeping.
    synchronous: &'static str,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path`, `sqlite:path`) and
    /// runs the migrations.
    pub async fn open(url: &str, durability: Durability) -> StoreResult<Self> {
        let synchronous = match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Normal => SqliteSynchronous::Normal,
        };
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new().max_connections(8).connect_with(options.read_only(true)).await?;
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        let committer = group::start(writer.clone(), synchronous);
        let finisher = finisher::start(writer.clone(), synchronous);
        Ok(Self { writer, reader, claims: Default::default(), committer, finisher, synchronous })
    }
}

impl SqliteStore {
    /// Gives back every delivery claim. A SQLite database is served by one process: call this
    /// when that process starts (never from a second process, such as a CLI command, while a
    /// server runs).
    pub async fn release_all_claims(&self) -> StoreResult<()> {
        deliveries::release_all(&self.writer).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_merchant(&self, m: &Merchant) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO merchants (id, name, username, secret_salt, secret_hash, created_at, webhook_secrets, retry_policy)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&m.id)
        .bind(&m.name)
        .bind(&m.username)
        .bind(&m.secret_salt)
        .bind(&m.secret_hash)
        .bind(m.created_at.millis())
        .bind(m.webhook_secrets.join(" "))
        .bind(&m.retry_policy)
        .execute(&self.writer)
        .await
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    async fn merchant_by_username(&self, username: &str) -> StoreResult<Option<Merchant>> {
        let row = sqlx::query("SELECT * FROM merchants WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| rows::merchant(&r)).transpose()
    }

    async fn set_merchant_webhooks(&self, username: &str, secrets: &[String], retry_policy: &str) -> StoreResult<bool> {
        let updated = sqlx::query("UPDATE merchants SET webhook_secrets = ?, retry_policy = ? WHERE username = ?")
            .bind(secrets.join(" "))
            .bind(retry_policy)
            .bind(username)
            .execute(&self.writer)
            .await
            .map_err(StoreError::from_write)?;
        Ok(updated.rows_affected() == 1)
    }

    async fn merchant_count(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM merchants").fetch_one(&self.reader).await?;
        Ok(count as u64)
    }

    async fn session_state(&self, kind: SessionKind, id: &str) -> StoreResult<Option<(serde_json::Value, u64)>> {
        let row = sqlx::query("SELECT state, revision FROM sessions WHERE kind = ? AND id = ?")
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| rows::state(&r)).transpose()
    }

    async fn child_session_states(
        &self,
        kind: SessionKind,
        parent_id: &str,
    ) -> StoreResult<Vec<(serde_json::Value, u64)>> {
        let found = sqlx::query(
            "SELECT state, revision FROM sessions WHERE kind = ? AND parent_id = ? ORDER BY created_at, id",
        )
        .bind(kind.as_str())
        .bind(parent_id)
        .fetch_all(&self.reader)
        .await?;
        found.iter().map(rows::state).collect()
    }

    async fn authorization(&self, token: &str) -> StoreResult<Option<Authorization>> {
        let row = sqlx::query("SELECT * FROM authorizations WHERE token = ?")
            .bind(token)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| rows::authorization(&r)).transpose()
    }

    async fn order(&self, order_id: &str) -> StoreResult<Option<Order>> {
        let row =
            sqlx::query("SELECT * FROM orders WHERE order_id = ?").bind(order_id).fetch_optional(&self.reader).await?;
        row.map(|r| rows::order(&r)).transpose()
    }

    async fn commit(&self, change: crate::Change) -> StoreResult<()> {
        self.committer.submit(change).await
    }

    async fn session_events(&self, session_id: &str) -> StoreResult<Vec<StoredEvent>> {
        let found = sqlx::query("SELECT * FROM events WHERE session_id = ? ORDER BY session_kind, seq")
            .bind(session_id)
            .fetch_all(&self.reader)
            .await?;
        found.iter().map(rows::event).collect()
    }

    async fn insert_message(&self, m: &Message) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO messages (id, merchant_id, session_id, method, recipient, subject, body, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&m.id)
        .bind(&m.merchant_id)
        .bind(&m.session_id)
        .bind(&m.method)
        .bind(&m.recipient)
        .bind(&m.subject)
        .bind(&m.body)
        .bind(m.created_at.millis())
        .execute(&self.writer)
        .await
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    async fn session_messages(&self, session_id: &str) -> StoreResult<Vec<Message>> {
        let found = sqlx::query("SELECT * FROM messages WHERE session_id = ? ORDER BY created_at, id")
            .bind(session_id)
            .fetch_all(&self.reader)
            .await?;
        found.iter().map(rows::message).collect()
    }

    async fn claim_deliveries(
        &self,
        due_at: Timestamp,
        wall_now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let number = self.claims.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = format!("{}-{}-{number}", std::process::id(), wall_now.millis());
        let window = deliveries::ClaimWindow { due_at, wall_now, lease_until, limit };
        deliveries::claim(&self.writer, self.synchronous, window, &token).await
    }

    async fn renew_lease(&self, delivery_id: &str, lease_token: &str, lease_until: Timestamp) -> StoreResult<bool> {
        deliveries::renew(&self.writer, self.synchronous, delivery_id, lease_token, lease_until).await
    }

    async fn finish_attempt(
        &self,
        delivery_id: &str,
        lease_token: &str,
        attempt: &Attempt,
        next: DeliveryNext,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let finish = finisher::Finish {
            delivery_id: delivery_id.to_owned(),
            token: lease_token.to_owned(),
            attempt: attempt.clone(),
            next,
            now,
        };
        self.finisher.submit(finish).await
    }

    async fn release_claim(&self, delivery_id: &str, lease_token: &str) -> StoreResult<()> {
        deliveries::release(&self.writer, delivery_id, lease_token).await
    }

    async fn session_deliveries(&self, session_id: &str) -> StoreResult<Vec<DeliveryRecord>> {
        deliveries::records(&self.reader, "session_id", session_id).await
    }

    async fn event_deliveries(&self, event_id: &str) -> StoreResult<Vec<DeliveryRecord>> {
        deliveries::records(&self.reader, "event_id", event_id).await
    }

    async fn event(&self, event_id: &str) -> StoreResult<Option<StoredEvent>> {
        deliveries::event(&self.reader, event_id).await
    }

    async fn merchant_events(&self, merchant_id: &str, filter: &EventFilter) -> StoreResult<Vec<StoredEvent>> {
        deliveries::merchant_events(&self.reader, merchant_id, filter).await
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
}

/// Decodes a column that must hold one of a closed set of names.
fn parse_name<T>(value: &str, parse: fn(&str) -> Option<T>, what: &str) -> StoreResult<T> {
    parse(value).ok_or_else(|| StoreError::Corrupt(format!("unknown {what} {value:?}")))
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
    row: &'r sqlx::sqlite::SqliteRow,
    column: &str,
) -> StoreResult<T> {
    Ok(row.try_get(column)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pragma(pool: &SqlitePool, name: &str) -> String {
        let row = sqlx::query(&format!("PRAGMA {name}")).fetch_one(pool).await.unwrap();
        row.try_get::<String, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string())).unwrap()
    }

    #[tokio::test]
    async fn commits_are_durable_in_wal_mode_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        let store = SqliteStore::open(&url, Durability::default()).await.unwrap();
        // synchronous: 2 = FULL, 1 = NORMAL.
        assert_eq!(pragma(&store.writer, "synchronous").await, "2");
        assert_eq!(pragma(&store.writer, "journal_mode").await, "wal");
        assert_eq!(pragma(&store.writer, "foreign_keys").await, "1");
        // Delivery bookkeeping relaxes the level for itself and puts it back.
        let now = kassa_core::Timestamp::from_millis(0);
        store.claim_deliveries(now, now, now, 10).await.unwrap();
        assert_eq!(pragma(&store.writer, "synchronous").await, "2");
        let relaxed = SqliteStore::open(&url, Durability::Normal).await.unwrap();
        assert_eq!(pragma(&relaxed.writer, "synchronous").await, "1");
    }
}
