//! A Klarna Payments session as kassa stores it: its lifecycle (kassa-core), the request as the
//! merchant last gave it, its client token, and the latest authorization token issued for it.

use crate::wire::payments::PaymentSessionRequest;
use kassa_core::Timestamp;
use kassa_core::payment::{PaymentSession, PaymentStatus};
use kassa_store::SessionKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentRecord {
    #[serde(flatten)]
    pub session: PaymentSession,
    pub request: PaymentSessionRequest,
    pub client_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_token: Option<String>,
}

kassa_store::session_record!(PaymentRecord, SessionKind::Payment, |r| {
    id: &r.session.id,
    merchant: &r.session.merchant_id,
    parent: None,
    lifecycle: r.session.lifecycle,
    created: r.session.created_at,
    expires: Some(r.session.expires_at),
    token: None,
});

impl PaymentRecord {
    /// Live at `now` (not expired, not cancelled) and still without an order: what a consumer can
    /// pay with.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.session.is_live(now) && self.session.status() == PaymentStatus::Incomplete
    }
}
