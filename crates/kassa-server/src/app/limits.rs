//! Settings of the in-memory limits that protect credentials and the store pages (see
//! [`crate::app::auth_throttle`] and [`crate::app::scan_limits`]); read from `kassa serve`'s flags.

use std::time::Duration;

/// A leaky bucket's rate: `burst` events at once, then one more every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub every: Duration,
}

impl Rate {
    /// `per_minute` events a minute, all of them at once if they come at once; `None` for 0 (off).
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        (per_minute > 0).then(|| Self { burst: per_minute, every: Duration::from_secs(60) / per_minute })
    }
}

/// Failed credential attempts (HTTP Basic on the API, the `/login` form), counted per client
/// address and per username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthThrottleSettings {
    /// Failures allowed at once (per address, and per username), and how fast they are forgiven.
    pub failures: Rate,
    /// How many addresses, usernames, and known-good pairs are tracked at most (each).
    pub max_tracked: usize,
}

impl AuthThrottleSettings {
    pub const DEFAULT_FAILURES: u32 = 10;
    pub const DEFAULT_REFILL: Duration = Duration::from_secs(6);
    pub const DEFAULT_MAX_TRACKED: usize = 100_000;
}

impl Default for AuthThrottleSettings {
    fn default() -> Self {
        Self {
            failures: Rate { burst: Self::DEFAULT_FAILURES, every: Self::DEFAULT_REFILL },
            max_tracked: Self::DEFAULT_MAX_TRACKED,
        }
    }
}

/// Consumer sessions (short codes) the store pages create, per client address and per merchant
/// (whose stores share one code space); `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanLimits {
    pub per_address: Option<Rate>,
    pub per_merchant: Option<Rate>,
    /// How many addresses and merchants are tracked at most (each).
    pub max_tracked: usize,
}

impl ScanLimits {
    pub const DEFAULT_PER_ADDRESS: u32 = 5;
    pub const DEFAULT_PER_MERCHANT: u32 = 600;

    pub fn off() -> Self {
        Self { per_address: None, per_merchant: None, ..Self::default() }
    }
}

impl Default for ScanLimits {
    fn default() -> Self {
        Self {
            per_address: Rate::per_minute(Self::DEFAULT_PER_ADDRESS),
            per_merchant: Rate::per_minute(Self::DEFAULT_PER_MERCHANT),
            max_tracked: AuthThrottleSettings::DEFAULT_MAX_TRACKED,
        }
    }
}
