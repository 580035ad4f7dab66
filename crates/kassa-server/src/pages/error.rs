//! Pages that say what went wrong, in words, with the right status; never a stack trace or a
//! JSON body where a person is looking.

use super::{Chrome, render};
use crate::error::ApiError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    error: &'a PageError,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, title: title.into(), message: message.into() }
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

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        let status = error.status();
        if status.is_server_error() {
            let mut page = Self::internal(error.to_string());
            page.status = status;
            return page;
        }
        let title = match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::UNAUTHORIZED => "Please log in",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            StatusCode::CONFLICT => "That cannot be done now",
            _ => "That did not work",
        };
        let message = match &error {
            ApiError::BadValue { field, reason } | ApiError::Mismatch { field, reason } => format!("{field}: {reason}"),
            other => other.to_string(),
        };
        Self::new(status, title, message)
    }
}

impl From<kassa_store::StoreError> for PageError {
    fn from(error: kassa_store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage { chrome: Chrome::consumer(self.title.clone(), None), error: &self };
        match render(&page) {
            Ok(html) => (self.status, html).into_response(),
            Err(_) => (self.status, self.message).into_response(),
        }
    }
}
