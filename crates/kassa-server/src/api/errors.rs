//! Writes every error response as Klarna's body, whatever produced it: kassa's own
//! [`ApiError`](crate::api::error::ApiError), a rejection inside the framework, a panic, a 405.
//! Every response carries the request's correlation id in `Klarna-Correlation-Id`.

use crate::api::error::ErrorDetails;
use crate::app::cause;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub const CORRELATION_HEADER: &str = "klarna-correlation-id";

/// Klarna's error body (reference §1.4).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// Machine-readable code, e.g. `BAD_VALUE`.
    pub error_code: String,
    /// Human-readable messages; the first names the problem.
    pub error_messages: Vec<String>,
    /// Unique per request; also in the `Klarna-Correlation-Id` header and kassa's log.
    pub correlation_id: String,
}

/// The correlation id of the request being served.
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

pub async fn render_errors(mut request: Request, next: Next) -> Response {
    let correlation_id = uuid::Uuid::new_v4().to_string();
    request.extensions_mut().insert(CorrelationId(correlation_id.clone()));
    // What the request commits is traced back to it (`app::cause`).
    let mut response = cause::within(correlation_id.clone(), next.run(request)).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let details = match response.extensions_mut().remove::<ErrorDetails>() {
            Some(details) => details,
            // kassa's pages render their own errors, for a person.
            None if is_json(&response) || is_html(&response) => return with_correlation(response, &correlation_id),
            None => fallback_details(status),
        };
        let body = ErrorResponse {
            error_code: details.code.into_owned(),
            error_messages: details.messages,
            correlation_id: correlation_id.clone(),
        };
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        response = Response::from_parts(parts, Body::from(bytes));
    }
    with_correlation(response, &correlation_id)
}

fn with_correlation(mut response: Response, correlation_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(correlation_id) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

fn is_json(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

fn is_html(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

/// Errors that did not come from kassa's own code (framework rejections, layers).
fn fallback_details(status: StatusCode) -> ErrorDetails {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("NOT_FOUND", "No such resource"),
        StatusCode::METHOD_NOT_ALLOWED => ("METHOD_NOT_ALLOWED", "This resource does not support that HTTP method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("PAYLOAD_TOO_LARGE", "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json"),
        StatusCode::REQUEST_TIMEOUT => ("REQUEST_TIMEOUT", "The request took too long"),
        s if s.is_server_error() => {
            ("INTERNAL_SERVER_ERROR", "Internal server error; quote the correlation_id if it persists")
        }
        _ => ("BAD_REQUEST", "The request could not be understood"),
    };
    ErrorDetails { code: code.into(), messages: vec![message.to_owned()], cause: None }
}

/// Logs a failed request once, inside its span (which carries the correlation id, the route and
/// the merchant): a 5xx as an error with its cause, a refusal at debug level. Pages log their
/// own failures where they happen.
pub async fn log_failure(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let details = response.extensions().get::<ErrorDetails>();
    let code = details.map_or("", |d| d.code.as_ref());
    if status.is_server_error() {
        let cause = details.and_then(|d| d.cause.as_deref()).unwrap_or("no cause recorded (a panic or a layer)");
        tracing::error!(%status, code, cause, "request failed");
    } else if details.is_some() {
        tracing::debug!(%status, code, "request refused");
    }
    response
}

/// Unknown routes.
pub async fn route_not_found(request: Request) -> impl IntoResponse {
    crate::api::error::ApiError::not_found(format!("No route for {} {}", request.method(), request.uri().path()))
}

/// Known routes asked with a method they do not have.
pub async fn method_not_allowed(request: Request) -> Response {
    let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
    let message = format!("{} is not supported on {}", request.method(), request.uri().path());
    response.extensions_mut().insert(ErrorDetails {
        code: "METHOD_NOT_ALLOWED".into(),
        messages: vec![message],
        cause: None,
    });
    response
}
