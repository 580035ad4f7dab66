//! Recently verified API credentials, so a merchant's next request skips the database lookup of
//! its record and the check of its secret.
//!
//! Only a success is kept, under a SHA-256 of the username and the secret as presented (never the
//! secret itself): other credentials for the same username miss, are looked up and checked, and a
//! failure is counted by the auth throttle as before. An entry lives at most [`TTL`]: merchants
//! change from other processes (the `kassa merchant …` commands), so a changed merchant record
//! (its webhook settings, or a secret no longer valid) is seen by this node within that bound.

use crate::app::expiring::Expiring;
use kassa_store::Merchant;
use sha2::{Digest, Sha256};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a verified merchant record serves requests at most.
pub const TTL: Duration = Duration::from_secs(2);

/// How many credentials are kept at most.
pub const CAPACITY: usize = 1_000;

type Key = [u8; 32];

pub struct CredentialCache {
    entries: Mutex<Expiring<Key, Merchant>>,
}

impl Default for CredentialCache {
    fn default() -> Self {
        Self { entries: Mutex::new(Expiring::new(TTL, CAPACITY)) }
    }
}

impl CredentialCache {
    /// The merchant these credentials were verified for within [`TTL`], if any.
    pub fn verified(&self, username: &str, secret: &str) -> Option<Merchant> {
        self.lock().fresh(&key(username, secret)).cloned()
    }

    /// Keeps `merchant` as verified for `secret` (call only after a successful check).
    pub fn remember(&self, merchant: &Merchant, secret: &str) {
        self.lock().insert(key(&merchant.username, secret), merchant.clone());
    }

    fn lock(&self) -> MutexGuard<'_, Expiring<Key, Merchant>> {
        // Every step leaves the map whole, whatever panicked while it was held.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Usernames contain no `:`, so `username:secret` names one pair.
fn key(username: &str, secret: &str) -> Key {
    Sha256::new().chain_update(username.as_bytes()).chain_update(b":").chain_update(secret.as_bytes()).finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::credentials;
    use kassa_core::Timestamp;

    #[test]
    fn only_the_verified_secret_finds_the_merchant() {
        let created = credentials::create("Shop", Some("shop"), None, Timestamp::from_millis(0)).unwrap();
        let cache = CredentialCache::default();
        assert!(cache.verified("shop", &created.secret).is_none());
        cache.remember(&created.merchant, &created.secret);
        assert_eq!(cache.verified("shop", &created.secret).map(|m| m.id), Some(created.merchant.id));
        assert!(cache.verified("shop", "another-secret-of-length").is_none());
        assert!(cache.verified("other", &created.secret).is_none());
    }
}
