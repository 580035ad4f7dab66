//! Server-side model types and helpers that every layer may use: identifiers, merchant
//! credentials, and the payment session as stored.

pub mod credentials;
pub mod ids;
pub mod payment;
