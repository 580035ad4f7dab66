//! Throttling of failed credential attempts (HTTP Basic on the API, the `/login` form), per node
//! and in memory. Pure: time is passed in (the wall clock: the sandbox clock moves nothing here).
//!
//! - Every failure is counted in a bucket of its client address and in one of its username
//!   (only usernames of existing merchants: unknown ones cannot fill the map). See
//!   [`AuthThrottleSettings`] for the rate.
//! - An address whose bucket is empty has every credential attempt refused before it is checked.
//! - A username whose bucket is empty has its attempts refused without checking them, except from
//!   an address that authenticated as that username in the last [`KNOWN_GOOD_MILLIS`]: someone
//!   guessing from elsewhere cannot lock the merchant's own servers and browsers out.
//! - IPv6 addresses are counted by their /64 (one host usually holds a whole /64).
//! - Memory is bounded: at most `max_tracked` addresses, usernames and known-good pairs each (see
//!   [`crate::app::buckets`]); when a map is full of live entries, a new address or username is
//!   not counted, and a new known-good pair not remembered, until entries run out.

use crate::app::buckets::Buckets;
use crate::app::limits::AuthThrottleSettings;
use kassa_core::Timestamp;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};

/// How long a successful authentication makes its address known good for its username.
pub const KNOWN_GOOD_MILLIS: i64 = 24 * 3600 * 1000;

/// Why an attempt is refused without being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Whole seconds until an attempt may be made again.
    pub retry_after_secs: u64,
    /// What ran out of attempts: `"address"` or `"username"`.
    pub by: &'static str,
}

pub struct AuthThrottle {
    settings: Option<AuthThrottleSettings>,
    inner: Mutex<Inner>,
}

struct Inner {
    addresses: Buckets<IpAddr>,
    usernames: Buckets<String>,
    known_good: KnownGood,
}

/// Username → address → until when it is known good.
struct KnownGood {
    max: usize,
    len: usize,
    until: HashMap<String, HashMap<IpAddr, i64>>,
    next_prune: i64,
}

impl KnownGood {
    fn contains(&self, username: &str, address: IpAddr, now: i64) -> bool {
        self.until.get(username).and_then(|a| a.get(&address)).is_some_and(|until| *until > now)
    }

    fn remember(&mut self, username: &str, address: IpAddr, now: i64) {
        let until = now.saturating_add(KNOWN_GOOD_MILLIS);
        if let Some(known) = self.until.get_mut(username).and_then(|a| a.get_mut(&address)) {
            *known = until;
            return;
        }
        if self.len >= self.max && now >= self.next_prune {
            self.until.retain(|_, addresses| {
                addresses.retain(|_, until| *until > now);
                !addresses.is_empty()
            });
            self.len = self.until.values().map(HashMap::len).sum();
            self.next_prune = now.saturating_add(1000);
        }
        if self.len < self.max {
            self.until.entry(username.to_owned()).or_default().insert(address, until);
            self.len += 1;
        }
    }
}

/// The key an address is counted by: IPv4 (also IPv4-mapped IPv6) as is, IPv6 by its /64.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

impl AuthThrottle {
    /// `None` turns throttling off.
    pub fn new(settings: Option<AuthThrottleSettings>) -> Self {
        let settings_or_default = settings.unwrap_or_default();
        let (rate, max) = (settings_or_default.failures, settings_or_default.max_tracked);
        Self {
            settings,
            inner: Mutex::new(Inner {
                addresses: Buckets::new(rate, max),
                usernames: Buckets::new(rate, max),
                known_good: KnownGood { max, len: 0, until: HashMap::new(), next_prune: i64::MIN },
            }),
        }
    }

