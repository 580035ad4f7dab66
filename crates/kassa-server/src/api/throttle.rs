//! The middleware that refuses credential attempts while their client address or username has
//! used up its failures ([`crate::app::auth_throttle`]): 429 with Klarna's error body and
//! `Retry-After`, before the credentials are checked and before the merchant's rate limit counts
//! the request (so refused guesses cost the merchant nothing). The [`Call`](crate::api::auth::Call)
//! extractor records each checked attempt's outcome.

use crate::api::auth::BasicCredentials;
use crate::api::error::ApiError;
use crate::api::rate_limit::category_of;
use crate::app::metrics::{CredentialRefusal, Surface};
use crate::app::state::AppState;
use crate::client::ClientAddress;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn throttle(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if category_of(request.method(), request.uri().path()).is_none() {
        return next.run(request).await;
    }
    let Some(credentials) = BasicCredentials::of(request.headers()) else {
        return next.run(request).await;
    };
    let address = ClientAddress::of(request.extensions());
    if let Err(refusal) = state.auth_throttle.admit(&credentials.username, address.0, state.wall_now()) {
        tracing::warn!(
            username = %credentials.username,
            client = %address,
            by = refusal.by,
            retry_after_secs = refusal.retry_after_secs,
            "API credentials refused unchecked: too many failed attempts"
        );
        state.metrics.credential_refused(Surface::Api, CredentialRefusal::Throttled);
        return ApiError::AuthThrottled { retry_after_secs: refusal.retry_after_secs }.into_response();
    }
    // Decoded once: the rate limiter and the handler's `Call` take them from here.
    request.extensions_mut().insert(credentials);
    next.run(request).await
}
