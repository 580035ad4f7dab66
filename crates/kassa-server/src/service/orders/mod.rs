//! Orders: placing them from authorizations ([`placing`]), everything Order Management does
//! with them ([`manage`]), and their timers ([`jobs`]).

pub mod jobs;
pub mod manage;
pub mod placing;

pub use placing::{place_order, release_authorization};
