//! How each session kind maps onto the shared `sessions` table: a few columns the database
//! guards and filters on, and the whole record as JSON state.

use crate::{SessionKind, StoreError};
use kassa_core::Timestamp;
use kassa_core::distribution::Distribution;
use kassa_core::hpp::HppSession;
use kassa_core::machine::Named;
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

impl SessionRecord for HppSession {
    const KIND: SessionKind = SessionKind::Hpp;
    fn id(&self) -> &str {
        &self.id
    }
    fn merchant_id(&self) -> &str {
        &self.merchant_id
    }
    fn parent_id(&self) -> Option<&str> {
        Some(&self.payment_session_id)
    }
    fn status_name(&self) -> &'static str {
        self.lifecycle.status.name()
    }
    fn version(&self) -> u64 {
        self.lifecycle.version
    }
    fn created_at(&self) -> Timestamp {
        self.created_at
    }
    fn updated_at(&self) -> Timestamp {
        self.lifecycle.updated_at
    }
    fn expires_at(&self) -> Option<Timestamp> {
        Some(self.expires_at)
    }
}

impl SessionRecord for Distribution {
    const KIND: SessionKind = SessionKind::Distribution;
    fn id(&self) -> &str {
        &self.session_id
    }
    fn merchant_id(&self) -> &str {
        &self.merchant_id
    }
    fn parent_id(&self) -> Option<&str> {
        Some(&self.session_id)
    }
    fn status_name(&self) -> &'static str {
        self.lifecycle.status.name()
    }
    fn version(&self) -> u64 {
        self.lifecycle.version
    }
    fn created_at(&self) -> Timestamp {
        self.created_at
    }
    fn updated_at(&self) -> Timestamp {
        self.lifecycle.updated_at
    }
    fn expires_at(&self) -> Option<Timestamp> {
        None
    }
}
