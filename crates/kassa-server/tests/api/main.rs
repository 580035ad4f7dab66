//! Black-box tests: the real server on port 0 with a fresh SQLite file, driven over HTTP.

mod errors;
mod helpers;
mod hpp_flows;
mod isolation;
mod payments;
mod public;
mod schema;
