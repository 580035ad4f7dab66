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
//! - Only the merchant API ([`Category::of`]): `/payments/…`, `/hpp/v1/…`, `/kassa/…`,
//!   `/sandbox/…`. Public resources (QR images, consumer pages, `/assets`, `/healthz`, `/readyz`,
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
//! Time comes from the server's [`Clock`](crate::clock::Clock), so the sandbox clock moves windows
//! forward as it moves everything else.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kassa_core::Timestamp;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

/// Length of a rate-limit window.
pub const WINDOW_MILLIS: i64 = 1_000;

pub const LIMIT_HEADER: &str = "x-ratelimit-limit";
pub const REMAINING_HEADER: &str = "x-ratelimit-remaining";
pub const RESET_HEADER: &str = "x-ratelimit-reset";

/// Longest username a merchant can have (see [`crate::credentials`]); longer ones are not counted.
const MAX_USERNAME_LEN: usize = 128;

/// The kinds of operation Klarna limits separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// `POST /payments/v1/sessions`.
    CreateSession,
    /// `POST /hpp/v1/sessions`.
    CreateHppSession,
    /// Every other request of the merchant API.
    Other,
}

impl Category {
    /// The category of a request, or `None` for routes that are never limited (public resources).
    /// A new authenticated route outside these prefixes must be added here.
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        match (method, path) {
            (&Method::POST, "/payments/v1/sessions") => Some(Self::CreateSession),
            (&Method::POST, "/hpp/v1/sessions") => Some(Self::CreateHppSession),
            // The distribution result and retry are the merchant's; the QR image is public.
            _ if path.starts_with("/iss/") && !path.contains("/qr/") => Some(Self::Other),
            _ if ["/payments/", "/ordermanagement/", "/hpp/v1/", "/kassa/", "/sandbox/"]
                .iter()
                .any(|p| path.starts_with(p)) =>
            {
                Some(Self::Other)
            }
            _ => None,
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::CreateSession => 0,
            Self::CreateHppSession => 1,
            Self::Other => 2,
        }
    }
}

/// Requests per second each merchant may make in each [`Category`]; `None` is unlimited, and
/// `Some(0)` refuses every request of the category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub create_session: Option<u32>,
    pub create_hpp_session: Option<u32>,
    pub other: Option<u32>,
}

impl RateLimits {
    /// Klarna's production limits: 40 / 40 / 200 requests per second.
    pub const fn production() -> Self {
        Self { create_session: Some(40), create_hpp_session: Some(40), other: Some(200) }
    }

    /// Klarna's playground limits: 5 / 5 / 50 requests per second.
    pub const fn playground() -> Self {
        Self { create_session: Some(5), create_hpp_session: Some(5), other: Some(50) }
    }

    /// No limits: no counting, no headers.
    pub const fn off() -> Self {
        Self { create_session: None, create_hpp_session: None, other: None }
    }

    /// The limit of `category`.
    pub const fn get(&self, category: Category) -> Option<u32> {
        match category {
            Category::CreateSession => self.create_session,
            Category::CreateHppSession => self.create_hpp_session,
            Category::Other => self.other,
        }
    }

    pub const fn is_off(&self) -> bool {
        self.create_session.is_none() && self.create_hpp_session.is_none() && self.other.is_none()
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::production()
    }
}

/// Why a `--rate-limits` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid rate limits {input:?}: {reason}; expected production, playground, off, or \
     create=N,hpp=N,other=N (requests per second per merchant, N > 0 or off; omitted keys keep \
     production's 40/40/200)"
)]
pub struct ParseRateLimitsError {
    input: String,
    reason: String,
}

