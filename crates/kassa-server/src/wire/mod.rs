//! JSON shapes on the wire, named and keyed exactly as Klarna's API has them.

pub mod decode;
pub mod events;
pub mod examples;
pub mod hpp;
pub mod instore;
pub mod jobs;
pub mod kassa;
pub mod orders;
pub mod payments;
pub mod tokens;
