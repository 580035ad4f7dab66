//! The SQL backends: SQLite (one box) and PostgreSQL (many nodes), one implementation over
//! sqlx's `Any` driver; the few places where the two differ are in [`Dialect`].
//!
//! SQLite: WAL, `synchronous=FULL` unless told otherwise, one writer connection (SQLite has one
//! writer; queuing in-process avoids lock-upgrade failures) and a pool of readers.
//! PostgreSQL: pooled connections, claims with `FOR UPDATE SKIP LOCKED`, statement timeouts.

mod batch;
mod commit;
mod consumer;
mod deliveries;
mod finisher;
mod group;
mod jobs;
mod lease;
mod listing;
mod rows;

use crate::notify::Notification;
use crate::{
    Attempt, ClaimedDelivery, ClaimedJob, ConsumerSession, DeliveryNext, DeliveryRecord, EventFilter, Merchant,
    Message, SessionFilter, SessionKind, SessionSummary, Store, StoreError, StoreResult, StoredEvent,
};
use async_trait::async_trait;
use kassa_core::Timestamp;
use kassa_core::order::Order;
use kassa_core::payment::Authorization;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor, Row};
use std::str::FromStr;
use std::time::Duration;

/// How hard a commit is pushed to disk (SQLite; PostgreSQL follows its server's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: an acknowledged commit survives power loss (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a process crash, may lose the last commits on power loss.
    Normal,
}

/// Where the two databases differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite { synchronous: &'static str },
    Postgres,
}

impl Dialect {
    /// Put on a connection before durable writes.
    fn durable_connection(self) -> Option<String> {
        match self {
            Self::Sqlite { synchronous } => Some(format!("PRAGMA synchronous = {synchronous}")),
            Self::Postgres => None,
        }
    }

    /// Put on a connection before relaxed writes (undone by [`Self::durable_connection`]).
    fn relax_connection(self) -> Option<&'static str> {
        match self {
            Self::Sqlite { .. } => Some("PRAGMA synchronous = NORMAL"),
            Self::Postgres => None,
        }
    }

    /// Put inside a relaxed transaction (ends with it).
    fn relax_transaction(self) -> Option<&'static str> {
        match self {
            Self::Sqlite { .. } => None,
            Self::Postgres => Some("SET LOCAL synchronous_commit = off"),
        }
    }

    /// After a claim's `LIMIT`: nodes claiming at once skip each other's rows.
    fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

#[derive(Clone)]
pub struct SqlStore {
    writer: AnyPool,
    reader: AnyPool,
    dialect: Dialect,
    /// A random id of this store (this node), which with a claim number makes lease tokens
    /// unique across nodes (process ids and clocks are not: every container's server is pid 1).
    node: String,
    claims: std::sync::Arc<std::sync::atomic::AtomicU64>,
    committer: group::GroupCommitter,
    finisher: finisher::Finisher,
    /// PostgreSQL: where to `LISTEN` for other nodes' changes.
    listen_url: Option<String>,
}

