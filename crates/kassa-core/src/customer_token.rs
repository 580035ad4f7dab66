//! Customer tokens (recurring payments): a payment session created with a tokenizing intent is
//! authorized once, and its authorization is exchanged for a token that places orders later,
//! the consumer absent (reference `klarna-order-management.md` §9).

use crate::machine::{Event, Lifecycle, Rejected, StateMachine};
use crate::{Timestamp, wire_enum};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// A token's status as the Customer Token API reads it.
    pub enum TokenStatus {
        /// Places orders.
        Active = "ACTIVE",
        /// Cancelled by the merchant; final (a returning customer needs a new token).
        Cancelled = "CANCELLED",
        /// Suspended by Klarna (in kassa: a sandbox control, or the operator).
        Suspended = "SUSPENDED",
    }
}

wire_enum! {
    pub enum TokenAction {
        Cancel = "cancel",
        Suspend = "suspend",
        Resume = "resume",
    }
}

pub struct TokenMachine;

impl StateMachine for TokenMachine {
    type Status = TokenStatus;
    type Action = TokenAction;

    #[rustfmt::skip]
    const TRANSITIONS: &'static [(TokenStatus, TokenAction, TokenStatus)] = {
        use TokenAction as A;
        use TokenStatus::*;
        &[
            (Active,    A::Cancel,  Cancelled),
            (Suspended, A::Cancel,  Cancelled),
            (Active,    A::Suspend, Suspended),
            (Suspended, A::Resume,  Active),
        ]
    };

    fn is_final(status: TokenStatus) -> bool {
        status == TokenStatus::Cancelled
    }
}

wire_enum! {
    /// What the payment session was created for (`intent`).
    pub enum Intent {
        Buy = "buy",
        Tokenize = "tokenize",
        BuyAndTokenize = "buy_and_tokenize",
    }
}

impl Intent {
    /// Whether an authorization of a session with this intent may become a token.
    pub fn tokenizes(self) -> bool {
        self != Self::Buy
    }

    /// Whether the authorization is used up by becoming a token (`tokenize`); with
    /// `buy_and_tokenize` it also places today's order.
    pub fn token_spends_authorization(self) -> bool {
        self == Self::Tokenize
    }
}

/// A customer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerToken {
    /// A UUID: the token itself.
    pub token_id: String,
    pub merchant_id: String,
    /// The payment session whose authorization became the token.
    pub payment_session_id: String,
    /// The authorization it was made from (one token per authorization).
    pub authorization_token: String,
    pub lifecycle: Lifecycle<TokenStatus>,
    pub created_at: Timestamp,
    pub description: String,
    pub purchase_country: String,
    pub purchase_currency: String,
    pub locale: String,
    /// What the consumer pays with (`INVOICE` in kassa's playground).
    pub payment_method_type: String,
}

/// Why a token cannot place an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUnusable {
    Cancelled,
    Suspended,
}

impl CustomerToken {
    pub fn status(&self) -> TokenStatus {
        self.lifecycle.status
    }

    /// A new, active token.
    pub fn create(mut token: CustomerToken, now: Timestamp) -> (Self, Event<TokenStatus>) {
        let (lifecycle, event) = Lifecycle::start(TokenStatus::Active, now);
        token.lifecycle = lifecycle;
        token.created_at = now;
        (token, event)
    }

    pub fn apply(&self, action: TokenAction, now: Timestamp) -> Result<(Self, Event<TokenStatus>), Rejected> {
        let (lifecycle, event) = self.lifecycle.apply::<TokenMachine>(action, now)?;
        Ok((Self { lifecycle, ..self.clone() }, event))
    }

    /// Whether the token places orders now.
    pub fn usable(&self) -> Result<(), TokenUnusable> {
        match self.status() {
            TokenStatus::Active => Ok(()),
            TokenStatus::Cancelled => Err(TokenUnusable::Cancelled),
            TokenStatus::Suspended => Err(TokenUnusable::Suspended),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::laws::check_machine;

    #[test]
    fn table_and_laws() {
        check_machine::<TokenMachine>(TokenStatus::ALL, TokenAction::ALL);
    }

    #[test]
    fn only_an_active_token_places_orders_and_cancelling_is_final() {
        let blank = CustomerToken {
            token_id: "t".into(),
            merchant_id: "m".into(),
            payment_session_id: "p".into(),
            authorization_token: "a".into(),
            lifecycle: Lifecycle::start(TokenStatus::Active, Timestamp::from_millis(0)).0,
            created_at: Timestamp::from_millis(0),
            description: "subscription".into(),
            purchase_country: "SE".into(),
            purchase_currency: "SEK".into(),
            locale: "sv-SE".into(),
            payment_method_type: "INVOICE".into(),
        };
        let (token, first) = CustomerToken::create(blank, Timestamp::from_millis(5));
        assert_eq!((first.seq, token.usable()), (1, Ok(())));
        let (suspended, _) = token.apply(TokenAction::Suspend, Timestamp::from_millis(6)).unwrap();
        assert_eq!(suspended.usable(), Err(TokenUnusable::Suspended));
        let (cancelled, _) = suspended.apply(TokenAction::Cancel, Timestamp::from_millis(7)).unwrap();
        assert_eq!(cancelled.usable(), Err(TokenUnusable::Cancelled));
        assert!(cancelled.apply(TokenAction::Resume, Timestamp::from_millis(8)).is_err());
        assert!(Intent::Tokenize.tokenizes() && Intent::BuyAndTokenize.tokenizes() && !Intent::Buy.tokenizes());
    }
}
