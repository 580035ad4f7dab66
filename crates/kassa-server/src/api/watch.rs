//! The HTTP side of following a session: `?wait=`, `If-None-Match`, `ETag`, 304.

use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::error::ServiceError;
use crate::service::watch::{self, Read, Tagged};
use axum::Json;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::future::Future;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Long-poll: hold the request up to this many seconds (at most 60) until the session differs
    /// from the client's `If-None-Match` (or from its state when the request arrived).
    #[param(maximum = 60)]
    pub wait: Option<u64>,
}

/// A read that may wait: the session named by the path, the client's `?wait=` and its
/// `If-None-Match`.
pub struct Follow {
    pub id: String,
    wait: Option<u64>,
    if_none_match: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Follow {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let Query(query) = Query::<WaitQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let if_none_match = parts.headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Self { id, wait: query.wait, if_none_match })
    }
}

impl Follow {
    /// Reads with `load` through [`watch::read`] and answers 200 with an `ETag`, or 304.
    pub async fn respond<T, F, Fut>(&self, state: &AppState, load: F) -> Result<Response, ApiError>
    where
        T: Serialize,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Tagged<T>, ServiceError>>,
    {
        let wait = watch::parse_wait(self.wait)?;
        let if_none_match = self.if_none_match.as_deref();
        let (status, etag, body) = match watch::read(state, &self.id, wait, if_none_match, load).await? {
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
}
