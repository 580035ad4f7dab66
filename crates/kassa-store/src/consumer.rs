//! Consumer sessions: a customer who scans a store's static QR gets a short code tied to a
//! session on their phone; a point of sale that sends the code pushes its payment there.

use kassa_core::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSession {
    pub id: String,
    /// The merchant whose store QR was scanned: only its payments can use the code.
    pub merchant_id: String,
    /// 2–20 digits, unique among the merchant's live, free sessions.
    pub short_code: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The payment pushed to this session, once one was.
    pub payment_session_id: Option<String>,
}
