//! kassa's server: the Klarna-compatible HTTP API and the web pages over a
//! [`kassa_store::Store`], with the delivery worker, the message worker and the scheduler beside
//! them.
//!
//! Layers, top down (a module uses only the ones below it): this file composes the router and
//! runs the server; [`api`] and [`pages`] are the two surfaces; [`runtime`] runs beside the
//! requests; [`service`] holds the use cases; [`wire`] the JSON shapes; [`model`] and [`app`]
//! (settings, clocks, the change bus, state) are used by all.

pub mod api;
pub mod app;
pub mod client;
pub mod model;
pub mod pages;
pub mod qr;
pub mod runtime;
pub mod service;
pub mod serving;
pub mod wire;

pub use app::{AppState, Config, Mode};

use api::errors::CorrelationId;
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
/// layers every request passes (outermost first: error rendering with the correlation id, the
/// request span, logging a failure once, panic catching, the body limit, the fallbacks, the rate
/// limiter).
pub fn app(state: AppState) -> Router {
    let (routes, doc) = api::routes(state.config.mode);
    let body_limit = state.config.body_limit;
    let limit =
        RateLimit::new(RateLimiter::new(state.config.rate_limits), state.clocks.service.clone(), state.metrics.clone());
    let routes = routes
        .merge(pages::routes())
        // Innermost, so a 429 is rendered as Klarna's error body and traced like any response;
        // the fallbacks below (unknown routes, 405) are not counted.
        .layer(middleware::from_fn_with_state(limit, api::rate_limit::limit))
        // Outside the rate limiter: a guess refused unchecked does not count against the merchant.
        .layer(middleware::from_fn_with_state(state.clone(), api::throttle::throttle))
        .layer(axum::Extension(api::openapi::OpenApiJson::render(&doc)))
        .fallback(api::errors::route_not_found)
        .method_not_allowed_fallback(api::errors::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::new())
        // Outside the panic catcher: a panic's 500 is counted too.
        .layer(middleware::from_fn_with_state(state.metrics.clone(), api::metrics::count));
    observed(routes).with_state(state)
}

/// The layers that make every request observable: its correlation id and Klarna's error body
/// (outermost), its span (method, route, correlation id, merchant), and a failure logged once
/// inside that span.
pub fn observed<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(middleware::from_fn(api::errors::log_failure))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let route = request.extensions().get::<MatchedPath>().map_or(request.uri().path(), |p| p.as_str());
                    let correlation_id = request.extensions().get::<CorrelationId>().map_or("", |c| c.0.as_str());
                    let method = request.method();
                    tracing::info_span!("request", %method, route, correlation_id, merchant = tracing::field::Empty)
                })
                // `log_failure` says it, once, with the cause.
                .on_failure(()),
        )
        .layer(middleware::from_fn(api::errors::render_errors))
}

/// Serves `state`'s metrics (`GET /metrics`) on `listener` until the server shuts down.
pub async fn serve_metrics(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let stop = state.shutdown.clone();
    axum::serve(listener, api::metrics::routes(state)).with_graceful_shutdown(stop.cancelled_owned()).await
}

/// Serves `state` on `listener`, and runs the delivery worker, the message worker, the scheduler
/// and (PostgreSQL) the bridge from other nodes' commits, until `shutdown` resolves; then finishes
/// requests, callback attempts and message sends in flight, gives back unstarted claims, and
/// returns once all of them ended.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = state.shutdown.clone();
    let worker = runtime::delivery::DeliveryWorker::new(state.clone(), state.config.delivery.clone())
        .map_err(std::io::Error::other)?;
    let messages = runtime::messages::MessageWorker::new(state.clone()).map_err(std::io::Error::other)?;
    let mut background = tokio::task::JoinSet::new();
    background.spawn(worker.run());
    background.spawn(messages.run());
    background.spawn(runtime::scheduler::run(state.clone()));
    // Other nodes' commits drop what this node's read cache holds of their sessions, then wake
    // this node's waiters and worker (PostgreSQL).
    if let Some(notifications) = state.store.notifications().await.map_err(std::io::Error::other)? {
        let (bus, cache) = (state.bus.clone(), state.sessions.clone());
        background.spawn(async move { bus.bridge(notifications, &cache).await });
    }
    let stop = token.clone();
    let signal = tokio::spawn(async move {
        shutdown.await;
        stop.cancel();
    });
    let limits = state.config.server.clone();
    serving::run(listener, app(state), limits, token.clone()).await;
    token.cancel();
    signal.abort();
    while background.join_next().await.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ApiError;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_failure_is_logged_once_with_its_cause_and_correlation_id() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        async fn fails() -> Result<(), ApiError> {
            Err(ApiError::Internal("the disk is on fire".into()))
        }
        let app = observed(Router::new().route("/fails", get(fails)));
        let response = app.oneshot(Request::get("/fails").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), 500);
        let correlation_id = response.headers()[api::errors::CORRELATION_HEADER].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["correlation_id"], correlation_id.as_str());
        assert!(!body.to_string().contains("disk"), "the client sees no internals: {body}");
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(lines.len(), 1, "one error line: {log}");
        assert!(lines[0].contains("the disk is on fire"), "{log}");
        assert!(lines[0].contains(&correlation_id), "{log}");
        assert!(lines[0].contains("/fails"), "{log}");
    }
}
