//! The SQL backends: SQLite (one box) and PostgreSQL (many nodes), one implementation over
//! sqlx's `Any` driver; the few places where the two differ are in `dialect.rs`.
//!
//! SQLite: WAL, `synchronous=FULL` unless told otherwise, one writer connection (SQLite has one
//! writer; queuing in-process avoids lock-upgrade failures) and a pool of readers.
//! PostgreSQL: pooled connections, claims with `FOR UPDATE SKIP LOCKED`, statement timeouts.
//!
//! One file per concern of the [`Store`] trait (`merchants`, `sessions`, `listing`, `consumer`,
//! `jobs`, `payments`, `events`, `messages`, `outbox` with `finisher`); a [`crate::Change`] is
//! written by `commit` in batches of `group`; `lease` claims jobs, deliveries and messages; `rows`
//! decodes.

mod batch;
mod browser;
mod bulk;
mod commit;
mod consumer;
mod dialect;
mod events;
mod finisher;
mod group;
mod idempotency;
mod jobs;
mod lease;
mod listen;
mod listing;
mod merchants;
mod messages;
mod migrations;
mod outbox;
mod payments;
mod readiness;
mod recovery;
mod rows;
mod sandbox;
mod sessions;
mod stats;

use crate::notify::Notification;
use crate::stats::ObserverSlot;
use crate::{Backlog, CommitObserver, PoolUse};
use crate::{
    BrowserSession, CallbackMisbehaviour, ClaimWindow, ClaimedDelivery, ClaimedJob, ClaimedMessage, ConsumerSession,
    DeliveryRecord, EventFilter, FinishedAttempt, FinishedMessage, JobFailure, JobFilter, JobRecord, Merchant,
    MessageRecord, SessionFilter, SessionKind, SessionSummary, Store, StoreResult, StoredEvent,
};
use async_trait::async_trait;
use dialect::Dialect;
pub use dialect::Durability;
use kassa_core::Timestamp;
use kassa_core::payment::Authorization;
use kassa_core::retry::RetryPolicy;
pub use migrations::Migrations;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};
use std::str::FromStr;
use std::time::Duration;

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
    /// Told of every group-commit batch.
    commit_observer: ObserverSlot,
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
        // SQLite changes a table's CHECK only by rebuilding the table, which needs foreign keys off
        // (a rebuilt table is dropped and renamed while others refer to it); the migrations run
        // so, and the keys are checked once they have. They commit without waiting for the disk
        // (a migration and its bookkeeping row are one transaction, so a power loss can only undo
        // whole migrations, which the next start applies again): they reach the disk when this
        // connection closes, the last one open, whose checkpoint syncs the log and the database
        // before any pool opens. A new database starts up with a few fsyncs instead of ~30.
        let mut migrating = native.clone().foreign_keys(false).synchronous(SqliteSynchronous::Normal).connect().await?;
        migrations::SQLITE.run(&mut migrating).await?;
        let broken: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&mut migrating).await?;
        if let Some((table,)) = broken.first() {
            return Err(crate::StoreError::Corrupt(format!(
                "after the migrations, table {table} breaks a foreign key"
            )));
        }
        migrating.close().await?;
        // temp_store: the statement journal of each savepoint is kept in memory (a file created and
        // unlinked per group-commit batch otherwise: about 30 a second on the writer under a burst).
        let setup = format!(
            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = {synchronous};
             PRAGMA temp_store = MEMORY;"
        );
        let any = |options: SqliteConnectOptions| -> StoreResult<AnyConnectOptions> {
            Ok(AnyConnectOptions::from_url(&options.to_url_lossy())?)
        };
        let writer = pool(1, any(native.clone())?, setup.clone(), false).await?;
        let reader = pool(8, any(native.read_only(true))?, setup, false).await?;
        Ok(Self::assemble(writer, reader, Dialect::Sqlite { synchronous }, None))
    }

    /// Connects to PostgreSQL at `url` (`postgres://…`) and runs its migrations.
    pub async fn open_postgres(url: &str, max_connections: u32) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let native = PgConnectOptions::from_str(url)?;
        // One direct connection: an unreachable server is reported at once, not after retries.
        let mut migrating = native.connect().await?;
        migrations::POSTGRES.run(&mut migrating).await?;
        migrating.close().await?;
        let setup = "SET statement_timeout = '30s'".to_owned();
        let options = AnyConnectOptions::from_url(&native.to_url_lossy())?;
        // One pool: a separate read pool is a SQLite device (one writer, many readers).
        let writer = pool(max_connections.max(2), options, setup, true).await?;
        Ok(Self::assemble(writer.clone(), writer, Dialect::Postgres, Some(url.to_owned())))
    }

    fn assemble(writer: AnyPool, reader: AnyPool, dialect: Dialect, listen_url: Option<String>) -> Self {
        let commit_observer = ObserverSlot::default();
        let committer = group::start(writer.clone(), dialect, commit_observer.clone());
        let finisher = finisher::start(writer.clone(), dialect);
        let node = uuid::Uuid::new_v4().simple().to_string();
        let claims = Default::default();
        Self { writer, reader, dialect, node, claims, committer, commit_observer, finisher, listen_url }
    }

    /// Gives back every delivery, job and message claim. A SQLite database is served by one process: call this
    /// when that process starts (never from a second process, such as a CLI command, while a
    /// server runs). On PostgreSQL other nodes hold claims, which end with their leases: nothing
    /// is given back.
    pub async fn release_all_claims(&self) -> StoreResult<()> {
        if !self.dialect.serves_one_process() {
            return Ok(());
        }
        lease::release_all(&self.writer, "deliveries").await?;
        lease::release_all(&self.writer, "jobs").await?;
        lease::release_all(&self.writer, "messages").await
    }

    fn lease_token(&self) -> String {
        let number = self.claims.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}-{number}", self.node)
    }
}

