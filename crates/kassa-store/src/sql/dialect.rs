//! Where the two databases differ, and how bookkeeping writes relax durability for themselves.

use crate::StoreResult;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Transaction};
use std::borrow::Cow;

/// How hard a commit is pushed to disk (SQLite; PostgreSQL follows its server's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: an acknowledged commit survives power loss (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a process crash, may lose the last commits on power loss.
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
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

    /// The statement that begins a transaction for `purpose`, its settings in the same round trip.
    fn begin_statement(self, purpose: Purpose) -> Cow<'static, str> {
        match (self, purpose) {
            // The configured durability is already on the connection unless a relaxed write
            // failed to `restore` it (that connection is closed): belt and braces at no cost.
            (Self::Sqlite { synchronous }, Purpose::Durable | Purpose::Change) => {
                Cow::Owned(format!("PRAGMA synchronous = {synchronous}; BEGIN"))
            }
            // SQLite relaxes the connection (undone by `restore`), PostgreSQL the transaction.
            (Self::Sqlite { .. }, Purpose::Relaxed | Purpose::Claim) => {
                Cow::Borrowed("PRAGMA synchronous = NORMAL; BEGIN")
            }
            (Self::Postgres, Purpose::Durable) => Cow::Borrowed("BEGIN"),
            (Self::Postgres, Purpose::Change) => Cow::Borrowed("BEGIN; LOCK TABLE events IN ROW EXCLUSIVE MODE"),
            (Self::Postgres, Purpose::Relaxed) => Cow::Borrowed("BEGIN; SET LOCAL synchronous_commit = off"),
            (Self::Postgres, Purpose::Claim) => Cow::Borrowed(
                "BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off",
            ),
        }
    }

    /// Between a claim's `UPDATE` and its read-back: the planner settings of
    /// [`Purpose::Claim`] are for the `UPDATE` only. With sorts off, the read-back (by lease
    /// token, ordered by position) walked the whole table in position order instead of the lease
    /// index: 28.7 ms against 0.14 ms with 20,000 deliveries (EXPLAIN ANALYZE), a quarter of
    /// PostgreSQL's active samples under a burst.
    fn claim_read(self) -> Option<&'static str> {
        match self {
            Self::Sqlite { .. } => None,
            Self::Postgres => {
                Some("SELECT set_config('enable_bitmapscan', 'on', true), set_config('enable_sort', 'on', true)")
            }
        }
    }

    /// First in a read transaction whose statements must see one snapshot (PostgreSQL's default,
    /// read committed, gives each statement its own; a SQLite read transaction has one already).
    pub(super) fn snapshot(self) -> Option<&'static str> {
        match self {
            Self::Sqlite { .. } => None,
            Self::Postgres => Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
        }
    }

    /// Where transactions commit side by side (PostgreSQL), a query answering the feed's horizon:
    /// no transaction below it can append an event any more (see `events.rs`). `None` where one
    /// writer commits in order (SQLite).
    pub(super) fn feed_horizon(self) -> Option<&'static str> {
        match self {
            Self::Sqlite { .. } => None,
            Self::Postgres => Some(FEED_HORIZON),
        }
    }

    /// After a claim's `LIMIT`: nodes claiming at once skip each other's rows.
    pub(super) fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Whether one process serves the database (SQLite), so that no other node holds claims or
    /// listens for changes.
    pub(super) fn serves_one_process(self) -> bool {
        matches!(self, Self::Sqlite { .. })
    }

    /// A statement that takes a transaction-scoped lock on the key `$1`, for a check-then-insert
    /// that must be atomic across nodes (PostgreSQL, read committed); `None` where one writer
    /// makes it atomic already (SQLite).
    pub(super) fn key_lock(self) -> Option<&'static str> {
        match self {
            Self::Sqlite { .. } => None,
            Self::Postgres => Some("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked"),
        }
    }
}

/// Delivery bookkeeping (claims, attempt records) commits without waiting for the disk: a
/// relaxed commit is atomic and survives a process crash; power loss (SQLite) or a server crash
/// (PostgreSQL) can lose the last ones, which only means an attempt sent again (at-least-once).
/// The acknowledged changes keep the configured durability.
pub(super) async fn relaxed(writer: &AnyPool, dialect: Dialect) -> StoreResult<PoolConnection<Any>> {
    let mut connection = writer.acquire().await?;
    if let Some(sql) = dialect.relax_connection() {
        sqlx::query(sql).execute(&mut *connection).await?;
    }
    Ok(connection)
}