/// `production`, `playground`, `off`, or a list `create=N,hpp=N,other=N` where each `N` is a
/// positive number of requests per second or `off`, and omitted keys keep production's value.
impl FromStr for RateLimits {
    type Err = ParseRateLimitsError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason: String| ParseRateLimitsError { input: input.to_owned(), reason };
        match input.trim().to_ascii_lowercase().as_str() {
            "production" => return Ok(Self::production()),
            "playground" => return Ok(Self::playground()),
            "off" => return Ok(Self::off()),
            _ => {}
        }
        let mut limits = Self::production();
        let mut seen = [false; 3];
        for item in input.split(',') {
            let (key, value) =
                item.split_once('=').ok_or_else(|| error(format!("{:?} is not key=value", item.trim())))?;
            let (key, value) = (key.trim(), value.trim());
            let category = match key.to_ascii_lowercase().as_str() {
                "create" => Category::CreateSession,
                "hpp" => Category::CreateHppSession,
                "other" => Category::Other,
                other => return Err(error(format!("unknown key {other:?} (use create, hpp, other)"))),
            };
            if std::mem::replace(&mut seen[category.index()], true) {
                return Err(error(format!("{key} given twice")));
            }
            let limit = match value.parse::<u32>() {
                Ok(n) if n > 0 => Some(n),
                _ if value.eq_ignore_ascii_case("off") => None,
                _ => return Err(error(format!("{key}={value}: the limit must be a number above 0 or off"))),
            };
            match category {
                Category::CreateSession => limits.create_session = limit,
                Category::CreateHppSession => limits.create_hpp_session = limit,
                Category::Other => limits.other = limit,
            }
        }
        Ok(limits)
    }
}

/// The form [`FromStr`] reads back.
impl fmt::Display for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::production() {
            return f.write_str("production");
        }
        if *self == Self::playground() {
            return f.write_str("playground");
        }
        if self.is_off() {
            return f.write_str("off");
        }
        let show = |limit: Option<u32>| limit.map_or_else(|| "off".to_owned(), |n| n.to_string());
        write!(
            f,
            "create={},hpp={},other={}",
            show(self.create_session),
            show(self.create_hpp_session),
            show(self.other)
        )
    }
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed (it was counted) or gets 429 (it was not).
    pub allowed: bool,
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Whole seconds until the window ends, rounded up (at least 1).
    pub reset_secs: u64,
    /// Start of the window the request was counted in (ms).
    window_start: i64,
}

impl Decision {
    /// Adds the `X-Ratelimit-*` headers (and `Retry-After` when refused).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let window_secs = WINDOW_MILLIS / 1_000;
        let number = |n: u64| HeaderValue::from(n);
        if let Ok(value) = HeaderValue::from_str(&format!("{0}, {0};w={window_secs}", self.limit)) {
            headers.insert(LIMIT_HEADER, value);
        }
        headers.insert(REMAINING_HEADER, number(self.remaining.into()));
        headers.insert(RESET_HEADER, number(self.reset_secs));
        if !self.allowed {
            headers.insert(header::RETRY_AFTER, number(self.reset_secs));
        }
    }
}

/// A category's counter of one merchant: requests counted in the window starting at `start`.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    start: i64,
    count: u32,
}

impl Slot {
    fn is_live(&self, now: i64) -> bool {
        self.count > 0 && now >= self.start && now < self.start.saturating_add(WINDOW_MILLIS)
    }
}

#[derive(Debug, Default)]
struct Counters {
    /// Per merchant username, one slot per category.
    slots: HashMap<String, [Slot; 3]>,
    /// When to drop merchants whose windows have all ended.
    next_prune: i64,
}

