//! A JSON body extractor that answers every problem with a Klarna error naming what is wrong:
//! wrong content type, oversize body, then what [`decode::parse`] finds.

use crate::api::error::ApiError;
use crate::app::config::BodyTimedOut;
use crate::wire::decode;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = content_type(request.headers()).to_owned();
        let bytes = read_body(request, state).await?;
        Ok(JsonBody(decode_json(&content_type, &bytes)?))
    }
}

pub(crate) fn content_type(headers: &HeaderMap) -> &str {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The whole body, or Klarna's error for one too large or too slow to read.
pub(crate) async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else if let Some(timed_out) = cause::<BodyTimedOut>(&rejection) {
            ApiError::RequestTimeout(format!("Request body incomplete: {timed_out}"))
        } else {
            ApiError::BadRequest(format!("Could not read the request body: {rejection}"))
        }
    })
}

/// The first error of type `E` in `error`'s chain of sources.
fn cause<'a, E: std::error::Error + 'static>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

/// A JSON body of `content_type`: refused unless it is JSON, then read as [`decode::parse`] does.
pub(crate) fn decode_json<T: DeserializeOwned>(content_type: &str, bytes: &[u8]) -> Result<T, ApiError> {
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/json" && !(mime.starts_with("application/") && mime.ends_with("+json")) {
        let shown = if content_type.is_empty() { "none".to_owned() } else { format!("{content_type:?}") };
        return Err(ApiError::UnsupportedMediaType(format!("Content-Type must be application/json (got {shown})")));
    }
    Ok(decode::parse(bytes)?)
}
