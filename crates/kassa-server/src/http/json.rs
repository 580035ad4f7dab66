//! A JSON body extractor that answers every problem with a Klarna error naming what is wrong:
//! wrong content type, oversize body, malformed JSON, a field of the wrong type (by its path).

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" && !(mime.starts_with("application/") && mime.ends_with("+json")) {
            let shown = if content_type.is_empty() { "none".to_owned() } else { format!("{content_type:?}") };
            return Err(ApiError::UnsupportedMediaType(format!("Content-Type must be application/json (got {shown})")));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(format!("Could not read the request body: {rejection}"))
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Every kassa request body is a JSON object (serde would also read a struct from an array).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => {
            return Err(ApiError::BadRequest("The request body is empty; send a JSON object".into()));
        }
        Some(_) => {
            return Err(ApiError::BadRequest("The request body must be a JSON object".into()));
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(shape_error)?;
    deserializer.end().map_err(|e| ApiError::BadRequest(format!("Malformed JSON: {e}")))?;
    Ok(value)
}

/// Reads a typed value out of already-parsed JSON, naming the field that does not fit.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(shape_error)
}

fn shape_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    match inner.classify() {
        Category::Data if path != "." => {
            ApiError::bad_value(path, format!("has the wrong type or value: {}", strip_position(&inner)))
        }
        Category::Data => {
            ApiError::BadRequest(format!("The request body has the wrong shape: {}", strip_position(&inner)))
        }
        Category::Syntax | Category::Eof | Category::Io => ApiError::BadRequest(format!("Malformed JSON: {inner}")),
    }
}

/// serde's "at line 1 column 12" means nothing next to a field path.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
