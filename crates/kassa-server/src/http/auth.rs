//! HTTP Basic authentication against merchants.

use crate::credentials;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kassa_store::Merchant;

/// The merchant whose credentials the request carries.
pub struct Authenticated(pub Merchant);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (username, secret) = basic_credentials(parts).ok_or(ApiError::Unauthorized)?;
        let merchant = state.store.merchant_by_username(&username).await?.ok_or(ApiError::Unauthorized)?;
        if !credentials::verify(&merchant, &secret) {
            return Err(ApiError::Unauthorized);
        }
        tracing::Span::current().record("merchant", merchant.username.as_str());
        Ok(Self(merchant))
    }
}

fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (username, secret) = decoded.split_once(':')?;
    Some((username.to_owned(), secret.to_owned()))
}