/// The counters of every merchant; shared by all requests (in [`AppState`]).
///
/// One mutex, held only to update a small counter (never across an `.await`).
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    counters: Mutex<Counters>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, counters: Mutex::default() }
    }

    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Counts one request of `merchant` in `category` at `now`, unless the window's quota is used
    /// up. `None` when the category is unlimited (nothing counted, no headers).
    pub fn acquire(&self, merchant: &str, category: Category, now: Timestamp) -> Option<Decision> {
        let limit = self.limits.get(category)?;
        let now = now.millis();
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        if now >= counters.next_prune {
            counters.slots.retain(|_, slots| slots.iter().any(|slot| slot.is_live(now)));
            counters.next_prune = now.saturating_add(WINDOW_MILLIS);
        }
        if !counters.slots.contains_key(merchant) {
            // Allocates the key only for a merchant's first request of a window.
            counters.slots.insert(merchant.to_owned(), [Slot::default(); 3]);
        }
        let Some(slots) = counters.slots.get_mut(merchant) else { unreachable!("inserted above") };
        let slot = &mut slots[category.index()];
        if !slot.is_live(now) {
            *slot = Slot { start: now, count: 0 };
        }
        let allowed = slot.count < limit;
        if allowed {
            slot.count += 1;
        }
        let remaining = limit.saturating_sub(slot.count);
        let left_ms = (slot.start.saturating_add(WINDOW_MILLIS) - now).max(1);
        let reset_secs = u64::try_from(left_ms).unwrap_or(1).div_ceil(1_000).max(1);
        Some(Decision { allowed, limit, remaining, reset_secs, window_start: slot.start })
    }

    /// Gives back a request [`acquire`](Self::acquire) allowed (one that turned out not to be the
    /// merchant's), if its window is still the current one.
    pub fn release(&self, merchant: &str, category: Category, decision: &Decision) {
        if !decision.allowed {
            return;
        }
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slots) = counters.slots.get_mut(merchant) {
            let slot = &mut slots[category.index()];
            if slot.start == decision.window_start {
                slot.count = slot.count.saturating_sub(1);
            }
        }
    }
}

/// The middleware: counts the request against its merchant's quota, answers 429 when the quota
/// is used up, and adds the quota headers to the response.
///
/// The request is counted once, before the handler runs; the handler's time (a long poll's
/// `?wait=<seconds>` included) is not counted, and the counter's lock is not held while it runs.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(category) = Category::of(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let Some(username) = basic_username(request.headers()) else {
        return next.run(request).await;
    };
    let Some(decision) = state.rate_limiter.acquire(&username, category, state.now()) else {
        return next.run(request).await;
    };
    if !decision.allowed {
        tracing::debug!(merchant = %username, ?category, limit = decision.limit, "rate limited");
        let mut response = ApiError::TooManyRequests { retry_after_secs: decision.reset_secs }.into_response();
        decision.write_headers(response.headers_mut());
        return response;
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        state.rate_limiter.release(&username, category, &decision);
    } else {
        decision.write_headers(response.headers_mut());
    }
    response
}