impl SqlStore {
    /// Opens (creating if needed) the SQLite database at `url` (`sqlite://path`) and runs its
    /// migrations.
    pub async fn open(url: &str, durability: Durability) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let (level, synchronous) = match durability {
            Durability::Full => (SqliteSynchronous::Full, "FULL"),
            Durability::Normal => (SqliteSynchronous::Normal, "NORMAL"),
        };
        let native = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(level)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let mut migrating = native.connect().await?;
        sqlx::migrate!("./migrations/sqlite").run(&mut migrating).await?;
        migrating.close().await?;
        let setup =
            format!("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = {synchronous};");
        let any = |options: SqliteConnectOptions| -> StoreResult<AnyConnectOptions> {
            Ok(AnyConnectOptions::from_url(&options.to_url_lossy())?)
        };
        let writer = pool(1, any(native.clone())?, setup.clone()).await?;
        let reader = pool(8, any(native.read_only(true))?, setup).await?;
        Ok(Self::assemble(writer, reader, Dialect::Sqlite { synchronous }, None))
    }

    /// Connects to PostgreSQL at `url` (`postgres://…`) and runs its migrations.
    pub async fn open_postgres(url: &str, max_connections: u32) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let native = PgConnectOptions::from_str(url)?;
        // One direct connection: an unreachable server is reported at once, not after retries.
        let mut migrating = native.connect().await?;
        sqlx::migrate!("./migrations/postgres").run(&mut migrating).await?;
        migrating.close().await?;
        let setup = "SET statement_timeout = '30s'".to_owned();
        let options = AnyConnectOptions::from_url(&native.to_url_lossy())?;
        // One pool: a separate read pool is a SQLite device (one writer, many readers).
        let writer = pool(max_connections.max(2), options, setup).await?;
        Ok(Self::assemble(writer.clone(), writer, Dialect::Postgres, Some(url.to_owned())))
    }

    fn assemble(writer: AnyPool, reader: AnyPool, dialect: Dialect, listen_url: Option<String>) -> Self {
        let committer = group::start(writer.clone(), dialect);
        let finisher = finisher::start(writer.clone(), dialect);
        let node = uuid::Uuid::new_v4().simple().to_string();
        Self { writer, reader, dialect, node, claims: Default::default(), committer, finisher, listen_url }
    }

    /// Gives back every delivery and job claim. A SQLite database is served by one process: call this
    /// when that process starts (never from a second process, such as a CLI command, while a
    /// server runs). On PostgreSQL other nodes hold claims, which end with their leases: nothing
    /// is given back.
    pub async fn release_all_claims(&self) -> StoreResult<()> {
        if self.dialect == Dialect::Postgres {
            return Ok(());
        }
        deliveries::release_all(&self.writer).await?;
        jobs::release_all(&self.writer).await
    }

    fn lease_token(&self) -> String {
        let number = self.claims.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}-{number}", self.node)
    }
}

