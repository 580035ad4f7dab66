//! Server-side model types and helpers that every layer may use: identifiers and merchant
//! credentials.

pub mod credentials;
pub mod ids;
