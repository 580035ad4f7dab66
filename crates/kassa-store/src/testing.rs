//! Throw-away databases for tests: a fresh SQLite file, or a fresh PostgreSQL database that is
//! dropped afterwards. PostgreSQL is found at `KASSA_TEST_POSTGRES` (default the local server);
//! when it cannot be reached the run says so loudly, and with `KASSA_REQUIRE_POSTGRES=1` (CI) it
//! fails.

use crate::sql::{Durability, SqlStore};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};
use std::str::FromStr;

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// (server URL, database name) to drop at the end.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("kassa.db").display());
        Self { backend: Backend::Sqlite, url, _dir: Some(dir), postgres: None }
    }

    /// A new, empty database on the PostgreSQL server, or `None` (with a warning) when it is
    /// unreachable and not [`postgres_required`] (when required, unreachable fails the test).
    pub async fn postgres() -> Option<Self> {
        let server = std::env::var("KASSA_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
        let mut admin = match PgConnection::connect(&server).await {
            Ok(admin) => admin,
            Err(error) => {
                assert!(
                    !postgres_required(),
                    "PostgreSQL at {server} is required (KASSA_REQUIRE_POSTGRES=1) but unreachable: {error}"
                );
                eprintln!("\n*** PostgreSQL at {server} is unreachable ({error}): PostgreSQL tests are NOT run ***\n");
                return None;
            }
        };
        let name = format!("kassa_test_{}", uuid::Uuid::new_v4().simple());
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("CREATE DATABASE");
        let url =
            PgConnectOptions::from_str(&server).expect("a PostgreSQL URL").database(&name).to_url_lossy().to_string();
        Some(Self { backend: Backend::Postgres, url, _dir: None, postgres: Some((server, name)) })
    }

    pub async fn open(&self) -> SqlStore {
        match self.backend {
            Backend::Sqlite => SqlStore::open(&self.url, Durability::Full).await,
            Backend::Postgres => SqlStore::open_postgres(&self.url, 8).await,
        }
        .expect("the test database opens")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else { return };
        // Drop is synchronous and may run inside a runtime: drop the database from a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server).await?;
                admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
                Ok::<_, sqlx::Error>(())
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop a test database: {dropped:?}");
        }
    }
}

/// The databases every backend-independent test runs against: SQLite always, PostgreSQL when
/// reachable (or required).
pub async fn databases() -> Vec<TestDatabase> {
    let mut all = vec![TestDatabase::sqlite()];
    all.extend(TestDatabase::postgres().await);
    all
}

/// Whether PostgreSQL tests must run (`KASSA_REQUIRE_POSTGRES=1`: CI, and `scripts/test` whenever
/// PostgreSQL answers) rather than be skipped.
pub fn postgres_required() -> bool {
    std::env::var("KASSA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}
