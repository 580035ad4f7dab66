//! A kassa server of the test's own: the real router, worker and scheduler on port 0, over a
//! fresh SQLite file (or, with `KASSA_TEST_BACKEND=postgres`, a fresh PostgreSQL database), with
//! two merchants.

use crate::client::{Client, Merchant, Reply};
use kassa_server::app::clock::{Clock, ManualClock, SystemClock};
use kassa_server::app::config::{RateLimits, ScanLimits};
use kassa_server::model::credentials;
use kassa_server::service::secrets;
use kassa_server::{AppState, Config, Mode};
use kassa_store::Store;
use kassa_store::testing::{Backend, TestDatabase};
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct TestApp {
    pub url: String,
    /// A plain HTTP client (no credentials).
    pub client: reqwest::Client,
    /// The first merchant ("Shop"), whom [`TestApp::call`] and the shortcuts act as.
    pub merchant: Merchant,
    /// A second merchant ("Other shop"), for isolation checks.
    pub other: Merchant,
    /// The API as [`TestApp::merchant`].
    pub api: Client,
    pub state: AppState,
    /// The wall clock, when the test holds it ([`spawn_frozen`]).
    wall: Option<Arc<ManualClock>>,
    database: TestDatabase,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A sandbox server without rate limits.
pub async fn spawn() -> TestApp {
    spawn_in(Mode::Sandbox).await
}

/// A server without rate limits, credential throttling and store-page scan limits (tests
/// create sessions faster than Klarna allows, and scan and fail on purpose); the tests of those
/// limits use [`spawn_with`].
pub async fn spawn_in(mode: Mode) -> TestApp {
    spawn_with(mode, unlimited).await
}

/// `config` without rate limits, credential throttling and store-page scan limits.
pub fn unlimited(config: &mut Config) {
    config.rate_limits = RateLimits::off();
    config.auth_throttle = None;
    config.scan_limits = ScanLimits::off();
}

/// A server with `Config::new`'s settings (Klarna's production rate limits included) as changed
/// by `tweak`.
pub async fn spawn_with(mode: Mode, tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_over(Arc::new(SystemClock), None, mode, tweak).await
}

/// Like [`spawn_with`], on a wall clock that stands still (a [`ManualClock`] at 2026-01-01):
/// time moves only when the test moves it (the sandbox clock over it, [`TestApp::advance`]).
pub async fn spawn_frozen(mode: Mode, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let wall = Arc::new(ManualClock::at(kassa_core::Timestamp::from_millis(1_767_225_600_000)));
    spawn_over(wall.clone(), Some(wall), mode, tweak).await
}

async fn spawn_over(
    wall: Arc<dyn Clock>,
    held: Option<Arc<ManualClock>>,
    mode: Mode,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let database = test_database().await;
    let store: Arc<dyn Store> = Arc::new(database.open().await);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config::new(&url, mode);
    // Probes of failing targets run on real time: off unless a test asks for them, so the
    // attempts a test scripts are the ones it sees.
    config.delivery.probe_interval = std::time::Duration::from_secs(3600);
    tweak(&mut config);
    let state = AppState::with_wall_clock(store.clone(), config, wall);
    let mut merchants = Vec::new();
    for name in ["Shop", "Other shop"] {
        let created = credentials::create(name, None, None, state.now()).unwrap();
        secrets::add_merchant(store.as_ref(), &state.config.secrets, &created.merchant).await.unwrap();
        merchants.push(Merchant::new(created.merchant.username, created.secret));
    }
    secrets::seal_at_rest(store.as_ref(), &state.config.secrets).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kassa_server::serve(listener, state.clone(), async {
        let _ = rx.await;
    }));
    let other = merchants.pop().unwrap();
    let merchant = merchants.pop().unwrap();
    let client = crate::client::http_client();
    let api = Client::new(&url, merchant.clone()).with_http(client.clone());
    TestApp { url, client, merchant, other, api, state, wall: held, database, shutdown: Some(tx), server: Some(server) }
}

