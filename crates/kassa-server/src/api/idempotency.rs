//! `Klarna-Idempotency-Key` on Order Management writes: [`Keyed`] reads the key and the body
//! (and digests the body); [`once`] answers a repeated key as the first time was answered. The
//! work itself is done once by the use case, which commits the key's record with it.

use super::json::{content_type, decode_json, read_body};
use crate::api::error::ApiError;
use crate::app::state::AppState;
use crate::service::idempotency::{self, IdempotencyKey, Receipt};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderName, StatusCode};
use kassa_store::{IdempotentOutcome, Merchant};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;

pub const HEADER: HeaderName = HeaderName::from_static("klarna-idempotency-key");
/// The longest key kassa keeps (a UUID is 36 characters).
const MAX_KEY_LENGTH: usize = 255;

/// A write's idempotency key (if it carries one) and its body: `Keyed<Body<T>>` decodes a JSON
/// `T`, `Keyed<()>` ignores the body (acknowledge, cancel and the other body-less POSTs).
pub struct Keyed<T> {
    pub key: Option<IdempotencyKey>,
    pub body: T,
}

/// How a keyed request's body is read.
pub trait KeyedBody: Sized {
    /// The body, read from its content type and bytes.
    fn read(content_type: &str, bytes: &[u8]) -> Result<Self, ApiError>;
    /// What of the body makes two requests the same one.
    fn digest(bytes: &[u8]) -> Vec<u8>;
}

impl KeyedBody for () {
    fn read(_: &str, _: &[u8]) -> Result<Self, ApiError> {
        Ok(())
    }

    /// The body is ignored, so no body, `{}` or anything else is the same request.
    fn digest(_: &[u8]) -> Vec<u8> {
        Vec::new()
    }
}

/// A JSON body; the same JSON whatever its key order and white space is the same request.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> KeyedBody for Body<T> {
    fn read(content_type: &str, bytes: &[u8]) -> Result<Self, ApiError> {
        Ok(Body(decode_json(content_type, bytes)?))
    }

    fn digest(bytes: &[u8]) -> Vec<u8> {
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(value) => value.to_string().into_bytes(),
            Err(_) => bytes.to_vec(),
        }
    }
}

impl<S: Send + Sync, T: KeyedBody> FromRequest<S> for Keyed<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let given = match request.headers().get(HEADER) {
            None => None,
            Some(value) => match value.to_str().map(str::trim) {
                Ok(key) if !key.is_empty() && key.len() <= MAX_KEY_LENGTH => Some(key.to_owned()),
                _ => {
                    return Err(ApiError::bad_value(
                        "Klarna-Idempotency-Key",
                        format!("must be 1 to {MAX_KEY_LENGTH} visible ASCII characters"),
                    ));
                }
            },
        };
        let scope = format!("{} {}", request.method(), request.uri().path());
        let content_type = content_type(request.headers()).to_owned();
        let bytes = read_body(request, state).await?;
        let body = T::read(&content_type, &bytes)?;
        let key = given.map(|key| IdempotencyKey {
            scope,
            key,
            request_hash: hex::encode(Sha256::digest(T::digest(&bytes))),
        });
        Ok(Self { key, body })
    }
}

/// Runs `work` (which commits `key`'s record with what it does) unless `key` was answered
/// before: a refusal is answered again as it was, and remembered the first time (403 and 404
/// only: what a retry would be refused again; a 409, 429 or 5xx may go another way next time).
pub async fn once(
    state: &AppState,
    merchant: &Merchant,
    key: Option<&IdempotencyKey>,
    work: impl Future<Output = Result<Receipt, ApiError>>,
) -> Result<Receipt, ApiError> {
    let Some(key) = key else { return work.await };
    if let Some(IdempotentOutcome::Refused { status, body }) = idempotency::recorded(state, merchant, key).await? {
        return Err(replayed(status, &body));
    }
    let result = work.await;
    let Err(error) = &result else { return result };
    if !matches!(error.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) {
        return result;
    }
    // Another node may have done the work under this key while this one was refused (it saw the
    // order after that work): its answer is the key's.
    if let Some(receipt) = idempotency::done_before(state, merchant, Some(key)).await? {
        return Ok(receipt);
    }
    let details = error.details();
    let answer = Answer { error_code: details.code.into_owned(), error_messages: details.messages };
    let body = serde_json::to_string(&answer).map_err(|e| ApiError::Internal(e.to_string()))?;
    if !idempotency::remember_refusal(state, merchant, key, error.status().as_u16(), body).await?
        && let Some(receipt) = idempotency::done_before(state, merchant, Some(key)).await?
    {
        return Ok(receipt);
    }
    result
}

/// A refusal's answer as it is remembered (the correlation id is each response's own).
#[derive(Default, Serialize, Deserialize)]
struct Answer {
    error_code: String,
    error_messages: Vec<String>,
}

fn replayed(status: u16, body: &str) -> ApiError {
    let stored: Answer = serde_json::from_str(body).unwrap_or_default();
    ApiError::Replayed {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN),
        code: stored.error_code,
        messages: stored.error_messages,
    }
}
