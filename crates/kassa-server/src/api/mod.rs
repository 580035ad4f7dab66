//! The HTTP API: Klarna's routes (and kassa's additions), extractors, the rate limiter's
//! middleware, error rendering. Composed with the pages into one router by [`crate::app`].

pub mod auth;
mod clock;
pub mod error;
pub mod errors;
mod health;
mod hpp;
mod idempotency;
mod instore;
mod jobs;
pub mod json;
mod kassa;
pub mod metrics;
pub mod openapi;
mod orders;
mod payments;
pub mod public;
pub mod rate_limit;
mod sandbox;
mod sandbox_callbacks;
mod stream;
pub mod throttle;
mod tokens;
mod watch;

use crate::app::config::Mode;
use crate::app::state::AppState;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use openapi::ApiDoc;

/// Every route of a server in `state`'s mode, with its OpenAPI document.
pub fn routes(mode: Mode) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(payments::routes())
        .merge(orders::routes())
        .merge(tokens::routes())
        .merge(hpp::routes())
        .merge(instore::routes())
        .merge(stream::routes())
        .merge(public::routes())
        .merge(kassa::routes())
        .merge(jobs::routes())
        .merge(health::routes());
    if mode == Mode::Sandbox {
        api = api.merge(sandbox::routes()).merge(sandbox_callbacks::routes()).merge(clock::routes());
    }
    let (router, mut doc) = api.split_for_parts();
    openapi::document_common_errors(&mut doc);
    openapi::name_operations(&mut doc);
    openapi::document_enums(&mut doc);
    openapi::document_rate_limits(&mut doc);
    (router, doc)
}
