//! kassa's pure domain.
//!
//! Every session kind is a state machine driven by an explicit transition table that mirrors the
//! seed documents ([`hpp`] for seed 001, [`distribution`] for seed 000, [`payment`] for the Klarna
//! Payments session behind both). Nothing here performs I/O or reads a clock: time is a parameter.

pub mod cart;
pub mod customer_token;
pub mod distribution;
pub mod hpp;
pub mod machine;
pub mod nesting;
pub mod order;
pub mod payment;
pub mod placeholders;
pub mod retry;
pub mod signature;
pub mod time;

pub use machine::{Event, Lifecycle, Rejected, StateMachine};
pub use time::Timestamp;
