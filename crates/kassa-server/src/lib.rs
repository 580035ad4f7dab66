//! kassa's server: the Klarna-compatible HTTP API over a [`kassa_store::Store`].

pub mod clock;
pub mod config;
pub mod credentials;
pub mod error;
pub mod http;
mod ids;
pub mod qr;
pub mod sender;
pub mod service;
pub mod state;
pub mod wire;

pub use config::{Config, Mode};
pub use state::AppState;

use std::future::Future;
use tokio::net::TcpListener;

/// Serves `state` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = http::router(state);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
