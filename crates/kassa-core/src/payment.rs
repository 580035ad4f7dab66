//! Klarna Payments sessions (the cart behind an HPP session or an in-store distribution) and the
//! authorization tokens issued for them.

use crate::machine::{Event, Lifecycle, Rejected, StateMachine};
use crate::{Timestamp, wire_enum};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// `incomplete` until an order has been placed; `cancelled` (kassa-internal) after DELETE,
    /// which Klarna answers with 404 from then on.
    pub enum PaymentStatus {
        Incomplete = "incomplete",
        Complete = "complete",
        Cancelled = "cancelled",
    }
}

wire_enum! {
    pub enum PaymentAction {
        /// An order was placed from one of the session's authorizations.
        PlaceOrder = "place_order",
        /// The merchant cancelled the session.
        Cancel = "cancel",
    }
}

pub struct PaymentMachine;

impl StateMachine for PaymentMachine {
    type Status = PaymentStatus;
    type Action = PaymentAction;

    #[rustfmt::skip]
    const TRANSITIONS: &'static [(PaymentStatus, PaymentAction, PaymentStatus)] = &[
        (PaymentStatus::Incomplete, PaymentAction::PlaceOrder, PaymentStatus::Complete),
        (PaymentStatus::Incomplete, PaymentAction::Cancel,     PaymentStatus::Cancelled),
    ];

    fn is_final(status: PaymentStatus) -> bool {
        status != PaymentStatus::Incomplete
    }
}

wire_enum! {
    pub enum AcquiringChannel {
        Ecommerce = "ECOMMERCE",
        InStore = "IN_STORE",
        Telesales = "TELESALES",
    }
}

/// A payment session's lifecycle facts; the cart and the rest of the request are kept beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSession {
    pub id: String,
    pub merchant_id: String,
    pub lifecycle: Lifecycle<PaymentStatus>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub acquiring_channel: AcquiringChannel,
}

impl PaymentSession {
    /// A payment session lives 48 hours.
    pub const LIFETIME_HOURS: i64 = 48;

    pub fn create(
        id: String,
        merchant_id: String,
        acquiring_channel: AcquiringChannel,
        now: Timestamp,
    ) -> (Self, Event<PaymentStatus>) {
        let (lifecycle, event) = Lifecycle::start(PaymentStatus::Incomplete, now);
        let expires_at = now.plus_hours(Self::LIFETIME_HOURS);
        (Self { id, merchant_id, lifecycle, created_at: now, expires_at, acquiring_channel }, event)
    }

    pub fn status(&self) -> PaymentStatus {
        self.lifecycle.status
    }

    /// Readable through the API: neither expired nor cancelled.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at && self.status() != PaymentStatus::Cancelled
    }

    pub fn apply(&self, action: PaymentAction, now: Timestamp) -> Result<(Self, Event<PaymentStatus>), Rejected> {
        let (lifecycle, event) = self.lifecycle.apply::<PaymentMachine>(action, now)?;
        Ok((Self { lifecycle, ..self.clone() }, event))
    }
}

wire_enum! {
    pub enum AuthorizationStatus {
        /// Issued and usable until it expires.
        Valid = "valid",
        /// Turned into an order (only one authorization of a session ever is).
        Ordered = "ordered",
        /// Released by the merchant (`DELETE /payments/v1/authorizations/{token}`).
        Released = "released",
    }
}

/// An authorization token: valid 60 minutes; several may be issued per session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    pub token: String,
    pub merchant_id: String,
    pub payment_session_id: String,
    pub status: AuthorizationStatus,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Authorization {
    pub const LIFETIME_MINUTES: i64 = 60;

    pub fn issue(token: String, session: &PaymentSession, now: Timestamp) -> Self {
        Self {
            token,
            merchant_id: session.merchant_id.clone(),
            payment_session_id: session.id.clone(),
            status: AuthorizationStatus::Valid,
            created_at: now,
            expires_at: now.plus_minutes(Self::LIFETIME_MINUTES),
        }
    }

    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.status == AuthorizationStatus::Valid && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::laws::check_machine;

    #[test]
    fn table_and_laws() {
        check_machine::<PaymentMachine>(PaymentStatus::ALL, PaymentAction::ALL);
    }

    #[test]
    fn authorization_lives_sixty_minutes() {
        let (session, _) =
            PaymentSession::create("p".into(), "m".into(), AcquiringChannel::Ecommerce, Timestamp::from_millis(0));
        let auth = Authorization::issue("t".into(), &session, Timestamp::from_millis(0));
        assert!(auth.is_usable(Timestamp::from_millis(60 * crate::time::MINUTE - 1)));
        assert!(!auth.is_usable(Timestamp::from_millis(60 * crate::time::MINUTE)));
        assert_eq!(session.expires_at, Timestamp::from_millis(48 * crate::time::HOUR));
    }
}
