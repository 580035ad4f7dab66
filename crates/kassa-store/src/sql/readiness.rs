//! The readiness probe's write: one row counted up in a durable transaction, so that `ready`
//! means a change can be made durable now (a failing fsync, a full disk or a lost server fails
//! it), not only that the database answers reads.

use super::dialect::{self, Dialect};
use crate::StoreResult;
use sqlx::{Acquire, AnyConnection, AnyPool};

pub(super) async fn probe(writer: &AnyPool, dialect: Dialect) -> StoreResult<()> {
    let mut connection = dialect::durable(writer, dialect).await?;
    let written = write(&mut connection).await;
    if written.is_err() {
        // As after a failed batch (`group.rs`): a connection whose write failed is not reused.
        connection.close_on_drop();
    }
    written
}

async fn write(connection: &mut AnyConnection) -> StoreResult<()> {
    let mut tx = connection.begin().await?;
    sqlx::query("UPDATE readiness SET probes = probes + 1 WHERE id = 1").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