/// A pool of `max` connections, each set up by `setup`. `ping` checks an idle connection before
/// handing it out (a round trip per acquire): worth it for a server across the network, which
/// may have dropped it; a SQLite connection is in-process and cannot go stale.
async fn pool(max: u32, options: AnyConnectOptions, setup: String, ping: bool) -> StoreResult<AnyPool> {
    Ok(AnyPoolOptions::new()
        .max_connections(max)
        .test_before_acquire(ping)
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

type State = (serde_json::Value, u64);

#[async_trait]
impl Store for SqlStore {
    async fn insert_merchant(&self, merchant: &Merchant) -> StoreResult<()> {
        merchants::insert(&self.writer, merchant).await
    }

    async fn merchant_by_username(&self, username: &str) -> StoreResult<Option<Merchant>> {
        merchants::by_username(&self.reader, username).await
    }

    async fn merchant(&self, id: &str) -> StoreResult<Option<Merchant>> {
        merchants::by_id(&self.reader, id).await
    }

    async fn merchant_count(&self) -> StoreResult<u64> {
        merchants::count(&self.reader).await
    }

    async fn merchants(&self) -> StoreResult<Vec<Merchant>> {
        merchants::list(&self.reader).await
    }

    async fn set_merchant_webhooks(
        &self,
        username: &str,
        secrets: &[String],
        retry_policy: RetryPolicy,
    ) -> StoreResult<bool> {
        merchants::set_webhooks(&self.writer, username, secrets, retry_policy).await
    }

    async fn replace_webhook_secrets(&self, id: &str, expected: &[String], secrets: &[String]) -> StoreResult<bool> {
        merchants::replace_secrets(&self.writer, id, expected, secrets).await
    }

    async fn session_state(&self, kind: SessionKind, id: &str) -> StoreResult<Option<State>> {
        sessions::state(&self.reader, kind, id).await
    }

    async fn child_session_states(&self, kind: SessionKind, parent_id: &str) -> StoreResult<Vec<State>> {
        sessions::children(&self.reader, kind, parent_id).await
    }

    async fn session_state_by_token(&self, kind: SessionKind, token: &str) -> StoreResult<Option<State>> {
        sessions::by_token(&self.reader, kind, token).await
    }

    async fn insert_consumer_session(&self, session: &ConsumerSession) -> StoreResult<bool> {
        consumer::insert(&self.writer, self.dialect, session).await
    }

    async fn free_consumer_session(
        &self,
        merchant_id: &str,
        short_code: &str,
        now: Timestamp,
    ) -> StoreResult<Option<ConsumerSession>> {
        consumer::free(&self.reader, merchant_id, short_code, now).await
    }

    async fn consumer_session(&self, id: &str) -> StoreResult<Option<ConsumerSession>> {
        consumer::by_id(&self.reader, id).await
    }

    async fn prune_consumer_sessions(&self, before: Timestamp) -> StoreResult<u64> {
        consumer::prune(&self.writer, before).await
    }

    async fn insert_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        browser::insert(&self.writer, session).await
    }

    async fn browser_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<BrowserSession>> {
        browser::live(&self.reader, token_hash, now).await
    }

    async fn touch_browser_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<()> {
        browser::touch(&self.writer, token_hash, now).await
    }

    async fn delete_browser_session(&self, token_hash: &str) -> StoreResult<bool> {
        browser::delete(&self.writer, token_hash).await
    }

    async fn delete_merchant_browser_sessions(&self, merchant_id: &str) -> StoreResult<u64> {
        browser::delete_of_merchant(&self.writer, merchant_id).await
    }

    async fn prune_browser_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        browser::prune(&self.writer, now).await
    }

    async fn merchant_sessions(&self, merchant_id: &str, filter: &SessionFilter) -> StoreResult<Vec<SessionSummary>> {
        listing::merchant_sessions(&self.reader, merchant_id, filter).await
    }

    async fn claim_jobs(&self, window: ClaimWindow) -> StoreResult<Vec<ClaimedJob>> {
        lease::claim(&self.writer, self.dialect, &jobs::CLAIM, &window, &self.lease_token()).await
    }

    async fn fail_job(&self, failure: &JobFailure) -> StoreResult<bool> {
        jobs::fail(&self.writer, failure).await
    }

    async fn merchant_jobs(&self, merchant_id: &str, filter: &JobFilter) -> StoreResult<Vec<JobRecord>> {
        jobs::of_merchant(&self.reader, merchant_id, filter).await
    }

    async fn merchant_job(&self, merchant_id: &str, job_id: &str) -> StoreResult<Option<JobRecord>> {
        jobs::by_id(&self.reader, merchant_id, job_id).await
    }

    async fn retry_job(&self, merchant_id: &str, job_id: &str, due_at: Timestamp) -> StoreResult<Option<JobRecord>> {
        jobs::retry(&self.writer, merchant_id, job_id, due_at).await
    }

    async fn authorization(&self, token: &str) -> StoreResult<Option<Authorization>> {
        payments::authorization(&self.reader, token).await
    }

    async fn idempotency(
        &self,
        merchant_id: &str,
        scope: &str,
        key: &str,
        now: Timestamp,
    ) -> StoreResult<Option<crate::IdempotencyRecord>> {
        idempotency::find(&self.reader, merchant_id, scope, key, now).await
    }

    async fn prune_idempotency(&self, now: Timestamp) -> StoreResult<u64> {
        idempotency::prune(&self.writer, now).await
    }

    async fn commit(&self, change: crate::Change) -> StoreResult<()> {
        self.committer.submit(change).await
    }

    async fn session_events(&self, session_id: &str) -> StoreResult<Vec<StoredEvent>> {
        events::of_session(&self.reader, session_id).await
    }

    async fn session_events_after(
        &self,
        kind: SessionKind,
        session_id: &str,
        after: u64,
    ) -> StoreResult<Vec<StoredEvent>> {
        events::of_session_after(&self.reader, kind, session_id, after).await
    }

    async fn session_messages(&self, session_id: &str) -> StoreResult<Vec<MessageRecord>> {
        messages::of_session(&self.reader, session_id).await
    }

    async fn merchant_message(&self, merchant_id: &str, message_id: &str) -> StoreResult<Option<MessageRecord>> {
        messages::of_merchant(&self.reader, merchant_id, message_id).await
    }

    async fn retry_message(
        &self,
        merchant_id: &str,
        message_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<MessageRecord>> {
        messages::retry(&self.writer, merchant_id, message_id, at).await
    }

    async fn claim_messages(&self, window: ClaimWindow) -> StoreResult<Vec<ClaimedMessage>> {
        lease::claim(&self.writer, self.dialect, &messages::CLAIM, &window, &self.lease_token()).await
    }

    async fn finish_message(&self, finished: &FinishedMessage) -> StoreResult<bool> {
        messages::finish(&self.writer, self.dialect, finished).await
    }

    async fn claim_deliveries(&self, window: ClaimWindow) -> StoreResult<Vec<ClaimedDelivery>> {
        lease::claim(&self.writer, self.dialect, &outbox::CLAIM, &window, &self.lease_token()).await
    }

    async fn renew_leases(&self, lease_tokens: &[String], lease_until: Timestamp) -> StoreResult<u64> {
        outbox::renew_all(&self.writer, self.dialect, lease_tokens, lease_until).await
    }

    async fn claim_probe(
        &self,
        merchant_id: &str,
        target: &str,
        window: ClaimWindow,
    ) -> StoreResult<Option<ClaimedDelivery>> {
        recovery::claim_probe(&self.writer, self.dialect, (merchant_id, target), &window, &self.lease_token()).await
    }

    async fn make_target_due(&self, merchant_id: &str, target: &str, now: Timestamp) -> StoreResult<u64> {
        recovery::make_due(&self.writer, self.dialect, (merchant_id, target), now).await
    }

    async fn failing_targets(&self) -> StoreResult<Vec<(String, String)>> {
        recovery::failing(&self.reader).await
    }

    async fn finish_attempt(&self, finished: FinishedAttempt) -> StoreResult<bool> {
        self.finisher.submit(finished).await
    }

    async fn release_claim(&self, delivery_id: &str, lease_token: &str) -> StoreResult<()> {
        outbox::release(&self.writer, delivery_id, lease_token).await
    }

    async fn defer_delivery(&self, delivery_id: &str, lease_token: &str, at: Timestamp) -> StoreResult<bool> {
        outbox::defer(&self.writer, delivery_id, lease_token, at).await
    }

    async fn callback_misbehaviour(&self, merchant_id: &str) -> StoreResult<Option<CallbackMisbehaviour>> {
        sandbox::callbacks(&self.reader, merchant_id).await
    }

    async fn set_callback_misbehaviour(
        &self,
        merchant_id: &str,
        settings: Option<&CallbackMisbehaviour>,
        now: Timestamp,
    ) -> StoreResult<()> {
        sandbox::set_callbacks(&self.writer, merchant_id, settings, now).await
    }

    async fn count_sandbox_callback(&self, merchant_id: &str) -> StoreResult<u64> {
        sandbox::count_callback(&self.writer, merchant_id).await
    }

    async fn sandbox_clock(&self, merchant_id: &str) -> StoreResult<i64> {
        sandbox::clock(&self.reader, merchant_id).await
    }

    async fn advance_sandbox_clock(&self, merchant_id: &str, millis: i64, now: Timestamp) -> StoreResult<i64> {
        sandbox::advance_clock(&self.writer, merchant_id, millis, now).await
    }

    async fn session_deliveries(&self, session_id: &str) -> StoreResult<Vec<DeliveryRecord>> {
        outbox::records(&self.reader, self.dialect, "session_id", session_id).await
    }

    async fn event_deliveries(&self, event_id: &str) -> StoreResult<Vec<DeliveryRecord>> {
        outbox::records(&self.reader, self.dialect, "event_id", event_id).await
    }

    async fn event(&self, event_id: &str) -> StoreResult<Option<StoredEvent>> {
        events::by_id(&self.reader, event_id).await
    }

    async fn merchant_events(&self, merchant_id: &str, filter: &EventFilter) -> StoreResult<Vec<StoredEvent>> {
        events::of_merchant(&self.reader, self.dialect, merchant_id, filter).await
    }

    fn feed_may_lag(&self) -> bool {
        self.dialect.feed_horizon().is_some()
    }

    async fn notifications(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<Notification>>> {
        let Some(url) = &self.listen_url else { return Ok(None) };
        Ok(Some(listen::listen(url).await?))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        readiness::probe(&self.writer, self.dialect).await
    }

    async fn backlog(&self, now: Timestamp) -> StoreResult<Backlog> {
        stats::backlog(&self.reader, now).await
    }

    fn pools(&self) -> Vec<PoolUse> {
        let pool_use = |pool, of: &AnyPool| PoolUse {
            pool,
            open: of.size(),
            idle: u32::try_from(of.num_idle()).unwrap_or(u32::MAX),
            max: of.options().get_max_connections(),
        };
        if self.dialect.serves_one_process() {
            vec![pool_use("writer", &self.writer), pool_use("reader", &self.reader)]
        } else {
            // PostgreSQL: one pool serves both.
            vec![pool_use("all", &self.writer)]
        }
    }

    fn observe_commits(&self, observer: std::sync::Arc<dyn CommitObserver>) {
        self.commit_observer.set(observer);
    }
}
