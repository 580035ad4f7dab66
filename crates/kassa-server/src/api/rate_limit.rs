//! Per-merchant, per-category rate limiting as Klarna does it (reference §1.5).
//!
//! Each merchant has one counter per [`Category`]; a counter allows [`RateLimits`]' number of
//! requests in a fixed window of one second that starts with the first request counted after the
//! previous window ended. Every response to a limited route carries Klarna's quota headers:
//!
//! - `X-Ratelimit-Limit`: the limit and its window, e.g. `40, 40;w=1` (40 requests per 1 second);
//! - `X-Ratelimit-Remaining`: requests left in the current window after this one;
//! - `X-Ratelimit-Reset`: whole seconds until the window ends, rounded up, so at least 1 (with
//!   one-second windows it is always 1): a client that waits that long finds a fresh window.
//!
//! Over the limit the answer is 429 `TOO_MANY_REQUESTS` with the same headers plus `Retry-After`
//! (equal to `X-Ratelimit-Reset`); a refused request is not counted, and every further request of
//! that category is refused until the window ends.
//!
//! Which requests count:
//! - Only the merchant API ([`category_of`]): `/payments/…`, `/ordermanagement/…`,
//!   `/customer-token/…`, `/hpp/v1/…`, `/kassa/…`, `/sandbox/…`. Public resources (QR images, consumer pages, `/assets`, `/healthz`, `/readyz`,
//!   `/openapi.json`) are never limited, whatever headers they carry.
//! - Only requests with HTTP Basic credentials. The merchant is identified by the username (which
//!   is unique per merchant), so counting needs no database lookup; requests without credentials
//!   pass uncounted (the handler answers 401). A request that the handler answers 401 (unknown
//!   username, wrong secret) is given back to the counter and carries no quota headers, so wrong
//!   credentials do not use up a merchant's quota (they can still be refused with 429 while the
//!   quota is used up, before their credentials are checked).
//! - A request counts once, when it arrives. Long polls (`?wait=<seconds>` on read endpoints) are
//!   the polite way to wait for a change: however long one waits, it is one request, and the time
//!   it spends waiting is never counted.
//!
//! Time comes from the server's [`Clock`](crate::app::clock::Clock), so the sandbox clock moves windows
//! forward as it moves everything else.

use crate::api::auth::BasicCredentials;
use crate::api::error::ApiError;
use crate::app::clock::Clock;
use crate::app::metrics::Metrics;
use crate::app::rate_limits::Category;
use crate::runtime::rate_limiter::{Decision, RateLimiter, WINDOW_MILLIS};
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub const LIMIT_HEADER: &str = "x-ratelimit-limit";
pub const REMAINING_HEADER: &str = "x-ratelimit-remaining";
pub const RESET_HEADER: &str = "x-ratelimit-reset";

/// Longest username a merchant can have (see [`crate::model::credentials`]); longer ones are not counted.
const MAX_USERNAME_LEN: usize = 128;

/// The category of a request, or `None` for routes that are never limited (public resources).
/// A new authenticated route outside these prefixes must be added here.
pub fn category_of(method: &Method, path: &str) -> Option<Category> {
    match (method, path) {
        (&Method::POST, "/payments/v1/sessions") => Some(Category::CreateSession),
        (&Method::POST, "/hpp/v1/sessions") => Some(Category::CreateHppSession),
        // The distribution result and retry are the merchant's; the QR image is public.
        _ if path.starts_with("/iss/") && !path.contains("/qr/") => Some(Category::Other),
        _ if ["/payments/", "/ordermanagement/", "/customer-token/", "/hpp/v1/", "/kassa/", "/sandbox/"]
            .iter()
            .any(|p| path.starts_with(p)) =>
        {
            Some(Category::Other)
        }
        _ => None,
    }
}

/// Adds the `X-Ratelimit-*` headers (and `Retry-After` when refused).
pub fn write_headers(decision: &Decision, headers: &mut HeaderMap) {
    let window_secs = WINDOW_MILLIS / 1_000;
    let number = |n: u64| HeaderValue::from(n);
    if let Ok(value) = HeaderValue::from_str(&format!("{0}, {0};w={window_secs}", decision.limit)) {
        headers.insert(LIMIT_HEADER, value);
    }
    headers.insert(REMAINING_HEADER, number(decision.remaining.into()));
    headers.insert(RESET_HEADER, number(decision.reset_secs));
    if !decision.allowed {
        headers.insert(header::RETRY_AFTER, number(decision.reset_secs));
    }
}

