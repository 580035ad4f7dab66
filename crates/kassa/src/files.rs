//! The process's file limit and the client connections that fit under it.

/// Files the process keeps for itself besides client connections: the database, the callbacks'
/// own connections, its files.
pub const RESERVED_FILES: u64 = 128;

/// The process's file limit, raised to its hard limit.
pub fn file_limit() -> Result<u64, String> {
    rlimit::increase_nofile_limit(u64::MAX).map_err(|e| format!("cannot read the file limit: {e}"))
}

/// The most client connections that fit under `file_limit` (none: the limit is too low).
pub fn connections_that_fit(file_limit: u64) -> Option<u64> {
    file_limit.checked_sub(RESERVED_FILES).filter(|fit| *fit > 0)
}