/// Gives a [`relaxed`] connection its configured durability back.
pub(super) async fn restore(mut connection: PoolConnection<Any>, dialect: Dialect) -> StoreResult<()> {
    let Some(sql) = dialect.durable_connection() else { return Ok(()) };
    if let Err(error) = sqlx::query(&sql).execute(&mut *connection).await {
        // Never hand a relaxed connection back to the pool: the next one is opened as configured.
        connection.close_on_drop();
        return Err(error.into());
    }
    Ok(())
}

/// The feed's horizon on PostgreSQL: the lowest transaction id that may still append events to
/// this database. Every transaction that appends events takes `ROW EXCLUSIVE` on `events` before
/// its first write ([`Purpose::Change`]; an `INSERT` that is a transaction's first write
/// takes it before its id too), so one that started before this query and has not ended holds it
/// now, with its id; one that starts later gets an id at or above the next unassigned one. The
/// answer is the lower of the two, as a 64-bit id (`pg_locks` shows 32-bit ids: the epoch is the
/// next id's, or the one before for a number above it). Only this database's writers count; run
/// it before the feed's own statement, whose snapshot must be taken after it.
const FEED_HORIZON: &str = "
    SELECT LEAST(next.id, (
        SELECT min(CASE WHEN w.xid <= (next.id & 4294967295)
                        THEN ((next.id >> 32) << 32) + w.xid
                        ELSE (((next.id >> 32) - 1) << 32) + w.xid END)
        FROM (SELECT t.transactionid::text::bigint AS xid
              FROM pg_locks r JOIN pg_locks t ON t.virtualtransaction = r.virtualtransaction
              WHERE r.locktype = 'relation' AND r.relation = 'events'::regclass AND r.mode = 'RowExclusiveLock'
                AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock') AS w
    ))
    FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS id) AS next";

/// What a transaction on a writer connection is for, which decides how it begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// Acknowledged writes that append no event (the readiness probe): the configured durability.
    Durable,
    /// A group-commit batch, which may append events: durable, and on PostgreSQL it takes its lock
    /// on `events` before it has a transaction id, so that a reader of the feed that finds no
    /// such lock knows no older transaction can append one (see [`FEED_HORIZON`]).
    Change,
    /// Delivery bookkeeping (attempt records): relaxed (see [`relaxed`]); give the connection to
    /// [`restore`] after it.
    Relaxed,
    /// A claim: relaxed, and planned to walk the due index in order and stop at the claim's limit.
    /// PostgreSQL otherwise plans from its statistics, which a burst on a new table has not got
    /// (autovacuum analyses it a minute later): it then checks the per-session order of every due
    /// row and sorts them all, about 100 ms a claim with 20,000 waiting, where the ordered walk
    /// takes under a millisecond. Give the connection to [`restore`] after it.
    Claim,
}

/// Begins a transaction for `purpose` on a writer connection, in one round trip.
pub(super) async fn begin(
    connection: &mut AnyConnection,
    dialect: Dialect,
    purpose: Purpose,
) -> StoreResult<Transaction<'_, Any>> {
    Ok(connection.begin_with(dialect.begin_statement(purpose)).await?)
}

/// Inside a claim's transaction, after its `UPDATE`: plan the read-back as usual (PostgreSQL).
pub(super) async fn plan_claim_read(tx: &mut AnyConnection, dialect: Dialect) -> StoreResult<()> {
    run(tx, dialect.claim_read()).await
}

async fn run(tx: &mut AnyConnection, sql: Option<&str>) -> StoreResult<()> {
    if let Some(sql) = sql {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sql::{Durability, SqlStore};
    use crate::{ClaimWindow, Store};
    use sqlx::AnyPool;

    async fn pragma(pool: &AnyPool, name: &str) -> String {
        use sqlx::Row;
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
        store.claim_deliveries(ClaimWindow { due_at: now, wall_now: now, lease_until: now, limit: 10 }).await.unwrap();
        assert_eq!(pragma(&store.writer, "synchronous").await, "2");
        let relaxed = SqlStore::open(&url, Durability::Normal).await.unwrap();
        assert_eq!(pragma(&relaxed.writer, "synchronous").await, "1");
    }
}
