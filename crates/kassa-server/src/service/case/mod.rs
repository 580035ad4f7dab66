//! The payment aggregate: a payment session with the HPP sessions that host it and its in-store
//! distribution, loaded as one [`PaymentCase`], and every change a command makes to it built
//! without I/O, from what was loaded: `(context, rows) → Change` or a refusal. A use case loads,
//! calls one builder, commits.

mod cancel;
mod distribute;
mod loaded;
mod order;
mod transition;

#[cfg(test)]
mod tests;

pub use cancel::{cancel_distribution, cancel_payment, payment_cancelled};
pub use distribute::{distribute, fail_waiting, schedule, start_distribution};
pub use loaded::{Context, PaymentCase, event_row};
pub use order::{
    approve_hpp, expiry_job, order_moved, order_refused, pay_distribution, place_order, placed_order, require_open_page,
};
pub use transition::{disable_hosted, distribution_command, hpp_action, hpp_transition};
