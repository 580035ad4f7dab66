//! Turns on a key: requests for the same order on this node take turns, so that concurrent
//! captures are decided one after the other instead of failing each other's revision guard
//! (which still decides between nodes). Striped: a fixed set of locks, a key hashed onto one.

use std::hash::{BuildHasher, RandomState};
use tokio::sync::{Mutex, MutexGuard};

/// How many locks the keys share; two keys on one lock only wait for each other.
const STRIPES: usize = 64;

pub struct Turns {
    locks: Vec<Mutex<()>>,
    hasher: RandomState,
}

impl Default for Turns {
    fn default() -> Self {
        Self { locks: (0..STRIPES).map(|_| Mutex::new(())).collect(), hasher: RandomState::new() }
    }
}

impl Turns {
    /// Waits for `key`'s turn; it lasts as long as the guard.
    pub async fn take(&self, key: &str) -> MutexGuard<'_, ()> {
        let stripe = self.hasher.hash_one(key) as usize % self.locks.len();
        self.locks[stripe].lock().await
    }
}