/// A pool whose every new connection first runs `setup`.
async fn pool(max: u32, options: AnyConnectOptions, setup: String) -> StoreResult<AnyPool> {
    Ok(AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |connection, _| {
            let setup = setup.clone();
            Box::pin(async move {
                connection.execute(setup.as_str()).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?)
}

#[async_trait]
impl Store for SqlStore {
    async fn insert_merchant(&self, m: &Merchant) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO merchants (id, name, username, secret_salt, secret_hash, created_at, webhook_secrets, retry_policy)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
        let row = sqlx::query("SELECT * FROM merchants WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| rows::merchant(&r)).transpose()
    }

    async fn merchant(&self, id: &str) -> StoreResult<Option<Merchant>> {
        let row = sqlx::query("SELECT * FROM merchants WHERE id = $1").bind(id).fetch_optional(&self.reader).await?;
        row.map(|r| rows::merchant(&r)).transpose()
    }

    async fn set_merchant_webhooks(&self, username: &str, secrets: &[String], retry_policy: &str) -> StoreResult<bool> {
        let updated = sqlx::query("UPDATE merchants SET webhook_secrets = $1, retry_policy = $2 WHERE username = $3")
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
        let row = sqlx::query("SELECT state, revision FROM sessions WHERE kind = $1 AND id = $2")
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
            "SELECT state, revision FROM sessions WHERE kind = $1 AND parent_id = $2 ORDER BY created_at, id",
        )
        .bind(kind.as_str())
        .bind(parent_id)
        .fetch_all(&self.reader)
        .await?;
        found.iter().map(rows::state).collect()
    }

    async fn session_state_by_token(
        &self,
        kind: SessionKind,
        token: &str,
    ) -> StoreResult<Option<(serde_json::Value, u64)>> {
        let row = sqlx::query("SELECT state, revision FROM sessions WHERE kind = $1 AND token = $2")
            .bind(kind.as_str())
            .bind(token)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| rows::state(&r)).transpose()
    }

    async fn insert_consumer_session(&self, session: &ConsumerSession) -> StoreResult<bool> {
        consumer::insert(&self.writer, self.dialect, session).await
    }

    async fn consumer_session(&self, id: &str) -> StoreResult<Option<ConsumerSession>> {
        consumer::by_id(&self.reader, id).await
    }

    async fn merchant_sessions(&self, merchant_id: &str, filter: &SessionFilter) -> StoreResult<Vec<SessionSummary>> {
        listing::merchant_sessions(&self.reader, merchant_id, filter).await
    }

    async fn free_consumer_session(
        &self,
        merchant_id: &str,
        short_code: &str,
        now: Timestamp,
    ) -> StoreResult<Option<ConsumerSession>> {
        consumer::free(&self.reader, merchant_id, short_code, now).await
    }

    async fn claim_jobs(
        &self,
        due_at: Timestamp,
        wall_now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedJob>> {
        let token = self.lease_token();
        jobs::claim(&self.writer, self.dialect, lease::ClaimWindow { due_at, wall_now, lease_until, limit }, &token)
            .await
    }

    async fn postpone_job(&self, job_id: &str, lease_token: &str, due_at: Timestamp) -> StoreResult<()> {
        jobs::postpone(&self.writer, job_id, lease_token, due_at).await
    }

    async fn authorization(&self, token: &str) -> StoreResult<Option<Authorization>> {
        let row = sqlx::query("SELECT * FROM authorizations WHERE token = $1")
            .bind(token)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| rows::authorization(&r)).transpose()
    }

    async fn order(&self, order_id: &str) -> StoreResult<Option<Order>> {
        let row =
            sqlx::query("SELECT * FROM orders WHERE order_id = $1").bind(order_id).fetch_optional(&self.reader).await?;
        row.map(|r| rows::order(&r)).transpose()
    }

    async fn commit(&self, change: crate::Change) -> StoreResult<()> {
        self.committer.submit(change).await
    }

    async fn session_events(&self, session_id: &str) -> StoreResult<Vec<StoredEvent>> {
        let found = sqlx::query("SELECT * FROM events WHERE session_id = $1 ORDER BY session_kind, seq")
            .bind(session_id)
            .fetch_all(&self.reader)
            .await?;
        found.iter().map(rows::event).collect()
    }

    async fn session_events_after(
        &self,
        kind: SessionKind,
        session_id: &str,
        after: u64,
    ) -> StoreResult<Vec<StoredEvent>> {
        let found =
            sqlx::query("SELECT * FROM events WHERE session_kind = $1 AND session_id = $2 AND seq > $3 ORDER BY seq")
                .bind(kind.as_str())
                .bind(session_id)
                .bind(after as i64)
                .fetch_all(&self.reader)
                .await?;
        found.iter().map(rows::event).collect()
    }

    async fn insert_message(&self, m: &Message) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO messages (id, merchant_id, session_id, method, recipient, subject, body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
        let found = sqlx::query("SELECT * FROM messages WHERE session_id = $1 ORDER BY created_at, id")
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
        let token = self.lease_token();
        let window = lease::ClaimWindow { due_at, wall_now, lease_until, limit };
        deliveries::claim(&self.writer, self.dialect, window, &token).await
    }

    async fn renew_lease(&self, delivery_id: &str, lease_token: &str, lease_until: Timestamp) -> StoreResult<bool> {
        deliveries::renew(&self.writer, self.dialect, delivery_id, lease_token, lease_until).await
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

    async fn notifications(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<Notification>>> {
        let Some(url) = &self.listen_url else { return Ok(None) };
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(crate::notify::CHANNEL).await?;
        let (sender, receiver) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(message) => {
                        let Some(notification) = Notification::parse(message.payload()) else { continue };
                        if sender.send(notification).await.is_err() {
                            return;
                        }
                    }
                    // The listener reconnects on the next call; what was missed is caught by the
                    // waiters' periodic re-check.
                    Err(error) => {
                        tracing::warn!(%error, "listening for changes failed; reconnecting");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        Ok(Some(receiver))
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

fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r sqlx::any::AnyRow,
    column: &str,
) -> StoreResult<T> {
    Ok(row.try_get(column)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pragma(pool: &AnyPool, name: &str) -> String {
        let row = sqlx::query(&format!("PRAGMA {name}")).fetch_one(pool).await.unwrap();
        row.try_get::<String, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string())).unwrap()
    }

    #[tokio::test]
    async fn commits_are_durable_in_wal_mode_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        let store = SqlStore::open(&url, Durability::default()).await.unwrap();
        // synchronous: 2 = FULL, 1 = NORMAL.
        assert_eq!(pragma(&store.writer, "synchronous").await, "2");
        assert_eq!(pragma(&store.writer, "journal_mode").await, "wal");
        assert_eq!(pragma(&store.writer, "foreign_keys").await, "1");
        // Delivery bookkeeping relaxes the level for itself and puts it back.
        let now = kassa_core::Timestamp::from_millis(0);
        store.claim_deliveries(now, now, now, 10).await.unwrap();
        assert_eq!(pragma(&store.writer, "synchronous").await, "2");
        let relaxed = SqlStore::open(&url, Durability::Normal).await.unwrap();
        assert_eq!(pragma(&relaxed.writer, "synchronous").await, "1");
    }
}