/// The backend under test: SQLite, or PostgreSQL with `KASSA_TEST_BACKEND=postgres` (then it
/// must be reachable).
pub async fn test_database() -> TestDatabase {
    match std::env::var("KASSA_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            TestDatabase::postgres().await.expect("KASSA_TEST_BACKEND=postgres needs a reachable PostgreSQL")
        }
        _ => TestDatabase::sqlite(),
    }
}

impl TestApp {
    /// Waits until exactly `count` followers (long-polls, streams, live pages) wait on this
    /// server's bus.
    pub async fn waiters(&self, count: usize) {
        crate::eventually(format!("{count} waiters subscribed to changes"), crate::PATIENCE, || async {
            let now = self.state.bus.followers();
            if now == count { Ok(()) } else { Err(format!("{now} subscribed")) }
        })
        .await
    }

    /// The API as `who`.
    pub fn as_merchant(&self, who: &Merchant) -> Client {
        self.api.as_merchant(who)
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.api.call(method, path, body).await
    }

    pub async fn call_as(&self, who: &Merchant, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.as_merchant(who).call(method, path, body).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.api.get(path).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.api.post(path, body).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.api.delete(path).await
    }

    /// A payment session of the default merchant; returns its id.
    pub async fn payment_session(&self) -> String {
        self.api.payment_session().await
    }

    /// An HPP session over a fresh payment session; returns (hpp id, payment id, create body).
    pub async fn hpp_session(&self, options: Value, merchant_urls: Value) -> (String, String, Value) {
        self.api.hpp_session(options, merchant_urls).await
    }

    pub async fn act(&self, hpp: &str, action: &str) -> Reply {
        self.api.act(hpp, action).await
    }

    pub async fn status(&self, hpp: &str) -> String {
        self.api.status(hpp).await
    }

    /// The delivery log of a session of the default merchant.
    pub async fn deliveries(&self, session: &str) -> Vec<Value> {
        self.api.deliveries(session).await
    }

    /// Waits until no delivery of a session of the default merchant is pending: see
    /// [`Client::settled`].
    pub async fn settled(&self, session: &str) -> Vec<Value> {
        self.api.settled(session).await
    }

    /// Moves the sandbox clock `seconds` forward in process (no wake-ups: the worker and the
    /// scheduler see it on their next poll).
    pub fn advance(&self, seconds: i64) {
        self.state.sandbox_clock.as_ref().expect("sandbox mode").advance(seconds * 1000);
    }

    /// Moves the wall clock (and the sandbox clock over it) `seconds` forward: real-time
    /// limits, logins' expiry. Only on a server of [`spawn_frozen`].
    pub fn advance_wall(&self, seconds: i64) {
        self.wall.as_ref().expect("a server of spawn_frozen").advance(seconds * 1000);
    }

    /// A plain connection pool on the server's database, for looking at rows (or writing ones
    /// no request would) with SQL.
    pub async fn raw(&self) -> sqlx::AnyPool {
        self.raw_pool(false).await
    }

    /// Whether the database is PostgreSQL (else SQLite).
    pub fn is_postgres(&self) -> bool {
        self.database.backend == Backend::Postgres
    }

    /// Another server on the same database (its own store, clock and listener, nothing shared in
    /// memory), as another node; its URL. It stops when the returned sender is dropped.
    pub async fn another_server(&self) -> (String, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let node = self.other_node().await;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(kassa_server::serve(listener, node, async {
            let _ = rx.await;
        }));
        (url, tx)
    }

    /// The text values of a one-column query, read with raw SQL past the store.
    pub async fn raw_strings(&self, sql: &str) -> Vec<String> {
        let pool = self.raw_pool(true).await;
        let values = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        values
    }

