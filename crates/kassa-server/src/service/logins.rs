//! Dashboard logins: checking a merchant's credentials typed into `/login` (throttled like the
//! API's), and the browser sessions they start. A session is a row found by the SHA-256 of a
//! random 256-bit token that only the browser's cookie holds: every node sees the same rows, so
//! logging out (deleting the row) ends the login everywhere at once, and nothing in the
//! database makes a cookie. Sessions expire in real time (`Config::login_lifetime`).

use crate::app::auth_throttle::Refusal;
use crate::app::metrics::{CredentialRefusal, Surface};
use crate::app::state::AppState;
use crate::model::{credentials, ids};
use crate::service::error::ServiceResult;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kassa_store::{BrowserSession, Merchant};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// How often a page's use of a session is written down (`last_seen_at`), at most.
const TOUCH_EVERY_MILLIS: i64 = 60_000;

/// Why a login did not start.
#[derive(Debug)]
pub enum LoginRefused {
    /// Username and secret do not match a merchant.
    WrongCredentials,
    /// Too many failed attempts: not checked.
    Throttled(Refusal),
}

/// A login that started: the merchant, and the token for the browser's cookie.
pub struct Login {
    pub merchant: Merchant,
    pub token: String,
}

/// Checks `username` and `secret` typed in from `address`, and starts a browser session.
pub async fn log_in(
    state: &AppState,
    username: &str,
    secret: &str,
    address: Option<IpAddr>,
) -> ServiceResult<Result<Login, LoginRefused>> {
    let now = state.wall_now();
    if let Err(refusal) = state.auth_throttle.admit(username, address, now) {
        state.metrics.credential_refused(Surface::Login, CredentialRefusal::Throttled);
        return Ok(Err(LoginRefused::Throttled(refusal)));
    }
    let found = state.store.merchant_by_username(username).await?;
    let exists = found.is_some();
    let Some(merchant) = found.filter(|m| credentials::verify(m, secret)) else {
        state.auth_throttle.failed(username, exists, address, now);
        state.metrics.credential_refused(Surface::Login, CredentialRefusal::Wrong);
        return Ok(Err(LoginRefused::WrongCredentials));
    };
    state.auth_throttle.succeeded(&merchant.username, address, now);
    let token = URL_SAFE_NO_PAD.encode(ids::random_bytes::<32>());
    let lifetime = i64::try_from(state.config.login_lifetime.as_millis()).unwrap_or(i64::MAX / 4);
    let session = BrowserSession {
        token_hash: token_hash(&token),
        merchant_id: merchant.id.clone(),
        created_at: now,
        expires_at: now.plus_millis(lifetime),
        last_seen_at: now,
    };
    state.store.insert_browser_session(&session).await?;
    Ok(Ok(Login { merchant, token }))
}

/// The merchant whose live browser session `token` is.
pub async fn merchant_of(state: &AppState, token: &str) -> ServiceResult<Option<Merchant>> {
    let now = state.wall_now();
    let hash = token_hash(token);
    let Some(session) = state.store.browser_session(&hash, now).await? else { return Ok(None) };
    if now.millis() - session.last_seen_at.millis() >= TOUCH_EVERY_MILLIS {
        state.store.touch_browser_session(&hash, now).await?;
    }
    Ok(state.store.merchant(&session.merchant_id).await?)
}

/// Ends the browser session `token` (logout), on every node.
pub async fn log_out(state: &AppState, token: &str) -> ServiceResult<()> {
    state.store.delete_browser_session(&token_hash(token)).await?;
    Ok(())
}

/// Deletes the browser sessions that have expired.
pub async fn prune(state: &AppState) {
    match state.store.prune_browser_sessions(state.wall_now()).await {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "expired browser sessions deleted"),
        Err(error) => tracing::warn!(%error, "deleting expired browser sessions failed; it is tried again later"),
    }
}

/// What the database keeps of a token: its SHA-256, lowercase hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
