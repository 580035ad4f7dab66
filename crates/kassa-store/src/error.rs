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
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// A failed write: a unique key taken, the `orders` ledger's CHECK on the amounts (the rows
    /// read no longer allow the write; any other CHECK is a bug and stays an error), or PostgreSQL giving up one of two writers that wait for each other's rows
    /// (deadlock, serialization failure), is a [`StoreError::Conflict`]: nothing was written, and
    /// a second try decides afresh.
    pub(crate) fn from_write(error: sqlx::Error) -> Self {
        Self::Database(error).retryable()
    }

    /// The same error, a [`StoreError::Conflict`] where another writer was in the way.
    pub(crate) fn retryable(self) -> Self {
        match &self {
            Self::Database(sqlx::Error::Database(db))
                if db.is_unique_violation()
                    || (db.is_check_violation()
                        && (db.message().contains("refunded_amount") || db.table() == Some("orders")))
                    || matches!(db.code().as_deref(), Some("40P01" | "40001")) =>
            {
                Self::Conflict(db.message().to_owned())
            }
            _ => self,
        }
    }
}
