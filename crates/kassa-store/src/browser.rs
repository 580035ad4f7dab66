//! Browser sessions: a merchant's login to the dashboard and the clerk screen, found by the
//! SHA-256 of the token its cookie holds (the database never holds the token itself).

use kassa_core::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// SHA-256 of the cookie's token, lowercase hex.
    pub token_hash: String,
    pub merchant_id: String,
    pub created_at: Timestamp,
    /// The login ends then, whatever happens (real time).
    pub expires_at: Timestamp,
    /// When a page last used it (updated at most about once a minute).
    pub last_seen_at: Timestamp,
}
