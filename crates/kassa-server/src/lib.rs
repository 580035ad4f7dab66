//! kassa's server: the Klarna-compatible HTTP API over a [`kassa_store::Store`].

pub mod clock;
pub mod config;
pub mod credentials;
pub mod delivery;
pub mod error;
pub mod http;
pub mod ids;
pub mod pages;
pub mod qr;
pub mod scheduler;
pub mod sender;
pub mod service;
pub mod state;
pub mod wire;

pub use config::{Config, Mode};
pub use state::AppState;

use std::future::Future;
use tokio::net::TcpListener;

/// Serves `state` on `listener`, and runs the delivery worker and the scheduler, until `shutdown` resolves; then
/// finishes requests and callback attempts in flight and gives back unstarted claims.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = state.shutdown.clone();
    let worker =
        delivery::DeliveryWorker::new(state.clone(), state.config.delivery.clone()).map_err(std::io::Error::other)?;
    let worker = tokio::spawn(worker.run(token.clone()));
    let scheduler = tokio::spawn(scheduler::run(state.clone(), token.clone()));
    // Other nodes' commits wake this node's waiters and worker (PostgreSQL).
    if let Some(mut notifications) = state.store.notifications().await.map_err(std::io::Error::other)? {
        let state = state.clone();
        tokio::spawn(async move {
            while let Some(notification) = notifications.recv().await {
                if notification.deliveries {
                    state.deliveries_due.notify_one();
                }
                let _ = state.changes.send(state::SessionChanged { session_id: notification.session_id });
            }
        });
    }
    let stop = token.clone();
    tokio::spawn(async move {
        shutdown.await;
        stop.cancel();
    });
    let app = http::router(state);
    let served = axum::serve(listener, app).with_graceful_shutdown(token.clone().cancelled_owned()).await;
    token.cancel();
    let _ = worker.await;
    let _ = scheduler.await;
    served
}
