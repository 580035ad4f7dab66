//! The HTTP side of following a session: `?wait=`, `If-None-Match`, `ETag`, 304.

use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::error::ServiceError;
use crate::service::watch::{self, Read, Tagged};
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::future::Future;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
pub struct WaitQuery {
    /// Long-poll: hold the request up to this many seconds (at most 60) until the session differs
    /// from the client's `If-None-Match` (or from its state when the request arrived).
    pub wait: Option<u64>,
}

/// Reads through [`watch::read`] and answers 200 with an `ETag`, or 304.
pub async fn respond<T, F, Fut>(
    state: &AppState,
    session_id: &str,
    query: &WaitQuery,
    headers: &HeaderMap,
    load: F,
) -> Result<Response, ApiError>
where
    T: Serialize,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Tagged<T>, ServiceError>>,
{
    let wait = watch::parse_wait(query.wait)?;
    let if_none_match = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    let (status, etag, body) = match watch::read(state, session_id, wait, if_none_match, load).await? {
        Read::Fresh(tagged) => (StatusCode::OK, tagged.etag, Some(tagged.body)),
        Read::NotModified(etag) => (StatusCode::NOT_MODIFIED, etag, None),
    };
    let mut response = match body {
        Some(body) => Json(body).into_response(),
        None => status.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
