//! Pages that say what went wrong, in words, with the right status; never a stack trace or a
//! JSON body where a person is looking.

use super::{Chrome, render};
use crate::service::error::{Refusal, Rule, ServiceError};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    /// Sent as `Retry-After` (a page that asks to wait).
    pub retry_after_secs: Option<u64>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    error: &'a PageError,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, title: title.into(), message: message.into(), retry_after_secs: None }
    }

    /// A page that asks to come back in `secs` seconds (`Retry-After`).
    pub fn wait(status: StatusCode, title: impl Into<String>, message: impl Into<String>, secs: u64) -> Self {
        Self { retry_after_secs: Some(secs), ..Self::new(status, title, message) }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", message)
    }

    pub fn internal(detail: String) -> Self {
        tracing::error!(detail, "page failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Something went wrong on our side. Please try again in a moment.",
        )
    }
}

impl From<ServiceError> for PageError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound(message) | ServiceError::Absent { message, .. } => Self::not_found(message),
            ServiceError::BadValue { field, reason } | ServiceError::Mismatch { field, reason } => {
                Self::new(StatusCode::BAD_REQUEST, "That did not work", format!("{field}: {reason}"))
            }
            ServiceError::Malformed(message) => Self::new(StatusCode::BAD_REQUEST, "That did not work", message),
            ServiceError::Refused(refusal) => refused(refusal),
            ServiceError::Conflict(message) => Self::new(StatusCode::CONFLICT, "That cannot be done now", message),
            ServiceError::Internal(cause) => Self::internal(cause),
            ServiceError::Unavailable(cause) => {
                tracing::warn!(cause, "page refused: the database is unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Please try again in a moment",
                    "kassa cannot save anything right now, so nothing was changed. Please try again in a moment.",
                )
            }
        }
    }
}

/// A refusal as a page, with the status the API gives the same rule: a merchant's request the
/// session's state refuses is 400, one a complete payment or an order refuses 403, the rest 409.
fn refused(Refusal { rule, message }: Refusal) -> PageError {
    let status = match rule {
        Rule::HppMerchantAction | Rule::NoCallbackTarget | Rule::NotRetryable => StatusCode::BAD_REQUEST,
        Rule::PaymentClosed
        | Rule::AuthorizationUsed
        | Rule::Order(_)
        | Rule::NotTokenizable
        | Rule::TokenUnusable(_) => StatusCode::FORBIDDEN,
        Rule::HppConsumerAction
        | Rule::PaymentUnavailable
        | Rule::DistributionStatus
        | Rule::ShortCodeTaken
        | Rule::JobNotSetAside
        | Rule::MessageNotFailed => {
            return PageError::new(StatusCode::CONFLICT, "That cannot be done now", message);
        }
    };
    PageError::new(status, "That did not work", message)
}

impl From<crate::qr::QrError> for PageError {
    fn from(error: crate::qr::QrError) -> Self {
        match error {
            crate::qr::QrError::UnknownFormat => ServiceError::bad_value("format", "must be svg or png").into(),
            crate::qr::QrError::Render(cause) => Self::internal(cause),
        }
    }
}

impl From<kassa_store::StoreError> for PageError {
    fn from(error: kassa_store::StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage { chrome: Chrome::consumer(self.title.clone(), None), error: &self };
        let mut response = match render(&page) {
            Ok(html) => (self.status, html).into_response(),
            Err(_) => (self.status, self.message).into_response(),
        };
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_gets_the_status_the_api_gives_its_rule() {
        let page = |rule: Rule| PageError::from(ServiceError::Refused(rule.refuses("no"))).status;
        assert_eq!(page(Rule::NotRetryable), StatusCode::BAD_REQUEST);
        assert_eq!(page(Rule::HppMerchantAction), StatusCode::BAD_REQUEST);
        assert_eq!(page(Rule::PaymentClosed), StatusCode::FORBIDDEN);
        assert_eq!(page(Rule::DistributionStatus), StatusCode::CONFLICT);
        assert_eq!(page(Rule::ShortCodeTaken), StatusCode::CONFLICT);
    }
}
