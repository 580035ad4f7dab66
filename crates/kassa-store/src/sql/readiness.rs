//! The readiness probe's write: a durable transaction (on SQLite one row counted up; on
//! PostgreSQL a transaction id, whose commit is flushed like any write's), so that `ready` means a
//! change can be made durable now (a failing fsync, a full disk or a lost server fails it), not
//! only that the database answers reads.

use super::dialect::{self, Dialect, Purpose};
use crate::StoreResult;
use sqlx::{AnyConnection, AnyPool};

pub(super) async fn probe(writer: &AnyPool, dialect: Dialect) -> StoreResult<()> {
    let mut connection = writer.acquire().await?;
    let written = write(&mut connection, dialect).await;
    if written.is_err() {
        // As after a failed batch (`group.rs`): a connection whose write failed is not reused.
        connection.close_on_drop();
    }
    written
}

async fn write(connection: &mut AnyConnection, dialect: Dialect) -> StoreResult<()> {
    let mut tx = dialect::begin(connection, dialect, Purpose::Durable).await?;
    let write = match dialect {
        // A transaction id makes the commit write and flush its WAL record (a durable write), and
        // locks no row: a node with a slow link cannot hold up the other nodes' probes.
        Dialect::Postgres => "SELECT pg_current_xact_id()::text",
        Dialect::Sqlite { .. } => "UPDATE readiness SET probes = probes + 1 WHERE id = 1",
    };
    sqlx::query(write).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
