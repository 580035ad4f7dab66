//! What a payment link names: an HPP session (its `redirect_url`) or an in-store distribution
//! (its `payment_link`), with the merchant, shop and cart the page shows.

use super::view::{Cart, Shop, buy_label, locale};
use crate::app::state::AppState;
use crate::model::payment::PaymentRecord;
use crate::pages::PageError;
use axum::http::StatusCode;
use kassa_core::distribution::{Distribution, DistributionStatus};
use kassa_core::hpp::{HppSession, HppStatus};
use kassa_store::{Merchant, StoreExt, Stored};

#[allow(clippy::large_enum_variant, reason = "one short-lived value per request")]
pub enum Subject {
    Hpp(Stored<HppSession>),
    InStore(Stored<Distribution>),
}

/// Where the consumer stands with a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Not opened yet (or left after a decline, back or error): opening the page resumes.
    Resumable,
    /// Open: the consumer can identify and pay.
    Open,
    /// Nothing more to do here: the page explains why.
    Closed,
    /// The link exists but the payment is not ready for it (in-store WAITING).
    NotYet,
}

impl Subject {
    /// The subject `key` (an HPP session id or an in-store link token) names, unless expired.
    pub async fn find(state: &AppState, key: &str) -> Result<Self, PageError> {
        let gone = || PageError::not_found("This payment link is unknown. Ask the shop for a new one.");
        if let Some(session) = state.store.load::<HppSession>(key).await? {
            if session.is_expired(state.merchant_now(&session.merchant_id).await) {
                return Err(PageError::new(
                    StatusCode::GONE,
                    "This payment link has expired",
                    "The time to pay with this link is over. Go back to the shop to start again.",
                ));
            }
            return Ok(Self::Hpp(session));
        }
        let found: Option<Stored<Distribution>> = state.store.load_by_token(key).await?;
        found.map(Self::InStore).ok_or_else(gone)
    }

    pub fn merchant_id(&self) -> &str {
        match self {
            Self::Hpp(s) => &s.merchant_id,
            Self::InStore(d) => &d.merchant_id,
        }
    }

    /// The payment session whose cart is paid.
    pub fn payment_session_id(&self) -> &str {
        match self {
            Self::Hpp(s) => &s.payment_session_id,
            Self::InStore(d) => &d.session_id,
        }
    }

    pub fn status(&self) -> String {
        match self {
            Self::Hpp(s) => s.status().to_string(),
            Self::InStore(d) => d.status().to_string(),
        }
    }

    pub fn stage(&self) -> Stage {
        match self {
            Self::Hpp(s) => match s.status() {
                HppStatus::InProgress => Stage::Open,
                HppStatus::Waiting | HppStatus::Failed | HppStatus::Back | HppStatus::Error => Stage::Resumable,
                _ => Stage::Closed,
            },
            Self::InStore(d) => match d.status() {
                DistributionStatus::Accessed => Stage::Open,
                DistributionStatus::Waiting => Stage::NotYet,
                _ if d.shows_link() => Stage::Resumable,
                _ => Stage::Closed,
            },
        }
    }

    pub async fn merchant(&self, state: &AppState) -> Result<Merchant, PageError> {
        let found = state.store.merchant(self.merchant_id()).await?;
        found.ok_or_else(|| PageError::internal(format!("no merchant {}", self.merchant_id())))
    }

    /// The payment session behind the link, while it is stored.
    pub async fn payment(&self, state: &AppState) -> Result<Stored<PaymentRecord>, PageError> {
        let found = state.store.load::<PaymentRecord>(self.payment_session_id()).await?;
        found.ok_or_else(|| PageError::not_found("The payment behind this link no longer exists."))
    }
}

/// Everything the page shows about the purchase.
pub struct Purchase {
    pub shop: Shop,
    pub cart: Cart,
    pub buy: &'static str,
    pub locale: String,
    /// HPP offers Back (to the merchant's site); in store there is no site to go back to.
    pub can_go_back: bool,
}

impl Purchase {
    pub async fn of(state: &AppState, subject: &Subject, merchant: &Merchant) -> Result<Self, PageError> {
        let payment = subject.payment(state).await?;
        Ok(match subject {
            Subject::Hpp(s) => Self {
                shop: Shop::hpp(&s.options, &merchant.name),
                cart: Cart::of(&payment, s.options.show_subtotal_detail),
                buy: buy_label(s.options.purchase_type),
                locale: locale(&payment).to_owned(),
                can_go_back: true,
            },
            Subject::InStore(_) => Self {
                shop: Shop::in_store(&merchant.name),
                cart: Cart::of(&payment, None),
                buy: "Pay",
                locale: locale(&payment).to_owned(),
                can_go_back: false,
            },
        })
    }
}
