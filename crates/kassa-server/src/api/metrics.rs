//! The metrics endpoint, `GET /metrics` on its own listener (`--metrics-listen`, kept off the
//! public address), and the layer that counts every request of the main one by route, method and
//! status.

use crate::app::metrics::Metrics;
use crate::app::state::AppState;
use crate::service;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use tokio::time::Instant;

/// The content type of the OpenMetrics text format, which Prometheus scrapes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metrics listener's routes.
pub fn routes(state: AppState) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    match service::metrics::scrape(&state).await {
        Ok(text) => ([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], text).into_response(),
        Err(error) => {
            tracing::warn!(%error, "metrics: the backlog could not be read");
            (StatusCode::SERVICE_UNAVAILABLE, format!("the backlog could not be read: {error}\n")).into_response()
        }
    }
}

/// Counts a request once its response's headers are ready: by its route's pattern (never the
/// raw path, so ids don't make new series; `unmatched` when no route took it), method and status.
pub async fn count(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = method_label(request.method()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.request(&route, &method, response.status().as_u16(), started.elapsed());
    response
}

/// The standard methods by name; any other (an extension method a client made up) as `other`.
fn method_label(method: &Method) -> &str {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if STANDARD.contains(method) { method.as_str() } else { "other" }
}
