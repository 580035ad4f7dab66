//! Black-box tests: the real server on port 0 with a fresh SQLite file, driven over HTTP.

mod callbacks;
mod errors;
mod event_stream;
mod following;
mod hpp_flows;
mod instore;
mod isolation;
mod jobs;
mod logins;
mod nesting;
mod orders;
mod pages;
mod payments;
mod public;
mod rate_limits;
mod read_cache;
mod recovery;
mod sandbox_callbacks;
mod sandbox_clocks;
mod schema;
mod secrets;
mod slow_bodies;
mod stepping;
mod store_scans;
mod throttle;
mod tokens;