/// The username of HTTP Basic credentials, if it could be a merchant's.
fn basic_username(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let (username, _) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    (!username.is_empty() && username.len() <= MAX_USERNAME_LEN).then(|| username.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, SandboxClock};

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    fn limiter(create: u32, hpp: u32, other: u32) -> RateLimiter {
        RateLimiter::new(RateLimits { create_session: Some(create), create_hpp_session: Some(hpp), other: Some(other) })
    }

    #[test]
    fn presets_and_parsing() {
        assert_eq!("production".parse(), Ok(RateLimits::production()));
        assert_eq!(" Playground ".parse(), Ok(RateLimits::playground()));
        assert_eq!("off".parse(), Ok(RateLimits::off()));
        assert_eq!(
            "create=1,hpp=2,other=3".parse(),
            Ok(RateLimits { create_session: Some(1), create_hpp_session: Some(2), other: Some(3) })
        );
        assert_eq!(
            "other=off, create=7".parse(),
            Ok(RateLimits { create_session: Some(7), create_hpp_session: Some(40), other: None })
        );
        for bad in ["", "fast", "create=0", "create=-1", "create=x", "create", "speed=3", "create=1,create=2"] {
            let error = bad.parse::<RateLimits>().expect_err(bad);
            assert!(error.to_string().contains("expected production, playground, off"), "{error}");
        }
        for limits in [
            RateLimits::production(),
            RateLimits::playground(),
            RateLimits::off(),
            RateLimits { create_session: Some(1), create_hpp_session: None, other: Some(3) },
        ] {
            assert_eq!(limits.to_string().parse(), Ok(limits), "{limits}");
        }
        assert_eq!(RateLimits::production().to_string(), "production");
        assert_eq!(RateLimits::default(), RateLimits::production());
    }

    #[test]
    fn categories() {
        assert_eq!(Category::of(&Method::POST, "/payments/v1/sessions"), Some(Category::CreateSession));
        assert_eq!(Category::of(&Method::POST, "/hpp/v1/sessions"), Some(Category::CreateHppSession));
        assert_eq!(Category::of(&Method::GET, "/payments/v1/sessions"), Some(Category::Other));
        assert_eq!(Category::of(&Method::POST, "/payments/v1/sessions/abc"), Some(Category::Other));
        assert_eq!(Category::of(&Method::GET, "/hpp/v1/sessions/abc"), Some(Category::Other));
        assert_eq!(Category::of(&Method::POST, "/payments/v1/authorizations/t/order"), Some(Category::Other));
        assert_eq!(Category::of(&Method::GET, "/kassa/v1/hpp/sessions/abc/messages"), Some(Category::Other));
        assert_eq!(Category::of(&Method::POST, "/sandbox/v1/hpp/sessions/abc/open"), Some(Category::Other));
        assert_eq!(Category::of(&Method::GET, "/iss/v1/distributions/abc"), Some(Category::Other));
        assert_eq!(Category::of(&Method::POST, "/iss/v1/distributions/abc/retry"), Some(Category::Other));
        for public in [
            "/hpp/payments/abc/qr",
            "/hpp/payments/abc",
            "/hpp/distributions/t",
            "/assets/badges/klarna.svg",
            "/iss/v1/distributions/abc/qr/t",
        ] {
            assert_eq!(Category::of(&Method::GET, public), None, "{public}");
        }
        for public in ["/healthz", "/readyz", "/openapi.json"] {
            assert_eq!(Category::of(&Method::GET, public), None, "{public}");
        }
    }

    #[test]
    fn counts_within_a_window_and_refuses_over_the_limit() {
        let limiter = limiter(3, 3, 10);
        for remaining in [2, 1, 0] {
            let decision = limiter.acquire("shop", Category::CreateSession, at(10_000)).unwrap();
            assert!(decision.allowed);
            assert_eq!((decision.limit, decision.remaining, decision.reset_secs), (3, remaining, 1));
        }
        let refused = limiter.acquire("shop", Category::CreateSession, at(10_999)).unwrap();
        assert!(!refused.allowed);
        assert_eq!((refused.remaining, refused.reset_secs), (0, 1));
        // Still refused: refusals are not counted, the window does not move.
        assert!(!limiter.acquire("shop", Category::CreateSession, at(10_999)).unwrap().allowed);
        // Other merchants and other categories have their own counters.
        assert!(limiter.acquire("other shop", Category::CreateSession, at(10_999)).unwrap().allowed);
        assert!(limiter.acquire("shop", Category::CreateHppSession, at(10_999)).unwrap().allowed);
        assert_eq!(limiter.acquire("shop", Category::Other, at(10_999)).unwrap().remaining, 9);
        // The window ends one second after its first request.
        let next = limiter.acquire("shop", Category::CreateSession, at(11_000)).unwrap();
        assert!(next.allowed);
        assert_eq!(next.remaining, 2);
    }

    #[test]
    fn windows_start_with_the_first_request() {
        let limiter = limiter(2, 2, 2);
        assert!(limiter.acquire("shop", Category::Other, at(5_700)).unwrap().allowed);
        assert!(limiter.acquire("shop", Category::Other, at(6_100)).unwrap().allowed);
        assert!(!limiter.acquire("shop", Category::Other, at(6_699)).unwrap().allowed);
        assert!(limiter.acquire("shop", Category::Other, at(6_700)).unwrap().allowed);
    }

    #[test]
    fn rolls_over_with_the_sandbox_clock() {
        let clock = SandboxClock::default();
        let limiter = limiter(5, 5, 50);
        for _ in 0..5 {
            assert!(limiter.acquire("shop", Category::CreateSession, clock.now()).unwrap().allowed);
        }
        let refused = limiter.acquire("shop", Category::CreateSession, clock.now()).unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.reset_secs, 1);
        clock.advance(1_000);
        let decision = limiter.acquire("shop", Category::CreateSession, clock.now()).unwrap();
        assert!(decision.allowed);
        assert_eq!(decision.remaining, 4);
    }

    #[test]
    fn unlimited_categories_are_not_counted() {
        let limiter = RateLimiter::new(RateLimits { other: None, ..RateLimits::playground() });
        assert_eq!(limiter.acquire("shop", Category::Other, at(0)), None);
        assert!(RateLimiter::new(RateLimits::off()).acquire("shop", Category::CreateSession, at(0)).is_none());
    }

    #[test]
    fn a_released_request_is_given_back_within_its_window() {
        let limiter = limiter(1, 1, 1);
        let first = limiter.acquire("shop", Category::Other, at(1_000)).unwrap();
        limiter.release("shop", Category::Other, &first);
        let second = limiter.acquire("shop", Category::Other, at(1_500)).unwrap();
        assert!(second.allowed);
        assert!(!limiter.acquire("shop", Category::Other, at(1_600)).unwrap().allowed);
        // A release from an earlier window does not touch the current one.
        let third = limiter.acquire("shop", Category::Other, at(2_600)).unwrap();
        assert!(third.allowed);
        limiter.release("shop", Category::Other, &second);
        assert!(!limiter.acquire("shop", Category::Other, at(2_700)).unwrap().allowed);
    }

    #[test]
    fn stale_merchants_are_pruned() {
        let limiter = limiter(5, 5, 5);
        for i in 0..100 {
            limiter.acquire(&format!("shop-{i}"), Category::Other, at(0));
        }
        limiter.acquire("late", Category::Other, at(5_000));
        let counters = limiter.counters.lock().unwrap();
        assert_eq!(counters.slots.keys().collect::<Vec<_>>(), ["late"]);
    }

    #[test]
    fn headers() {
        let limiter = limiter(40, 40, 200);
        let decision = limiter.acquire("shop", Category::CreateSession, at(0)).unwrap();
        let mut headers = HeaderMap::new();
        decision.write_headers(&mut headers);
        assert_eq!(headers[LIMIT_HEADER], "40, 40;w=1");
        assert_eq!(headers[REMAINING_HEADER], "39");
        assert_eq!(headers[RESET_HEADER], "1");
        assert!(!headers.contains_key(header::RETRY_AFTER));
        let refused = Decision { allowed: false, remaining: 0, ..decision };
        refused.write_headers(&mut headers);
        assert_eq!(headers[header::RETRY_AFTER], "1");
        assert_eq!(headers[REMAINING_HEADER], "0");
    }

    #[test]
    fn usernames() {
        let basic = |credentials: &str| {
            let mut headers = HeaderMap::new();
            let value = format!("Basic {}", STANDARD.encode(credentials));
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
            basic_username(&headers)
        };
        assert_eq!(basic("shop:secret").as_deref(), Some("shop"));
        assert_eq!(basic("shop:"), Some("shop".to_owned()));
        assert_eq!(basic(":secret"), None);
        assert_eq!(basic("no-colon"), None);
        assert_eq!(basic(&format!("{}:s", "u".repeat(129))), None);
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(basic_username(&headers), None);
        assert_eq!(basic_username(&HeaderMap::new()), None);
    }
}
