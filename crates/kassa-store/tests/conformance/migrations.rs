//! `SqlStore::migrations`: which of this build's migrations a database has, read without
//! applying any, creating a SQLite file or writing anything.

use kassa_store::sql::{Migrations, SqlStore};
use kassa_store::testing::{Backend, TestDatabase};
use sqlx::Connection;
use sqlx::migrate::Migrator;

#[tokio::test]
async fn sqlite_migrations_are_read_without_applying_any() {
    let database = TestDatabase::sqlite();
    let path = database.url.trim_start_matches("sqlite://").to_owned();
    assert_eq!(SqlStore::migrations(&database.url).await.unwrap(), Migrations::NoDatabase);
    assert!(!std::path::Path::new(&path).exists(), "no file is created");
    pending_then_applied(database).await;
}

#[tokio::test]
async fn postgres_migrations_are_read_without_applying_any() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let all = this_builds(Backend::Postgres).migrations.len();
    match SqlStore::migrations(&database.url).await.unwrap() {
        Migrations::Known { applied: 0, pending, unknown, broken } => {
            assert_eq!((pending.len(), unknown.len(), broken.len()), (all, 0, 0), "postgres: an empty database");
        }
        other => panic!("postgres: an empty database: {other:?}"),
    }
    pending_then_applied(database).await;
}

fn this_builds(backend: Backend) -> Migrator {
    match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    }
}

/// Every migration but the last applied: the last is pending, and stays so however often it is
/// read; once the store opens (and migrates) none is.
async fn pending_then_applied(database: TestDatabase) {
    let name = format!("{:?}", database.backend);
    sqlx::any::install_default_drivers();
    let mut migrator = this_builds(database.backend);
    let all = migrator.migrations.len();
    let last = migrator.migrations[all - 1].clone();
    migrator.migrations = migrator.migrations[..all - 1].to_vec().into();
    let url = match database.backend {
        Backend::Sqlite => format!("{}?mode=rwc", database.url),
        Backend::Postgres => database.url.clone(),
    };
    let mut connection = sqlx::AnyConnection::connect(&url).await.expect("a connection");
    migrator.run(&mut connection).await.expect("the earlier migrations");
    connection.close().await.unwrap();
    let behind = Migrations::Known {
        applied: all - 1,
        pending: vec![format!("{} {}", last.version, last.description)],
        unknown: Vec::new(),
        broken: Vec::new(),
    };
    for _ in 0..2 {
        assert_eq!(SqlStore::migrations(&database.url).await.unwrap(), behind, "{name}: one behind");
    }
    drop(database.open().await);
    let current = Migrations::Known { applied: all, pending: Vec::new(), unknown: Vec::new(), broken: Vec::new() };
    assert_eq!(SqlStore::migrations(&database.url).await.unwrap(), current, "{name}: migrated");
}