    /// Every row of every table of the schema (read from the database's catalogue, so a new
    /// table is included without a word here), in a stable order: what "nothing changed" is
    /// checked against. Only the migrator's bookkeeping and the readiness probe's counter are left out.
    pub async fn snapshot(&self) -> Vec<String> {
        use sqlx::{Column, Row};
        let pool = self.raw_pool(true).await;
        let catalogue = match self.database.backend {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            Backend::Postgres => {
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
            }
        };
        let tables: Vec<String> = sqlx::query_scalar(catalogue).fetch_all(&pool).await.unwrap();
        // The migrator's bookkeeping, and the readiness probe's counter (`/readyz` writes it).
        let tables: Vec<String> = tables.into_iter().filter(|t| t != "_sqlx_migrations" && t != "readiness").collect();
        for expected in ["merchants", "sessions", "events", "deliveries", "delivery_attempts", "jobs"] {
            assert!(tables.iter().any(|t| t == expected), "the snapshot misses {expected}: {tables:?}");
        }
        let mut rows = Vec::new();
        for table in &tables {
            let mut table_rows = Vec::new();
            for row in sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(&pool).await.unwrap() {
                let values: Vec<String> = (0..row.columns().len())
                    .map(|i| {
                        let text: Option<String> = row.try_get(i).ok().flatten();
                        let number: Option<i64> = row.try_get(i).ok().flatten();
                        format!(
                            "{}={}",
                            row.columns()[i].name(),
                            text.or(number.map(|n| n.to_string())).unwrap_or_default()
                        )
                    })
                    .collect();
                table_rows.push(format!("{table}: {}", values.join(", ")));
            }
            table_rows.sort();
            rows.extend(table_rows);
        }
        pool.close().await;
        rows
    }

    /// Runs one SQL statement on the test's database beside the server (a row the service would
    /// never write, such as a session whose guard columns disagree with its record); answers how
    /// many rows it changed.
    pub async fn execute(&self, sql: &str) -> u64 {
        let pool = self.raw_pool(false).await;
        let done = sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
        done.rows_affected()
    }

    /// A plain pool on the test's database (SQLite read-only when asked).
    async fn raw_pool(&self, read_only: bool) -> sqlx::AnyPool {
        let url = match self.database.backend {
            Backend::Sqlite if read_only => format!("{}?mode=ro", self.database.url),
            Backend::Sqlite | Backend::Postgres => self.database.url.clone(),
        };
        sqlx::AnyPool::connect(&url).await.unwrap()
    }

    /// Stops the server and starts a new process-like one on the same database and address: a
    /// new store, a new (sandbox) clock, nothing kept in memory.
    pub async fn restart(&mut self) {
        self.restart_with(|_| {}).await.unwrap();
    }

    /// [`TestApp::restart`] with the configuration changed by `tweak`; the start-up check of the
    /// stored secrets runs as `kassa serve` runs it, and its refusal leaves the server stopped.
    pub async fn restart_with(&mut self, tweak: impl FnOnce(&mut Config)) -> Result<(), String> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        let address = self.url.trim_start_matches("http://").to_owned();
        let store: Arc<dyn Store> = Arc::new(self.database.open().await);
        let mut config = (*self.state.config).clone();
        tweak(&mut config);
        secrets::seal_at_rest(store.as_ref(), &config.secrets).await.map_err(|e| e.to_string())?;
        let listener = TcpListener::bind(&address).await.unwrap();
        self.state = AppState::new(store, config);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.server = Some(tokio::spawn(kassa_server::serve(listener, self.state.clone(), async {
            let _ = rx.await;
        })));
        self.shutdown = Some(tx);
        Ok(())
    }

    /// Another node on the same database (its own store and clock), without an HTTP listener.
    pub async fn other_node(&self) -> AppState {
        let store: Arc<dyn Store> = Arc::new(self.database.open().await);
        AppState::new(store, (*self.state.config).clone())
    }

    /// The events of a session, as the store holds them: (seq, status, body).
    pub async fn events(&self, session_id: &str) -> Vec<(u64, String, Value)> {
        let events = self.state.store.session_events(session_id).await.unwrap();
        events.into_iter().map(|e| (e.event.seq, e.event.status.to_owned(), e.event.body)).collect()
    }
}
