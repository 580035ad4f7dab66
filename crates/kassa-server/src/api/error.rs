//! The one error type of the HTTP boundary. Every failure becomes Klarna's error body
//! `{error_code, error_messages, correlation_id}`; the body itself is written by
//! [`crate::api::errors`], which knows the request's correlation id. [`From<ServiceError>`] is
//! the one table from the use cases' refusals to Klarna's statuses.

use crate::service::error::{Absent, Refusal, Rule, ServiceError};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kassa_core::cart::CartError;
use kassa_core::customer_token::TokenUnusable;
use kassa_store::StoreError;
use std::borrow::Cow;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request (not JSON, wrong shape).
    #[error("{0}")]
    BadRequest(String),
    /// A field with a value kassa refuses; `field` is its JSON path.
    #[error("Bad value: {field}")]
    BadValue { field: String, reason: String },
    /// A value that contradicts the resource it refers to (409, as Klarna's create-order).
    #[error("Bad value: {field}")]
    Mismatch { field: String, reason: String },
    /// The request is well-formed but not allowed in the resource's current state.
    #[error("{message}")]
    InvalidOperation { status: StatusCode, message: String },
    #[error("{0}")]
    NotFound(String),
    /// Something Order Management does not find, with its own code (`NO_SUCH_ORDER`, …).
    #[error("{message}")]
    Missing { code: &'static str, message: String },
    /// Order Management refuses the operation (403) with its code (`CAPTURE_NOT_ALLOWED`, …).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("missing or wrong credentials")]
    Unauthorized,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("The request body is larger than this server accepts")]
    PayloadTooLarge,
    /// The request's body did not arrive in time (408).
    #[error("{0}")]
    RequestTimeout(String),
    /// Another request changed the same session at the same moment, repeatedly.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
    /// The merchant used up its rate limit for this kind of request (429); retry after
    /// `retry_after_secs`, which is also sent as `Retry-After`.
    #[error("Too many requests; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// Too many failed credential attempts from this address or for this username (429); the
    /// credentials were not checked. Retry after `retry_after_secs` (`Retry-After`).
    #[error("Too many failed authentication attempts; retry in {retry_after_secs} s")]
    AuthThrottled { retry_after_secs: u64 },
    /// A dependency (the database) cannot serve now; the cause is for the log, the client is
    /// told to retry.
    #[error("{0}")]
    Unavailable(String),
    /// The answer a refused request got the first time, given again for a repeated
    /// `Klarna-Idempotency-Key`.
    #[error("{}", messages.join(" | "))]
    Replayed { status: StatusCode, code: String, messages: Vec<String> },
}

/// What [`crate::api::errors`] renders: status, code and messages (no correlation id yet).
#[derive(Debug, Clone)]
pub struct ErrorDetails {
    pub code: Cow<'static, str>,
    pub messages: Vec<String>,
    /// What went wrong inside kassa (5xx only): for the log, never for the client.
    pub cause: Option<String>,
}

impl ApiError {
    pub fn bad_value(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadValue { field: field.into(), reason: reason.into() }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::BadValue { .. } => StatusCode::BAD_REQUEST,
            Self::Mismatch { .. } => StatusCode::CONFLICT,
            Self::InvalidOperation { status, .. } => *status,
            Self::NotFound(_) | Self::Missing { .. } => StatusCode::NOT_FOUND,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } | Self::AuthThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Replayed { status, .. } => *status,
        }
    }

    pub(crate) fn details(&self) -> ErrorDetails {
        let (code, messages): (Cow<'static, str>, Vec<String>) = match self {
            Self::BadRequest(m) => ("BAD_REQUEST".into(), vec![m.clone()]),
            Self::BadValue { field, reason } | Self::Mismatch { field, reason } => {
                ("BAD_VALUE".into(), vec![format!("Bad value: {field}"), format!("{field} {reason}")])
            }
            Self::InvalidOperation { message, .. } => ("INVALID_OPERATION".into(), vec![message.clone()]),
            Self::NotFound(m) => ("NOT_FOUND".into(), vec![m.clone()]),
            Self::Missing { code, message } | Self::Forbidden { code, message } => {
                ((*code).into(), vec![message.clone()])
            }
            Self::Unauthorized => (
                "UNAUTHORIZED".into(),
                vec!["Missing or invalid credentials: use HTTP Basic auth with your API username and secret".into()],
            ),
            Self::UnsupportedMediaType(m) => ("UNSUPPORTED_MEDIA_TYPE".into(), vec![m.clone()]),
            Self::PayloadTooLarge => ("PAYLOAD_TOO_LARGE".into(), vec![self.to_string()]),
            Self::RequestTimeout(m) => ("REQUEST_TIMEOUT".into(), vec![m.clone()]),
            Self::Conflict(m) => ("CONFLICT".into(), vec![m.clone()]),
            Self::TooManyRequests { retry_after_secs } => (
                "TOO_MANY_REQUESTS".into(),
                vec![format!(
                    "Rate limit exceeded: too many requests of this kind for this merchant; retry in \
                     {retry_after_secs} s (see the X-Ratelimit-* and Retry-After headers)"
                )],
            ),
            Self::AuthThrottled { retry_after_secs } => (
                "TOO_MANY_REQUESTS".into(),
                vec![format!(
                    "Too many failed authentication attempts from this address or for this username; the \
                     credentials were not checked; retry in {retry_after_secs} s (see Retry-After)"
                )],
            ),
            // The cause is logged once, in the request's span (`api::errors::log_failure`); the
            // client sees no internals.
            Self::Internal(_) => (
                "INTERNAL_SERVER_ERROR".into(),
                vec!["Internal server error; retry, and quote the correlation_id if it persists".into()],
            ),
            Self::Unavailable(_) => (
                "SERVICE_UNAVAILABLE".into(),
                vec!["The database cannot take requests now; nothing was changed. Retry later".into()],
            ),
            Self::Replayed { code, messages, .. } => (code.clone().into(), messages.clone()),
        };
        let cause = match self {
            Self::Internal(cause) | Self::Unavailable(cause) => Some(cause.clone()),
            _ => None,
        };
        ErrorDetails { code, messages, cause }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        if matches!(self, Self::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"kassa\""));
        }
        if let Self::TooManyRequests { retry_after_secs } | Self::AuthThrottled { retry_after_secs } = &self {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after_secs));
        }
        response.extensions_mut().insert(self.details());
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

