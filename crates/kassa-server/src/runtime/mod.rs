//! What runs beside the requests: the delivery worker (status callbacks), the message worker
//! (distribution messages), the scheduler (durable timers) and the rate limiter's counters.

pub mod delivery;
pub mod messages;
pub mod rate_limiter;
pub mod scheduler;
pub mod worker;
