//! How many consumer sessions (short codes) the store pages create per client address and per
//! merchant, per node and in memory (see [`ScanLimits`]). Pure: time is passed in (the wall
//! clock). A merchant's stores share one code space, and a store link's store name is not
//! checked, so the second limit is per merchant: forged store names cannot multiply it.

use crate::app::auth_throttle::address_key;
use crate::app::buckets::Buckets;
use crate::app::limits::ScanLimits;
use kassa_core::Timestamp;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What ran out, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_secs: u64,
    /// `"address"` or `"merchant"`.
    pub by: &'static str,
}

pub struct ScanLimiter {
    per_address: Option<Mutex<Buckets<IpAddr>>>,
    per_merchant: Option<Mutex<Buckets<String>>>,
}

impl ScanLimiter {
    pub fn new(limits: ScanLimits) -> Self {
        Self {
            per_address: limits.per_address.map(|rate| Mutex::new(Buckets::new(rate, limits.max_tracked))),
            per_merchant: limits.per_merchant.map(|rate| Mutex::new(Buckets::new(rate, limits.max_tracked))),
        }
    }

    /// Counts one new consumer session of `merchant_id` for `address` (unknown: `None`), unless a
    /// limit is used up. A scan refused by the merchant's limit is not counted against the address.
    pub fn take(&self, merchant_id: &str, address: Option<IpAddr>, now: Timestamp) -> Result<(), Limited> {
        let address = address.map(address_key);
        let mut by_address = lock(&self.per_address);
        if let (Some(buckets), Some(address)) = (by_address.as_mut(), address)
            && let Some(wait) = buckets.wait(&address, now)
        {
            return Err(Limited { retry_after_secs: wait, by: "address" });
        }
        if let Some(buckets) = lock(&self.per_merchant).as_mut() {
            buckets.take(merchant_id, now).map_err(|wait| Limited { retry_after_secs: wait, by: "merchant" })?;
        }
        if let (Some(buckets), Some(address)) = (by_address.as_mut(), address) {
            buckets.add(&address, now);
        }
        Ok(())
    }
}

fn lock<T>(buckets: &Option<Mutex<T>>) -> Option<MutexGuard<'_, T>> {
    buckets.as_ref().map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::limits::Rate;

    #[test]
    fn per_address_and_per_merchant() {
        let limits =
            ScanLimits { per_address: Rate::per_minute(2), per_merchant: Rate::per_minute(3), max_tracked: 10 };
        let limiter = ScanLimiter::new(limits);
        let (a, b) = (Some("10.0.0.1".parse().unwrap()), Some("10.0.0.2".parse().unwrap()));
        let t = Timestamp::from_millis(0);
        assert!(limiter.take("m", a, t).is_ok());
        assert!(limiter.take("m", a, t).is_ok());
        assert_eq!(limiter.take("m", a, t), Err(Limited { retry_after_secs: 30, by: "address" }));
        assert!(limiter.take("m", b, t).is_ok());
        assert_eq!(limiter.take("m", b, t).unwrap_err().by, "merchant");
        assert!(limiter.take("n", b, t).is_ok(), "the merchant's refusal did not count against b");
        assert!(ScanLimiter::new(ScanLimits::off()).take("m", a, t).is_ok());
    }
}