impl From<CartError> for ApiError {
    fn from(error: CartError) -> Self {
        ServiceError::from(error).into()
    }
}

impl From<crate::wire::decode::DecodeError> for ApiError {
    fn from(error: crate::wire::decode::DecodeError) -> Self {
        ServiceError::from(error).into()
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::BadValue { field, reason } => Self::BadValue { field, reason },
            ServiceError::Malformed(message) => Self::BadRequest(message),
            ServiceError::Mismatch { field, reason } => Self::Mismatch { field, reason },
            ServiceError::NotFound(message) => Self::NotFound(message),
            ServiceError::Absent { what, message } => {
                let code = match what {
                    Absent::Order => "NO_SUCH_ORDER",
                    Absent::Capture => "NO_SUCH_CAPTURE",
                    Absent::Refund => "NOT_FOUND",
                    Absent::Token => "TOKEN_NOT_FOUND",
                };
                Self::Missing { code, message }
            }
            ServiceError::Refused(refusal) => refusal.into(),
            ServiceError::Conflict(message) => Self::Conflict(message),
            ServiceError::Internal(cause) => Self::Internal(cause),
            ServiceError::Unavailable(cause) => Self::Unavailable(cause),
        }
    }
}

/// Klarna's answer to each rule: HPP refuses a merchant's action with 400 and a consumer's with
/// 409; Payments refuses with 403; in store, a refused status is 409 and a refused retry is a
/// `BAD_REQUEST`; Order Management refuses with 403 and its own code.
impl From<Refusal> for ApiError {
    fn from(Refusal { rule, message }: Refusal) -> Self {
        let status = match rule {
            Rule::Order(code) => return Self::Forbidden { code: code.as_str(), message },
            Rule::TokenUnusable(TokenUnusable::Cancelled) => {
                return Self::Forbidden { code: "TOKEN_CANCELED", message };
            }
            Rule::TokenUnusable(TokenUnusable::Suspended) => {
                return Self::Forbidden { code: "TOKEN_SUSPENDED", message };
            }
            Rule::NotRetryable => return Self::BadRequest(message),
            Rule::HppMerchantAction | Rule::NoCallbackTarget => StatusCode::BAD_REQUEST,
            Rule::PaymentClosed | Rule::AuthorizationUsed | Rule::NotTokenizable => StatusCode::FORBIDDEN,
            Rule::HppConsumerAction
            | Rule::PaymentUnavailable
            | Rule::DistributionStatus
            | Rule::ShortCodeTaken
            | Rule::JobNotSetAside
            | Rule::MessageNotFailed => StatusCode::CONFLICT,
        };
        Self::InvalidOperation { status, message }
    }
}

impl From<crate::qr::QrError> for ApiError {
    fn from(error: crate::qr::QrError) -> Self {
        match error {
            crate::qr::QrError::UnknownFormat => Self::bad_value("format", "must be svg or png"),
            crate::qr::QrError::Render(cause) => Self::Internal(cause),
        }
    }
}
