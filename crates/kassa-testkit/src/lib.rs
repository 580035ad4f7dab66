//! What kassa's tests share, once: a server of the test's own on a fresh database ([`app`]),
//! the HTTP API as a merchant ([`client`]), request bodies ([`fixtures`]), a callback receiver
//! ([`receiver`]), the one way to wait for something ([`poll`]) and a reader of Server-Sent
//! Events ([`sse`]).
//!
//! Dev-only: the API tests, the browser tests and the binary's tests use it as a
//! dev-dependency; nothing ships with it.

pub mod app;
pub mod client;
pub mod fixtures;
pub mod metrics;
pub mod poll;
pub mod receiver;
pub mod sse;

pub use app::{TestApp, spawn, spawn_frozen, spawn_in, spawn_with, unlimited};
pub use client::{Client, Merchant, Reply, read};
pub use fixtures::{cart, in_store, store_info};
pub use poll::{PATIENCE, WOKEN_WITHIN, eventually, until};
pub use receiver::{Answer, Received, Receiver};
pub use sse::{SseEvent, SseEventExt, SseReader};
