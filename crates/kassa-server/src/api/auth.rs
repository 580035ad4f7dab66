//! HTTP Basic authentication against merchants. The credentials are decoded once per request:
//! the rate limiter reads them first and leaves them in the request's extensions for the
//! [`Call`] extractor. A success is kept for a short while ([`crate::app::credential_cache`]),
//! so a merchant's next requests skip the lookup and the hash.

use crate::api::error::ApiError;
use crate::app::metrics::{CredentialRefusal, Surface};
use crate::app::state::AppState;
use crate::client::ClientAddress;
use crate::model::credentials;
use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kassa_store::Merchant;

/// A merchant's call: the server's state, and the merchant whose credentials the request
/// carries (what every merchant route needs).
pub struct Call {
    pub state: AppState,
    pub merchant: Merchant,
}

/// HTTP Basic credentials as the request carries them (not yet checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub username: String,
    pub secret: String,
}

impl BasicCredentials {
    /// The credentials of an `Authorization: Basic …` header, if it has well-formed ones.
    pub fn of(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (username, secret) = decoded.split_once(':')?;
        Some(Self { username: username.to_owned(), secret: secret.to_owned() })
    }
}

impl FromRequestParts<AppState> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let given = match parts.extensions.remove::<BasicCredentials>() {
            Some(given) => given,
            None => BasicCredentials::of(&parts.headers).ok_or(ApiError::Unauthorized)?,
        };
        // Whether the middleware admitted them is `api::throttle`; here the outcome is counted.
        let address = ClientAddress::of(&parts.extensions).0;
        if let Some(merchant) = state.credentials.verified(&given.username, &given.secret) {
            state.refresh_clock(&merchant.id).await;
            return Ok(Self::admitted(state, merchant, address));
        }
        let found = state.store.merchant_by_username(&given.username).await?;
        let exists = found.is_some();
        let Some(merchant) = found.filter(|m| credentials::verify(m, &given.secret)) else {
            state.auth_throttle.failed(&given.username, exists, address, state.wall_now());
            state.metrics.credential_refused(Surface::Api, CredentialRefusal::Wrong);
            return Err(ApiError::Unauthorized);
        };
        state.credentials.remember(&merchant, &given.secret);
        state.refresh_clock(&merchant.id).await;
        Ok(Self::admitted(state, merchant, address))
    }
}

impl Call {
    /// A successful check of `merchant`'s credentials (just made, or made lately and cached):
    /// counted by the auth throttle and named in the request's span.
    fn admitted(state: &AppState, merchant: Merchant, address: Option<std::net::IpAddr>) -> Self {
        state.auth_throttle.succeeded(&merchant.username, address, state.wall_now());
        tracing::Span::current().record("merchant", merchant.username.as_str());
        Self { state: state.clone(), merchant }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn basic(value: &str) -> Option<(String, String)> {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        BasicCredentials::of(&headers).map(|c| (c.username, c.secret))
    }

    #[test]
    fn basic_credentials() {
        let encoded = |credentials: &str| format!("Basic {}", STANDARD.encode(credentials));
        assert_eq!(basic(&encoded("shop:secret")), Some(("shop".into(), "secret".into())));
        assert_eq!(basic(&encoded("shop:a:b")), Some(("shop".into(), "a:b".into())));
        assert_eq!(basic(&encoded("shop:")), Some(("shop".into(), String::new())));
        assert_eq!(basic(&format!("basic {}", STANDARD.encode("shop:s"))), Some(("shop".into(), "s".into())));
        assert_eq!(basic(&encoded("no-colon")), None);
        assert_eq!(basic("Basic not-base64!"), None);
        assert_eq!(basic("Bearer abc"), None);
        assert_eq!(BasicCredentials::of(&HeaderMap::new()), None);
    }
}
