//! The claims a worker holds while their attempts wait and run, renewed together by one
//! heartbeat: a lease can stay short (a crashed node's callbacks are sent by another within one
//! lease) however long an attempt may take.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

#[derive(Default)]
pub struct HeldLeases {
    /// Lease token → deliveries of this worker under it that are not finished.
    tokens: Mutex<HashMap<String, usize>>,
}

/// One delivery's hold on its claim's lease; dropping it lets the heartbeat stop renewing the
/// claim once no delivery of it is left.
pub struct Hold {
    token: String,
    leases: Arc<HeldLeases>,
}

impl HeldLeases {
    pub fn hold(self: &Arc<Self>, token: &str) -> Hold {
        *self.lock().entry(token.to_owned()).or_default() += 1;
        Hold { token: token.to_owned(), leases: self.clone() }
    }

    /// The lease tokens to renew now.
    pub fn tokens(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut tokens = self.leases.lock();
        if let Some(count) = tokens.get_mut(&self.token) {
            *count -= 1;
            if *count == 0 {
                tokens.remove(&self.token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_while_any_delivery_holds_it() {
        let leases = Arc::new(HeldLeases::default());
        let first = leases.hold("a");
        let second = leases.hold("a");
        let other = leases.hold("b");
        let mut tokens = leases.tokens();
        tokens.sort();
        assert_eq!(tokens, ["a", "b"]);
        drop(first);
        drop(other);
        assert_eq!(leases.tokens(), ["a"]);
        drop(second);
        assert!(leases.tokens().is_empty());
    }
}
