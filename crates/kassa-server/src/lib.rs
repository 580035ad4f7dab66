//! kassa's server: the Klarna-compatible HTTP API and the web pages over a
//! [`kassa_store::Store`], with the delivery worker and the scheduler beside them.
//!
//! Layers, top down (a module uses only the ones below it): this file composes the router and
//! runs the server; [`api`] and [`pages`] are the two surfaces; [`runtime`] runs beside the
//! requests; [`service`] holds the use cases; [`wire`] the JSON shapes; [`model`] and [`app`]
//! (settings, clocks, the change bus, state) are used by all.

pub mod api;
pub mod app;
pub mod error;
pub mod model;
pub mod pages;
pub mod qr;
pub mod runtime;
pub mod service;
pub mod wire;

pub use app::{AppState, Config, Mode};

use api::rate_limit::RateLimit;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware;
use runtime::rate_limiter::RateLimiter;
use std::future::Future;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// The whole HTTP surface of a server in `state`: the API of its mode, the pages, and the
/// layers every request passes (outermost first: error rendering, tracing, panic catching, the
/// body limit, the fallbacks, the rate limiter).
pub fn app(state: AppState) -> Router {
    let (routes, doc) = api::routes(state.config.mode);
    let body_limit = state.config.body_limit;
    let limit = RateLimit::new(RateLimiter::new(state.config.rate_limits), state.clocks.service.clone());
    routes
        .merge(pages::routes())
        // Innermost, so a 429 is rendered as Klarna's error body and traced like any response;
        // the fallbacks below (unknown routes, 405) are not counted.
        .layer(middleware::from_fn_with_state(limit, api::rate_limit::limit))
        .layer(axum::Extension(api::openapi::OpenApiJson::render(&doc)))
        .fallback(api::errors::route_not_found)
        .method_not_allowed_fallback(api::errors::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let route = request.extensions().get::<MatchedPath>().map_or(request.uri().path(), |p| p.as_str());
            tracing::info_span!("request", method = %request.method(), route, merchant = tracing::field::Empty)
        }))
        .layer(middleware::from_fn(api::errors::render_errors))
        .with_state(state)
}

/// Serves `state` on `listener`, and runs the delivery worker, the scheduler and (PostgreSQL) the
/// bridge from other nodes' commits, until `shutdown` resolves; then finishes requests and
/// callback attempts in flight, gives back unstarted claims, and returns once all of them ended.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = state.shutdown.clone();
    let worker = runtime::delivery::DeliveryWorker::new(state.clone(), state.config.delivery.clone())
        .map_err(std::io::Error::other)?;
    let mut background = tokio::task::JoinSet::new();
    background.spawn(worker.run());
    background.spawn(runtime::scheduler::run(state.clone()));
    // Other nodes' commits wake this node's waiters and worker (PostgreSQL).
    if let Some(notifications) = state.store.notifications().await.map_err(std::io::Error::other)? {
        let bus = state.bus.clone();
        background.spawn(async move { bus.bridge(notifications).await });
    }
    let stop = token.clone();
    let signal = tokio::spawn(async move {
        shutdown.await;
        stop.cancel();
    });
    let served = axum::serve(listener, app(state)).with_graceful_shutdown(token.clone().cancelled_owned()).await;
    token.cancel();
    signal.abort();
    while background.join_next().await.is_some() {}
    served
}
