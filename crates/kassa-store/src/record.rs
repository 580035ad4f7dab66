//! How each session kind maps onto the shared `sessions` table: a few columns the database
//! guards and filters on, and the whole record as JSON state.

use crate::{SessionKind, StoreError};
use kassa_core::Timestamp;
use kassa_core::customer_token::CustomerToken;
use kassa_core::distribution::Distribution;
use kassa_core::hpp::HppSession;
use kassa_core::order::Order;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub trait SessionRecord: Serialize + DeserializeOwned + Send + Sync + 'static {
    const KIND: SessionKind;
    fn id(&self) -> &str;
    fn merchant_id(&self) -> &str;
    fn parent_id(&self) -> Option<&str>;
    fn status_name(&self) -> &'static str;
    fn version(&self) -> u64;
    fn created_at(&self) -> Timestamp;
    fn updated_at(&self) -> Timestamp;
    fn expires_at(&self) -> Option<Timestamp>;
    /// The consumer-facing token that finds the session (a payment link, a distribution-module
    /// token), unique per kind.
    fn token(&self) -> Option<&str>;
}

/// A record as loaded, with the revision its row had: the guard of the next write.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    pub record: T,
    pub revision: u64,
}

impl<T> std::ops::Deref for Stored<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.record
    }
}

pub(crate) fn decode<T: SessionRecord>((state, revision): (serde_json::Value, u64)) -> Result<Stored<T>, StoreError> {
    let record =
        serde_json::from_value(state).map_err(|e| StoreError::Corrupt(format!("{} session: {e}", T::KIND.as_str())))?;
    Ok(Stored { record, revision })
}

/// Implements [`SessionRecord`] from expressions over `self` (named by the closure argument).
#[macro_export]
macro_rules! session_record {
    ($ty:ty, $kind:expr, |$s:ident| {
        id: $id:expr, merchant: $merchant:expr, parent: $parent:expr,
        lifecycle: $life:expr, created: $created:expr, expires: $expires:expr, token: $token:expr $(,)?
    }) => {
        #[allow(unused_variables)] // an expression may not need `self` (`parent: None`)
        impl $crate::SessionRecord for $ty {
            const KIND: $crate::SessionKind = $kind;
            fn id(&self) -> &str {
                let $s = self;
                $id
            }
            fn merchant_id(&self) -> &str {
                let $s = self;
                $merchant
            }
            fn parent_id(&self) -> Option<&str> {
                let $s = self;
                $parent
            }
            fn status_name(&self) -> &'static str {
                let $s = self;
                $crate::__core::machine::Named::name($life.status)
            }
            fn version(&self) -> u64 {
                let $s = self;
                $life.version
            }
            fn created_at(&self) -> $crate::__core::Timestamp {
                let $s = self;
                $created
            }
            fn updated_at(&self) -> $crate::__core::Timestamp {
                let $s = self;
                $life.updated_at
            }
            fn expires_at(&self) -> Option<$crate::__core::Timestamp> {
                let $s = self;
                $expires
            }
            fn token(&self) -> Option<&str> {
                let $s = self;
                $token
            }
        }
    };
}

session_record!(HppSession, SessionKind::Hpp, |s| {
    id: &s.id,
    merchant: &s.merchant_id,
    parent: Some(&s.payment_session_id),
    lifecycle: s.lifecycle,
    created: s.created_at,
    expires: Some(s.expires_at),
    // Not indexed: a random key in one more index cost HPP creates a fifth of their throughput
    // (docs/PERFORMANCE.md); HPP sessions are found by id.
    token: None,
});

session_record!(Distribution, SessionKind::Distribution, |s| {
    id: &s.session_id,
    merchant: &s.merchant_id,
    parent: Some(&s.session_id),
    lifecycle: s.lifecycle,
    created: s.created_at,
    expires: None,
    token: s.link_token.as_deref(),
});

session_record!(Order, SessionKind::Order, |o| {
    id: &o.order_id,
    merchant: &o.merchant_id,
    parent: Some(&o.payment_session_id),
    lifecycle: o.lifecycle,
    created: o.created_at,
    expires: Some(o.expires_at),
    token: None,
});

session_record!(CustomerToken, SessionKind::CustomerToken, |t| {
    id: &t.token_id,
    merchant: &t.merchant_id,
    parent: Some(&t.payment_session_id),
    lifecycle: t.lifecycle,
    created: t.created_at,
    expires: None,
    // The authorization it was made from: the unique index keeps one token per authorization.
    token: Some(&t.authorization_token),
});
