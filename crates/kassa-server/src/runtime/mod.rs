//! What runs beside the requests: the delivery worker (status callbacks), the scheduler (durable
//! timers) and the rate limiter's counters.

pub mod delivery;
pub mod rate_limiter;
pub mod scheduler;
