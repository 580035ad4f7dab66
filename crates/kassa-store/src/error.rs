use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A guard did not hold (someone else changed the row first) or a unique key was taken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A change that finishes a job found the job gone: another run of it committed first.
    #[error("job {0} was already done")]
    JobDone(String),
    /// Stored data that does not decode: a bug or a foreign write, never the caller's fault.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The write could not be made (the database refused the transaction).
    #[error("{0}")]
    Failed(String),
    /// The database cannot take the write now: its storage failed (an I/O error, a failed
    /// fsync, a full disk) or it cannot be reached. Nothing of the write was acknowledged.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

/// SQLite's primary result codes (the low byte of an extended code) that mean the storage
/// failed: `SQLITE_READONLY` (a file system remounted read-only), `SQLITE_IOERR` (a failed read,
/// write or fsync), `SQLITE_FULL`, `SQLITE_CANTOPEN`.
const SQLITE_STORAGE: [i64; 4] = [8, 10, 13, 14];

/// PostgreSQL's SQLSTATE classes and codes that mean the server cannot take work now: connection
/// exceptions, insufficient resources (a full disk), operator intervention (a shutdown), a
/// system I/O error, a read-only (standby) server.
fn postgres_unavailable(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") || code == "58030" || code == "25006"
}

impl StoreError {
    /// Whether the database itself failed (storage or connection), rather than the request: the
    /// request may be made again later, and the service is not ready meanwhile.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Database(error) => match error {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // A SQLSTATE is always five characters (often all digits); SQLite's extended
                // result codes are numbers of at most four digits.
                sqlx::Error::Database(db) => db.code().is_some_and(|code| match code.parse::<i64>() {
                    Ok(sqlite) if code.len() < 5 => SQLITE_STORAGE.contains(&(sqlite & 0xff)),
                    _ => postgres_unavailable(&code),
                }),
                _ => false,
            },
            _ => false,
        }
    }

    /// A failed write: a unique key taken, the `orders` ledger's CHECK on the amounts (the rows
    /// read no longer allow the write; any other CHECK is a bug and stays an error), or PostgreSQL giving up one of two writers that wait for each other's rows
    /// (deadlock, serialization failure), is a [`StoreError::Conflict`]: nothing was written, and
    /// a second try decides afresh.
    pub(crate) fn from_write(error: sqlx::Error) -> Self {
        Self::Database(error).retryable()
    }

    /// Whether PostgreSQL gave this transaction up for another that waited for its rows (deadlock)
    /// or that it could not be ordered with (serialization failure): nothing of it was written.
    pub(crate) fn was_given_up(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(db)) if matches!(db.code().as_deref(), Some("40P01" | "40001")))
    }

    /// The same error, a [`StoreError::Conflict`] where another writer was in the way.
    pub(crate) fn retryable(self) -> Self {
        let given_up = self.was_given_up();
        match &self {
            Self::Database(sqlx::Error::Database(db))
                if given_up
                    || db.is_unique_violation()
                    || (db.is_check_violation()
                        && (db.message().contains("refunded_amount") || db.table() == Some("orders"))) =>
            {
                Self::Conflict(db.message().to_owned())
            }
            _ => self,
        }
    }
}
