//! The HTTP side: one merchant's credentials, the base URL, and the retry rules every call
//! follows.

use crate::error::{ApiError, Error};
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, SystemTime};

/// The header that makes an Order Management write happen once however often it is sent.
pub const IDEMPOTENCY_HEADER: &str = "Klarna-Idempotency-Key";

/// A merchant's client of one kassa (or of Klarna: the paths are Klarna's). Cheap to clone: the
/// clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    username: String,
    secret: String,
    retries: Retries,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base_url", &self.base_url).field("username", &self.username).finish()
    }
}

/// How often and how patiently a call is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    /// Attempts after the first (0: never again).
    pub max: u32,
    /// The first pause; each next one doubles, with full jitter.
    pub base_delay: Duration,
    /// No pause is longer (a server's `Retry-After` longer than this ends the retries).
    pub max_delay: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Self { max: 3, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl Retries {
    pub fn none() -> Self {
        Self { max: 0, ..Self::default() }
    }

    /// The pause before attempt `attempt + 1` (full jitter over the doubled base).
    fn delay(&self, attempt: u32, asked: Option<Duration>) -> Duration {
        let ceiling = doubling(attempt, self.base_delay, self.max_delay);
        let jittered = ceiling.mul_f64(random_fraction());
        asked.map_or(jittered, |asked| asked.max(jittered))
    }
}

/// `first` doubled `failures` times, at most `cap`: the pause before the next try after that
/// many failures in a row (calls, the events stream's reconnections, the watcher's passes).
pub(crate) fn doubling(failures: u32, first: Duration, cap: Duration) -> Duration {
    first.saturating_mul(1 << failures.min(16)).min(cap)
}

/// A number in [0, 1) from the operating system's randomness (a v4 UUID's bits).
fn random_fraction() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// What a request may be sent again after, judged by what the server may have done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Reads, and writes carrying an idempotency key: sent again after any failure that may be
    /// passing (no answer, 429, 500, 502, 503, 504).
    Safe,
    /// Writes without an idempotency key: sent again only when the server surely did nothing
    /// (the connection was never made, or 429: refused before it was read).
    Unsent,
}

/// One request to send.
pub(crate) struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
    pub replay: Replay,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path, Replay::Safe)
    }

    /// A write without an idempotency key.
    pub fn write(method: Method, path: impl Into<String>) -> Self {
        Self::new(method, path, Replay::Unsent)
    }

    /// A write with an idempotency key: the given one, or a fresh one for this call (sent again
    /// unchanged on every retry).
    pub fn keyed(method: Method, path: impl Into<String>, key: Option<&str>) -> Self {
        let key = key.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let mut request = Self::new(method, path, Replay::Safe);
        if let Ok(value) = HeaderValue::from_str(&key) {
            request.headers.insert(IDEMPOTENCY_HEADER, value);
        }
        request
    }

    fn new(method: Method, path: impl Into<String>, replay: Replay) -> Self {
        Self { method, path: path.into(), query: Vec::new(), headers: HeaderMap::new(), body: None, replay }
    }

    pub fn json(mut self, body: &impl Serialize) -> Self {
        self.body = Some(serde_json::to_vec(body).unwrap_or_default());
        self
    }

    pub fn query(mut self, name: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(value) = value {
            self.query.push((name, value.to_string()));
        }
        self
    }

    pub fn header(mut self, name: &'static str, value: Option<&str>) -> Self {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            self.headers.insert(name, value);
        }
        self
    }

    fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A successful answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    route: String,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|source| Error::Decode {
            route: self.route.clone(),
            status: self.status.as_u16(),
            source,
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

impl Client {
    /// A client of the kassa at `base_url` (`http://127.0.0.1:8080`) as the merchant with these
    /// API credentials.
    pub fn new(base_url: &str, username: &str, secret: &str) -> Result<Self, Error> {
        Self::builder(base_url, username, secret).build()
    }

    pub fn builder(base_url: &str, username: &str, secret: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.trim_end_matches('/').to_owned(),
            username: username.to_owned(),
            secret: secret.to_owned(),
            timeout: Duration::from_secs(75),
            retries: Retries::default(),
        }
    }

    /// `KASSA_URL` and `KASSA_AUTH` (`username:secret`).
    pub fn from_env() -> Result<Self, Error> {
        let url = std::env::var("KASSA_URL").map_err(|_| Error::Config("KASSA_URL is not set".into()))?;
        let auth = std::env::var("KASSA_AUTH").map_err(|_| Error::Config("KASSA_AUTH is not set".into()))?;
        let (username, secret) =
            auth.split_once(':').ok_or_else(|| Error::Config("KASSA_AUTH must be username:secret".into()))?;
        Self::new(&url, username, secret)
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The merchant's API username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// `path` (absolute, from `/`) under the base URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Any read (`GET path`) as JSON: for what has no typed call (the CLI prints reads as they
    /// are). `path` is absolute; ids in it must be path-safe.
    pub async fn get_value(&self, path: &str) -> Result<serde_json::Value, Error> {
        self.send(Request::get(path)).await?.json()
    }

    /// Sends `request` and returns its 2xx (or 304) answer, following the retry rules.
    pub(crate) async fn send(&self, request: Request) -> Result<Answer, Error> {
        let mut attempt = 0;
        loop {
            let outcome = self.send_once(&request, true).await;
            let pause = match &outcome {
                Err(Error::Http(error)) if error.is_connect() || request.replay == Replay::Safe => {
                    Some(self.retries.delay(attempt, None))
                }
                Err(Error::Api(api)) if retryable_status(api.status, request.replay) => {
                    Some(self.retries.delay(attempt, api.retry_after))
                }
                _ => None,
            };
            match pause {
                Some(pause) if attempt < self.retries.max && pause <= self.retries.max_delay => {
                    attempt += 1;
                    tokio::time::sleep(pause).await;
                }
                _ => return outcome,
            }
        }
    }

    /// Sends `request` and returns the response with its body unread (a stream): no retries.
    pub(crate) async fn open(&self, request: &Request) -> Result<reqwest::Response, Error> {
        let response = self.builder_for(request, false).send().await.map_err(Error::Http)?;
        if response.status().is_success() {
            return Ok(response);
        }
        let (status, retry_after) = (response.status().as_u16(), retry_after(response.headers()));
        let body = response.bytes().await.map_err(Error::Http)?;
        Err(Error::Api(api_error(status, &body, retry_after)))
    }

    async fn send_once(&self, request: &Request, with_timeout: bool) -> Result<Answer, Error> {
        let response = self.builder_for(request, with_timeout).send().await.map_err(Error::Http)?;
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.bytes().await.map_err(Error::Http)?.to_vec();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(Answer { status, headers, body, route: request.route() });
        }
        Err(Error::Api(api_error(status.as_u16(), &body, retry_after(&headers))))
    }

    fn builder_for(&self, request: &Request, with_timeout: bool) -> reqwest::RequestBuilder {
        let mut builder = self
            .http
            .request(request.method.clone(), self.url(&request.path))
            .basic_auth(&self.username, Some(&self.secret))
            .headers(request.headers.clone())
            .query(&request.query);
        if !with_timeout {
            builder = builder.timeout(Duration::from_secs(365 * 24 * 3600));
        }
        if let Some(body) = &request.body {
            builder = builder.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
        }
        builder
    }
}

