//! The composition root: what a running server is made of (its store, clocks, settings, the
//! change bus, the message senders) and the configuration types, which depend on nothing else in
//! the crate.

pub mod addresses;
pub mod auth_throttle;
pub mod buckets;
pub mod bus;
pub mod cause;
pub mod clock;
pub mod config;
pub mod credential_cache;
pub mod expiring;
pub mod limits;
pub mod merchant_clocks;
pub mod messaging;
pub mod metrics;
pub mod rate_limits;
pub mod readiness;
pub mod scan_limits;
pub mod secrets;
pub mod sender;
pub mod session_cache;
pub mod state;
pub mod target;
pub mod turns;

pub use config::{Config, Mode};
pub use state::AppState;
