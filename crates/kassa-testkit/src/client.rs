//! Talking to a kassa over HTTP as one merchant (Basic auth), in a server of the test's own or
//! in a `kassa serve` process.

use crate::fixtures;
use crate::poll::{PATIENCE, eventually};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A merchant's API credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub username: String,
    pub secret: String,
}

impl Merchant {
    pub fn new(username: impl Into<String>, secret: impl Into<String>) -> Self {
        Self { username: username.into(), secret: secret.into() }
    }
}

/// An HTTP client that lets idle connections go before kassa's keep-alive timeout (10 s) does,
/// so no request is sent on a connection the server is closing.
pub fn http_client() -> reqwest::Client {
    let idle = std::time::Duration::from_secs(5);
    reqwest::Client::builder().pool_idle_timeout(idle).build().expect("an HTTP client")
}

/// A response with its body read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Reply {
    /// Asserts Klarna's error body and returns it.
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "status; body {}", self.body);
        assert_eq!(self.headers["content-type"], "application/json", "content type of {}", self.body);
        assert_eq!(self.body["error_code"], code, "error_code; body {}", self.body);
        let messages = self.body["error_messages"].as_array().expect("error_messages array");
        assert!(!messages.is_empty() && messages.iter().all(Value::is_string));
        let correlation = self.body["correlation_id"].as_str().expect("correlation_id");
        assert_eq!(self.headers["klarna-correlation-id"], correlation);
        let keys: Vec<&String> = self.body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["correlation_id", "error_code", "error_messages"]);
        &self.body
    }

    /// Asserts a 2xx (or 304) answer and returns it.
    pub fn assert_success(self) -> Self {
        let status = self.status;
        assert!(status.is_success() || status == StatusCode::NOT_MODIFIED, "{status}: {}", self.body);
        self
    }

    /// The error messages, joined with " | ".
    pub fn message(&self) -> String {
        self.body["error_messages"]
            .as_array()
            .map(|m| m.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "))
            .unwrap_or_default()
    }
}

/// Reads a response whole.
pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap().to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, body, bytes }
}

/// A kassa at `url`, called as `merchant`.
#[derive(Clone)]
pub struct Client {
    /// `http://host:port`, without a trailing slash.
    pub url: String,
    pub merchant: Merchant,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(url: impl Into<String>, merchant: Merchant) -> Self {
        Self { url: url.into(), merchant, http: http_client() }
    }

    /// The same kassa, called as `who`.
    pub fn as_merchant(&self, who: &Merchant) -> Self {
        Self { url: self.url.clone(), merchant: who.clone(), http: self.http.clone() }
    }

    /// The same kassa over `http` (for its timeouts or redirect policy).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// A request to `path` with the merchant's credentials, to finish and send by hand.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .basic_auth(&self.merchant.username, Some(&self.merchant.secret))
    }

    /// Sends a request; `Err` when it gets no response at all.
    pub async fn try_call(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Result<Reply> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Ok(read(request.send().await?).await)
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let sent = self.try_call(method.clone(), path, body).await;
        sent.unwrap_or_else(|e| panic!("{method} {}{path}: {e}", self.url))
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// A payment session of [`fixtures::cart`]; returns its id.
    pub async fn payment_session(&self) -> String {
        let reply = self.post("/payments/v1/sessions", fixtures::cart()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["session_id"].as_str().unwrap().to_owned()
    }

    /// An HPP session over a fresh payment session; returns (hpp id, payment id, create body).
    pub async fn hpp_session(&self, options: Value, merchant_urls: Value) -> (String, String, Value) {
        let payment = self.payment_session().await;
        let url = format!("{}/payments/v1/sessions/{payment}", self.url);
        let reply = self.post("/hpp/v1/sessions", fixtures::hpp_session(&url, options, merchant_urls)).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        (reply.body["session_id"].as_str().unwrap().to_owned(), payment, reply.body)
    }

    /// A sandbox consumer action on an HPP session (`open`, `approve`, …).
    pub async fn act(&self, hpp: &str, action: &str) -> Reply {
        self.call(Method::POST, &format!("/sandbox/v1/hpp/sessions/{hpp}/{action}"), None).await
    }

    /// An HPP session's status as the read endpoint gives it.
    pub async fn status(&self, hpp: &str) -> String {
        let reply = self.get(&format!("/hpp/v1/sessions/{hpp}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["status"].as_str().unwrap().to_owned()
    }

    /// A session's delivery log: its callbacks, oldest first, each with its attempts.
    pub async fn deliveries(&self, session: &str) -> Vec<Value> {
        let reply = self.get(&format!("/kassa/v1/sessions/{session}/deliveries")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["deliveries"].as_array().unwrap().clone()
    }

    /// Waits until no delivery of `session` is pending (each is delivered or given up) and
    /// returns the log. Every callback is in the log before it is sent, and only a pending one
    /// is ever sent: from here on nothing more goes out for the session, so what a receiver has
    /// is all it gets.
    pub async fn settled(&self, session: &str) -> Vec<Value> {
        eventually(format!("every delivery of {session} to be delivered or given up"), PATIENCE, || async {
            let log = self.deliveries(session).await;
            if log.iter().all(|d| d["status"] != "pending") { Ok(log) } else { Err(Value::from(log)) }
        })
        .await
    }
}