/// 429 was refused before anything was done; 500 and 502–504 may pass (a node restarting, a
/// proxy), and are sent again only when that is safe.
fn retryable_status(status: u16, replay: Replay) -> bool {
    status == 429 || (replay == Replay::Safe && matches!(status, 500 | 502..=504))
}

fn api_error(status: u16, body: &[u8], retry_after: Option<Duration>) -> ApiError {
    match serde_json::from_slice::<ApiError>(body) {
        Ok(parsed) => ApiError { status, retry_after, ..parsed },
        Err(_) => ApiError::unstructured(status, body, retry_after),
    }
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// How a [`Client`] is set up.
pub struct ClientBuilder {
    base_url: String,
    username: String,
    secret: String,
    timeout: Duration,
    retries: Retries,
}

impl ClientBuilder {
    /// The longest a call may take, each attempt (default 75 s: a long-poll holds up to 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn retries(mut self, retries: Retries) -> Self {
        self.retries = retries;
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(Error::Config(format!("the base URL must start with http:// or https://: {}", self.base_url)));
        }
        if self.username.is_empty() {
            return Err(Error::Config("the username is empty".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(10))
            // Idle connections go before kassa's keep-alive timeout (10 s) closes them.
            .pool_idle_timeout(Duration::from_secs(5))
            .user_agent(concat!("kassa-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base_url: self.base_url,
            username: self.username,
            secret: self.secret,
            retries: self.retries,
        })
    }
}

/// `id` as one path segment: every byte but the unreserved ones percent-encoded, so an id can
/// never reach another route.
pub fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let retries = Retries { max: 10, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        for attempt in 0..10 {
            let ceiling = Duration::from_millis(100 * (1 << attempt)).min(Duration::from_secs(1));
            assert!(retries.delay(attempt, None) <= ceiling);
        }
        assert_eq!(retries.delay(0, Some(Duration::from_secs(3))), Duration::from_secs(3));
    }

    #[test]
    fn only_safe_requests_retry_on_gateway_errors() {
        assert!(retryable_status(429, Replay::Unsent));
        assert!(retryable_status(503, Replay::Safe));
        assert!(!retryable_status(503, Replay::Unsent));
        assert!(retryable_status(500, Replay::Safe));
        assert!(!retryable_status(501, Replay::Safe));
        assert!(!retryable_status(400, Replay::Safe));
    }

    #[test]
    fn klarna_error_bodies_are_typed() {
        let body = br#"{"error_code":"BAD_VALUE","error_messages":["Bad value: order_amount"],"correlation_id":"c-1"}"#;
        let error = api_error(400, body, None);
        assert_eq!(error.error_code, "BAD_VALUE");
        assert_eq!(error.correlation_id.as_deref(), Some("c-1"));
        assert_eq!(error.to_string(), "400 BAD_VALUE: Bad value: order_amount (correlation id c-1)");
        let proxy = api_error(502, b"<html>Bad gateway</html>", None);
        assert_eq!(proxy.error_code, "HTTP_502");
    }

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(segment("a-B_9.~"), "a-B_9.~");
        assert_eq!(segment("../x y/é"), "..%2Fx%20y%2F%C3%A9");
    }
}