/// What the middleware counts with: the counters, and the server's clock.
#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<RateLimiter>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

impl RateLimit {
    pub fn new(limiter: RateLimiter, clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> Self {
        Self { limiter: Arc::new(limiter), clock, metrics }
    }
}

/// The middleware: counts the request against its merchant's quota, answers 429 when the quota
/// is used up, and adds the quota headers to the response.
///
/// The request is counted once, before the handler runs; the handler's time (a long poll's
/// `?wait=<seconds>` included) is not counted, and the counter's lock is not held while it runs.
pub async fn limit(State(limit): State<RateLimit>, mut request: Request, next: Next) -> Response {
    let Some(category) = category_of(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let given = request.extensions().get::<BasicCredentials>().cloned();
    let Some(credentials) = given.or_else(|| BasicCredentials::of(request.headers())) else {
        return next.run(request).await;
    };
    let username = credentials.username.clone();
    // Decoded once: the handler's `Call` takes them from here.
    request.extensions_mut().insert(credentials);
    if username.is_empty() || username.len() > MAX_USERNAME_LEN {
        return next.run(request).await;
    }
    let Some(decision) = limit.limiter.acquire(&username, category, limit.clock.now()) else {
        return next.run(request).await;
    };
    if !decision.allowed {
        tracing::debug!(merchant = %username, ?category, limit = decision.limit, "rate limited");
        limit.metrics.rate_limited(category.as_str());
        let mut response = ApiError::TooManyRequests { retry_after_secs: decision.reset_secs }.into_response();
        write_headers(&decision, response.headers_mut());
        return response;
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        limit.limiter.release(&username, category, &decision);
    } else {
        write_headers(&decision, response.headers_mut());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::rate_limits::RateLimits;
    use kassa_core::Timestamp;

    #[test]
    fn categories() {
        assert_eq!(category_of(&Method::POST, "/payments/v1/sessions"), Some(Category::CreateSession));
        assert_eq!(category_of(&Method::POST, "/hpp/v1/sessions"), Some(Category::CreateHppSession));
        assert_eq!(category_of(&Method::GET, "/payments/v1/sessions"), Some(Category::Other));
        assert_eq!(category_of(&Method::POST, "/payments/v1/sessions/abc"), Some(Category::Other));
        assert_eq!(category_of(&Method::GET, "/hpp/v1/sessions/abc"), Some(Category::Other));
        assert_eq!(category_of(&Method::POST, "/payments/v1/authorizations/t/order"), Some(Category::Other));
        assert_eq!(category_of(&Method::GET, "/kassa/v1/hpp/sessions/abc/messages"), Some(Category::Other));
        assert_eq!(category_of(&Method::POST, "/sandbox/v1/hpp/sessions/abc/open"), Some(Category::Other));
        assert_eq!(category_of(&Method::GET, "/iss/v1/distributions/abc"), Some(Category::Other));
        assert_eq!(category_of(&Method::POST, "/iss/v1/distributions/abc/retry"), Some(Category::Other));
        for public in [
            "/hpp/payments/abc/qr",
            "/hpp/payments/abc",
            "/hpp/distributions/t",
            "/assets/badges/klarna.svg",
            "/iss/v1/distributions/abc/qr/t",
        ] {
            assert_eq!(category_of(&Method::GET, public), None, "{public}");
        }
        for public in ["/healthz", "/readyz", "/openapi.json"] {
            assert_eq!(category_of(&Method::GET, public), None, "{public}");
        }
    }

    #[test]
    fn headers() {
        let limits = RateLimits { create_session: Some(40), create_hpp_session: Some(40), other: Some(200) };
        let decision =
            RateLimiter::new(limits).acquire("shop", Category::CreateSession, Timestamp::from_millis(0)).unwrap();
        let mut headers = HeaderMap::new();
        write_headers(&decision, &mut headers);
        assert_eq!(headers[LIMIT_HEADER], "40, 40;w=1");
        assert_eq!(headers[REMAINING_HEADER], "39");
        assert_eq!(headers[RESET_HEADER], "1");
        assert!(!headers.contains_key(header::RETRY_AFTER));
        let refused = Decision { allowed: false, remaining: 0, ..decision };
        write_headers(&refused, &mut headers);
        assert_eq!(headers[header::RETRY_AFTER], "1");
        assert_eq!(headers[REMAINING_HEADER], "0");
    }
}
