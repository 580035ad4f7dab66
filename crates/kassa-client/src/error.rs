//! The client's one error type: Klarna's error body as a typed value, or why no answer came.

use serde::Deserialize;
use std::time::Duration;

/// Klarna's error body (`error_code`, `error_messages`, `correlation_id`) with the HTTP status
/// it came with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    /// `BAD_VALUE`, `NOT_FOUND`, `NO_SUCH_ORDER`, `NOT_ALLOWED`, `RATE_LIMIT`, …
    pub error_code: String,
    #[serde(default)]
    pub error_messages: Vec<String>,
    /// Quote it to whoever runs the server: it names the request in its logs.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// What the server's `Retry-After` asked for (429, 503).
    #[serde(skip)]
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// The body of an answer that is not Klarna's error body (a proxy's page, say), kept as text.
    pub(crate) fn unstructured(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let text = String::from_utf8_lossy(body);
        let excerpt: String = text.chars().take(300).collect();
        Self {
            status,
            error_code: format!("HTTP_{status}"),
            error_messages: if excerpt.is_empty() { Vec::new() } else { vec![excerpt] },
            correlation_id: None,
            retry_after,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.error_code)?;
        if !self.error_messages.is_empty() {
            write!(f, ": {}", self.error_messages.join("; "))?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, " (correlation id {id})")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status.
    #[error("kassa answered {0}")]
    Api(ApiError),
    /// No answer: connection refused, reset, timed out (after the retries the request allowed).
    #[error("no answer from kassa: {}", describe(.0))]
    Http(#[source] reqwest::Error),
    /// An answer whose body is not what the route promises.
    #[error("unexpected answer body from {route} ({status}): {source}")]
    Decode {
        route: String,
        status: u16,
        #[source]
        source: serde_json::Error,
    },
    /// The client was set up wrongly (a bad URL, credentials, a profile file).
    #[error("{0}")]
    Config(String),
    /// The application's event handler failed (the watcher hands the event on again later).
    #[error("the event handler failed: {0}")]
    Handler(String),
    /// A local file (the watcher's state) could not be read or written.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The API error, when the server answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|api| api.status)
    }

    /// Whether the server said the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// A reqwest error with its causes, which its `Display` leaves out ("error sending request:
/// connection refused").
pub fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
