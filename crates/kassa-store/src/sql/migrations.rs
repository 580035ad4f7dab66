//! Each backend's migrations, and which of them a database has, read without applying any or
//! writing anything (`kassa doctor`).

use super::SqlStore;
use crate::StoreResult;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;

pub(super) static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
pub(super) static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// A database's migrations against this build's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migrations {
    /// A SQLite file that does not exist yet (opening it creates it).
    NoDatabase,
    Known {
        /// Migrations of this build the database has.
        applied: usize,
        /// Migrations of this build the database has not had yet, `version description`.
        pending: Vec<String>,
        /// Applied migrations this build does not know (the database is newer than the build).
        unknown: Vec<i64>,
        /// Applied migrations whose text differs from this build's (edited after they ran), or
        /// that failed half-way.
        broken: Vec<String>,
    },
}

impl SqlStore {
    /// Which of this build's migrations the database at `url` has (`sqlite://…` or
    /// `postgres://…`). Opens no pool, applies nothing, and never creates a SQLite file.
    pub async fn migrations(url: &str) -> StoreResult<Migrations> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut connection = PgConnectOptions::from_str(url)?.connect().await?;
            let table: Option<String> =
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text").fetch_one(&mut connection).await?;
            let known = compare(&mut connection, &POSTGRES, table.is_some()).await;
            connection.close().await?;
            return known;
        }
        let options = SqliteConnectOptions::from_str(url)?;
        if !options.get_filename().exists() {
            return Ok(Migrations::NoDatabase);
        }
        let mut connection = options.read_only(true).connect().await?;
        let tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
                .fetch_one(&mut connection)
                .await?;
        let known = compare(&mut connection, &SQLITE, tables > 0).await;
        connection.close().await?;
        known
    }
}

async fn compare<C: Migrate>(connection: &mut C, migrator: &Migrator, has_table: bool) -> StoreResult<Migrations> {
    let (done, dirty) = match has_table {
        true => (connection.list_applied_migrations().await?, connection.dirty_version().await?),
        false => (Vec::new(), None),
    };
    let ours: Vec<_> = migrator.iter().filter(|m| !m.migration_type.is_down_migration()).collect();
    let (mut applied, mut pending, mut broken) = (0, Vec::new(), Vec::new());
    for migration in &ours {
        let name = format!("{} {}", migration.version, migration.description);
        match done.iter().find(|d| d.version == migration.version) {
            Some(ran) if ran.checksum != migration.checksum => broken.push(format!("{name} (changed since it ran)")),
            Some(_) => applied += 1,
            None => pending.push(name),
        }
    }
    broken.extend(dirty.map(|version| format!("{version} (failed half-way)")));
    let unknown = done.iter().map(|d| d.version).filter(|v| !ours.iter().any(|m| m.version == *v)).collect();
    Ok(Migrations::Known { applied, pending, unknown, broken })
}