    fn inner(&self) -> Option<std::sync::MutexGuard<'_, Inner>> {
        self.settings?;
        Some(self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether an attempt for `username` from `address` (unknown: `None`) may be checked now.
    pub fn admit(&self, username: &str, address: Option<IpAddr>, now: Timestamp) -> Result<(), Refusal> {
        let Some(inner) = self.inner() else { return Ok(()) };
        let address = address.map(address_key);
        if let Some(wait) = address.and_then(|a| inner.addresses.wait(&a, now)) {
            return Err(Refusal { retry_after_secs: wait, by: "address" });
        }
        if let Some(wait) = inner.usernames.wait(username, now)
            && !address.is_some_and(|a| inner.known_good.contains(username, a, now.millis()))
        {
            return Err(Refusal { retry_after_secs: wait, by: "username" });
        }
        Ok(())
    }

    /// An attempt failed; `merchant_exists` says whether `username` is a merchant's.
    pub fn failed(&self, username: &str, merchant_exists: bool, address: Option<IpAddr>, now: Timestamp) {
        let Some(mut inner) = self.inner() else { return };
        if let Some(address) = address.map(address_key) {
            inner.addresses.add(&address, now);
        }
        if merchant_exists {
            inner.usernames.add(username, now);
        }
    }

    /// An attempt succeeded: its address is known good for `username` from now on.
    pub fn succeeded(&self, username: &str, address: Option<IpAddr>, now: Timestamp) {
        let Some(address) = address.map(address_key) else { return };
        let Some(mut inner) = self.inner() else { return };
        inner.known_good.remember(username, address, now.millis());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::limits::Rate;
    use std::time::Duration;

    fn throttle(max_tracked: usize) -> AuthThrottle {
        AuthThrottle::new(Some(AuthThrottleSettings {
            failures: Rate { burst: 3, every: Duration::from_secs(6) },
            max_tracked,
        }))
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    const T: Timestamp = Timestamp::from_millis(1_000_000);

    #[test]
    fn an_address_runs_out_of_failures() {
        let throttle = throttle(100);
        for _ in 0..3 {
            assert_eq!(throttle.admit("shop", ip("10.0.0.1"), T), Ok(()));
            throttle.failed("nobody", false, ip("10.0.0.1"), T);
        }
        let refused = throttle.admit("other", ip("10.0.0.1"), T).unwrap_err();
        assert_eq!(refused, Refusal { retry_after_secs: 6, by: "address" });
        assert_eq!(throttle.admit("other", ip("10.0.0.2"), T), Ok(()));
        assert_eq!(throttle.admit("other", ip("10.0.0.1"), T.plus_millis(6_000)), Ok(()));
        assert_eq!(throttle.admit("nobody", ip("10.0.0.2"), T), Ok(()), "unknown usernames are not counted");
    }

    #[test]
    fn a_username_under_attack_still_admits_its_known_good_addresses() {
        let throttle = throttle(100);
        throttle.succeeded("shop", ip("10.0.0.9"), T);
        for i in 0..3 {
            throttle.failed("shop", true, ip(&format!("10.0.1.{i}")), T);
        }
        assert_eq!(throttle.admit("shop", ip("10.0.2.1"), T).unwrap_err().by, "username");
        assert_eq!(throttle.admit("shop", None, T).unwrap_err().by, "username");
        assert_eq!(throttle.admit("shop", ip("10.0.0.9"), T), Ok(()));
        assert_eq!(throttle.admit("other", ip("10.0.2.1"), T), Ok(()));
        let later = T.plus_millis(KNOWN_GOOD_MILLIS);
        for i in 0..3 {
            throttle.failed("shop", true, ip(&format!("10.0.3.{i}")), later);
        }
        assert!(throttle.admit("shop", ip("10.0.0.9"), later).is_err(), "known good for a day");
    }

    #[test]
    fn ipv6_is_counted_by_its_64() {
        assert_eq!(address_key("2001:db8:1:2:3:4:5:6".parse().unwrap()), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_eq!(address_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn off_admits_everything() {
        let throttle = AuthThrottle::new(None);
        for _ in 0..100 {
            throttle.failed("shop", true, ip("10.0.0.1"), T);
        }
        assert_eq!(throttle.admit("shop", ip("10.0.0.1"), T), Ok(()));
    }

    #[test]
    fn known_good_pairs_are_bounded() {
        let throttle = throttle(2);
        for i in 0..5 {
            throttle.succeeded("shop", ip(&format!("10.0.0.{i}")), T);
        }
        assert_eq!(throttle.inner().unwrap().known_good.len, 2);
    }
}
