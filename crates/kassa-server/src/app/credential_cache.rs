//! Recently verified API credentials, so a merchant's next request skips the database lookup of
//! its record and the check of its secret.
//!
//! Only a success is kept, under a SHA-256 of the username and the secret as presented (never the
//! secret itself): other credentials for the same username miss, are looked up and checked, and a
//! failure is counted by the auth throttle as before. An entry lives at most [`TTL`]: merchants
//! change from other processes (the `kassa merchant …` commands), so a changed merchant record
//! (its webhook settings, or a secret no longer valid) is seen by this node within that bound.

use kassa_store::Merchant;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a verified merchant record serves requests at most.
pub const TTL: Duration = Duration::from_secs(2);

/// How many credentials are kept at most.
pub const CAPACITY: usize = 1_000;

type Key = [u8; 32];

#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<Key, (Merchant, Instant)>>,
}

impl CredentialCache {
    /// The merchant these credentials were verified for within [`TTL`], if any.
    pub fn verified(&self, username: &str, secret: &str) -> Option<Merchant> {
        let key = key(username, secret);
        let entries = self.lock();
        let (merchant, verified_at) = entries.get(&key)?;
        (verified_at.elapsed() < TTL).then(|| merchant.clone())
    }

    /// Keeps `merchant` as verified for `secret` (call only after a successful check).
    pub fn remember(&self, merchant: &Merchant, secret: &str) {
        let key = key(&merchant.username, secret);
        let mut entries = self.lock();
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.retain(|_, (_, at)| at.elapsed() < TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (merchant.clone(), Instant::now()));
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, (Merchant, Instant)>> {
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
