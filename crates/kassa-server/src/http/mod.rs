//! The HTTP surface: routes, extractors, error rendering.

pub mod auth;
mod clock;
pub mod errors;
mod health;
mod hpp;
mod instore;
pub mod json;
mod kassa;
mod openapi;
mod orders;
mod payments;
pub mod public;
pub mod rate_limit;
mod sandbox;
mod stream;
mod watch;

use crate::config::Mode;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use openapi::ApiDoc;

/// Every route of a server in `state`'s mode, with its OpenAPI document.
pub fn routes(mode: Mode) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(payments::routes())
        .merge(orders::routes())
        .merge(hpp::routes())
        .merge(instore::routes())
        .merge(stream::routes())
        .merge(public::routes())
        .merge(kassa::routes())
        .merge(health::routes());
    if mode == Mode::Sandbox {
        api = api.merge(sandbox::routes()).merge(clock::routes());
    }
    let (router, mut doc) = api.split_for_parts();
    openapi::document_rate_limits(&mut doc);
    (router, doc)
}

pub fn router(state: AppState) -> Router {
    let (routes, doc) = routes(state.config.mode);
    let body_limit = state.config.body_limit;
    routes
        .merge(crate::pages::routes())
        // Innermost, so a 429 is rendered as Klarna's error body and traced like any response;
        // the fallbacks below (unknown routes, 405) are not counted.
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit::limit))
        .layer(axum::Extension(openapi::OpenApiJson::render(&doc)))
        .fallback(errors::route_not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let route = request.extensions().get::<MatchedPath>().map_or(request.uri().path(), |p| p.as_str());
            tracing::info_span!("request", method = %request.method(), route, merchant = tracing::field::Empty)
        }))
        .layer(middleware::from_fn(errors::render_errors))
        .with_state(state)
}
